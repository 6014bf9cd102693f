/**
 * A partner's sanctions screening results (DESIGN.md "Sanctions screening" and "Evidence"): one row
 * per admitted payment, clear or held, with what an auditor needs to reproduce the decision — the
 * provider, the list version (digest and load time), the algorithm, the threshold, and for a hold
 * its matches or the provider failure. Written inside `admit` in the same transaction as the
 * payment row, so a payment is never admitted without its result and a retry never writes twice.
 *
 * Table:
 *   screening_results(id PK autoincrement, at_ms, uetr, outcome, cause, provider_id, list_digest,
 *                     list_loaded_at, algorithm, threshold, matches JSON, failure JSON)   index on at_ms
 *
 * Retention: as policy decisions (`policyDecisionRetentionMs`, at most `screeningResultsMax` rows),
 * pruned by the sweep alarm. The matches name the parties: this table is read by operators and the
 * evidence export only, never by the partner (no tipping-off).
 */
import { policyDecisionRetentionMs } from './policy-decisions.ts';
import { capEvidenceRows, pruneEvidenceRows } from './evidence-rows.ts';

export const screeningResultsMax = 200_000;
export const screeningResultsPageMax = 500;
const matchesStoredMax = 10;
const failureBytesMax = 2_048;

export type ScreeningOutcomeName = 'clear' | 'possible-match' | 'provider-unavailable';

export interface ScreeningMatchRecord {
  party: 'debtor' | 'creditor';
  screened_name: string;
  entry_id: string;
  listed_name: string;
  matched_alias: string;
  score: number;
  algorithm: string;
}

/** What the edge hands PartnerState with an admission (workers/payments/screening-evidence.ts builds it). */
export interface ScreeningResultInput {
  uetr: string;
  outcome: ScreeningOutcomeName;
  /** Why the payment is held; null when clear. */
  cause: 'possible-match' | 'provider-unavailable' | null;
  provider_id: string;
  /** Null when no provider answered. */
  list_version: { digest: string; loaded_at: string } | null;
  /** The algorithm that scored (the matches' own, or the provider's when nothing matched); null when no provider answered. */
  algorithm: string | null;
  threshold: number | null;
  screened_at: string;
  matches: ScreeningMatchRecord[];
  /** The provider failure (kind and detail), only on provider-unavailable. */
  failure: Record<string, string | number> | null;
}

export interface ScreeningResult extends ScreeningResultInput {
  id: number;
}

export interface ScreeningResultPage {
  results: ScreeningResult[];
  next_after_id: number | null;
}

type ScreeningRow = {
  id: number; at_ms: number; uetr: string; outcome: string; cause: string | null; provider_id: string; list_digest: string | null; list_loaded_at: string | null;
  algorithm: string | null; threshold: number | null; matches: string; failure: string | null;
};

export function createScreeningResultsTable(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS screening_results (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, uetr TEXT NOT NULL, outcome TEXT NOT NULL, cause TEXT, provider_id TEXT NOT NULL,
    list_digest TEXT, list_loaded_at TEXT, algorithm TEXT, threshold REAL, matches TEXT NOT NULL, failure TEXT)`);
  sql.exec(`CREATE INDEX IF NOT EXISTS screening_results_by_time ON screening_results (at_ms)`);
}

/** Programmer error at the edge: thrown, never stored half-formed. */
function assertScreeningResultInput(input: ScreeningResultInput): void {
  const outcomes: readonly string[] = ['clear', 'possible-match', 'provider-unavailable'];
  if (!outcomes.includes(input.outcome)) throw new Error(`screening result: unknown outcome ${String(input.outcome)}`);
  if ((input.outcome === 'clear') !== (input.cause === null)) throw new Error('screening result: a hold carries its cause and a clear result none');
  if (input.outcome === 'possible-match' && input.matches.length === 0) throw new Error('screening result: a possible match without matches');
  if (input.outcome !== 'provider-unavailable' && (input.list_version === null || input.threshold === null)) throw new Error('screening result: an answer without list version or threshold');
  if (Number.isNaN(Date.parse(input.screened_at))) throw new Error('screening result: screened_at is not a date-time');
}

export function insertScreeningResult(sql: SqlStorage, input: ScreeningResultInput): number {
  assertScreeningResultInput(input);
  let failure = input.failure === null ? null : JSON.stringify(input.failure);
  if (failure !== null && failure.length > failureBytesMax) failure = JSON.stringify({ truncated: true, prefix: failure.slice(0, failureBytesMax - 64) });
  const id = sql
    .exec<{ id: number }>(
      `INSERT INTO screening_results (at_ms, uetr, outcome, cause, provider_id, list_digest, list_loaded_at, algorithm, threshold, matches, failure)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      Date.parse(input.screened_at), input.uetr, input.outcome, input.cause, input.provider_id, input.list_version?.digest ?? null, input.list_version?.loaded_at ?? null,
      input.algorithm, input.threshold, JSON.stringify(input.matches.slice(0, matchesStoredMax)), failure,
    )
    .one().id;
  capEvidenceRows(sql, 'screening_results', id, screeningResultsMax);
  return id;
}

/** Oldest first within [fromMs, toMs) of screening time, paged by id. */
export function selectScreeningResults(sql: SqlStorage, query: { fromMs?: number; toMs?: number; limit?: number; afterId?: number }): ScreeningResultPage {
  const limit = Math.max(1, Math.min(Math.trunc(query.limit ?? 100), screeningResultsPageMax));
  const rows = sql
    .exec<ScreeningRow>(
      `SELECT * FROM screening_results WHERE at_ms >= ? AND at_ms < ? AND id > ? ORDER BY id LIMIT ?`,
      query.fromMs ?? 0, query.toMs ?? Number.MAX_SAFE_INTEGER, query.afterId ?? 0, limit + 1,
    )
    .toArray();
  const page = rows.slice(0, limit).map(screeningResultOf);
  return { results: page, next_after_id: rows.length > limit ? (page.at(-1)?.id ?? null) : null };
}

/** The one result of a payment (the latest, should a pruned UETR have come back). */
export function screeningResultFor(sql: SqlStorage, uetr: string): ScreeningResult | null {
  const row = sql.exec<ScreeningRow>(`SELECT * FROM screening_results WHERE uetr = ? ORDER BY id DESC LIMIT 1`, uetr).toArray()[0];
  return row === undefined ? null : screeningResultOf(row);
}

export function pruneOldScreeningResults(sql: SqlStorage, nowMs: number, batchRowsMax: number): number {
  return pruneEvidenceRows(sql, 'screening_results', nowMs - policyDecisionRetentionMs, batchRowsMax);
}

function screeningResultOf(row: ScreeningRow): ScreeningResult {
  return {
    id: row.id,
    uetr: row.uetr,
    outcome: row.outcome as ScreeningOutcomeName,
    cause: row.cause as ScreeningResult['cause'],
    provider_id: row.provider_id,
    list_version: row.list_digest === null ? null : { digest: row.list_digest, loaded_at: row.list_loaded_at ?? '' },
    algorithm: row.algorithm,
    threshold: row.threshold,
    screened_at: new Date(row.at_ms).toISOString(),
    matches: JSON.parse(row.matches) as ScreeningMatchRecord[],
    failure: row.failure === null ? null : (JSON.parse(row.failure) as Record<string, string | number>),
  };
}
