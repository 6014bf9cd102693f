/**
 * Runs one SERIALIZABLE transaction through drizzle (postgres.js `begin`) so that a transaction
 * whose connection is lost never writes on that connection again.
 *
 * Why this exists — postgres.js 3.4.9, found by test/regional/faults.test.ts:
 * - When the connection dies under an open transaction, `begin()` rejects at once (good), but the
 *   transaction body keeps running. Its next query goes to the same connection object, which the
 *   pool may meanwhile have reconnected for other work: the query would then run outside this
 *   transaction, or inside someone else's (porsager/postgres#1155, #1216).
 * - When the body settles after the loss, postgres.js itself writes ROLLBACK (body threw) or COMMIT
 *   (body returned) on that connection. With the socket gone the deferred write throws an
 *   uncatchable TypeError ("Cannot read properties of null (reading 'write')") that takes the
 *   process down (porsager/postgres#1133, #1208); with the connection reconnected, the ROLLBACK or
 *   COMMIT would land in another session's transaction.
 * So once the connection is lost — a connection-class error reaches the body, or `begin()` has
 * rejected — the body parks: it never settles, and postgres.js never writes for it again. The
 * caller already has its rejection from `begin()` and reads back or retries. A parked body holds
 * no connection and nothing references it; it is garbage once the caller moves on.
 *
 * Not covered here (driver-level; needs the upstream fix, porsager/postgres#1209/#1215): a query
 * written in the same event-loop turn in which the socket closes. That window is one loop turn
 * wide; everything wider is closed by the parking above.
 */
import { sql } from 'drizzle-orm';
import type { RegionalOrm, RegionalQueryable } from './client.ts';
import { classifyTransactionFailure, isConnectionError } from './transaction-errors.ts';

/** Thrown into a body that touches its transaction after the transaction was abandoned. */
class TransactionAbandoned extends Error {
  readonly kind = 'transaction-abandoned';
}

const parked: Promise<never> = new Promise<never>(() => {});

export async function runSerializableTransaction<T>(db: RegionalOrm, body: (tx: RegionalQueryable) => Promise<T>): Promise<T> {
  const state = { abandoned: false };
  const transaction = db.transaction(async (tx) => {
    try {
      // Isolation is set explicitly, as the first statement inside the guard (PostgreSQL defaults
      // to READ COMMITTED, under which the log append could fork).
      await tx.execute(sql`set transaction isolation level serializable`);
      const result = await body(abandonable(tx, state));
      if (state.abandoned) return parked;
      return result;
    } catch (error) {
      // A signer error is never a lost database connection, even when its cause carries a socket
      // code (the KMS SDK's request timeout is ETIMEDOUT): parking it would hold this transaction,
      // and on PGlite the whole database, open forever (test/chaos/kms-faults.test.ts found it).
      const signerError = (error as { kind?: unknown } | null)?.kind === 'kms-signer';
      if (state.abandoned || error instanceof TransactionAbandoned || (isConnectionError(error) && !signerError)) return parked;
      throw error;
    }
  });
  try {
    return await transaction;
  } catch (error) {
    state.abandoned = true;
    throw error;
  }
}

/**
 * The transaction handle as the body sees it: once abandoned, touching it throws (and the guard
 * parks the body) instead of issuing a query.
 */
function abandonable(tx: RegionalQueryable, state: { abandoned: boolean }): RegionalQueryable {
  return new Proxy(tx, {
    get(target, property) {
      if (state.abandoned) throw new TransactionAbandoned('the transaction was abandoned after its connection was lost');
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * The `sqlstate` label of meridian_settlement_commit_retries_total: the code itself when the commit
 * loop retries on it (a retryable or outcome-unknown code of ./transaction-errors.ts, a closed
 * set), `other` for anything else, so a driver inventing codes cannot grow the label set.
 */
export function retrySqlStateLabel(code: string): string {
  return classifyTransactionFailure({ code }).kind === 'fatal' ? 'other' : code;
}
