/**
 * The velocity store's deadline (workers/velocity/velocity-store.ts) charges the store for its round
 * trip, not for the time a saturated isolate spends elsewhere: a reply that came back while the
 * isolate was busy is taken, not turned into `503 velocity-unavailable`. And the wait stays bounded:
 * a reply that never comes ends it, busy isolate or not. Against the Upstash-compatible bridge of
 * the workerd suites (test/workers/global-setup.ts) and real timers inside workerd.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { parsePartnerProfiles } from '../../core/partner-profile.ts';
import { checkVelocity, type VelocityPayment } from '../../workers/velocity/check-velocity.ts';
import { roundTripDeadline, velocityStoreTimeoutMs } from '../../workers/velocity/velocity-store.ts';

const alphaBank = parsePartnerProfiles(env.PARTNERS).find((partner) => partner.partner_id === 'alpha-bank')!;

function payment(): VelocityPayment {
  return {
    uetr: crypto.randomUUID(), corridor: 'EUR-EUR', amount_minor: 2_150n, source_currency: 'EUR',
    debtor_account: `DE00DEBT${crypto.randomUUID()}`, creditor_account: `FR00CRED${crypto.randomUUID()}`,
  };
}

/** The isolate runs nothing else for `ms`: what a burst of other requests' JavaScript does to this one. */
function occupyIsolate(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

/** Occupies the isolate from the next macrotask on: after the request has gone out, before its reply is read. */
function occupyIsolateSoon(ms: number): void {
  setTimeout(() => occupyIsolate(ms), 0);
}

describe('the velocity round-trip deadline', () => {
  it('takes a reply that arrived while the isolate was busy for longer than the deadline', async () => {
    // Warm: the script's SHA-1 is computed and the bridge knows the script (EVALSHA, not EVAL).
    expect((await checkVelocity(env, alphaBank, payment())).ok).toBe(true);
    for (let attempt = 0; attempt < 2; attempt++) {
      const checked = checkVelocity(env, alphaBank, payment());
      occupyIsolateSoon(velocityStoreTimeoutMs + 500);
      const result = await checked;
      expect(result, JSON.stringify(result, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))).toEqual({ ok: true, value: null });
    }
  });

  it('expires when no reply comes, and does not charge a busy isolate to the round trip', async () => {
    const budgetMs = 300;
    const idle = roundTripDeadline(budgetMs, 5_000);
    await expect(idle.expired).rejects.toMatchObject({ name: 'TimeoutError' });

    const busy = roundTripDeadline(budgetMs, 5_000);
    occupyIsolateSoon(3 * budgetMs);
    const error = (await busy.expired.catch((cause: unknown) => cause)) as Error;
    expect(error.name).toBe('TimeoutError');
    const [, wallMs, busyMs] = /\((\d+) ms wall, (\d+) ms of it the isolate busy elsewhere/.exec(error.message)!.map(Number);
    expect(busyMs).toBeGreaterThanOrEqual(2 * budgetMs);
    expect(wallMs! - busyMs!).toBeGreaterThanOrEqual(budgetMs);
  });

  it('is bounded in wall time however busy the isolate stays', async () => {
    const wallMaxMs = 400;
    const deadline = roundTripDeadline(60_000, wallMaxMs, 50);
    const expired = deadline.expired.catch((cause: unknown) => cause as Error);
    // Busy in slices, as an isolate serving a queue of requests is: every tick comes late.
    const slices = setInterval(() => occupyIsolate(80), 1);
    const error = await expired;
    clearInterval(slices);
    expect(error.name).toBe('TimeoutError');
    const [, wallMs] = /\((\d+) ms wall/.exec(error.message)!.map(Number);
    expect(wallMs).toBeGreaterThanOrEqual(wallMaxMs);
  });

  it('stops its clock once the round trip is over', async () => {
    const deadline = roundTripDeadline(100, 1_000);
    deadline.clear();
    const outcome = await Promise.race([deadline.expired.then(() => 'expired', () => 'expired'), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 300))]);
    expect(outcome).toBe('still waiting');
  });
});
