/**
 * The screening stage: the debtor's and the creditor's names against the configured provider
 * (screening-provider.ts), before a payment enters a window (DESIGN.md, "Sanctions screening").
 *
 *   provider answers, no match        → { kind: 'clear', result }
 *   provider answers, possible match  → { kind: 'hold', cause: 'possible-match', result }
 *   timeout, outage, refusal, bad answer, misconfiguration
 *                                     → { kind: 'hold', cause: 'provider-unavailable', result }
 *
 * Fail closed: there is no third outcome. A provider that cannot answer never yields `clear` (that
 * would admit an unscreened payment) and never a refusal (that would drop a payment the partner
 * sent in good faith, and tell them screening is down); the payment is admitted as `held` and
 * waits for an operator. The partner sees only `held` either way (no tipping-off); the result
 * carries what the ops console and evidence need: provider, list version, threshold, matches
 * (entry, alias, score, algorithm) or the failure.
 *
 * Screening time is bounded by `screeningTimeoutMs` (SANCTIONS_SCREENING_TIMEOUT_MS, at most
 * `screeningTimeoutMsMax`), enforced here as well as by the provider's own per-call timeouts, so
 * a provider that ignores its abort signal still cannot hold the request open.
 */
import type { ListVersion, ProviderFailure, ProviderMatch, ProviderScreeningResult } from '../../core/sanctions/provider.ts';
import { screeningProvider, type ScreeningEnv } from './screening-provider.ts';

export const screeningTimeoutMsDefault = 3_000;
export const screeningTimeoutMsMax = 10_000;

export interface ScreeningRecord {
  outcome: ProviderScreeningResult['outcome'] | 'provider-unavailable';
  matches: ProviderMatch[];
  /** Null when no provider answered. */
  listVersion: ListVersion | null;
  threshold: number | null;
  providerId: string;
  /** RFC 3339, when the stage started screening. */
  screenedAt: string;
  /** Why no provider answered; only on `provider-unavailable`. */
  failure?: ProviderFailure;
}

export type ScreeningOutcome =
  | { kind: 'clear'; result: ScreeningRecord }
  | { kind: 'hold'; cause: 'possible-match' | 'provider-unavailable'; result: ScreeningRecord };

/** What the stage reads of a payment instruction. */
export interface ScreenedPayment {
  debtor: { name: string };
  creditor: { name: string };
}

export async function screenPayment(env: ScreeningEnv & { SANCTIONS_SCREENING_TIMEOUT_MS?: string }, payment: ScreenedPayment): Promise<ScreeningOutcome> {
  const screenedAt = new Date().toISOString();
  const configured = screeningProvider(env);
  if (!configured.ok) return unavailable(configured.reason, null, screenedAt);
  const { provider, threshold } = configured.value;
  const timeoutMs = screeningTimeoutMs(env.SANCTIONS_SCREENING_TIMEOUT_MS);
  const deadline = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<{ ok: false; reason: ProviderFailure }>((resolve) => {
    timer = setTimeout(() => {
      deadline.abort();
      resolve({ ok: false, reason: { kind: 'provider-timeout', providerId: provider.id, timeoutMs } });
    }, timeoutMs);
  });
  const parties = [
    { role: 'debtor' as const, name: payment.debtor.name },
    { role: 'creditor' as const, name: payment.creditor.name },
  ];
  let screened: Awaited<ReturnType<typeof provider.screen>>;
  try {
    screened = await Promise.race([provider.screen(parties, deadline.signal), timedOut]);
  } catch (cause) {
    // A provider bug is an outage of that provider, not a reason to drop or pass the payment.
    screened = { ok: false, reason: { kind: 'provider-bad-response', providerId: provider.id, detail: `provider threw: ${String(cause)}` } };
  } finally {
    clearTimeout(timer);
  }
  if (!screened.ok) return unavailable(screened.reason, threshold, screenedAt);
  const result: ScreeningRecord = { ...screened.value, screenedAt };
  // The provider's outcome and its matches must agree; if they do not, believe the matches.
  if (screened.value.matches.length > 0) return { kind: 'hold', cause: 'possible-match', result: { ...result, outcome: 'possible-match' } };
  return { kind: 'clear', result };
}

function unavailable(failure: ProviderFailure, threshold: number | null, screenedAt: string): ScreeningOutcome {
  // Names stay out of the log line: it is read more widely than the held payment is.
  console.error(JSON.stringify({ event: 'sanctions-provider-unavailable', provider: failure.providerId, failure: failure.kind }));
  return {
    kind: 'hold',
    cause: 'provider-unavailable',
    result: { outcome: 'provider-unavailable', matches: [], listVersion: null, threshold, providerId: failure.providerId, screenedAt, failure },
  };
}

function screeningTimeoutMs(text: string | undefined): number {
  const parsed = text === undefined || !/^\d{1,6}$/.test(text) ? screeningTimeoutMsDefault : Number(text);
  return Math.min(Math.max(parsed, 1), screeningTimeoutMsMax);
}
