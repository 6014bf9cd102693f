/**
 * Money safety at the edges of admission: what the gateway has acknowledged with a signed 202 is
 * settled exactly once, whatever happens between the acknowledgement and the close.
 *
 * DKK-DKK (two shards) is this suite's corridor alone: it pauses it. The direct-stub cases use
 * corridor ids of their own (NOK-NOK, SEK-SEK, JPY-USD is only ever a direct snapshot here).
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { signInstruction } from '../../packages/partner-sdk/src/partner-client.ts';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import { sha256Hex } from '../../core/digest.ts';
import type { WindowCorridor, WindowPayment } from '../../core/corridor-window-contract.ts';
import type { SettlementBatch } from '../../core/settlement-batch.ts';
import { partnerStateForPayment } from '../../durable-objects/partner-state/partner-shards.ts';
import { corridorDirectoryTtlMs, shardOf } from '../../workers/payments/route-to-corridor.ts';
import { client as clientFor } from './partner-trust-support.ts';
import { alpha, bravo } from './support.ts';
import { directCorridor, directPayment, enqueuePlaced, parseWindowId, regionalSettlement, sleep, waitFor, waitForStatus, windowStub } from './window-support.ts';

const corridorId = 'DKK-DKK';
const operator = { actor: 'ops-test@meridian.test', reason: 'money-safety test' };

function dkkPayment(from: typeof alpha, amount: string, uetr?: string) {
  return buildInstruction({
    debtorBic: from.bic, debtorCountry: from === alpha ? 'DE' : 'FR', creditorBic: 'DABADKKKXXX', creditorCountry: 'DK',
    amount, currency: 'DKK', targetCurrency: 'DKK', ...(uetr === undefined ? {} : { uetr }),
  });
}

function control() {
  return env.CONTROL.get(env.CONTROL.idFromName('control'));
}

/** The PartnerState shard that holds `uetr` for the partner (partner-shards.ts). */
function partnerState(partnerId: string, uetr: string) {
  return partnerStateForPayment(env, 'eu', partnerId, uetr);
}

/** The coordinator's window holding `startMs`, once it has sealed (or gone on to settle), with its batch. */
async function sealedWindow(corridor: string, startMs: number): Promise<SettlementBatch> {
  const coordinator = windowStub(corridor, 'eu', 0);
  const bytes = await waitFor(`window ${corridor}.eu.${startMs} to seal`, async () => (await coordinator.sealedBatch(startMs)) ?? undefined);
  return JSON.parse(bytes) as SettlementBatch;
}

describe('the same UETR from two partners', () => {
  it('is two payments: both are acknowledged, both settle, each as legs of its own instructing agent', async () => {
    const uetr = crypto.randomUUID();
    const fromAlpha = await clientFor(alpha).submitPayment(dkkPayment(alpha, '40.00', uetr));
    const fromBravo = await clientFor(bravo).submitPayment(dkkPayment(bravo, '60.00', uetr));
    expect(fromAlpha.status).toBe(202);
    expect(fromBravo.status).toBe(202);
    const settledAlpha = await waitForStatus(alpha, uetr, 'settled');
    const settledBravo = await waitForStatus(bravo, uetr, 'settled');
    // The two may close in one window or in consecutive ones (the window is 2 s): either way each
    // committed batch holds the UETR once per instructing agent, with that partner's amount.
    const legsOf = async (settled: Record<string, unknown>) => {
      const committed = await regionalSettlement('eu', settled.region as string, settled.batch_id as string);
      expect(committed.status).toBe(200);
      return (committed.body.legs as Array<{ uetr: string; instructing_agent: string; amount_minor: string }>).filter((leg) => leg.uetr === uetr);
    };
    const batches = new Map([[settledAlpha.batch_id as string, settledAlpha], [settledBravo.batch_id as string, settledBravo]]);
    const legs = (await Promise.all([...batches.values()].map(legsOf))).flat();
    expect(legs.map((leg) => [leg.instructing_agent, leg.amount_minor]).sort()).toEqual([[alpha.bic, '4000'], [bravo.bic, '6000']]);
  });
});

