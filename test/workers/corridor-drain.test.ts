/**
 * Corridor configuration and state held by the Control DO, and what a state change does at the
 * edge: a draining (or paused) corridor refuses new payments with 409 corridor-closed, while the
 * windows it already holds still close and settle. EUR-GBP is this suite's corridor alone.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import corridorsJson from '../../dev/corridors.json';
import { corridorDirectoryTtlMs } from '../../workers/payments/route-to-corridor.ts';
import { alpha, clientFor, eurPayment } from './support.ts';
import { parseWindowId, sleep, waitForStatus, waitForWindow } from './window-support.ts';

const corridorId = 'EUR-GBP';
const operator = { actor: 'ops-test@meridian.test', reason: 'drain test' };

function control() {
  return env.CONTROL.get(env.CONTROL.idFromName('control'));
}

function eurGbpPayment(amount: string) {
  return { ...eurPayment(amount), target_currency: 'GBP', creditor_agent: { bic: 'BARCGB22XXX' }, creditor: { name: 'UK Beneficiary', country: 'GB', account: 'GB00CRED1' } };
}

/** The edge caches Control's directory per isolate; a change is in force once that cache has expired. */
async function untilRoutingSeesIt(): Promise<void> {
  await sleep(corridorDirectoryTtlMs + 100);
}

describe('Control: corridor configuration', () => {
  it('is seeded from dev/corridors.json, every field and state included', async () => {
    const directory = await control().corridorDirectory();
    expect(directory.fx_rate_scale).toBe(corridorsJson.fx_rate_scale);
    const byId = Object.fromEntries(directory.corridors.map((corridor) => [corridor.id, corridor]));
    for (const seeded of corridorsJson.corridors) expect(byId[seeded.id]).toEqual(seeded);
    expect(await control().corridor('XXX-YYY')).toBeNull();
  });

  it('refuses unknown corridors, unknown states and anonymous changes as values', async () => {
    expect(await control().setCorridorState('XXX-YYY', 'paused', operator)).toMatchObject({ ok: false, reason: { kind: 'unknown-corridor' } });
    expect(await control().setCorridorState('USD-USD', 'closed', operator)).toMatchObject({ ok: false, reason: { kind: 'invalid-state' } });
    expect(await control().setCorridorState('USD-USD', 'paused', { actor: '', reason: 'x' })).toMatchObject({ ok: false, reason: { kind: 'invalid-note' } });
    expect((await control().corridor('USD-USD'))?.state).toBe('open');
  });
});

describe('draining a corridor', () => {
  it('refuses new payments with 409 corridor-closed while its open windows still close and settle', async () => {
    const before = eurGbpPayment('640.00');
    const accepted = await clientFor(alpha).submitPayment(before);
    expect(accepted.status).toBe(202);
    const { startMs } = parseWindowId(String(accepted.body.window));

    const change = await control().setCorridorState(corridorId, 'draining', operator);
    expect(change).toMatchObject({ ok: true, value: { corridor: corridorId, from: 'open', to: 'draining', actor: operator.actor } });
    expect((await control().corridor(corridorId))?.state).toBe('draining');
    await untilRoutingSeesIt();

    const refused = await clientFor(alpha).submitPayment(eurGbpPayment('1.00'));
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ type: 'urn:meridian:problem:corridor-closed' });

    // The window that took the payment before the drain closes on its own clock and settles.
    const settled = await waitForStatus(alpha, before.uetr, 'settled');
    expect(settled.batch_id).toBe(accepted.body.window);
    const window = await waitForWindow(corridorId, 'eu', startMs, 'settled');
    // 640.00 EUR at 0.8531 is 545.984 GBP: 545.98 paid, 0.4 of a penny booked to the provider's residue account.
    expect(window.fx_residue).toMatchObject({ account: 'fx-rounding-residue', participant: 'LQPRDEFFXXX', currency: 'GBP', numerator: '40000000', denominator: '100000000' });

    // Paused refuses too; reopening lets payments in again.
    expect(await control().setCorridorState(corridorId, 'paused', operator)).toMatchObject({ ok: true, value: { from: 'draining', to: 'paused' } });
    await untilRoutingSeesIt();
    expect((await clientFor(alpha).submitPayment(eurGbpPayment('2.00'))).status).toBe(409);
    expect(await control().setCorridorState(corridorId, 'open', operator)).toMatchObject({ ok: true });
    await untilRoutingSeesIt();
    expect((await clientFor(alpha).submitPayment(eurGbpPayment('3.00'))).status).toBe(202);
    expect((await control().corridorStateChanges(corridorId)).map((entry) => entry.to)).toEqual(['draining', 'paused', 'open']);
  });
});
