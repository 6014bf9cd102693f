import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadOfacCsv, type SanctionsList } from '../../../core/sanctions/lists.ts';
import { createSanctionsMatcher, screeningAlgorithm, screeningThresholdDefault } from '../../../core/sanctions/matcher.ts';

function devList(): SanctionsList {
  const loaded = loadOfacCsv({
    sdn: readFileSync(new URL('../../../dev/sanctions/sdn.csv', import.meta.url)),
    alt: readFileSync(new URL('../../../dev/sanctions/alt.csv', import.meta.url)),
    loadedAt: '2026-12-01T00:00:00Z',
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.reason));
  return loaded.value;
}

const best = (matcher: ReturnType<typeof createSanctionsMatcher>, name: string) => matcher.screen(name).matches[0];

describe('sanctions matcher on the dev SDN excerpt', () => {
  const matcher = createSanctionsMatcher(devList());

  it('finds an exact alias with score 1 and names the alias, the entry, the algorithm and the list version', () => {
    const result = matcher.screen('Osama bin Laden');
    expect(result.matches[0]).toEqual({
      entryId: 'ofac-sdn:6365',
      entryType: 'individual',
      listedName: 'BIN LADIN, Usama bin Muhammad bin Awad',
      matchedName: 'BIN LADEN, Osama',
      score: 1,
      algorithm: screeningAlgorithm,
    });
    expect(result.listVersion).toBe(matcher.listVersion);
    expect(result.threshold).toBe(screeningThresholdDefault);
    expect(screeningAlgorithm).toEqual({ name: 'meridian-jw-dmetaphone', version: '3' });
  });

  it('ignores token order, case, punctuation and diacritics', () => {
    expect(best(matcher, 'Joaquín Guzmán Loera')).toMatchObject({ entryId: 'ofac-sdn:6861', matchedName: 'GUZMAN LOERA, Joaquin', score: 1 });
    expect(best(matcher, 'jong-un kim')).toMatchObject({ entryId: 'ofac-sdn:20157', score: 1 });
  });

  it('scores a misspelling above the threshold but below an exact match', () => {
    const misspelt = best(matcher, 'Jouquin Gusman Loera');
    expect(misspelt?.entryId).toBe('ofac-sdn:6861');
    expect(misspelt!.score).toBeGreaterThanOrEqual(screeningThresholdDefault);
    expect(misspelt!.score).toBeLessThan(1);
    expect(best(matcher, 'Hezbollah')).toMatchObject({ entryId: 'ofac-sdn:4697', matchedName: 'HIZBALLAH' });
    expect(best(matcher, 'Nicolas Maduro')?.entryId).toBe('ofac-sdn:22790');
  });

  it('matches names written in Arabic script through the consonant view of the index', () => {
    expect(best(matcher, 'أسامة بن لادن')).toMatchObject({ entryId: 'ofac-sdn:6365' });
    expect(best(matcher, 'قاسم سليماني')).toMatchObject({ entryId: 'ofac-sdn:10481' });
    expect(best(matcher, 'بنك ملي ايران')).toMatchObject({ entryId: 'ofac-sdn:25578' });
    expect(matcher.screen('فاطمة حسن').matches).toEqual([]);
  });

  it('matches an entity through its legal form', () => {
    expect(best(matcher, 'Banco Nacional de Cuba S.A.')).toMatchObject({ entryId: 'ofac-sdn:306', score: 1 });
  });

  it('leaves common unrelated names below the threshold', () => {
    for (const name of ['John Smith', 'Maria Garcia', 'Kim Min-jun', 'National Bank of Kuwait', 'Hermann Schmidt GmbH']) {
      expect(matcher.screen(name).matches, name).toEqual([]);
    }
    // The same unrelated name is reported once the threshold is lowered: the threshold decides, not retrieval.
    const lenient = createSanctionsMatcher(devList(), { threshold: 0.5 });
    expect(lenient.screen('Hermann Schmidt GmbH').matches[0]?.entryId).toBe('ofac-sdn:4234');
  });

  it('screens both parties of a payment', () => {
    const payment = matcher.screenPayment('ACME Trading Ltd', 'KOREA KWANGSON BANKING CORPORATION');
    expect(payment.hit).toBe(true);
    expect(payment.debtor.matches).toEqual([]);
    expect(payment.creditor.matches[0]?.entryId).toBe('ofac-sdn:11581');
    expect(matcher.screenPayment('Jane Doe', 'Acme GmbH').hit).toBe(false);
  });

  it('rejects a threshold outside (0, 1]', () => {
    expect(() => createSanctionsMatcher(devList(), { threshold: 0 })).toThrow(RangeError);
    expect(() => createSanctionsMatcher(devList(), { threshold: 1.5 })).toThrow(RangeError);
  });
});

describe('candidate retrieval', () => {
  // The dev excerpt plus 2,000 filler entries that share no token or sound with the queries below.
  const filler = Array.from({ length: 2_000 }, (_, index) => ({
    id: `filler:${index}`,
    source: 'ofac-sdn' as const,
    type: 'entity' as const,
    names: [`Qxyrtel Vexport ${index.toString(36)}`],
  }));
  const dev = devList();
  const matcher = createSanctionsMatcher({ ...dev, entries: [...dev.entries, ...filler] });

  it('scores only names that share an indexed token or phonetic key, never the whole list', () => {
    expect(matcher.namesIndexed).toBeGreaterThan(2_000);
    const before = matcher.namesScoredTotal;
    const result = matcher.screen('Joaquin Guzman Loera');
    expect(result.matches[0]?.entryId).toBe('ofac-sdn:6861');
    // Every GUZMAN/LOERA/JOAQUIN-sounding alias of entry 6861 and little else: 18 names at most.
    expect(result.candidatesScored).toBeGreaterThan(0);
    expect(result.candidatesScored).toBeLessThanOrEqual(20);
    expect(matcher.namesScoredTotal - before).toBe(result.candidatesScored);
    expect(matcher.screen('John Smith').candidatesScored).toBe(0);
  });

  it('does score every name that shares a key (the counter counts what it claims)', () => {
    expect(matcher.screen('Vexport').candidatesScored).toBe(2_000);
  });
});
