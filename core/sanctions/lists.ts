import { sha256, sha256Hex } from '../digest.ts';
import { err, ok, type Result } from '../result.ts';
import { parseCsv, type CsvError } from './csv.ts';

/*
 * Sanctions list loaders. Two inputs, one output shape:
 *
 *   OFAC legacy CSV   sdn.csv  ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type,
 *                              Tonnage, GRT, Vess_flag, Vess_owner, Remarks        (12 columns)
 *                     alt.csv  ent_num, alt_num, alt_type, alt_name, alt_remarks   (5 columns)
 *                     no header row; `-0-` is null; the files end with a Ctrl-Z (0x1A) record.
 *   OpenSanctions     FollowTheMoney entities, one JSON object a line:
 *                     {"id", "schema", "caption", "properties": {"name": [...], "alias": [...]}}
 *
 * → SanctionsList { version, loadedAt, sources, entries: [{ id, source, type, names }] }
 *
 * The version is what evidence cites to say which list screened a payment: lowercase hex SHA-256
 * of the input bytes. One file (FtM) hashes its bytes; the OFAC pair hashes the concatenation of
 * the two files' SHA-256 digests (sdn then alt), so that moving a byte across the file boundary
 * still changes the version. Each file's own digest is kept in `sources`.
 */

export type SanctionsSource = 'ofac-sdn' | 'opensanctions';
export type SanctionedPartyType = 'individual' | 'entity' | 'vessel' | 'aircraft';

export interface SanctionsEntry {
  /** Unique within the list: `ofac-sdn:<ent_num>` or `opensanctions:<id>`. */
  id: string;
  source: SanctionsSource;
  type: SanctionedPartyType;
  /** The primary name first, then the aliases, as written in the list (not normalised). */
  names: string[];
}

export interface SanctionsList {
  version: string;
  /** RFC 3339, set by the caller's clock. */
  loadedAt: string;
  sources: { file: string; sha256: string }[];
  entries: SanctionsEntry[];
}

export type ListLoadError =
  | { kind: 'list-too-large'; file: string; bytes: number; bytesMax: number }
  | (CsvError & { file: string })
  | { kind: 'ofac-bad-record'; file: string; record: number; columns: number; expected: number }
  | { kind: 'ofac-duplicate-entry'; file: string; entNum: string }
  | { kind: 'ofac-alias-without-entry'; file: string; entNum: string }
  | { kind: 'ftm-bad-json'; line: number; cause: string }
  | { kind: 'ftm-bad-entity'; line: number; detail: string };

/** The full OFAC SDN CSV is ~5 MB and OpenSanctions' default dataset ~1 GB; the edge loads slices. */
export const listBytesMax = 256 * 1024 * 1024;
/** Names kept per entry; the longest OFAC alias lists have a few dozen. */
export const entryNamesMax = 256;
export const ofacSdnColumns = 12;
export const ofacAltColumns = 5;

const ofacNull = '-0-';
const textDecoder = new TextDecoder('utf-8');

export function loadOfacCsv(input: { sdn: Uint8Array; alt: Uint8Array; loadedAt: string }): Result<SanctionsList, ListLoadError> {
  for (const [file, bytes] of [['sdn.csv', input.sdn], ['alt.csv', input.alt]] as const) {
    if (bytes.byteLength > listBytesMax) return err({ kind: 'list-too-large', file, bytes: bytes.byteLength, bytesMax: listBytesMax });
  }
  const sdn = ofacRecords('sdn.csv', input.sdn, ofacSdnColumns);
  if (!sdn.ok) return sdn;
  const alt = ofacRecords('alt.csv', input.alt, ofacAltColumns);
  if (!alt.ok) return alt;

  const byEntNum = new Map<string, SanctionsEntry>();
  for (const [entNum, sdnName, sdnType] of sdn.value) {
    if (byEntNum.has(entNum!)) return err({ kind: 'ofac-duplicate-entry', file: 'sdn.csv', entNum: entNum! });
    byEntNum.set(entNum!, { id: `ofac-sdn:${entNum}`, source: 'ofac-sdn', type: ofacPartyType(sdnType!), names: [sdnName!] });
  }
  for (const [entNum, , , altName] of alt.value) {
    const entry = byEntNum.get(entNum!);
    // An alias for an entry the SDN file lacks means the two files are from different publications.
    if (entry === undefined) return err({ kind: 'ofac-alias-without-entry', file: 'alt.csv', entNum: entNum! });
    addName(entry, altName!);
  }
  const sdnDigest = sha256(input.sdn);
  const altDigest = sha256(input.alt);
  const both = new Uint8Array(sdnDigest.length + altDigest.length);
  both.set(sdnDigest, 0);
  both.set(altDigest, sdnDigest.length);
  return ok({
    version: sha256Hex(both),
    loadedAt: input.loadedAt,
    sources: [{ file: 'sdn.csv', sha256: sha256Hex(input.sdn) }, { file: 'alt.csv', sha256: sha256Hex(input.alt) }],
    entries: [...byEntNum.values()],
  });
}

