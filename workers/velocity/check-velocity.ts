/**
 * Stage `velocity` of the payment pipeline (workers/payments/payment-routes.ts): per-partner limits
 * from the profile and cross-partner counters, in Upstash, in one atomic script per payment.
 *
 *   ok(null)                       within every limit: counted now, or counted before (a repeat)
 *   err(limit-reached)             429 velocity-exceeded, Retry-After = until that window ends
 *   err(store-unavailable)         503 velocity-unavailable, Retry-After: fail closed
 *
 * @upstash/ratelimit lets a request through when Redis times out; this stage never does. Any
 * failure to get the script's own reply (deadline, connection refused, an error reply from the
 * bridge or Upstash, a reply of the wrong shape) refuses the payment. Nothing is accepted, so
 * nothing is lost, and the partner's retry of the same UETR is counted at most once.
 */
import { createHash } from 'node:crypto';
import { err, ok, type Result } from '../../core/result.ts';
import type { PartnerProfile } from '../config/partners.ts';
import type { Env } from '../env.ts';
import { admissionMarkerKey, admissionMarkerTtlMs, counterTtlGraceMs, secondsUntil, velocityCounters, type VelocityPayment } from './velocity-limits.ts';
import { velocityUnavailableRetryAfterSeconds, type VelocityRefusal } from './velocity-problem.ts';
import { parseVelocityScriptReply } from './velocity-script.ts';
import { runVelocityScript } from './velocity-store.ts';

export type { VelocityPayment } from './velocity-limits.ts';

/**
 * Account digests keep account numbers out of Upstash; 128 bits is ample to keep them apart.
 * Hashed with node:crypto (native in both runtimes), as Content-Digest is: @noble's JavaScript
 * SHA-256 cost two of these a tenth of the stage's CPU (bench/admission.bench.ts).
 */
const accountDigestHexChars = 32;

export async function checkVelocity(env: Env, partner: PartnerProfile, payment: VelocityPayment, nowMs = Date.now()): Promise<Result<null, VelocityRefusal>> {
  const accountDigests = { debtor: accountDigest(payment.debtor_account), creditor: accountDigest(payment.creditor_account) };
  const counters = velocityCounters(partner, payment, accountDigests, nowMs);
  // A payment larger than a limit on its own is refused without asking the store.
  const alone = counters.find((counter) => counter.increment > counter.limitValue);
  if (alone !== undefined) return err({ kind: 'limit-reached', limit: alone.limit, limitValue: alone.limitValue, ...currencyOf(alone), retryAfterSeconds: secondsUntil(alone.windowEndMs, nowMs) });

  const keys = [admissionMarkerKey(partner.partner_id, payment.uetr), ...counters.map((counter) => counter.key)];
  const args = [String(admissionMarkerTtlMs), ...counters.flatMap((counter) => [counter.increment.toString(), (counter.limitValue - counter.increment).toString(), String(counter.windowEndMs - nowMs + counterTtlGraceMs)])];
  const replied = await runVelocityScript({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN }, keys, args);
  const reply = replied.ok ? parseVelocityScriptReply(replied.value, counters.length) : replied;
  if (!reply.ok) {
    console.error(JSON.stringify({ event: 'velocity-unavailable', partner_id: partner.partner_id, uetr: payment.uetr, failure: reply.reason.kind, detail: reply.reason.detail }));
    return err({ kind: 'store-unavailable', detail: `${reply.reason.kind}: ${reply.reason.detail}`, retryAfterSeconds: velocityUnavailableRetryAfterSeconds });
  }
  switch (reply.value.kind) {
    case 'counted':
    case 'repeat':
      return ok(null);
    case 'refused': {
      const counter = counters[reply.value.counterIndex]!;
      return err({ kind: 'limit-reached', limit: counter.limit, limitValue: counter.limitValue, ...currencyOf(counter), retryAfterSeconds: secondsUntil(counter.windowEndMs, nowMs) });
    }
  }
}

function currencyOf(counter: { currency?: string }): { currency?: string } {
  return counter.currency === undefined ? {} : { currency: counter.currency };
}

function accountDigest(account: string): string {
  return createHash('sha256').update(account, 'utf8').digest('hex').slice(0, accountDigestHexChars);
}
