/**
 * A circuit breaker per regional backend, and the delivery order it gives (pure; the state lives
 * in the jurisdiction's BackendHealth object, backend-health-object.ts).
 *
 *   closed ──a delivery fails, a probe cannot connect, or probeStrikesToOpen probes in a row come
 *     back late or unhealthy──▶ open (retry_at = now + cool-down, doubling per consecutive failure
 *     up to breakerCoolDownMaxMs)
 *   open ──cool-down over and a /healthz probe answers ok──▶ half-open (the next delivery tries it
 *     in its preference place again: a recovered backend is preferred again)
 *   half-open ──that delivery settles (or is refused for content: the backend answered)──▶ closed
 *   half-open ──it fails──▶ open (longer cool-down)
 *
 * The order never leaves the jurisdiction: it is a permutation of the backends the caller passed
 * (REGIONAL_BACKENDS of one jurisdiction), nothing is added. An open backend is not dropped
 * either, only moved last: when every backend is open a delivery still tries them all rather than
 * give up without a call (the outbox retries anyway; a wrong breaker must not strand a batch).
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BackendBreaker {
  region: string;
  url: string;
  state: BreakerState;
  /** Consecutive failures (deliveries and probes) since the last success. */
  failures: number;
  /** When an open breaker may turn half-open (after a good probe); null unless open. */
  retry_at_ms: number | null;
  last_failure_at_ms: number | null;
  /** What failed last: the delivery error or the probe's, bounded (breakerDetailCharsMax). */
  last_failure: string | null;
  last_success_at_ms: number | null;
  changed_at_ms: number;
  /** Consecutive late or unhealthy /healthz probes of a closed or half-open backend (see recordProbeFailure). */
  probe_strikes: number;
}

/**
 * What a failed /healthz probe says. `unreachable`: the connection itself failed (refused, reset):
 * nothing serves there. `unhealthy`: it answered late, with a non-200 or a bad body: it may be a
 * live backend whose /healthz queued behind a long commit on a busy database.
 */
export type ProbeFailure = { kind: 'unreachable' | 'unhealthy'; detail: string };

/** First cool-down after a failure: short, because a dead backend costs a refused connection, not a window. */
export const breakerCoolDownMs = 2_000;
/** Longest cool-down: a backend down for hours is still re-tried twice a minute. */
export const breakerCoolDownMaxMs = 30_000;
export const breakerDetailCharsMax = 300;
/**
 * Late or unhealthy probes in a row before a closed backend is opened. One is not enough: under
 * load a live backend's /healthz can miss the probe timeout, and opening its breaker then moves
 * every window of the jurisdiction onto the other backend for a cool-down (measured: healthy
 * backends flapping open several times a minute under the chaos drills' load with one strike).
 * A failed delivery or a refused connection still opens at once.
 */
export const probeStrikesToOpen = 2;

export function freshBreaker(region: string, url: string, nowMs: number): BackendBreaker {
  return { region, url, state: 'closed', failures: 0, retry_at_ms: null, last_failure_at_ms: null, last_failure: null, last_success_at_ms: null, changed_at_ms: nowMs, probe_strikes: 0 };
}

export function coolDownMs(failures: number): number {
  return Math.min(breakerCoolDownMaxMs, breakerCoolDownMs * 2 ** Math.min(Math.max(failures - 1, 0), 16));
}

/** A delivery or probe failed: open (again), with a cool-down that grows with consecutive failures. */
export function recordFailure(breaker: BackendBreaker, detail: string, nowMs: number): BackendBreaker {
  const failures = breaker.failures + 1;
  return {
    ...breaker,
    state: 'open',
    failures,
    retry_at_ms: nowMs + coolDownMs(failures),
    last_failure_at_ms: nowMs,
    last_failure: detail.slice(0, breakerDetailCharsMax),
    changed_at_ms: breaker.state === 'open' ? breaker.changed_at_ms : nowMs,
    probe_strikes: 0,
  };
}

/** A delivery settled (its receipt verified) or was refused for its content: the backend answers, it is good again. */
export function recordSuccess(breaker: BackendBreaker, nowMs: number): BackendBreaker {
  return { ...breaker, state: 'closed', failures: 0, retry_at_ms: null, last_success_at_ms: nowMs, changed_at_ms: breaker.state === 'closed' ? breaker.changed_at_ms : nowMs, probe_strikes: 0 };
}

/**
 * A /healthz probe failed. A closed or half-open backend that cannot be reached opens at once
 * (active detection: the next window skips it before any delivery pays for the discovery); one
 * that answered late or unhealthy opens on its probeStrikesToOpen-th strike in a row. An open one
 * only records what failed: its cool-down grows with failed deliveries, not with probes once a
 * second, or a backend down for a minute would wait the longest cool-down after it came back.
 */
export function recordProbeFailure(breaker: BackendBreaker, failure: ProbeFailure, nowMs: number): BackendBreaker {
  const detail = failure.detail.slice(0, breakerDetailCharsMax);
  if (breaker.state === 'open') return { ...breaker, last_failure_at_ms: nowMs, last_failure: detail };
  const strikes = (breaker.probe_strikes ?? 0) + 1;
  if (failure.kind === 'unreachable' || strikes >= probeStrikesToOpen) return recordFailure(breaker, detail, nowMs);
  return { ...breaker, probe_strikes: strikes, last_failure_at_ms: nowMs, last_failure: detail };
}

/**
 * A /healthz probe answered ok. An open breaker past its cool-down turns half-open; one still
 * cooling stays open (a backend that answers /healthz but failed a commit a moment ago is not
 * trusted yet). Closed and half-open are unchanged: only a settled delivery closes the breaker.
 */
export function recordProbeOk(breaker: BackendBreaker, nowMs: number): BackendBreaker {
  if (breaker.state !== 'open') return (breaker.probe_strikes ?? 0) === 0 ? breaker : { ...breaker, probe_strikes: 0 };
  if (breaker.retry_at_ms === null || nowMs < breaker.retry_at_ms) return breaker;
  return { ...breaker, state: 'half-open', retry_at_ms: null, changed_at_ms: nowMs };
}

/** Whether a delivery should try this backend in its preference place. */
function available(breaker: BackendBreaker | undefined): boolean {
  return breaker === undefined || breaker.state !== 'open';
}

/**
 * The jurisdiction's backends in the order a delivery should try them: the available ones (closed,
 * half-open, unknown) in preference order, then the open ones, soonest retry first.
 */
export function deliveryOrder<B extends { region: string; url: string }>(backends: readonly B[], breakers: ReadonlyMap<string, BackendBreaker>): B[] {
  const preferred = backends.filter((backend) => available(breakers.get(breakerKey(backend))));
  const cooling = backends
    .filter((backend) => !available(breakers.get(breakerKey(backend))))
    .sort((a, b) => (breakers.get(breakerKey(a))?.retry_at_ms ?? 0) - (breakers.get(breakerKey(b))?.retry_at_ms ?? 0));
  return [...preferred, ...cooling];
}

/** Breakers are per (region, url): a region moved to a new URL starts closed. */
export function breakerKey(backend: { region: string; url: string }): string {
  return `${backend.region} ${backend.url}`;
}
