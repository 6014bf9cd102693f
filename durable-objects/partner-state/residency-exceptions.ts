/**
 * A partner's residency exceptions, as PartnerState stores them (DESIGN.md "Policies, residency and
 * limits"): each one lets the partner pay for debtors of one country outside its jurisdiction until
 * it expires. They are created only by the ops console's two-person `residency-exception` change,
 * which Control applies by calling `PartnerState.recordResidencyException` (idempotent on the
 * change id, so Control may retry).
 *
 * Table:
 *   residency_exceptions(change_id PK, partner_id, debtor_country, owner, reason, expires_at_ms, recorded_at_ms)
 *
 * Threat: an exception is a hole in the residency rule, so nothing here decides whether it is
 * live. The edge passes every unexpired row to Cedar together with `now`, and the residency policy
 * judges expiry; a row that lapsed a moment ago but was still returned is refused there. Lapsed rows
 * stay for `residencyExceptionRetentionMs` (the console shows them, evidence reads them) and the
 * sweep alarm deletes them after.
 */
import { isCountryCode } from '../../core/iso3166.ts';

/** Lapsed exceptions kept for the console and evidence before the sweep deletes them. */
export const residencyExceptionRetentionMs = 90 * 24 * 60 * 60 * 1000;
/** Exceptions one partner may hold at once (live or within retention): far above any real need. */
export const residencyExceptionsMax = 1_000;
const changeIdCharsMax = 128;
const partnerIdCharsMax = 64;
const ownerCharsMax = 200;
const reasonCharsMax = 1_000;

export interface ResidencyExceptionInput {
  /** The ops change that created it: its identity, so a retried apply writes nothing new. */
  change_id: string;
  partner_id: string;
  /** ISO 3166-1 alpha-2 country of the debtors it admits. */
  debtor_country: string;
  owner: string;
  reason: string;
  expires_at_ms: number;
}

export interface ResidencyException extends ResidencyExceptionInput {
  recorded_at_ms: number;
}

type ResidencyExceptionRow = {
  change_id: string; partner_id: string; debtor_country: string; owner: string; reason: string; expires_at_ms: number; recorded_at_ms: number;
};

/** Programmer or operator error in the caller (Control): thrown, never stored. */
export function assertResidencyExceptionInput(input: ResidencyExceptionInput): void {
  const text = (name: keyof ResidencyExceptionInput, max: number) => {
    const value = input[name];
    if (typeof value !== 'string' || value.length === 0 || value.length > max) throw new Error(`recordResidencyException: ${name} must be 1..${max} characters`);
  };
  text('change_id', changeIdCharsMax);
  text('partner_id', partnerIdCharsMax);
  text('owner', ownerCharsMax);
  text('reason', reasonCharsMax);
  if (typeof input.debtor_country !== 'string' || !isCountryCode(input.debtor_country)) {
    throw new Error(`recordResidencyException: debtor_country ${String(input.debtor_country)} is not an ISO 3166-1 alpha-2 code`);
  }
  if (!Number.isSafeInteger(input.expires_at_ms) || input.expires_at_ms <= 0) throw new Error(`recordResidencyException: expires_at_ms must be epoch milliseconds, got ${input.expires_at_ms}`);
}

export function createResidencyExceptionsTable(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS residency_exceptions (
    change_id TEXT PRIMARY KEY, partner_id TEXT NOT NULL, debtor_country TEXT NOT NULL, owner TEXT NOT NULL, reason TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL, recorded_at_ms INTEGER NOT NULL)`);
  sql.exec(`CREATE INDEX IF NOT EXISTS residency_exceptions_by_expiry ON residency_exceptions (expires_at_ms)`);
}

/**
 * Stores the exception once per change id and returns what is stored: a repeat with the same change
 * id returns the first row unchanged, whatever it carries (the change is immutable once applied).
 */
export function insertResidencyException(sql: SqlStorage, input: ResidencyExceptionInput, nowMs: number): ResidencyException {
  const existing = selectByChangeId(sql, input.change_id);
  if (existing !== undefined) return existing;
  const held = sql.exec<{ count: number }>(`SELECT count(*) AS count FROM residency_exceptions`).one().count;
  if (held >= residencyExceptionsMax) throw new Error(`recordResidencyException: partner ${input.partner_id} already holds ${held} exceptions (max ${residencyExceptionsMax})`);
  sql.exec(
    `INSERT INTO residency_exceptions (change_id, partner_id, debtor_country, owner, reason, expires_at_ms, recorded_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    input.change_id, input.partner_id, input.debtor_country, input.owner, input.reason, input.expires_at_ms, nowMs,
  );
  return selectByChangeId(sql, input.change_id)!;
}

/** Exceptions that have not expired at `nowMs`, latest expiry first (the edge hands them to Cedar). */
export function unexpiredResidencyExceptions(sql: SqlStorage, nowMs: number): ResidencyException[] {
  return sql
    .exec<ResidencyExceptionRow>(`SELECT * FROM residency_exceptions WHERE expires_at_ms > ? ORDER BY expires_at_ms DESC, change_id`, nowMs)
    .toArray()
    .map(fromRow);
}

/** Every stored exception, live and lapsed, newest first (console, evidence). */
export function allResidencyExceptions(sql: SqlStorage): ResidencyException[] {
  return sql.exec<ResidencyExceptionRow>(`SELECT * FROM residency_exceptions ORDER BY recorded_at_ms DESC, change_id`).toArray().map(fromRow);
}

/** Deletes exceptions that lapsed more than the retention ago; returns how many. */
export function pruneLapsedResidencyExceptions(sql: SqlStorage, nowMs: number): number {
  return sql.exec(`DELETE FROM residency_exceptions WHERE expires_at_ms < ?`, nowMs - residencyExceptionRetentionMs).rowsWritten;
}

function selectByChangeId(sql: SqlStorage, changeId: string): ResidencyException | undefined {
  const row = sql.exec<ResidencyExceptionRow>(`SELECT * FROM residency_exceptions WHERE change_id = ?`, changeId).toArray()[0];
  return row === undefined ? undefined : fromRow(row);
}

function fromRow(row: ResidencyExceptionRow): ResidencyException {
  return {
    change_id: row.change_id,
    partner_id: row.partner_id,
    debtor_country: row.debtor_country,
    owner: row.owner,
    reason: row.reason,
    expires_at_ms: row.expires_at_ms,
    recorded_at_ms: row.recorded_at_ms,
  };
}
