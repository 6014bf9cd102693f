/**
 * The velocity stage inside workerd with the Worker's real bindings: checkVelocity talks through
 * @upstash/redis to the Upstash-compatible bridge (embedded store, started per run by
 * test/workers/global-setup.ts). Each case pins its clock (`nowMs`), so a window boundary can never
 * fall in the middle of a case, and uses accounts and partner ids of its own, so cases cannot
 * count into each other's windows.
 */
import { env } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import { parsePartnerProfiles, type PartnerProfile } from '../../core/partner-profile.ts';
import { checkVelocity, type VelocityPayment } from '../../workers/velocity/check-velocity.ts';
import { debtorAccountPaymentsPerMinuteMax, dayMs, minuteMs } from '../../workers/velocity/velocity-limits.ts';
import { velocityProblem, velocityUnavailableRetryAfterSeconds, type VelocityRefusal } from '../../workers/velocity/velocity-problem.ts';
import { parseVelocityScriptReply } from '../../workers/velocity/velocity-script.ts';

const partners = new Map(parsePartnerProfiles(env.PARTNERS).map((partner) => [partner.partner_id, partner]));
const golfLimited = partners.get('golf-limited')!;
const charlieTrust = partners.get('charlie-trust')!;
const alphaBank = partners.get('alpha-bank')!;
const banqueBravo = partners.get('banque-bravo')!;

/** A clock in the middle of a fresh minute: every case's windows are its own. */
function pinnedClock(): number {
  return (Math.floor(Date.now() / minuteMs) + 1) * minuteMs + 20_000;
}

function payment(overrides: Partial<VelocityPayment> = {}): VelocityPayment {
  return {
    uetr: crypto.randomUUID(),
    corridor: 'USD-JPY',
    amount_minor: 12_500n,
    source_currency: 'USD',
    debtor_account: `US00DEBT${crypto.randomUUID()}`,
    creditor_account: `JP00CRED${crypto.randomUUID()}`,
    ...overrides,
  };
}

/** A partner like charlie-trust with its own id and limits, so a case owns its counters. */
function partnerWithLimits(velocity: PartnerProfile['velocity']): PartnerProfile {
  return { ...charlieTrust, partner_id: `velocity-${crypto.randomUUID().slice(0, 8)}`, velocity };
}

function expectRefusal(result: Awaited<ReturnType<typeof checkVelocity>>): VelocityRefusal {
  expect(result.ok, JSON.stringify(result, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))).toBe(false);
  if (result.ok) throw new Error('admitted');
  return result.reason;
}

