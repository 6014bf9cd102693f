import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../../core/sanctions/csv.ts';

describe('parseCsv (RFC 4180)', () => {
  it('keeps commas, doubled quotes and line breaks inside quoted fields', () => {
    const parsed = parseCsv('1,"CECOEX, S.A.","a ""quoted"" word","two\r\nlines"\r\n2,plain,,-0- \n');
    expect(parsed).toEqual({ ok: true, value: [['1', 'CECOEX, S.A.', 'a "quoted" word', 'two\r\nlines'], ['2', 'plain', '', '-0- ']] });
  });

  it('ends the last record without a final line break, and an empty quoted field is empty', () => {
    expect(parseCsv('a,""\nb,c')).toEqual({ ok: true, value: [['a', ''], ['b', 'c']] });
  });

  it('reports malformed quoting with its line instead of guessing', () => {
    expect(parseCsv('1,"open\n2,x\n')).toEqual({ ok: false, reason: { kind: 'csv-unterminated-quote', line: 3 } });
    expect(parseCsv('1,ab"c\n')).toEqual({ ok: false, reason: { kind: 'csv-stray-quote', line: 1 } });
    expect(parseCsv('1,x\n2,"ab"c\n')).toEqual({ ok: false, reason: { kind: 'csv-text-after-quote', line: 2 } });
  });

  it('reads back exactly what an RFC 4180 writer wrote, whatever the fields hold', () => {
    const field = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', ',', '"', '\n', '\r', '-', '0', 'é') , maxLength: 12 });
    const records = fc.array(fc.array(field, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(records, fc.constantFrom('\n', '\r\n'), (written, lineEnd) => {
        // Quote every field (the writer's choice OFAC makes for names); an all-empty single-field record is then `""`.
        const text = written.map((record) => record.map((value) => `"${value.replaceAll('"', '""')}"`).join(',')).join(lineEnd) + lineEnd;
        expect(parseCsv(text)).toEqual({ ok: true, value: written });
      }),
      { seed: 4180, numRuns: 300 },
    );
  });
});
