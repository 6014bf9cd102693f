/**
 * CorridorWindow inside workerd, settling into a real regional backend (Node + PGlite, started by
 * global-setup.ts). The eu backend list starts with a dead address, so every delivery also
 * exercises failover.
 */
import { env, evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { WindowCorridor } from '../../durable-objects/corridor-window/corridor-window.ts';
import { alpha, bravo, clientFor, eurPayment } from './support.ts';

const settleTimeoutMs = 20_000;

async function waitForStatus(uetr: string, status: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + settleTimeoutMs;
  for (;;) {
    const answer = await clientFor(alpha).paymentStatus(uetr);
    if (answer.body.status === status) return answer.body;
    if (Date.now() > deadline) throw new Error(`payment ${uetr} is ${String(answer.body.status)}, not ${status}, after ${settleTimeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function windowStub(name: string) {
  return env.CORRIDOR_WINDOW.get(env.CORRIDOR_WINDOW.idFromName(name));
}

describe('CorridorWindow', () => {
  it('closes on its alarm and settles through failover, even after eviction mid-window', async () => {
    const instruction = eurPayment('250.00');
    const accepted = await clientFor(alpha).submitPayment(instruction);
    expect(accepted.status).toBe(202);
    const [corridor, jurisdiction, shard] = String(accepted.body.window).split('.');
    const stub = windowStub(`${corridor}|${jurisdiction}|${shard}`);
    await evictDurableObject(stub);

    const settled = await waitForStatus(instruction.uetr, 'settled');
    expect(settled).toMatchObject({ status: 'settled', batch_id: accepted.body.window, jurisdiction: 'eu', region: 'eu-1' });
    expect(settled.log_index).toEqual(expect.any(Number));

    const windows = await stub.describe();
    const window = windows.find((candidate) => candidate.batch_id === accepted.body.window);
    expect(window).toMatchObject({ state: 'settled', region: 'eu-1', partners_notified: 1 });
    expect(window?.attempts).toBe(0);
  });

  it('nets an FX corridor into two legs per payment whose positions sum to zero per currency', async () => {
    const instruction = { ...eurPayment('1000.00'), target_currency: 'USD', creditor_agent: { bic: 'CHARUS33XXX' }, creditor: { name: 'US Beneficiary', country: 'US', account: 'US00CRED1' } };
    const accepted = await clientFor(alpha).submitPayment(instruction);
    expect(accepted.status).toBe(202);
    await waitForStatus(instruction.uetr, 'settled');
    const [corridor, jurisdiction, shard, startMs] = String(accepted.body.window).split('.');
    const canonical = await windowStub(`${corridor}|${jurisdiction}|${shard}`).sealedBatch(Number(startMs));
    const batch = JSON.parse(canonical as string) as { legs: Array<{ uetr: string; payer: string; payee: string; currency: string; amount_minor: string }> };
    const legs = batch.legs.filter((leg) => leg.uetr === instruction.uetr);
    // 1000.00 EUR at 1.0842 → 1084.20 USD, through the corridor's FX provider.
    expect(legs).toEqual([
      { uetr: instruction.uetr, payer: 'ALPHDEFFXXX', payee: 'LQPRDEFFXXX', currency: 'EUR', amount_minor: '100000' },
      { uetr: instruction.uetr, payer: 'LQPRDEFFXXX', payee: 'CHARUS33XXX', currency: 'USD', amount_minor: '108420' },
    ]);
  });

  it('closes a window on size and sends the next payment to the next window, never into the full one', async () => {
    const corridor: WindowCorridor = { id: 'EUR-EUR', jurisdiction: 'eu', shard: 9, fx_provider: null, fx_rate_scaled: null, fx_rate_scale: 8, window_duration_ms: 60_000, legs_max: 2 };
    const stub = windowStub('EUR-EUR|eu|size-test');
    const payment = (uetr: string) => ({ uetr, partner_id: 'alpha-bank', amount_minor: '100', source_currency: 'EUR', target_currency: 'EUR', debtor_agent_bic: alpha.bic, creditor_agent_bic: bravo.bic });
    const first = await stub.enqueue(payment(crypto.randomUUID()), corridor);
    const second = await stub.enqueue(payment(crypto.randomUUID()), corridor);
    expect(second).toBe(first);
    const third = await stub.enqueue(payment(crypto.randomUUID()), corridor);
    expect(Number(third.split('.').at(-1))).toBe(Number(first.split('.').at(-1)) + corridor.window_duration_ms);
    // The full window closes at once on its alarm, long before its 60 s slice ends.
    const firstStart = Number(first.split('.').at(-1));
    const deadline = Date.now() + 10_000;
    let state = 'open';
    while (state === 'open' && Date.now() < deadline) {
      state = (await stub.describe()).find((window) => window.start_ms === firstStart)?.state ?? 'missing';
      if (state === 'open') await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(['sealed', 'settled']).toContain(state);
  });
});
