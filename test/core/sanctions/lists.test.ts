import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadFtmJsonLines, loadOfacCsv } from '../../../core/sanctions/lists.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const devSdn = readFileSync(new URL('../../../dev/sanctions/sdn.csv', import.meta.url));
const devAlt = readFileSync(new URL('../../../dev/sanctions/alt.csv', import.meta.url));
const loadedAt = '2026-12-01T00:00:00Z';

// Rows in OFAC's exact legacy shape: `-0- ` with its trailing space, quoted commas, a vessel with
// comma-grouped tonnage, CRLF line ends and the Ctrl-Z record OFAC ends its files with.
const trickySdn = [
  '480,"CECOEX, S.A.",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ',
  '15036,"ARTAVIL","vessel","IRAN",-0- ,"T2EU4","Crude/Oil Products Tanker","99,144","56,068","Iran",-0- ,"IMO 9187629; a.k.a. \'X\'."',
  '2676,"AL ZAWAHIRI, Dr. Ayman","individual","SDGT] [SDT","Leader ""of"" JIHAD GROUP",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"DOB 19 Jun 1951; POB Giza, Egypt."',
  '\u001a',
].join('\r\n');
const trickyAlt = ['2676,4760,"aka","AL-ZAWAHIRI, Ayman",-0- ', '2676,4761,"aka","SALIM, Ahmad Fuad",-0- ', '480,1,"aka","CECOEX, S.A.",-0- '].join('\r\n') + '\r\n';

describe('loadOfacCsv', () => {
  it('reads tricky legacy rows: quoted commas, -0- as null, entity type for a null SDN_Type, aliases joined', () => {
    const loaded = loadOfacCsv({ sdn: bytes(trickySdn), alt: bytes(trickyAlt), loadedAt });
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.value.entries).toEqual([
      // The alias that repeats the primary name is not listed twice.
      { id: 'ofac-sdn:480', source: 'ofac-sdn', type: 'entity', names: ['CECOEX, S.A.'] },
      { id: 'ofac-sdn:15036', source: 'ofac-sdn', type: 'vessel', names: ['ARTAVIL'] },
      { id: 'ofac-sdn:2676', source: 'ofac-sdn', type: 'individual', names: ['AL ZAWAHIRI, Dr. Ayman', 'AL-ZAWAHIRI, Ayman', 'SALIM, Ahmad Fuad'] },
    ]);
    expect(loaded.value.loadedAt).toBe(loadedAt);
    expect(loaded.value.version).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rejects a record with the wrong number of columns and an alias for an unknown entry', () => {
    expect(loadOfacCsv({ sdn: bytes('1,"X",-0- \n'), alt: bytes(''), loadedAt })).toEqual({
      ok: false,
      reason: { kind: 'ofac-bad-record', file: 'sdn.csv', record: 1, columns: 3, expected: 12 },
    });
    const sdn = bytes('1,"X",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n');
    expect(loadOfacCsv({ sdn, alt: bytes('2,9,"aka","Y",-0- \n'), loadedAt })).toEqual({ ok: false, reason: { kind: 'ofac-alias-without-entry', file: 'alt.csv', entNum: '2' } });
    expect(loadOfacCsv({ sdn, alt: bytes('1,9,"aka,"Y",-0- \n'), loadedAt })).toMatchObject({ ok: false, reason: { kind: 'csv-text-after-quote', file: 'alt.csv' } });
  });

  it('loads the dev excerpt: 76 entries, their aliases, individuals, entities, vessels and aircraft', () => {
    const loaded = loadOfacCsv({ sdn: devSdn, alt: devAlt, loadedAt });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.reason));
    expect(loaded.value.entries).toHaveLength(76);
    const binLadin = loaded.value.entries.find((entry) => entry.id === 'ofac-sdn:6365');
    expect(binLadin?.type).toBe('individual');
    expect(binLadin?.names).toContain('BIN LADEN, Osama');
    const byType: Record<string, number> = {};
    for (const entry of loaded.value.entries) byType[entry.type] = (byType[entry.type] ?? 0) + 1;
    expect(byType).toEqual({ individual: 34, entity: 27, vessel: 13, aircraft: 2 });
    expect(loaded.value.entries.reduce((names, entry) => names + entry.names.length, 0)).toBeGreaterThan(300);
  });

  it('has a version that is stable for the same bytes and changes when one byte changes', () => {
    const first = loadOfacCsv({ sdn: devSdn, alt: devAlt, loadedAt });
    const again = loadOfacCsv({ sdn: Uint8Array.from(devSdn), alt: Uint8Array.from(devAlt), loadedAt: '2027-01-01T00:00:00Z' });
    // One byte: the "B" of "BIN LADEN, Osama" becomes "b".
    const changedAlt = Uint8Array.from(devAlt);
    const at = devAlt.indexOf('BIN LADEN, Osama');
    changedAlt[at] = 0x62;
    const changed = loadOfacCsv({ sdn: devSdn, alt: changedAlt, loadedAt });
    if (!first.ok || !again.ok || !changed.ok) throw new Error('dev list did not load');
    expect(again.value.version).toBe(first.value.version);
    expect(changed.value.version).not.toBe(first.value.version);
    expect(changed.value.sources[0]).toEqual(first.value.sources[0]);
    expect(changed.value.sources[1]!.sha256).not.toBe(first.value.sources[1]!.sha256);
  });
});

