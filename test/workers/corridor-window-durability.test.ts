/**
 * Durability of the window → batch → outbox path, driven through the CorridorWindow objects
 * directly (each test its own corridor, so batch ids never meet another suite's in the shared
 * regional database). Failures are real: a backend address that refuses connections, a backend
 * list that does not parse, eviction of the objects mid-flight. The only test seam is that a
 * test swaps the `env` of a running object instance (runInDurableObject) to point it at a dead
 * backend, and later back at the real one: "the backend came back".
 */
import { env, evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../core/canonical-json.ts';
import { windowStartMs } from '../../core/netting-window.ts';
import type { SettlementBatch } from '../../core/settlement-batch.ts';
import { deliverSettlementBatch } from '../../durable-objects/corridor-window/deliver-batch.ts';
import type { WindowCorridor, WindowPayment } from '../../core/corridor-window-contract.ts';
import { shardOf } from '../../workers/payments/route-to-corridor.ts';
import type { Env } from '../../workers/env.ts';
import { alpha, bravo } from './support.ts';
import { directCorridor, directPayment, expectPositionsReproduce, parseWindowId, regionalSettlement, sleep, waitFor, waitForWindow, windowStub, enqueuePlaced, evictProven } from './window-support.ts';

const deadBackends = JSON.stringify({ eu: [{ region: 'eu-down', url: 'http://127.0.0.1:9' }] });

/** Points the running instance behind `stub` at other regional backends (until it is evicted or swapped back). */
async function swapBackends(stub: ReturnType<typeof windowStub>, backends: string = env.REGIONAL_BACKENDS): Promise<void> {
  await runInDurableObject(stub, (instance) => {
    const holder = instance as unknown as { env: Env };
    holder.env = { ...holder.env, REGIONAL_BACKENDS: backends };
  });
}

/** Durations tried, one millisecond apart, before giving up (the remainder is near-uniform, so a few do). */
const durationCandidatesMax = 100_000;

/**
 * A window duration of at least `minimumMs` whose epoch-aligned slice holding now still has
 * `roomMs` to run. Slices are aligned to the epoch (core `windowStartMs`), so a test that must
 * happen inside one slice picks its duration to put the start of the run early in a slice,
 * instead of failing whenever the run happens to start near a boundary.
 */
function durationWithSliceRoomMs(minimumMs: number, roomMs: number): number {
  const nowMs = Date.now();
  for (let durationMs = minimumMs; durationMs < minimumMs + durationCandidatesMax; durationMs++) {
    if (windowStartMs(nowMs, durationMs) + durationMs - nowMs >= roomMs) return durationMs;
  }
  throw new Error(`no window duration in [${minimumMs}, ${minimumMs + durationCandidatesMax}) leaves ${roomMs} ms of the slice holding ${nowMs}`);
}

/** Enqueues and brackets the acceptance instant by the clock before and after: the object stamps it in between. */
async function enqueueBracketed(stub: ReturnType<typeof windowStub>, payment: WindowPayment, corridor: WindowCorridor): Promise<{ batchId: string; afterMs: number; beforeMs: number }> {
  const afterMs = Date.now();
  const batchId = await enqueuePlaced(stub, payment, corridor);
  return { batchId, afterMs, beforeMs: Date.now() };
}

async function enqueueSpread(corridor: WindowCorridor, count: number, amountMinor: (index: number) => string): Promise<Array<{ uetr: string; windowId: string }>> {
  const creditors = [bravo.bic, 'DEUTDEFFXXX', 'BNPAFRPPXXX'];
  return Promise.all(Array.from({ length: count }, async (_, index) => {
    const uetr = crypto.randomUUID();
    const shard = shardOf(uetr, corridor.shards);
    const shardCorridor = { ...corridor, shard };
    const windowId = await enqueuePlaced(windowStub(corridor.id, corridor.jurisdiction, shard), directPayment(shardCorridor, amountMinor(index), alpha.bic, creditors[index % creditors.length]!, uetr), shardCorridor);
    return { uetr, windowId };
  }));
}

/** A payment whose UETR routing sends to `shard` of the corridor, as the edge would. */
function paymentOnShard(corridor: WindowCorridor, shard: number): WindowPayment {
  for (;;) {
    const uetr = crypto.randomUUID();
    if (shardOf(uetr, corridor.shards) === shard) return directPayment({ ...corridor, shard }, '250', alpha.bic, bravo.bic, uetr);
  }
}

describe('CorridorWindow durability', () => {
  it('keeps a payment in exactly one window across repeated enqueues and eviction', async () => {
    const corridor = directCorridor('HUF-HUF', { window_duration_ms: 2_000 });
    const stub = windowStub(corridor.id, corridor.jurisdiction, 0);
    const payment = directPayment(corridor, '5000', alpha.bic, bravo.bic);
    const first = await enqueuePlaced(stub, payment, corridor);
    await evictProven(stub);
    expect(await enqueuePlaced(stub, payment, corridor)).toBe(first);
    expect(await enqueuePlaced(stub, { ...payment, amount_minor: '1' }, corridor)).toBe(first);
    const window = await waitForWindow(corridor.id, corridor.jurisdiction, parseWindowId(first).startMs, 'settled');
    expect(window.leg_count).toBe(1);
    // After its window settled, a retried enqueue still names the same window and adds nothing.
    expect(await enqueuePlaced(stub, payment, corridor)).toBe(first);
    const batch = JSON.parse((await stub.sealedBatch(window.start_ms))!) as SettlementBatch;
    expect(batch.legs).toEqual([{ uetr: payment.uetr, instructing_agent: alpha.bic, payer: alpha.bic, payee: bravo.bic, currency: 'HUF', amount_minor: '5000', debtor_country: 'DE', residency_exception: null }]);
  });

  it('survives eviction of every shard and of the coordinator mid-window, and nets all shards into one batch', async () => {
    const corridor = directCorridor('NOK-NOK', { shards: 3, window_duration_ms: 1_500 });
    const payments = await enqueueSpread(corridor, 30, (index) => String(100 + index));
    for (let shard = 0; shard < corridor.shards; shard++) await evictProven(windowStub(corridor.id, corridor.jurisdiction, shard));
    const windowIds = [...new Set(payments.map((payment) => payment.windowId))];
    const seen = new Set<string>();
    let evictionsWhileClosing = 0;
    for (const windowId of windowIds) {
      const { startMs } = parseWindowId(windowId);
      // Evict everything again while the window closes, collects and delivers.
      const settled = waitForWindow(corridor.id, corridor.jurisdiction, startMs, 'settled');
      let done = false;
      void settled.finally(() => (done = true)).catch(() => undefined);
      while (!done) {
        // An idle object cannot be evicted (the call rejects): only the resolved calls are evictions.
        const rounds = await Promise.allSettled(Array.from({ length: corridor.shards }, (_, shard) => evictDurableObject(windowStub(corridor.id, corridor.jurisdiction, shard))));
        evictionsWhileClosing += rounds.filter((round) => round.status === 'fulfilled').length;
        await sleep(200);
      }
      const window = await settled;
      expect(window).toMatchObject({ shards: 3, parts_received: 3, region: 'eu-1' });
      const batch = JSON.parse((await windowStub(corridor.id, corridor.jurisdiction, 0).sealedBatch(startMs))!) as SettlementBatch;
      expectPositionsReproduce(batch);
      for (const leg of batch.legs) {
        expect(seen.has(leg.uetr)).toBe(false);
        seen.add(leg.uetr);
      }
    }
    expect([...seen].sort()).toEqual(payments.map((payment) => payment.uetr).sort());
    expect(evictionsWhileClosing, 'evictions that happened while windows closed, collected and delivered').toBeGreaterThan(0);
  });

  it('retries a failed and a thrown delivery on its alarm, then settles once the backend answers', async () => {
    const corridor = directCorridor('DKK-DKK', { window_duration_ms: 1_000 });
    const coordinator = windowStub(corridor.id, corridor.jurisdiction, 0);
    const windowId = await enqueuePlaced(coordinator, directPayment(corridor, '70000', alpha.bic, bravo.bic), corridor);
    const { startMs } = parseWindowId(windowId);
    await swapBackends(coordinator, deadBackends);

    // Connection refused: a failed attempt, recorded, retried later with backoff.
    const failed = await waitFor('a failed delivery', async () => {
      const window = (await coordinator.describeWindows()).find((candidate) => candidate.start_ms === startMs);
      return window !== undefined && window.attempts >= 1 ? window : undefined;
    });
    expect(failed).toMatchObject({ state: 'sealed', region: null });
    expect(failed.last_error).toContain('eu-down');
    expect(failed.next_attempt_ms).toBeGreaterThan(Date.now() - 1_000);

    // A backend list that does not parse makes the delivery throw: caught, counted, retried the same way.
    await swapBackends(coordinator, 'not json');
    const thrown = await waitFor('a thrown delivery', async () => {
      const window = (await coordinator.describeWindows()).find((candidate) => candidate.start_ms === startMs);
      return window !== undefined && window.attempts >= 2 ? window : undefined;
    });
    expect(thrown.state).toBe('sealed');
    expect(thrown.last_error).toContain('SyntaxError');

    await swapBackends(coordinator); // the real backends are back
    const settled = await waitForWindow(corridor.id, corridor.jurisdiction, startMs, 'settled');
    expect(settled.attempts).toBeGreaterThanOrEqual(2);
    expect(settled.last_error).toBeNull();
    const regional = await regionalSettlement('eu', 'eu-1', windowId);
    expect(regional.body).toMatchObject({ batch_id: windowId, digest: settled.digest, log_index: settled.log_index });
  });

  it('settles exactly once when the backend committed but its answer never reached the window', async () => {
    const corridor = directCorridor('PLN-PLN', { window_duration_ms: 1_000 });
    const coordinator = windowStub(corridor.id, corridor.jurisdiction, 0);
    const windowId = await enqueuePlaced(coordinator, directPayment(corridor, '12345', alpha.bic, bravo.bic), corridor);
    const { startMs } = parseWindowId(windowId);
    await swapBackends(coordinator, deadBackends);
    const sealed = await waitFor('a failed delivery', async () => {
      const window = (await coordinator.describeWindows()).find((candidate) => candidate.start_ms === startMs);
      return window !== undefined && window.attempts >= 1 ? window : undefined;
    });

    // The backend is up and commits the sealed bytes, but the window never hears of it (as if the answer was lost).
    const canonical = (await coordinator.sealedBatch(startMs))!;
    const committed = await deliverSettlementBatch(env, 'eu', canonical, sealed.digest!);
    if (committed.kind !== 'settled') throw new Error(`direct delivery failed: ${committed.errors.join('; ')}`);

    await swapBackends(coordinator); // the window's own retry now reaches the backend: a replay, not a second commit
    const settled = await waitForWindow(corridor.id, corridor.jurisdiction, startMs, 'settled');
    expect(settled).toMatchObject({ digest: committed.response.digest, log_index: committed.response.log_index, region: committed.response.region });
    const regional = await regionalSettlement('eu', 'eu-1', windowId);
    expect(regional.body).toMatchObject({ batch_id: windowId, digest: sealed.digest, log_index: committed.response.log_index, receipt: committed.response.receipt });
  });

  it('closes a window on its slice\'s end, not before, and settles it in the first alarm round after', async () => {
    // At least a second of the slice left when the payment arrives, so the window is observed open.
    const corridor = directCorridor('RON-RON', { shards: 2, window_duration_ms: durationWithSliceRoomMs(1_500, 1_000) });
    const shard = 1; // not the coordinator: shard 0 has to collect this part at the slice's end
    const accepted = await enqueueBracketed(windowStub(corridor.id, 'eu', shard), paymentOnShard(corridor, shard), { ...corridor, shard });
    const { startMs } = parseWindowId(accepted.batchId);
    // The payment is in the slice that holds its acceptance instant (a fresh corridor: no slice is closed yet).
    expect(startMs).toBe(windowStartMs(accepted.afterMs, corridor.window_duration_ms));
    expect(startMs).toBe(windowStartMs(accepted.beforeMs, corridor.window_duration_ms));
    const endMs = startMs + corridor.window_duration_ms;

    // Every look at the coordinator that returned before the slice's end saw the window still collecting.
    const coordinator = windowStub(corridor.id, 'eu', 0);
    const seenBeforeEnd: string[] = [];
    const window = await waitFor(`window ${accepted.batchId} to be settled`, async () => {
      const found = (await coordinator.describeWindows()).find((candidate) => candidate.start_ms === startMs);
      if (Date.now() < endMs) seenBeforeEnd.push(found?.state ?? 'absent');
      return found?.state === 'settled' ? found : undefined;
    });
    expect(seenBeforeEnd.length, 'looks at the window before its slice ended').toBeGreaterThan(0);
    expect(new Set(seenBeforeEnd)).toEqual(new Set(['collecting']));
    expect(window).toMatchObject({ end_ms: endMs, shards: 2, parts_received: 2, leg_count: 1, close_requested: 0 });
    expect(window.settled_at_ms).toBeGreaterThanOrEqual(endMs);
    // One round: the first collection after the slice ended found every part, the first delivery settled.
    expect(window).toMatchObject({ collect_attempts: 0, attempts: 0 });
    for (const part of [0, 1]) {
      const intake = (await windowStub(corridor.id, 'eu', part).describeIntake()).find((row) => row.start_ms === startMs);
      expect(intake?.close_reason, `close reason of shard ${part}'s part`).not.toBe('size');
    }
  });

  it('sends a payment that arrives after its slice closed on another shard to the next window', async () => {
    // The whole test runs inside one slice (45 s left, more than the test's timeout), whatever the
    // moment the run starts: the size close, the settlement and the late arrival all fall in it.
    const corridor = directCorridor('CZK-CZK', { shards: 2, window_duration_ms: durationWithSliceRoomMs(60_000, 45_000), legs_max: 2 });
    const shardCorridor = (shard: number) => ({ ...corridor, shard });
    const early = await enqueueBracketed(windowStub(corridor.id, 'eu', 1), paymentOnShard(corridor, 1), shardCorridor(1));
    const { startMs } = parseWindowId(early.batchId);
    expect(startMs).toBe(windowStartMs(early.afterMs, corridor.window_duration_ms));
    expect(startMs).toBe(windowStartMs(early.beforeMs, corridor.window_duration_ms));
    // Shard 0 fills its part (legs_max 2): the coordinator closes the whole window at once, collecting shard 1's part too.
    for (let payment = 0; payment < 2; payment++) {
      expect(await enqueuePlaced(windowStub(corridor.id, 'eu', 0), paymentOnShard(corridor, 0), shardCorridor(0))).toBe(early.batchId);
    }
    const window = await waitForWindow(corridor.id, 'eu', startMs, 'settled');
    expect(window).toMatchObject({ leg_count: 3, parts_received: 2, close_requested: 1, end_ms: startMs + corridor.window_duration_ms });
    // Closed on size: settled before its slice ended, rather than at the end.
    expect(window.settled_at_ms).toBeLessThan(window.end_ms);
    expect((await windowStub(corridor.id, 'eu', 0).describeIntake()).find((row) => row.start_ms === startMs)).toMatchObject({ close_reason: 'size', payment_count: 2 });

    // The late payment's own slice is the closed one; it goes to the next slice, never into the closed one.
    const late = await enqueueBracketed(windowStub(corridor.id, 'eu', 1), paymentOnShard(corridor, 1), shardCorridor(1));
    expect(windowStartMs(late.afterMs, corridor.window_duration_ms)).toBe(startMs);
    expect(windowStartMs(late.beforeMs, corridor.window_duration_ms)).toBe(startMs);
    expect(parseWindowId(late.batchId).startMs).toBe(startMs + corridor.window_duration_ms);
    const intake = await windowStub(corridor.id, 'eu', 1).describeIntake();
    expect(intake.find((row) => row.start_ms === startMs)).toMatchObject({ state: 'handed', close_reason: 'coordinator', payment_count: 1 });
  });

  it('books the FX residue of all shards of a window, exactly, to the provider\'s residue account', async () => {
    const corridor = directCorridor('GBP-JPY', { shards: 2, window_duration_ms: 1_000, fx_provider: 'LQPRDEFFXXX', fx_rate_scaled: '19012345678', fx_rate_scale: 8 });
    const payments = await enqueueSpread(corridor, 12, (index) => String(101 + index * 7919));
    const windows = [...new Set(payments.map((payment) => payment.windowId))];
    for (const windowId of windows) {
      const { startMs } = parseWindowId(windowId);
      const window = await waitForWindow(corridor.id, 'eu', startMs, 'settled');
      const batch = JSON.parse((await windowStub(corridor.id, 'eu', 0).sealedBatch(startMs))!) as SettlementBatch;
      expectPositionsReproduce(batch);
      // Independently: exact JPY value of each payment = GBP minor × rate / 10^(8 + 2); payout is its floor.
      const denominator = 10n ** 10n;
      let residueNumerator = 0n;
      for (const leg of batch.legs.filter((candidate) => candidate.currency === 'GBP')) {
        const exact = BigInt(leg.amount_minor) * 19012345678n;
        const payout = batch.legs.find((candidate) => candidate.uetr === leg.uetr && candidate.currency === 'JPY')!;
        expect(BigInt(payout.amount_minor)).toBe(exact / denominator);
        residueNumerator += exact % denominator;
      }
      expect(window.fx_residue).toEqual({
        account: 'fx-rounding-residue', participant: 'LQPRDEFFXXX', currency: 'JPY',
        numerator: residueNumerator.toString(), denominator: denominator.toString(), units: residueNumerator.toString(), scale: 10,
      });
      expect(canonicalJson(batch)).not.toContain('residue'); // SettlementBatch v1 is unchanged
    }
  });
});