describe('a retry of an admitted payment', () => {
  it('gets its original 202 after the corridor was paused, while a new payment is refused', async () => {
    const instruction = dkkPayment(alpha, '12.34');
    const first = await clientFor(alpha).submitPayment(instruction);
    expect(first.status).toBe(202);
    expect((await control().setCorridorState(corridorId, 'paused', operator)).ok).toBe(true);
    try {
      await sleep(corridorDirectoryTtlMs + 100);
      const retry = await clientFor(alpha).submitPayment(instruction);
      expect(retry.status).toBe(202);
      expect(retry.body).toEqual(first.body);
      const fresh = await clientFor(alpha).submitPayment(dkkPayment(alpha, '12.35'));
      expect(fresh.status).toBe(409);
      expect(fresh.body.type).toBe('urn:meridian:problem:corridor-closed');
    } finally {
      expect((await control().setCorridorState(corridorId, 'open', operator)).ok).toBe(true);
    }
    await waitForStatus(alpha, instruction.uetr, 'settled');
  });

  it('of a partial admission finishes at the shard it first chose, not where routing would send it now', async () => {
    // A UETR that routing sends to shard 0; the interrupted first attempt had chosen shard 1
    // (the shard count was different then). Finishing anywhere else would place it twice.
    let uetr = crypto.randomUUID();
    while (shardOf(uetr, 2) !== 0) uetr = crypto.randomUUID();
    const jws = await signInstruction(alpha, dkkPayment(alpha, '7.00', uetr));
    const chosen: WindowCorridor = { ...directCorridor(corridorId, { shards: 2, shard: 1, window_duration_ms: 2_000 }) };
    const payment: WindowPayment = { ...directPayment(chosen, '700', alpha.bic, 'DABADKKKXXX', uetr), partner_id: 'alpha-bank' };
    const pending = {
      partnerId: 'alpha-bank', uetr, instructionSha256: sha256Hex(jws), jws: '', corridor: corridorId, jurisdiction: 'eu',
      windowName: `${corridorId}|eu|1`, corridorConfig: chosen, payment,
    };
    await runInDurableObject(partnerState('alpha-bank', uetr), (_instance, state) => {
      state.storage.sql.exec(
        `INSERT INTO payments (uetr, instruction_sha256, jws, corridor, jurisdiction, status, window_name, enqueue) VALUES (?, ?, ?, ?, 'eu', 'pending', ?, ?)`,
        uetr, sha256Hex(jws), jws, corridorId, pending.windowName, JSON.stringify(pending),
      );
    });
    const answer = await clientFor(alpha).submitJws(jws);
    expect(answer.status).toBe(202);
    const inShard = async (shard: number) =>
      runInDurableObject(windowStub(corridorId, 'eu', shard), (_instance, state) =>
        state.storage.sql.exec<{ count: number }>(`SELECT count(*) AS count FROM intake_payments WHERE partner_id = 'alpha-bank' AND uetr = ?`, uetr).one().count);
    expect(await inShard(1)).toBe(1);
    expect(await inShard(0)).toBe(0);
    await waitForStatus(alpha, uetr, 'settled');
  });
});

describe('a shard count raised while a slice is open', () => {
  it('strands no part: the coordinator waits for the new shard, and the one batch holds both payments', async () => {
    const one = directCorridor('NOK-NOK', { shards: 1, window_duration_ms: 3_000 });
    const two = (shard: number) => directCorridor('NOK-NOK', { shards: 2, shard, window_duration_ms: 3_000 });
    const early = directPayment(one, '100', alpha.bic, bravo.bic);
    const late = directPayment(two(1), '200', alpha.bic, bravo.bic);
    const earlyWindow = await enqueuePlaced(windowStub('NOK-NOK', 'eu', 0), early, one);
    const lateWindow = await enqueuePlaced(windowStub('NOK-NOK', 'eu', 1), late, two(1));
    const batch = await sealedWindow('NOK-NOK', parseWindowId(earlyWindow).startMs);
    const sealedUetrs = batch.legs.map((leg) => leg.uetr);
    expect(sealedUetrs).toContain(early.uetr);
    if (lateWindow === earlyWindow) {
      expect(sealedUetrs).toContain(late.uetr);
    } else {
      // The late shard joined after the slice had sealed: it moved on to a later slice, which settles too.
      expect((await sealedWindow('NOK-NOK', parseWindowId(lateWindow).startMs)).legs.map((leg) => leg.uetr)).toContain(late.uetr);
    }
  });
});

