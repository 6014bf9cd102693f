/**
 * Capped exponential backoff with full jitter (delay uniform in [0, min(cap, base · 2^attempt)]):
 * two backends that lost the same serialization race do not wake up and collide again in step.
 */
export interface BackoffPolicy {
  retriesMax: number;
  backoffBaseMs: number;
  backoffCapMs: number;
}

export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const ceilingMs = Math.min(policy.backoffCapMs, policy.backoffBaseMs * 2 ** attempt);
  return Math.floor(random() * ceilingMs);
}

export function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs));
}
