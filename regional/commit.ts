/**
 * Commits a verified settlement batch: one SERIALIZABLE transaction writes the batch, its legs,
 * the double-entry journal and the net positions, appends the jurisdiction's log leaf, and stores
 * the signed receipt in the same row. Idempotent by digest: a repeat delivery returns the receipt
 * stored the first time, byte for byte.
 *
 * The receipt is signed inside the transaction, before COMMIT, because it names the log index the
 * transaction is about to claim; if the transaction loses a serialization race, the receipt is
 * discarded with it and the retry signs a new one for its own index. (With KMS this holds the
 * transaction open for two Sign calls — the receipt and the DSSE log leaf — tens of milliseconds.)
 *
 * What is written is read back before COMMIT, by aggregate (ledger/ledger-summary.ts): leg and
 * position counts and checksums, and the journal's balance per account, computed by the database.
 *
 * The edge token's expiry bounds the COMMIT (see commitDeadlineMarginMs): a delivery whose token
 * has expired never commits a new batch; it answers 503 unavailable (reason edge-token-expired) and
 * the edge delivers again with a fresh token. A replay may still answer after expiry: it commits
 * nothing.
 *
 * Failures: 40001/40P01 (and a concurrent writer's 23505) → rerun with capped, jittered
 * exponential backoff. 40003, 08007 or a lost connection (including a terminated backend, 57P01)
 * → the COMMIT may have happened, so read back by digest first and return what is stored;
 * rerunning is safe anyway, since the rerun starts with the digest check. Out of retries → 503,
 * and the edge's outbox delivers again later. A transaction whose connection was lost is
 * abandoned for good (db/serializable-transaction.ts): its body never writes again.
 */
import { createHash } from 'node:crypto';
import { ProblemError } from '../core/problem.ts';
import type { SettlementBatch, SettlementReceiptClaims, SettlementResponse } from '../core/settlement-batch.ts';
import { backoffDelayMs, sleep, type BackoffPolicy } from './db/backoff.ts';
import type { RegionalOrm, RegionalQueryable } from './db/client.ts';
import { runSerializableTransaction } from './db/serializable-transaction.ts';
import { classifyTransactionFailure, isConnectionError } from './db/transaction-errors.ts';
import { currentEdgeTokenExpiresAt } from './edge-token.ts';
import { assertStoredSettlementMatches } from './ledger/assert-stored.ts';
import { assertJournalBalanced, journalEntriesForLegs } from './ledger/journal.ts';
import { assertLedgerSummaryMatches, expectedLedgerSummary, readLedgerSummary, type LedgerSummary } from './ledger/ledger-summary.ts';
import { findSettlementByBatchId, findSettlementByDigest, type StoredSettlement } from './ledger/read-settlement.ts';
import { insertSettlement } from './ledger/write-settlement.ts';
import { appendLogLeaf, nextLeafIndex } from './log/append.ts';
import { settlementLogLeaf } from './log/leaf.ts';
import { signSettlementReceipt } from './receipt.ts';
import type { Signer } from './signer/signer.ts';

export const commitBackoffPolicy: BackoffPolicy = { retriesMax: 8, backoffBaseMs: 10, backoffCapMs: 1_000 };

/**
 * A new batch is committed only while its delivery's edge token has at least this long to live, by
 * this backend's clock: the check runs as the transaction's last step, and this covers the COMMIT
 * round trip after it (milliseconds normally; a stalled database is what the margin is for).
 *
 * The race it bounds. The edge gives up on a backend after its delivery timeout
 * (durable-objects/corridor-window/deliver-batch.ts deliveryTimeoutMs, 15 s), well inside the
 * token's lifetime (core settlementTokenTtlSeconds, 30 s), while that backend's transaction may
 * still run. If siblings then refuse the batch and the edge's read-back finds it absent, the window
 * is marked `refused` and its payments `rejected` — and a COMMIT landing after that read-back would
 * settle payments the partners were told were rejected. With this check no COMMIT of a new batch
 * happens after exp − commitDeadlineMarginMs on this backend's clock, which is before exp +
 * clockToleranceSeconds on the edge's clock for clocks within the skew the token check already
 * tolerates. So a read-back that starts after exp + clockToleranceSeconds of every token whose
 * call ended without an answer sees every commit that call can still make: "absent" is then
 * final. Starting the read-back that late is the edge's part: deliver-batch.ts ("Unanswered
 * calls") waits until then before it makes a refusal final, and reads the batch back once more.
 */
export const commitDeadlineMarginMs = 2_000;