describe('a payment that cannot settle at its window rate', () => {
  // 0.0066 USD per JPY: 1 JPY pays out less than one cent; at 0.0100, 1 JPY is exactly one cent.
  const lowRate = directCorridor('JPY-USD', { fx_provider: 'LQPRUS33XXX', fx_rate_scaled: '660000', window_duration_ms: 2_000 });
  const highRate = { ...lowRate, fx_rate_scaled: '1000000' };

  it('is refused before it is acknowledged, judged at the rate the open window fixed (not the current one)', async () => {
    const stub = windowStub('JPY-USD', 'eu', 0);
    expect(await stub.enqueue(directPayment(lowRate, '1', 'MHCBJPJTXXX', 'BOFAUS3NXXX'), lowRate)).toMatchObject({ kind: 'unsettleable', reason: { kind: 'payout-below-minor-unit' } });
    // A window opened at the low rate keeps it: the high-rate snapshot does not make 1 JPY settleable in it.
    await enqueuePlaced(stub, directPayment(lowRate, '1000', 'MHCBJPJTXXX', 'BOFAUS3NXXX'), lowRate);
    expect(await stub.enqueue(directPayment(highRate, '1', 'MHCBJPJTXXX', 'BOFAUS3NXXX'), highRate)).toMatchObject({ kind: 'unsettleable' });
  });

  it('still rejected at close is rejected alone: its partner reads `rejected`, the rest of the window settles', async () => {
    const corridor = directCorridor('SEK-USD', { fx_provider: 'LQPRDEFFXXX', fx_rate_scaled: '9500000', window_duration_ms: 2_000 });
    const stub = windowStub('SEK-USD', 'eu', 0);
    const good = directPayment(corridor, '10000', alpha.bic, 'CHARUS33XXX');
    const windowId = await enqueuePlaced(stub, good, corridor);
    const { startMs } = parseWindowId(windowId);
    // A payment that bypassed the placement check (an older version, or a bug): 1 öre pays out under one cent.
    const doomed = crypto.randomUUID();
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec(
        `INSERT INTO intake_payments (partner_id, uetr, window_start_ms, instructing_agent, amount_minor, debtor_agent, creditor_agent, accepted_at_ms) VALUES ('alpha-bank', ?, ?, ?, '1', ?, 'CHARUS33XXX', ?)`,
        doomed, startMs, alpha.bic, alpha.bic, Date.now(),
      );
      state.storage.sql.exec(`UPDATE intake_windows SET payment_count = payment_count + 1 WHERE start_ms = ?`, startMs);
    });
    await runInDurableObject(partnerState('alpha-bank', doomed), (_instance, state) => {
      state.storage.sql.exec(`INSERT INTO payments (uetr, instruction_sha256, jws, corridor, jurisdiction, status, window_id) VALUES (?, 'x', 'x', 'SEK-USD', 'eu', 'accepted', ?)`, doomed, windowId);
    });
    const batch = await sealedWindow('SEK-USD', startMs);
    expect(new Set(batch.legs.map((leg) => leg.uetr))).toEqual(new Set([good.uetr]));
    const rejected = await waitFor(`payment ${doomed} to read rejected`, async () => {
      const record = await partnerState('alpha-bank', doomed).getPayment(doomed);
      return record?.status === 'rejected' ? record : undefined;
    });
    expect(rejected.reason).toMatch(/payout-below-minor-unit/);
    const intake = (await stub.describeIntake()).find((row) => row.start_ms === startMs)!;
    expect(intake).toMatchObject({ rejected_count: 1, rejections_notified: 1 });
  });
});
