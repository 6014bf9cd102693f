/**
 * CorridorWindow inside workerd, settling into a real regional backend (Node + PGlite, started by
 * global-setup.ts). The eu backend list starts with a dead address, so every delivery also
 * exercises failover. Each test uses a corridor no other suite uses: suites run in parallel
 * against one regional database, where a batch id is unique.
 */
import { describe, expect, it } from 'vitest';
import { windowStartMs } from '../../core/netting-window.ts';
import corridorsJson from '../../dev/corridors.json';
import type { SettlementBatch } from '../../core/settlement-batch.ts';
import { shardOf } from '../../workers/payments/route-to-corridor.ts';
import { alpha, bravo, clientFor, eurPayment } from './support.ts';
import { directCorridor, directPayment, parseWindowId, sleep, waitFor, waitForStatus, waitForWindow, windowStub, enqueuePlaced, evictProven } from './window-support.ts';

const chfCorridor = corridorsJson.corridors.find((candidate) => candidate.id === 'CHF-CHF')!;
/** Slice time the submission and both evictions may use; with less left, the test waits for the next slice. */
const chfSliceRoomMs = 1_500;

describe('CorridorWindow', () => {
  it('closes on its alarm and settles through failover, even after eviction mid-window', async () => {
    const instruction = { ...eurPayment('250.00'), amount: { value: '250.00', currency: 'CHF' }, target_currency: 'CHF' };
    // Slices are aligned to the epoch: start early in one, so the evictions below land before it ends.
    const sliceLeftMs = windowStartMs(Date.now(), chfCorridor.window_duration_ms) + chfCorridor.window_duration_ms - Date.now();
    if (sliceLeftMs < chfSliceRoomMs) await sleep(sliceLeftMs + 1);
    const accepted = await clientFor(alpha).submitPayment(instruction);
    expect(accepted.status).toBe(202);
    const { corridor, jurisdiction, startMs } = parseWindowId(String(accepted.body.window));
    expect(corridor).toBe('CHF-CHF');
    for (const shard of [0, 1]) await evictProven(windowStub(corridor, jurisdiction, shard));
    // Mid-window: after both evictions, the part holding the payment is still open (a fresh instance read it from storage).
    const paymentShard = shardOf(instruction.uetr, chfCorridor.shards);
    const part = (await windowStub(corridor, jurisdiction, paymentShard).describeIntake()).find((row) => row.start_ms === startMs);
    expect(part, `shard ${paymentShard}'s part of the window, right after the evictions`).toMatchObject({ state: 'open', payment_count: 1 });

    const settled = await waitForStatus(alpha, instruction.uetr, 'settled');
    expect(settled).toMatchObject({ status: 'settled', batch_id: accepted.body.window, jurisdiction: 'eu', region: 'eu-1' });
    expect(settled.log_index).toEqual(expect.any(Number));

    const window = await waitForWindow(corridor, jurisdiction, startMs, 'settled');
    // Both shards' parts are in the one batch, even though at most one of them took a payment.
    expect(window).toMatchObject({ state: 'settled', region: 'eu-1', shards: 2, parts_received: 2, batch_id: accepted.body.window, attempts: 0 });
    await waitFor('partners notified', async () => ((await windowStub(corridor, jurisdiction, 0).describeWindows()).find((candidate) => candidate.start_ms === startMs)?.partners_notified === 1 ? true : undefined));
  });

  it('nets an FX corridor into two legs per payment whose positions sum to zero per currency', async () => {
    const instruction = { ...eurPayment('1000.00'), target_currency: 'USD', creditor_agent: { bic: 'CHARUS33XXX' }, creditor: { name: 'US Beneficiary', country: 'US', account: 'US00CRED1' } };
    const accepted = await clientFor(alpha).submitPayment(instruction);
    expect(accepted.status).toBe(202);
    await waitForStatus(alpha, instruction.uetr, 'settled');
    const { corridor, jurisdiction, startMs } = parseWindowId(String(accepted.body.window));
    const canonical = await windowStub(corridor, jurisdiction, 0).sealedBatch(startMs);
    const batch = JSON.parse(canonical as string) as SettlementBatch;
    const legs = batch.legs.filter((leg) => leg.uetr === instruction.uetr);
    // 1000.00 EUR at 1.0842 → 1084.20 USD, through the corridor's FX provider.
    expect(legs).toEqual([
      { uetr: instruction.uetr, instructing_agent: 'ALPHDEFFXXX', payer: 'ALPHDEFFXXX', payee: 'LQPRDEFFXXX', currency: 'EUR', amount_minor: '100000', debtor_country: 'DE', residency_exception: null },
      { uetr: instruction.uetr, instructing_agent: 'ALPHDEFFXXX', payer: 'LQPRDEFFXXX', payee: 'CHARUS33XXX', currency: 'USD', amount_minor: '108420', debtor_country: 'DE', residency_exception: null },
    ]);
  });

  it('closes a window on size and sends the next payment to the next window, never into the full one', async () => {
    const corridor = directCorridor('SEK-SEK', { window_duration_ms: 60_000, legs_max: 2 });
    const stub = windowStub(corridor.id, corridor.jurisdiction, 0);
    const payment = () => directPayment(corridor, '100', alpha.bic, bravo.bic);
    const first = await enqueuePlaced(stub, payment(), corridor);
    const second = await enqueuePlaced(stub, payment(), corridor);
    expect(second).toBe(first);
    const third = await enqueuePlaced(stub, payment(), corridor);
    const firstStart = parseWindowId(first).startMs;
    expect(parseWindowId(third).startMs).toBe(firstStart + corridor.window_duration_ms);
    // The full window closes at once on its alarm, long before its 60 s slice ends, and settles.
    const window = await waitForWindow(corridor.id, corridor.jurisdiction, firstStart, 'settled');
    expect(window.leg_count).toBe(2);
    const intake = await stub.describeIntake();
    expect(intake.find((row) => row.start_ms === firstStart)).toMatchObject({ state: 'handed', close_reason: 'size', payment_count: 2 });
    expect(intake.find((row) => row.start_ms === firstStart + corridor.window_duration_ms)).toMatchObject({ state: 'open', payment_count: 1 });
  });
});
