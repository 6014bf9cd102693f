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
import { assertStoredSettlementMatches } from './ledger/assert-stored.ts';
import { assertJournalBalanced, journalEntriesForLegs, type JournalEntry } from './ledger/journal.ts';
import { findSettlementByBatchId, findSettlementByDigest, readStoredLegs, type StoredSettlement } from './ledger/read-settlement.ts';
import { insertSettlement } from './ledger/write-settlement.ts';
import { appendLogLeaf, nextLeafIndex } from './log/append.ts';
import { settlementLogLeaf } from './log/leaf.ts';
import { signSettlementReceipt } from './receipt.ts';
import type { Signer } from './signer/signer.ts';

export const commitBackoffPolicy: BackoffPolicy = { retriesMax: 8, backoffBaseMs: 10, backoffCapMs: 1_000 };

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
  journal: readonly JournalEntry[];
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
  // Node's native SHA-256, not core's portable one: the route has just hashed these bytes with
  // core (verifySettlementBatch), and this second, independent check of a 2 MB window should not
  // cost another ~20 ms of pure-JS hashing on the way to the receipt.
  if (createHash('sha256').update(canonical, 'utf8').digest('hex') !== digest) throw new Error(`commitSettlement: batch ${batch.batch_id}: digest ${digest} is not the SHA-256 of the canonical bytes`);
  const journal = journalEntriesForLegs(batch.legs);
  assertJournalBalanced(journal, batch.positions, batch.batch_id);
  const input: CommitInput = { batch, canonical, digest, region, signer, journal, now: options.now ?? (() => new Date()) };
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
  await insertSettlement(tx, { batch, canonical: input.canonical, digest, region: input.region, logIndex, receipt, committedAt, journal: input.journal });
  // The leaf is the batch's DSSE-signed in-toto statement: a second Sign call inside the transaction.
  const logLeaf = await settlementLogLeaf(
    { batch_id: batch.batch_id, digest, corridor: batch.corridor, jurisdiction: batch.jurisdiction, region: input.region, leg_count: batch.legs.length, committed_at: claims.committed_at },
    input.signer,
  );
  await appendLogLeaf(tx, { jurisdiction: batch.jurisdiction, leafIndex: logIndex, batchDigest: digest, logLeaf });
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

async function checkedResponse(db: RegionalQueryable, stored: StoredSettlement, input: CommitInput): Promise<SettlementResponse> {
  assertStoredSettlementMatches(stored, await readStoredLegs(db, stored.digest), input.batch, input.canonical);
  return { batch_id: stored.batchId, digest: stored.digest, region: stored.region, log_index: stored.logIndex, receipt: stored.receipt };
}