/** `committed`: this call wrote the batch. `replayed`: it was already stored; same receipt. */
export type CommitOutcome = { kind: 'committed' | 'replayed'; response: SettlementResponse };

export interface CommitRetryEvent {
  batchId: string;
  digest: string;
  attempt: number;
  code: string;
  delayMs: number;
}

export interface CommitOptions {
  now?: () => Date;
  /**
   * No new batch is committed after this instant less commitDeadlineMarginMs: the delivery's edge
   * token expiry. Default: the expiry of the edge token of the request being served
   * (edge-token.ts currentEdgeTokenExpiresAt); none outside a request (benches, tools).
   */
  commitBy?: Date;
  backoff?: BackoffPolicy;
  random?: () => number;
  onRetry?: (event: CommitRetryEvent) => void;
}

interface CommitInput {
  batch: SettlementBatch;
  canonical: string;
  digest: string;
  region: string;
  signer: Signer;
  /** What the ledger must hold for the batch once written (ledger/ledger-summary.ts). */
  summary: LedgerSummary;
  commitBy: Date | undefined;
  now: () => Date;
}

export async function commitSettlement(
  db: RegionalOrm,
  batch: SettlementBatch,
  canonical: string,
  digest: string,
  region: string,
  signer: Signer,
  options: CommitOptions = {},
): Promise<CommitOutcome> {
  // Node's native SHA-256 (~2 ms for a 2 MB window): the route has just hashed these bytes
  // (verifySettlementBatchNative), but commitSettlement is also called directly (benches, tools,
  // tests), and this independent check is what ties the stored bytes to the digest it signs.
  if (createHash('sha256').update(canonical, 'utf8').digest('hex') !== digest) throw new Error(`commitSettlement: batch ${batch.batch_id}: digest ${digest} is not the SHA-256 of the canonical bytes`);
  // Before anything is written: the journal the legs book balances and moves each account by its
  // net position. After the write the database recomputes the same from what it stored.
  assertJournalBalanced(journalEntriesForLegs(batch.legs), batch.positions, batch.batch_id);
  const commitBy = options.commitBy ?? currentEdgeTokenExpiresAt();
  const input: CommitInput = { batch, canonical, digest, region, signer, summary: expectedLedgerSummary(batch), commitBy, now: options.now ?? (() => new Date()) };
  const policy = options.backoff ?? commitBackoffPolicy;
  // Every receipt this call signed, across attempts: a stored receipt among them means this call
  // committed the batch (an earlier attempt whose COMMIT looked failed), not a concurrent delivery.
  const signedReceipts = new Set<string>();
  for (let attempt = 0; ; attempt++) {
    try {
      // SERIALIZABLE, and guarded against postgres.js writing on a lost connection (see
      // db/serializable-transaction.ts).
      const outcome = await runSerializableTransaction(db, (tx) => commitAttempt(tx, input, signedReceipts));
      return outcome.kind === 'replayed' && signedReceipts.has(outcome.response.receipt) ? { ...outcome, kind: 'committed' } : outcome;
    } catch (error) {
      const failure = classifyTransactionFailure(error);
      if (failure.kind === 'fatal') throw signerUnavailable(error, batch.batch_id) ?? error;
      if (failure.kind === 'outcome-unknown') {
        const readBack = await readBackAfterUnknownOutcome(db, input, signedReceipts);
        if (readBack !== undefined) return readBack;
      }
      if (attempt >= policy.retriesMax) {
        throw new ProblemError('unavailable', `settlement ${batch.batch_id} not committed after ${attempt + 1} attempts (last: ${failure.code})`, {}, { cause: error });
      }
      const delayMs = backoffDelayMs(policy, attempt, options.random);
      options.onRetry?.({ batchId: batch.batch_id, digest, attempt, code: failure.code, delayMs });
      await sleep(delayMs);
    }
  }
}

