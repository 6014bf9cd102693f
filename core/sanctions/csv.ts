import { err, ok, type Result } from '../result.ts';

/*
 * An RFC 4180 CSV reader, written for OFAC's legacy files: fields separated by commas, records by
 * CRLF or LF, a field in double quotes may hold commas, line breaks and `""` for one quote. A
 * quote inside an unquoted field, or text after a closing quote, is malformed and reported with
 * its line rather than guessed at: a list we misread is a list that screens the wrong names.
 *
 * The reader walks the text one field at a time and slices each field out whole (no character-by-
 * character concatenation: the full SDN pair is ~2.4 MB and is parsed on an isolate's first
 * screening); no regex, no recursion.
 */

export type CsvError =
  | { kind: 'csv-unterminated-quote'; line: number }
  | { kind: 'csv-stray-quote'; line: number }
  | { kind: 'csv-text-after-quote'; line: number }
  | { kind: 'csv-too-many-records'; recordsMax: number };

/** The full OFAC SDN list is ~18,000 records; the alias file ~20,000. */
export const csvRecordsMax = 1_000_000;

const comma = 44;
const quote = 34;
const lineFeed = 10;
const carriageReturn = 13;

export function parseCsv(text: string): Result<string[][], CsvError> {
  const records: string[][] = [];
  let record: string[] = [];
  let line = 1;
  let at = 0;
  const isLineEnd = (index: number) => text.charCodeAt(index) === lineFeed || (text.charCodeAt(index) === carriageReturn && text.charCodeAt(index + 1) === lineFeed);
  while (at < text.length) {
    let field: string;
    if (text.charCodeAt(at) === quote) {
      // Quoted: up to the next quote that is not doubled; commas and line breaks inside are data.
      field = '';
      let from = at + 1;
      for (;;) {
        const closing = text.indexOf('"', from);
        if (closing === -1) return err({ kind: 'csv-unterminated-quote', line: line + countLineFeeds(text, at, text.length) });
        field += text.slice(from, closing);
        if (text.charCodeAt(closing + 1) === quote) {
          field += '"';
          from = closing + 2;
          continue;
        }
        line += countLineFeeds(text, at, closing);
        at = closing + 1;
        break;
      }
      if (at < text.length && text.charCodeAt(at) !== comma && !isLineEnd(at)) return err({ kind: 'csv-text-after-quote', line });
    } else {
      let end = at;
      while (end < text.length && text.charCodeAt(end) !== comma && !isLineEnd(end)) {
        if (text.charCodeAt(end) === quote) return err({ kind: 'csv-stray-quote', line });
        end++;
      }
      field = text.slice(at, end);
      at = end;
    }
    record.push(field);
    if (at >= text.length) break;
    if (text.charCodeAt(at) === comma) {
      at++;
      // A comma at the very end still ends an (empty) last field.
      if (at === text.length) record.push('');
      continue;
    }
    at += text.charCodeAt(at) === carriageReturn ? 2 : 1;
    records.push(record);
    record = [];
    line++;
    if (records.length > csvRecordsMax) return err({ kind: 'csv-too-many-records', recordsMax: csvRecordsMax });
  }
  // A file that ends without a final line break still ends its last record.
  if (record.length > 0) records.push(record);
  return ok(records);
}

function countLineFeeds(text: string, from: number, to: number): number {
  let count = 0;
  for (let index = text.indexOf('\n', from); index !== -1 && index < to; index = text.indexOf('\n', index + 1)) count++;
  return count;
}
