/**
 * Pushing an applied change to the Durable Object that enforces it (a revoked key or a residency
 * exception to every shard of the partner's PartnerState, a hold decision to the payment's shard:
 * durable-objects/partner-state/partner-shards.ts): a few attempts with doubling backoff, each
 * bounded by a timeout. Never throws: the callers keep an outbox row until a push succeeds, so a failure here is
 * retried by Control's alarm (control.ts `armExpiryAlarm`).
 */
import { err, ok, type Result } from '../../core/result.ts';
import type { DurableObjectsEnv } from '../env.ts';
import { partnerStateShard, partnerStateShardName, partnerStateShardOf, partnerStateShards, type PartnerStateStub } from '../partner-state/partner-shards.ts';

/** Attempts per push and run, with `propagationBackoffMs` doubling in between. */
export const propagationAttemptsMax = 3;
export const propagationBackoffMs = 50;
/** One RPC; beyond it the attempt counts as failed. */
export const propagationTimeoutMs = 5_000;

export type PushFailure = { kind: 'push-failed'; attempts: number; error: string };

/** Runs `push` up to `propagationAttemptsMax` times; `what` names the call in the timeout error. */
export async function withRetries(what: string, push: () => Promise<unknown>): Promise<Result<null, PushFailure>> {
  let lastError: unknown;
  for (let attempt = 0; attempt < propagationAttemptsMax; attempt += 1) {
    if (attempt > 0) await sleep(propagationBackoffMs * 2 ** (attempt - 1));
    try {
      await withTimeout(push(), propagationTimeoutMs, what);
      return ok(null);
    } catch (cause) {
      lastError = cause;
    }
  }
  return err({ kind: 'push-failed', attempts: propagationAttemptsMax, error: String(lastError) });
}

/**
 * A partner-level fact (a revoked key, a residency exception) to every one of the partner's
 * PartnerState shards, in its jurisdiction, each with `withRetries`: every shard decides its own
 * admissions and claims alone, so each must hold the fact. Succeeds only once all have it (the
 * calls are idempotent, so a retry after a partial success repeats the ones that had it harmlessly);
 * a fresh stub per attempt (a failed one may stay broken).
 */
export async function pushToPartnerState(
  env: DurableObjectsEnv, partnerId: string, jurisdiction: string | undefined, what: string, call: (partnerState: PartnerStateStub) => Promise<unknown>,
): Promise<Result<null, PushFailure>> {
  const shards = Array.from({ length: partnerStateShards }, (_, shard) => shard);
  const pushed = await Promise.all(shards.map((shard) => pushToShard(env, partnerId, jurisdiction, shard, what, call)));
  return pushed.find((result) => !result.ok) ?? ok(null);
}

/** A call about one payment (a hold decision, a read of a hold) to the shard that holds it. */
export function pushToPaymentShard(
  env: DurableObjectsEnv, partnerId: string, jurisdiction: string | undefined, uetr: string, what: string, call: (partnerState: PartnerStateStub) => Promise<unknown>,
): Promise<Result<null, PushFailure>> {
  return pushToShard(env, partnerId, jurisdiction, partnerStateShardOf(uetr), what, call);
}

function pushToShard(
  env: DurableObjectsEnv, partnerId: string, jurisdiction: string | undefined, shard: number, what: string, call: (partnerState: PartnerStateStub) => Promise<unknown>,
): Promise<Result<null, PushFailure>> {
  return withRetries(`PartnerState ${partnerStateShardName(partnerId, shard)} ${what}`, async () => {
    if (jurisdiction === undefined) throw new Error(`partner ${partnerId} is no longer in the directory`);
    await call(partnerStateShard(env, jurisdiction, partnerId, shard));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
