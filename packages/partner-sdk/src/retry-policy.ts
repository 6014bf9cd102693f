/**
 * When to send a request again, and after how long. Runtime-neutral and pure, so the policy reads in
 * one place and tests drive it without a network.
 *
 * Resending a payment is safe only because the gateway is idempotent on (partner, UETR, exact
 * instruction JWS bytes): a repeat returns the original answer, a different JWS under the same UETR
 * is `409 duplicate-uetr-mismatch`. So a retry resends the very same JWS (never re-signs the
 * instruction, never mints a new UETR) under a fresh message signature and nonce: the gateway claims
 * each (keyid, nonce) once in 24 h (`401 replayed-nonce` otherwise), the instruction is not single-use.
 *
 * Retried: a network failure or timeout (the request may or may not have arrived: only a resend can
 * tell), `429` and `503` (the gateway says "not now" and names when in `Retry-After`), and `502`/`504`
 * (a proxy in front of the gateway). Never retried: any other 4xx — a refusal the same bytes will
 * get again — `500` (a gateway bug; resending will not fix it, a person must look), and a 503 whose
 * slug is terminal (`misconfigured`: the operator must change a setting first).
 *
 * Every request is bounded twice: in attempts (`submitAttemptsMax`) and in time (`retryElapsedMsMax`,
 * waits included), so a partner's worker thread is never parked for longer than it planned for.
 * Waits are jittered, Retry-After's too: a thousand clients told "503, Retry-After: 1" at once must
 * not all come back in the same millisecond.
 */
import { problemTypePrefix } from '../../../core/problem.ts';

/** Attempts per request, the first included. */
export const submitAttemptsMax = 6;
/** Time from the first attempt after which no new attempt starts (answers and waits included). */
export const retryElapsedMsMax = 120_000;
/** Backoff between attempts without a Retry-After: base × 2^(attempt − 1), jittered, capped. */
export const retryBackoffBaseMs = 250;
export const retryBackoffMaxMs = 8_000;
/** A Retry-After longer than this is not waited for: the caller gets the answer and decides. */
export const retryAfterMaxMs = 60_000;
/** Retry-After is a minimum: up to this fraction of it is added at random. */
export const retryAfterJitterRatio = 0.2;

/** A 503 whose slug says waiting will not help. */
export const terminalProblemSlugs: ReadonlySet<string> = new Set(['misconfigured']);

export type AttemptOutcome =
  | { kind: 'answer'; status: number; retryAfter: string | null; slug?: string | undefined }
  | { kind: 'network-error'; error: unknown };

export type RetryStopReason = 'final-answer' | 'terminal-problem' | 'attempts-exhausted' | 'time-exhausted' | 'retry-after-too-long';
export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: RetryStopReason };

export interface RetryBudget {
  attemptsMax?: number;
  /** Milliseconds since the first attempt started. */
  elapsedMs?: number;
  elapsedMsMax?: number;
  random?: () => number;
  nowMs?: number;
}

const retryableStatuses = new Set([429, 502, 503, 504]);
const delaySecondsPattern = /^\d{1,9}$/;
/** RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must accept. */
const httpDatePatterns = [
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/,
  /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{2} \d{2}:\d{2}:\d{2} GMT$/,
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/,
];

/**
 * Milliseconds a `Retry-After` value asks for (delta-seconds or an HTTP-date), or undefined if it is
 * neither. Strict on purpose: `Date.parse` alone reads "retry 1" as a date in 2001, i.e. "now".
 */
export function retryAfterMs(value: string | null, nowMs = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (delaySecondsPattern.test(trimmed)) return Number(trimmed) * 1000;
  if (!httpDatePatterns.some((pattern) => pattern.test(trimmed))) return undefined;
  // asctime carries no zone: it is GMT by definition.
  const dateMs = Date.parse(/GMT$/.test(trimmed) ? trimmed : `${trimmed} GMT`);
  return Number.isNaN(dateMs) ? undefined : Math.max(0, dateMs - nowMs);
}

/** Exponential backoff with equal jitter (so many clients refused at once do not return at once). */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(retryBackoffMaxMs, retryBackoffBaseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** The slug of a problem+json `type` (`urn:meridian:problem:<slug>`), or undefined for anything else. */
export function problemSlug(problemType: unknown): string | undefined {
  return typeof problemType === 'string' && problemType.startsWith(problemTypePrefix) ? problemType.slice(problemTypePrefix.length) : undefined;
}

/** After attempt number `attempt` (1-based) ended in `outcome`: send again, and when? */
export function retryDecision(outcome: AttemptOutcome, attempt: number, budget: RetryBudget | number = {}): RetryDecision {
  const { attemptsMax = submitAttemptsMax, elapsedMs = 0, elapsedMsMax = retryElapsedMsMax, random = Math.random, nowMs = Date.now() } = typeof budget === 'number' ? { attemptsMax: budget } : budget;
  if (outcome.kind === 'answer' && !retryableStatuses.has(outcome.status)) return { retry: false, reason: 'final-answer' };
  if (outcome.kind === 'answer' && outcome.slug !== undefined && terminalProblemSlugs.has(outcome.slug)) return { retry: false, reason: 'terminal-problem' };
  if (attempt >= attemptsMax) return { retry: false, reason: 'attempts-exhausted' };
  const asked = outcome.kind === 'answer' ? retryAfterMs(outcome.retryAfter, nowMs) : undefined;
  if (asked !== undefined && asked > retryAfterMaxMs) return { retry: false, reason: 'retry-after-too-long' };
  const delayMs = asked === undefined ? backoffMs(attempt, random) : asked + Math.round(random() * asked * retryAfterJitterRatio);
  if (elapsedMs + delayMs >= elapsedMsMax) return { retry: false, reason: 'time-exhausted' };
  return { retry: true, delayMs };
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