describe('velocity limits through the Upstash bridge', () => {
  it('the dev profiles carry limits: golf-limited 20 a minute, every other partner at least 100,000', () => {
    expect(golfLimited.velocity?.payments_per_minute).toBe(20);
    for (const partner of partners.values()) {
      if (partner.partner_id !== 'golf-limited') expect(partner.velocity?.payments_per_minute, partner.partner_id).toBeGreaterThanOrEqual(100_000);
    }
  });

  it("refuses golf-limited's 21st payment in a minute with 429 and Retry-After, while another partner's passes", async () => {
    const nowMs = pinnedClock();
    for (let index = 0; index < 20; index += 1) {
      expect(await checkVelocity(env, golfLimited, payment(), nowMs), `payment ${index + 1}`).toEqual({ ok: true, value: null });
    }
    const refusal = expectRefusal(await checkVelocity(env, golfLimited, payment(), nowMs));
    expect(refusal).toMatchObject({ kind: 'limit-reached', limit: 'partner-payments-per-minute', limitValue: 20n, retryAfterSeconds: 40 });
    expect(await checkVelocity(env, charlieTrust, payment(), nowMs)).toEqual({ ok: true, value: null });

    const response = velocityProblem(refusal).getResponse('/v1/payments');
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('40');
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const body = await response.json<Record<string, unknown>>();
    expect(body).toMatchObject({ type: 'urn:meridian:problem:velocity-exceeded', status: 429, limit: 'partner-payments-per-minute', retry_after_seconds: 40 });
    expect(body.detail).toContain('20 payments per minute');

    // The next minute is a new window.
    expect(await checkVelocity(env, golfLimited, payment(), nowMs + minuteMs)).toEqual({ ok: true, value: null });
  });

  it('limits the amount per UTC day in the source currency, and a refused amount is not counted', async () => {
    const nowMs = pinnedClock();
    const partner = partnerWithLimits({ payments_per_minute: 1_000, payments_per_day: 1_000, amount_per_day: { USD: '1000.00' } });
    expect((await checkVelocity(env, partner, payment({ amount_minor: 60_000n }), nowMs)).ok).toBe(true);
    const refusal = expectRefusal(await checkVelocity(env, partner, payment({ amount_minor: 50_000n }), nowMs));
    const secondsToMidnight = Math.ceil(((Math.floor(nowMs / dayMs) + 1) * dayMs - nowMs) / 1000);
    expect(refusal).toMatchObject({ kind: 'limit-reached', limit: 'partner-amount-per-day', limitValue: 100_000n, currency: 'USD', retryAfterSeconds: secondsToMidnight });
    expect(velocityProblem(refusal).message).toContain('1000.00 USD per UTC day');
    // 600.00 + 400.00 is exactly the limit: the refused 500.00 took nothing.
    expect((await checkVelocity(env, partner, payment({ amount_minor: 40_000n }), nowMs)).ok).toBe(true);
    expect(expectRefusal(await checkVelocity(env, partner, payment({ amount_minor: 1n }), nowMs))).toMatchObject({ limit: 'partner-amount-per-day' });
    // Another currency has no amount limit here; a single payment above the limit is refused on its own.
    expect((await checkVelocity(env, partner, payment({ source_currency: 'EUR', corridor: 'EUR-USD', amount_minor: 10_000_000n }), nowMs)).ok).toBe(true);
    const fresh = partnerWithLimits({ payments_per_minute: 1_000, payments_per_day: 1_000, amount_per_day: { USD: '1000.00' } });
    expect(expectRefusal(await checkVelocity(env, fresh, payment({ amount_minor: 100_001n }), nowMs))).toMatchObject({ limit: 'partner-amount-per-day' });
  });

  it('counts a UETR once, whether it is repeated in sequence or submitted concurrently', async () => {
    const nowMs = pinnedClock();
    const partner = partnerWithLimits({ payments_per_minute: 2, payments_per_day: 1_000 });
    const repeated = payment();
    expect((await checkVelocity(env, partner, repeated, nowMs)).ok).toBe(true);
    expect((await checkVelocity(env, partner, repeated, nowMs)).ok).toBe(true);
    const concurrent = payment();
    const answers = await Promise.all(Array.from({ length: 6 }, () => checkVelocity(env, partner, concurrent, nowMs)));
    expect(answers.map((answer) => answer.ok)).toEqual([true, true, true, true, true, true]);
    // Two UETRs counted, whatever the number of submissions: the third UETR is over the limit of 2.
    expect(expectRefusal(await checkVelocity(env, partner, payment(), nowMs))).toMatchObject({ limit: 'partner-payments-per-minute' });
    // A UETR refused once was not marked: after the window it is judged (and counted) afresh.
    const refusedOnce = payment();
    expect((await checkVelocity(env, partner, refusedOnce, nowMs)).ok).toBe(false);
    expect((await checkVelocity(env, partner, refusedOnce, nowMs + minuteMs)).ok).toBe(true);
  });

  it('limits payments from one debtor account across partners', async () => {
    const nowMs = pinnedClock();
    const debtorAccount = `DE00DEBT${crypto.randomUUID()}`;
    const sent = payment({ debtor_account: debtorAccount, source_currency: 'EUR', corridor: 'EUR-EUR' });
    for (let index = 0n; index < debtorAccountPaymentsPerMinuteMax; index += 1n) {
      const result = await checkVelocity(env, alphaBank, { ...sent, uetr: crypto.randomUUID(), creditor_account: `FR00CRED${crypto.randomUUID()}` }, nowMs);
      expect(result.ok, `payment ${index + 1n}`).toBe(true);
    }
    const refusal = expectRefusal(await checkVelocity(env, banqueBravo, { ...sent, uetr: crypto.randomUUID() }, nowMs));
    expect(refusal).toMatchObject({ kind: 'limit-reached', limit: 'debtor-account-payments-per-minute', retryAfterSeconds: 40 });
    expect(velocityProblem(refusal).message).toContain('across partners');
    expect((await checkVelocity(env, banqueBravo, payment({ source_currency: 'EUR', corridor: 'EUR-EUR' }), nowMs)).ok).toBe(true);
  });

  it('fails closed when the store is down, hangs or refuses the client: 503 velocity-unavailable with Retry-After, nothing counted', async () => {
    const nowMs = pinnedClock();
    const partner = partnerWithLimits({ payments_per_minute: 1, payments_per_day: 1_000 });
    const attempt = payment();
    const outages = [
      { ...env, UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:9' },
      { ...env, UPSTASH_REDIS_REST_TOKEN: 'not-the-bridge-token' },
      // Accepts the connection and never answers: the stage's own deadline must end the wait.
      { ...env, UPSTASH_REDIS_REST_URL: inject('silentUpstashUrl') },
    ];
    for (const outage of outages) {
      const refusal = expectRefusal(await checkVelocity(outage, partner, attempt, nowMs));
      expect(refusal).toMatchObject({ kind: 'store-unavailable', retryAfterSeconds: velocityUnavailableRetryAfterSeconds });
      const response = velocityProblem(refusal).getResponse();
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe(String(velocityUnavailableRetryAfterSeconds));
      expect(await response.json()).toMatchObject({ type: 'urn:meridian:problem:velocity-unavailable' });
    }
    // The partner's retry of the same UETR, once the store is back, is the first count (limit 1).
    expect((await checkVelocity(env, partner, attempt, nowMs)).ok).toBe(true);
    expect((await checkVelocity(env, partner, payment(), nowMs)).ok).toBe(false);
  });

  it('treats any reply but the script’s own as an outage (with a fixed signal, a timed-out @upstash/redis call resolves with its abort reason)', () => {
    for (const reply of ['TimeoutError: The operation was aborted due to timeout', null, [1], [1, 1], [-1, 9], ['1', '0'], { result: 1 }]) {
      expect(parseVelocityScriptReply(reply, 5).ok, JSON.stringify(reply)).toBe(false);
    }
    expect(parseVelocityScriptReply([-1, 5], 5)).toEqual({ ok: true, value: { kind: 'refused', counterIndex: 4 } });
  });
});