/** Records of one OFAC file with `-0-` turned to '' and the trailing Ctrl-Z record dropped. */
function ofacRecords(file: string, bytes: Uint8Array, columns: number): Result<string[][], ListLoadError> {
  const parsed = parseCsv(textDecoder.decode(bytes));
  if (!parsed.ok) return err({ ...parsed.reason, file });
  const records: string[][] = [];
  for (const [index, record] of parsed.value.entries()) {
    if (record.length === 1 && /^[\s\u001a]*$/.test(record[0]!)) continue;
    if (record.length !== columns) return err({ kind: 'ofac-bad-record', file, record: index + 1, columns: record.length, expected: columns });
    const fields = record.map((field) => field.trim()).map((field) => (field === ofacNull ? '' : field));
    if (fields[0] === '' || (file === 'sdn.csv' ? fields[1] : fields[3]) === '') {
      return err({ kind: 'ofac-bad-record', file, record: index + 1, columns: record.length, expected: columns });
    }
    records.push(fields);
  }
  return ok(records);
}

/** OFAC leaves SDN_Type null (`-0-`) for entities. */
function ofacPartyType(sdnType: string): SanctionedPartyType {
  switch (sdnType.toLowerCase()) {
    case 'individual':
      return 'individual';
    case 'vessel':
      return 'vessel';
    case 'aircraft':
      return 'aircraft';
    default:
      return 'entity';
  }
}

/** FtM schemata that name a party we screen; every other schema (Address, Sanction, …) is skipped. */
const ftmPartyTypes: Record<string, SanctionedPartyType> = {
  Person: 'individual',
  Organization: 'entity',
  Company: 'entity',
  LegalEntity: 'entity',
  PublicBody: 'entity',
  Vessel: 'vessel',
  Airplane: 'aircraft',
};

export function loadFtmJsonLines(input: { bytes: Uint8Array; loadedAt: string }): Result<SanctionsList, ListLoadError> {
  if (input.bytes.byteLength > listBytesMax) return err({ kind: 'list-too-large', file: 'entities.ftm.json', bytes: input.bytes.byteLength, bytesMax: listBytesMax });
  const entries: SanctionsEntry[] = [];
  const lines = textDecoder.decode(input.bytes).split('\n');
  for (const [index, text] of lines.entries()) {
    if (text.trim() === '') continue;
    const line = index + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      return err({ kind: 'ftm-bad-json', line, cause: String(cause) });
    }
    const entity = ftmEntity(parsed);
    if (typeof entity === 'string') return err({ kind: 'ftm-bad-entity', line, detail: entity });
    if (entity !== null) entries.push(entity);
  }
  const digest = sha256Hex(input.bytes);
  return ok({ version: digest, loadedAt: input.loadedAt, sources: [{ file: 'entities.ftm.json', sha256: digest }], entries });
}

/** The entry, null for a schema we do not screen, or a string saying what is wrong. */
function ftmEntity(value: unknown): SanctionsEntry | null | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const { id, schema, caption, properties } = value as Record<string, unknown>;
  if (typeof id !== 'string' || id === '') return 'id is not a non-empty string';
  if (typeof schema !== 'string') return 'schema is not a string';
  const type = Object.hasOwn(ftmPartyTypes, schema) ? ftmPartyTypes[schema] : undefined;
  if (type === undefined) return null;
  const props = (typeof properties === 'object' && properties !== null ? properties : {}) as Record<string, unknown>;
  const entry: SanctionsEntry = { id: `opensanctions:${id}`, source: 'opensanctions', type, names: [] };
  for (const candidate of [caption, ...stringArray(props.name), ...stringArray(props.alias)]) {
    if (typeof candidate === 'string') addName(entry, candidate);
  }
  if (entry.names.length === 0) return 'no caption, name or alias';
  return entry;
}

function stringArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function addName(entry: SanctionsEntry, name: string): void {
  const trimmed = name.trim();
  if (trimmed === '' || entry.names.length >= entryNamesMax || entry.names.includes(trimmed)) return;
  entry.names.push(trimmed);
}
