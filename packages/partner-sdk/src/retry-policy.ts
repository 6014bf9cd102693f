/**
 * When to send a request again, and after how long. Runtime-neutral and pure, so the policy reads in
 * one place and tests drive it without a network.
 *
 * Resending a payment is safe only because the gateway is idempotent on (partner, UETR, exact
 * instruction JWS bytes): a repeat returns the original answer, a different JWS under the same UETR
 * is `409 duplicate-uetr-mismatch`. So a retry resends the very same JWS (never re-signs the
 * instruction, never mints a new UETR) under a fresh message signature and nonce: the nonce is
 * single-use, the instruction is not.
 *
 * Retried: a network failure or timeout (the request may or may not have arrived: only a resend can
 * tell), `429` and `503` (the gateway says "not now" and names when in `Retry-After`), and `502`/`504`
 * (a proxy in front of the gateway). Never retried: any other 4xx — a refusal the same bytes will
 * get again — and `500` (a gateway bug; resending will not fix it, a person must look).
 */

/** Attempts per request, the first included. */
export const submitAttemptsMax = 6;
/** Backoff between attempts without a Retry-After: base × 2^(attempt − 1), jittered, capped. */
export const retryBackoffBaseMs = 250;
export const retryBackoffMaxMs = 8_000;
/** A Retry-After longer than this is not waited for: the caller gets the answer and decides. */
export const retryAfterMaxMs = 60_000;

export type AttemptOutcome =
  | { kind: 'answer'; status: number; retryAfter: string | null }
  | { kind: 'network-error'; error: unknown };

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: 'final-answer' | 'attempts-exhausted' | 'retry-after-too-long' };

const retryableStatuses = new Set([429, 502, 503, 504]);

/** Milliseconds a `Retry-After` value asks for (delta-seconds or an HTTP-date), or undefined if unreadable. */
export function retryAfterMs(value: string | null, nowMs = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,9}$/.test(trimmed)) return Number(trimmed) * 1000;
  const dateMs = Date.parse(trimmed);
  return Number.isNaN(dateMs) ? undefined : Math.max(0, dateMs - nowMs);
}

/** Exponential backoff with full jitter (so many clients refused at once do not return at once). */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(retryBackoffMaxMs, retryBackoffBaseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** After attempt number `attempt` (1-based) ended in `outcome`: send again, and when? */
export function retryDecision(outcome: AttemptOutcome, attempt: number, attemptsMax = submitAttemptsMax): RetryDecision {
  if (outcome.kind === 'answer' && !retryableStatuses.has(outcome.status)) return { retry: false, reason: 'final-answer' };
  if (attempt >= attemptsMax) return { retry: false, reason: 'attempts-exhausted' };
  const asked = outcome.kind === 'answer' ? retryAfterMs(outcome.retryAfter) : undefined;
  if (asked === undefined) return { retry: true, delayMs: backoffMs(attempt) };
  if (asked > retryAfterMaxMs) return { retry: false, reason: 'retry-after-too-long' };
  return { retry: true, delayMs: asked };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
