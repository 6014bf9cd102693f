import { err, ok, type Result } from '../result.ts';

/*
 * An RFC 4180 CSV reader, written for OFAC's legacy files: fields separated by commas, records by
 * CRLF or LF, a field in double quotes may hold commas, line breaks and `""` for one quote. A
 * quote inside an unquoted field, or text after a closing quote, is malformed and reported with
 * its line rather than guessed at: a list we misread is a list that screens the wrong names.
 *
 * The reader is one loop over the characters with an explicit state; no regex, no recursion.
 */

export type CsvError =
  | { kind: 'csv-unterminated-quote'; line: number }
  | { kind: 'csv-stray-quote'; line: number }
  | { kind: 'csv-text-after-quote'; line: number }
  | { kind: 'csv-too-many-records'; recordsMax: number };

/** The full OFAC SDN list is ~18,000 records; the alias file ~20,000. */
export const csvRecordsMax = 1_000_000;

export function parseCsv(text: string): Result<string[][], CsvError> {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let state: 'field-start' | 'unquoted' | 'quoted' | 'quote-in-quoted' = 'field-start';
  let line = 1;
  const endField = () => {
    record.push(field);
    field = '';
    state = 'field-start';
  };
  const endRecord = () => {
    endField();
    records.push(record);
    record = [];
  };
  for (let at = 0; at < text.length; at++) {
    const char = text[at]!;
    if (state === 'quoted') {
      if (char === '"') state = 'quote-in-quoted';
      else field += char;
      if (char === '\n') line++;
      continue;
    }
    if (state === 'quote-in-quoted' && char === '"') {
      field += '"';
      state = 'quoted';
      continue;
    }
    if (char === ',') {
      endField();
    } else if (char === '\n' || (char === '\r' && text[at + 1] === '\n')) {
      if (char === '\r') at++;
      endRecord();
      line++;
      if (records.length > csvRecordsMax) return err({ kind: 'csv-too-many-records', recordsMax: csvRecordsMax });
    } else if (state === 'quote-in-quoted') {
      return err({ kind: 'csv-text-after-quote', line });
    } else if (char === '"') {
      if (state === 'unquoted') return err({ kind: 'csv-stray-quote', line });
      state = 'quoted';
    } else {
      field += char;
      state = 'unquoted';
    }
  }
  if (state === 'quoted') return err({ kind: 'csv-unterminated-quote', line });
  // A file that ends without a final line break still ends its last record.
  if (state !== 'field-start' || record.length > 0) endRecord();
  return ok(records);
}
