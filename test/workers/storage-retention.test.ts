/**
 * Durable Object storage stays bounded: finished windows, handed parts and finished payments leave
 * the hot objects after their named retention periods, and a pruned slice can never be rebuilt.
 * The prunes run as of a moment past the retention (the alarm runs the same code as of now).
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { finishedWindowRetentionMs } from '../../durable-objects/corridor-window/netting-store.ts';
import { handedPartRetentionMs } from '../../durable-objects/corridor-window/intake-store.ts';
import { finishedPaymentRetentionMs } from '../../durable-objects/partner-state/partner-state.ts';
import { alpha, bravo } from './support.ts';
import { directCorridor, directPayment, enqueuePlaced, parseWindowId, waitForWindow, windowStub } from './window-support.ts';

const rounds = 4;
const paymentsPerRound = 12;
const retentionMs = Math.max(finishedWindowRetentionMs, handedPartRetentionMs);

type Counts = Record<string, number>;

async function rowCounts(stub: ReturnType<typeof windowStub>, tables: string[]): Promise<Counts> {
  return runInDurableObject(stub, (_instance, state) =>
    Object.fromEntries(tables.map((table) => [table, state.storage.sql.exec<{ count: number }>(`SELECT count(*) AS count FROM ${table}`).one().count])));
}

const coordinatorTables = ['netting_windows', 'netting_parts', 'netting_window_part_legs', 'netting_window_payments', 'netting_batch_chunks', 'intake_windows', 'intake_payments'];

describe('CorridorWindow retention', () => {
  it('keeps storage bounded over many settled windows, and refuses parts for a retired slice', async () => {
    const corridorId = 'ISK-ISK';
    const shardCorridor = (shard: number) => directCorridor(corridorId, { shards: 2, shard, window_duration_ms: 400 });
    const afterEachRound: Counts[] = [];
    let lastWindowId = '';
    for (let round = 0; round < rounds; round++) {
      const windowIds = new Set<string>();
      for (let index = 0; index < paymentsPerRound; index++) {
        const shard = index % 2;
        windowIds.add(await enqueuePlaced(windowStub(corridorId, 'eu', shard), directPayment(shardCorridor(shard), String(100 + index), alpha.bic, bravo.bic), shardCorridor(shard)));
      }
      for (const windowId of windowIds) {
        const { startMs } = parseWindowId(windowId);
        await waitForWindow(corridorId, 'eu', startMs, 'settled');
        lastWindowId = windowId;
      }
      // Notifications run right after settlement; give the coordinator the moment it needs, then prune as of past the retention.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const future = Date.now() + retentionMs + 1;
      await windowStub(corridorId, 'eu', 0).pruneRetained(future);
      await windowStub(corridorId, 'eu', 1).pruneRetained(future);
      afterEachRound.push(await rowCounts(windowStub(corridorId, 'eu', 0), coordinatorTables));
    }
    // Whatever the number of rounds, nothing settled is left behind.
    for (const counts of afterEachRound) {
      expect(counts).toEqual(Object.fromEntries(coordinatorTables.map((table) => [table, 0])));
    }
    expect(await rowCounts(windowStub(corridorId, 'eu', 1), ['intake_windows', 'intake_payments'])).toEqual({ intake_windows: 0, intake_payments: 0 });

    // A pruned slice cannot come back: a join is told it sealed, a part is refused loudly.
    const { startMs } = parseWindowId(lastWindowId);
    expect(await windowStub(corridorId, 'eu', 0).joinWindow(shardCorridor(1), startMs, startMs + 400)).toBe('sealed');
    // Asked in the object itself: an error thrown across RPC would surface as an unhandled error of the object.
    await runInDurableObject(windowStub(corridorId, 'eu', 1), (instance) => {
      const intake = (instance as unknown as { intake: { collect(startMs: number, endMs: number, corridor: ReturnType<typeof shardCorridor>): unknown } }).intake;
      expect(() => intake.collect(startMs, startMs + 400, shardCorridor(1))).toThrow(/pruned|retired/);
    });
  });
});

describe('PartnerState retention', () => {
  it('drops finished payments after the retention, never pending or accepted ones', async () => {
    const stub = env.PARTNER_STATE.get(env.PARTNER_STATE.idFromName('retention-test-partner'));
    const nowMs = Date.now();
    const remaining = await runInDurableObject(stub, (instance, state) => {
      const insert = (uetr: string, status: string, settledAtMs: number | null) =>
        state.storage.sql.exec(`INSERT INTO payments (uetr, instruction_sha256, jws, corridor, jurisdiction, status, settled_at_ms) VALUES (?, 'sha', 'jws', 'EUR-EUR', 'eu', ?, ?)`, uetr, status, settledAtMs);
      for (let index = 0; index < 50; index++) insert(`settled-${index}`, 'settled', nowMs - index);
      insert('rejected-0', 'rejected', nowMs);
      insert('accepted-0', 'accepted', null);
      insert('pending-0', 'pending', null);
      insert('settled-recent', 'settled', nowMs + finishedPaymentRetentionMs);
      expect(instance.pruneFinishedPayments(nowMs + finishedPaymentRetentionMs + 1)).toBe(51);
      return state.storage.sql.exec<{ uetr: string }>(`SELECT uetr FROM payments ORDER BY uetr`).toArray().map((row) => row.uetr);
    });
    expect(remaining).toEqual(['accepted-0', 'pending-0', 'settled-recent']);
  });
});