async function commitAttempt(tx: RegionalQueryable, input: CommitInput, signedReceipts: Set<string>): Promise<CommitOutcome> {
  const { batch, digest } = input;
  const existing = await findSettlementByDigest(tx, batch.jurisdiction, digest);
  if (existing !== undefined) return { kind: 'replayed', response: await checkedResponse(tx, existing, input) };
  const sameBatchId = await findSettlementByBatchId(tx, batch.jurisdiction, batch.batch_id);
  if (sameBatchId !== undefined) {
    throw new ProblemError('batch-rejected', `batch ${batch.batch_id} is already committed with digest ${sameBatchId.digest}; this delivery has digest ${digest}`, {
      batch_id: batch.batch_id,
    });
  }
  assertBeforeCommitDeadline(input, 'before writing');
  const logIndex = await nextLeafIndex(tx, batch.jurisdiction);
  const committedAt = new Date(input.now().getTime());
  const claims: SettlementReceiptClaims = {
    batch_id: batch.batch_id,
    digest,
    jurisdiction: batch.jurisdiction,
    region: input.region,
    log_index: logIndex,
    leg_count: batch.legs.length,
    committed_at: committedAt.toISOString(),
  };
  const receipt = await signSettlementReceipt(input.signer, claims);
  signedReceipts.add(receipt);
  await insertSettlement(tx, { batch, canonical: input.canonical, digest, region: input.region, logIndex, receipt, committedAt });
  assertLedgerSummaryMatches(await readLedgerSummary(tx, digest), input.summary, `batch ${batch.batch_id} digest ${digest}, as written`);
  // The leaf is the batch's DSSE-signed in-toto statement: a second Sign call inside the transaction.
  const logLeaf = await settlementLogLeaf(
    { batch_id: batch.batch_id, digest, corridor: batch.corridor, jurisdiction: batch.jurisdiction, region: input.region, leg_count: batch.legs.length, committed_at: claims.committed_at },
    input.signer,
  );
  await appendLogLeaf(tx, { jurisdiction: batch.jurisdiction, leafIndex: logIndex, batchDigest: digest, logLeaf });
  // The last step before COMMIT (runSerializableTransaction commits when this returns).
  assertBeforeCommitDeadline(input, 'at COMMIT');
  return { kind: 'committed', response: { batch_id: batch.batch_id, digest, region: input.region, log_index: logIndex, receipt } };
}

/**
 * After 40003 or a lost connection: if the digest is stored, the batch is settled — by this call
 * when the stored receipt is one it signed (receipts name the region and the commit time, so two
 * deliveries sign different bytes even with deterministic Ed25519), else by a concurrent delivery.
 * A read-back that cannot reach the database either returns undefined and the loop backs off and
 * runs the transaction again, which starts with the same digest check.
 */
async function readBackAfterUnknownOutcome(db: RegionalOrm, input: CommitInput, signedReceipts: ReadonlySet<string>): Promise<CommitOutcome | undefined> {
  let stored: StoredSettlement | undefined;
  try {
    stored = await findSettlementByDigest(db, input.batch.jurisdiction, input.digest);
    if (stored === undefined) return undefined;
    const response = await checkedResponse(db, stored, input);
    return { kind: signedReceipts.has(stored.receipt) ? 'committed' : 'replayed', response };
  } catch (error) {
    if (isConnectionError(error)) return undefined;
    throw error;
  }
}

/**
 * A remote signer (KMS) that failed after its own retries is an outage, not a bug: 503, so the
 * edge delivers again later. The transaction rolled back; nothing was stored.
 */
function signerUnavailable(error: unknown, batchId: string): ProblemError | undefined {
  const { kind, awsError } = error as { kind?: unknown; awsError?: unknown };
  if (kind !== 'kms-signer' || awsError === undefined) return undefined;
  return new ProblemError('unavailable', `settlement ${batchId} not committed: the receipt signer is unavailable; retry later`, {}, { cause: error });
}

/**
 * Thrown inside the transaction, so it rolls back; a ProblemError is fatal to the commit loop, so
 * no retry runs on a token that is dead anyway. 503: the edge's outbox retries with a fresh token.
 */
function assertBeforeCommitDeadline(input: CommitInput, step: string): void {
  if (input.commitBy === undefined) return;
  const remainingMs = input.commitBy.getTime() - input.now().getTime();
  if (remainingMs >= commitDeadlineMarginMs) return;
  throw new ProblemError(
    'unavailable',
    `settlement ${input.batch.batch_id} not committed: its edge token expires at ${input.commitBy.toISOString()}, ${remainingMs} ms from now ${step}, under the ${commitDeadlineMarginMs} ms a COMMIT needs; deliver again with a fresh token`,
    { reason: 'edge-token-expired' },
  );
}

async function checkedResponse(db: RegionalQueryable, stored: StoredSettlement, input: CommitInput): Promise<SettlementResponse> {
  assertStoredSettlementMatches(stored, await readLedgerSummary(db, stored.digest), input.batch, input.canonical, input.summary);
  return { batch_id: stored.batchId, digest: stored.digest, region: stored.region, log_index: stored.logIndex, receipt: stored.receipt };
}
