/**
 * Sorts a failed settlement transaction into what the commit loop should do about it.
 * Drizzle wraps query errors (DrizzleQueryError, with the driver's error as `cause`) while
 * postgres.js raises COMMIT's own errors directly, so the SQLSTATE is looked up along the cause
 * chain — by the `code` field, not by instanceof, which breaks across package copies.
 */

export type TransactionFailure =
  /** 40001 / 40P01, or a unique violation from a concurrent writer: nothing committed; run again. */
  | { kind: 'retryable'; code: string }
  /** 40003, or the connection dropped: the COMMIT may or may not have happened; read back first. */
  | { kind: 'outcome-unknown'; code: string }
  | { kind: 'fatal' };

/** SQLSTATEs after which the transaction is known to have rolled back and may simply be rerun. */
const retryableSqlStates: ReadonlySet<string> = new Set([
  '40001', // serialization_failure (CockroachDB: every transaction retry error)
  '40P01', // deadlock_detected
  // unique_violation: the attempt checked the digest, batch id and log tail first, so a duplicate
  // key can only come from a concurrent transaction that committed in between. PostgreSQL often
  // reports that race as 40001 under SERIALIZABLE, but not always; the rerun sees the winner.
  '23505',
]);

const outcomeUnknownSqlStates: ReadonlySet<string> = new Set([
  '40003', // statement_completion_unknown (CockroachDB's ambiguous commit)
  '08007', // transaction_resolution_unknown
]);

/**
 * The connection is gone: postgres.js and Node socket errors, and the SQLSTATEs the server sends
 * just before it closes the session. If that happened during COMMIT the outcome is unknown.
 */
const connectionErrorCodes: ReadonlySet<string> = new Set([
  '57P01', // admin_shutdown: pg_terminate_backend, a fast shutdown, a failover
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '25P03', // idle_in_transaction_session_timeout (FATAL)
  '25P04', // transaction_timeout (FATAL; PostgreSQL 17+)
  '08000', // connection_exception
  '08003', // connection_does_not_exist
  '08006', // connection_failure
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

const causeDepthMax = 8;

export function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < causeDepthMax && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}

export function classifyTransactionFailure(error: unknown): TransactionFailure {
  for (const code of errorCodes(error)) {
    if (retryableSqlStates.has(code)) return { kind: 'retryable', code };
    if (outcomeUnknownSqlStates.has(code) || connectionErrorCodes.has(code)) return { kind: 'outcome-unknown', code };
  }
  return { kind: 'fatal' };
}

/** True for errors that mean the database is unreachable rather than that the request is wrong. */
export function isConnectionError(error: unknown): boolean {
  return errorCodes(error).some((code) => connectionErrorCodes.has(code));
}