describe('loadFtmJsonLines', () => {
  const lines = [
    JSON.stringify({ id: 'NK-abc', schema: 'Person', caption: 'Kim Jong Un', properties: { name: ['Kim Jong Un', 'KIM, Jong Un'], alias: ['Kim Jong-un', '김정은'] } }),
    JSON.stringify({ id: 'addr-1', schema: 'Address', caption: 'Pyongyang', properties: { full: ['Pyongyang'] } }),
    '',
    JSON.stringify({ id: 'ofac-vessel', schema: 'Vessel', caption: 'ARTAVIL', properties: { name: ['ARTAVIL'] } }),
    JSON.stringify({ id: 'co-1', schema: 'Company', caption: 'Bank Melli Iran', properties: { alias: ['BMI'] } }),
  ].join('\n');

  it('keeps the party schemata, maps their types, and takes caption, names and aliases once each', () => {
    const loaded = loadFtmJsonLines({ bytes: bytes(lines), loadedAt });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.reason));
    expect(loaded.value.entries).toEqual([
      { id: 'opensanctions:NK-abc', source: 'opensanctions', type: 'individual', names: ['Kim Jong Un', 'KIM, Jong Un', 'Kim Jong-un', '김정은'] },
      { id: 'opensanctions:ofac-vessel', source: 'opensanctions', type: 'vessel', names: ['ARTAVIL'] },
      { id: 'opensanctions:co-1', source: 'opensanctions', type: 'entity', names: ['Bank Melli Iran', 'BMI'] },
    ]);
  });

  it('versions the input bytes: SHA-256 of exactly those bytes', () => {
    const loaded = loadFtmJsonLines({ bytes: bytes(lines), loadedAt });
    const changed = loadFtmJsonLines({ bytes: bytes(lines.replace('ARTAVIL', 'ARTAVIM')), loadedAt });
    if (!loaded.ok || !changed.ok) throw new Error('did not load');
    expect(loaded.value.version).toBe(loaded.value.sources[0]!.sha256);
    expect(loadFtmJsonLines({ bytes: bytes(lines), loadedAt })).toMatchObject({ value: { version: loaded.value.version } });
    expect(changed.value.version).not.toBe(loaded.value.version);
  });

  it('names the line of a malformed entity', () => {
    expect(loadFtmJsonLines({ bytes: bytes(`${lines}\n{"id":`), loadedAt })).toMatchObject({ ok: false, reason: { kind: 'ftm-bad-json', line: 6 } });
    expect(loadFtmJsonLines({ bytes: bytes('{"schema":"Person","properties":{}}'), loadedAt })).toMatchObject({ ok: false, reason: { kind: 'ftm-bad-entity', line: 1 } });
  });
});
