/**
 * A hot corridor sharded four ways (GBP-GBP in dev/corridors.json): payments spread over four
 * CorridorWindow objects by UETR, and each time slice still settles as ONE batch, netted exactly
 * over every shard, with every object evicted again and again while it happens.
 */
import { evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import { sha256Hex } from '../../core/digest.ts';
import { sealNettingWindow, type NettingWindowPart } from '../../core/netting-window.ts';
import type { SettlementBatch } from '../../core/settlement-batch.ts';
import { shardOf } from '../../workers/payments/route-to-corridor.ts';
import { alpha, bravo, clientFor } from './support.ts';
import { expectPositionsReproduce, parseWindowId, regionalSettlement, sleep, waitForStatus, waitForWindow, windowStub } from './window-support.ts';

const corridorId = 'GBP-GBP';
const shards = 4;
const paymentCount = 48;

function gbpPayment(creditorBic: string, amount: string) {
  return buildInstruction({ debtorBic: alpha.bic, debtorCountry: 'DE', creditorBic, creditorCountry: 'GB', amount, currency: 'GBP', targetCurrency: 'GBP' });
}

/** Deterministic shuffle (the test must be repeatable): Fisher–Yates over a small LCG. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const copy = [...items];
  let state = seed;
  for (let index = copy.length - 1; index > 0; index--) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    const other = state % (index + 1);
    [copy[index], copy[other]] = [copy[other]!, copy[index]!];
  }
  return copy;
}

describe('a sharded corridor', () => {
  it('settles each time slice as one batch over all shards, exactly once, through repeated evictions', async () => {
    // One submitting partner (the PQ-required one would need a session); the creditors make it multilateral.
    const creditors = [bravo.bic, 'DEUTDEFFXXX', 'BNPAFRPPXXX', 'INGBNL2AXXX'];
    const submitted: Array<{ uetr: string; window: string }> = [];
    const evictions = { stop: false, count: 0 };
    // Eviction runs beside everything else: mid-ingest, mid-collection, mid-delivery.
    const evicting = (async () => {
      while (!evictions.stop) {
        await Promise.all(Array.from({ length: shards }, (_, shard) => evictDurableObject(windowStub(corridorId, 'eu', shard)).then(() => (evictions.count += 1), () => undefined)));
        await sleep(150);
      }
    })();
    try {
      for (let batchStart = 0; batchStart < paymentCount; batchStart += 12) {
        const answers = await Promise.all(Array.from({ length: 12 }, async (_, offset) => {
          const index = batchStart + offset;
          const amountMinor = BigInt(1 + index * 37);
          const instruction = gbpPayment(creditors[index % creditors.length]!, `${amountMinor / 100n}.${String(amountMinor % 100n).padStart(2, '0')}`);
          const answer = await clientFor(alpha).submitPayment(instruction);
          expect(answer.status, JSON.stringify(answer.body)).toBe(202);
          return { uetr: instruction.uetr, window: String(answer.body.window) };
        }));
        submitted.push(...answers);
      }
      expect(new Set(submitted.map((payment) => shardOf(payment.uetr, shards))).size).toBe(shards);
      for (const payment of submitted) {
        const status = await waitForStatus(alpha, payment.uetr, 'settled');
        expect(status.batch_id).toBe(payment.window);
      }
    } finally {
      evictions.stop = true;
      await evicting;
    }
    expect(evictions.count).toBeGreaterThan(0);

    const windowIds = [...new Set(submitted.map((payment) => payment.window))];
    const legsSeen = new Map<string, string>();
    for (const windowId of windowIds) {
      const { startMs } = parseWindowId(windowId);
      const window = await waitForWindow(corridorId, 'eu', startMs, 'settled');
      expect(window).toMatchObject({ batch_id: windowId, shards, parts_received: shards });
      const canonical = (await windowStub(corridorId, 'eu', 0).sealedBatch(startMs))!;
      expect(sha256Hex(canonical)).toBe(window.digest);
      const batch = JSON.parse(canonical) as SettlementBatch;
      expectPositionsReproduce(batch);
      for (const leg of batch.legs) {
        expect(legsSeen.has(leg.uetr), `payment ${leg.uetr} in two batches`).toBe(false);
        legsSeen.set(leg.uetr, windowId);
      }
      // The regional backend holds exactly this batch under this id (idempotent by digest: committed once).
      const regional = await regionalSettlement('eu', 'eu-1', windowId);
      expect(regional.status).toBe(200);
      expect(regional.body).toMatchObject({ batch_id: windowId, digest: window.digest, log_index: window.log_index });

      // Replaying the window — the same legs split over the shards, parts in any order — gives the same bytes.
      const parts: NettingWindowPart[] = Array.from({ length: shards }, (_, shard) => ({ shard, legs: batch.legs.filter((leg) => shardOf(leg.uetr, shards) === shard), fxResidue: null }));
      for (const seed of [1, 2, 3]) {
        const replayed = sealNettingWindow(
          { corridor: corridorId, jurisdiction: 'eu', startMs, endMs: Date.parse(batch.window.ends_at), shards },
          shuffled(parts, seed).map((part) => ({ ...part, legs: shuffled(part.legs, seed + 10) })),
        );
        expect(replayed.sealed.canonical).toBe(canonical);
      }
    }
    // Every accepted payment is in exactly one batch, and it is the window its acceptance named.
    expect(legsSeen.size).toBe(paymentCount);
    for (const payment of submitted) expect(legsSeen.get(payment.uetr)).toBe(payment.window);
  }, 60_000);
});
