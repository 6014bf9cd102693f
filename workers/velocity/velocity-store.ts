/**
 * The Upstash client of the velocity stage, one per isolate and configuration, with every option
 * that matters set here rather than inherited: no retries (the partner retries the same UETR, and
 * the script is idempotent per UETR, so a retry is always safe), a deadline per request, no
 * auto-pipelining (a velocity check is one script), no telemetry, no read-your-writes token.
 */
import { Redis } from '@upstash/redis/cloudflare';
import { err, ok, type Result } from '../../core/result.ts';
import { velocityScript } from './velocity-script.ts';

/** The most one velocity check may wait for Upstash before the payment is refused as unavailable. */
export const velocityStoreTimeoutMs = 2_000;

export interface VelocityStoreConfig {
  url: string;
  token: string;
}

export type VelocityStoreFailure = { kind: 'store-failed'; detail: string };

let cached: { config: string; run: (keys: string[], args: string[]) => Promise<unknown> } | undefined;

/** Runs the velocity script (EVALSHA, EVAL when Upstash does not know it yet). Outages become values. */
export async function runVelocityScript(config: VelocityStoreConfig, keys: string[], args: string[]): Promise<Result<unknown, VelocityStoreFailure>> {
  try {
    return ok(await scriptRunner(config)(keys, args));
  } catch (cause) {
    return err({ kind: 'store-failed', detail: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause) });
  }
}

function scriptRunner(config: VelocityStoreConfig): (keys: string[], args: string[]) => Promise<unknown> {
  const configKey = `${config.url}\n${config.token}`;
  if (cached?.config === configKey) return cached.run;
  const redis = new Redis({
    url: config.url,
    token: config.token,
    retry: false,
    signal: () => AbortSignal.timeout(velocityStoreTimeoutMs),
    enableTelemetry: false,
    enableAutoPipelining: false,
    readYourWrites: false,
  });
  const script = redis.createScript<unknown>(velocityScript);
  const run = (keys: string[], args: string[]) => script.exec(keys, args);
  cached = { config: configKey, run };
  return run;
}
