/**
 * The Upstash client of the velocity stage, one per isolate and configuration, with every option
 * that matters set here rather than inherited: no retries (the partner retries the same UETR, and
 * the script is idempotent per UETR, so a retry is always safe), a deadline per round trip, no
 * auto-pipelining (a velocity check is one script), no telemetry, no read-your-writes token.
 */
import { Redis } from '@upstash/redis/cloudflare';
import { err, ok, type Result } from '../../core/result.ts';
import { velocityScript } from './velocity-script.ts';

/**
 * The most one velocity round trip may take before the payment is refused as unavailable, counted
 * in time this isolate was free to take the reply (roundTripDeadline()).
 */
export const velocityStoreTimeoutMs = 2_000;
/** The bound in wall time, however busy the isolate: a store that never answers still ends the wait. */
export const velocityStoreWallTimeoutMaxMs = 10_000;
/** How often the deadline reads the clock; a tick later than its delay by more means the isolate was busy elsewhere. */
export const velocityDeadlineTickMs = 100;

export interface VelocityStoreConfig {
  url: string;
  token: string;
}

export type VelocityStoreFailure = { kind: 'store-failed'; detail: string };

let cached: { config: string; run: (keys: string[], args: string[]) => Promise<unknown> } | undefined;

/** Runs the velocity script (EVALSHA, EVAL when Upstash does not know it yet). Outages become values. */
export async function runVelocityScript(config: VelocityStoreConfig, keys: string[], args: string[]): Promise<Result<unknown, VelocityStoreFailure>> {
  const deadline = roundTripDeadline(velocityStoreTimeoutMs, velocityStoreWallTimeoutMaxMs);
  try {
    return ok(await Promise.race([scriptRunner(config)(keys, args), deadline.expired]));
  } catch (cause) {
    return err({ kind: 'store-failed', detail: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause) });
  } finally {
    deadline.clear();
  }
}

export interface RoundTripDeadline {
  /** Rejects (a TimeoutError) once the round trip has used its budget; never resolves. */
  expired: Promise<never>;
  /** Stops the clock: call it when the round trip is over, whichever way. */
  clear: () => void;
}

/**
 * A deadline that charges the store only for time the isolate could have taken its reply.
 *
 * The threat is load turned into refusals: a wall-clock deadline (AbortSignal.timeout) also counts
 * the time this isolate spends on other requests' JavaScript before it gets to the reply, so a
 * saturated isolate refused payments 503 velocity-unavailable although Upstash had answered in
 * milliseconds — and every refused partner retries, adding load. Here a clock ticks every
 * `tickMs`; a tick that runs later than its delay measures time the isolate was busy elsewhere
 * (nothing the store does can be seen then), and that time is not charged to the round trip.
 *
 * The trade-off: under saturation a store that really hangs is noticed later than `budgetMs`, so
 * the wait is still bounded in wall time by `wallMaxMs`, whatever the load. A tick costs nothing
 * measurable: most round trips end before the first one, and `clear()` cancels it.
 */
export function roundTripDeadline(budgetMs: number, wallMaxMs: number, tickMs = velocityDeadlineTickMs): RoundTripDeadline {
  const startedAtMs = Date.now();
  let lastTickAtMs = startedAtMs;
  let delayMs = Math.min(tickMs, budgetMs);
  let busyElsewhereMs = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let expire: (cause: Error) => void = () => undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    expire = reject;
  });
  // The round trip usually wins the race; a deadline nobody awaits any more must not surface as unhandled.
  expired.catch(() => undefined);
  const tick = () => {
    const nowMs = Date.now();
    busyElsewhereMs += Math.max(0, nowMs - lastTickAtMs - delayMs);
    lastTickAtMs = nowMs;
    const wallMs = nowMs - startedAtMs;
    const chargedMs = wallMs - busyElsewhereMs;
    if (chargedMs >= budgetMs || wallMs >= wallMaxMs) {
      const error = new Error(`no reply within ${budgetMs} ms of round trip (${wallMs} ms wall, ${busyElsewhereMs} ms of it the isolate busy elsewhere; bound ${wallMaxMs} ms)`);
      error.name = 'TimeoutError';
      expire(error);
      return;
    }
    delayMs = Math.max(1, Math.min(tickMs, budgetMs - chargedMs, wallMaxMs - wallMs));
    timer = setTimeout(tick, delayMs);
  };
  timer = setTimeout(tick, delayMs);
  return { expired, clear: () => clearTimeout(timer) };
}

function scriptRunner(config: VelocityStoreConfig): (keys: string[], args: string[]) => Promise<unknown> {
  const configKey = `${config.url}\n${config.token}`;
  if (cached?.config === configKey) return cached.run;
  const redis = new Redis({
    url: config.url,
    token: config.token,
    retry: false,
    // No per-request AbortSignal: the deadline is roundTripDeadline(), raced in runVelocityScript.
    // A fetch it gives up on is not aborted, and needs not be: workerd cancels a request's
    // outstanding subrequests when its response is sent, here the 503 right after. An
    // AbortSignal.timeout per check would also cost a timer that fires (and builds a DOMException)
    // seconds after every payment, answered or not (bench/admission.bench.ts).
    enableTelemetry: false,
    enableAutoPipelining: false,
    readYourWrites: false,
  });
  const script = redis.createScript<unknown>(velocityScript);
  const run = (keys: string[], args: string[]) => script.exec(keys, args);
  cached = { config: configKey, run };
  return run;
}
