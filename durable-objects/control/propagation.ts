/**
 * Pushing an applied change to the Durable Object that enforces it (a revoked key, a residency
 * exception to the partner's PartnerState): a few attempts with doubling backoff, each bounded by a
 * timeout. Never throws: the callers keep an outbox row until a push succeeds, so a failure here is
 * retried by Control's alarm (control.ts `armExpiryAlarm`).
 */
import { err, ok, type Result } from '../../core/result.ts';
import type { DurableObjectsEnv } from '../env.ts';
import { durableObjectFor } from '../jurisdiction.ts';

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

type PartnerStateStub = ReturnType<DurableObjectsEnv['PARTNER_STATE']['get']>;

/** One RPC to a partner's PartnerState, in its jurisdiction, with `withRetries`; a fresh stub per attempt (a failed one may stay broken). */
export function pushToPartnerState(
  env: DurableObjectsEnv, partnerId: string, jurisdiction: string | undefined, what: string, call: (partnerState: PartnerStateStub) => Promise<unknown>,
): Promise<Result<null, PushFailure>> {
  return withRetries(`PartnerState ${partnerId} ${what}`, async () => {
    if (jurisdiction === undefined) throw new Error(`partner ${partnerId} is no longer in the directory`);
    await call(durableObjectFor(env, env.PARTNER_STATE, jurisdiction, partnerId));
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
