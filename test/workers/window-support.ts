/** Helpers for the CorridorWindow suites: stubs by name, waiting on states, and the regional backend's view. */
import { env, evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { expect } from 'vitest';
import type { PartnerCredentials } from '../../packages/partner-sdk/src/partner-client.ts';
import type { SettlementBatch } from '../../core/settlement-batch.ts';
import type { NettingWindowSummary } from '../../durable-objects/corridor-window/netting-store.ts';
import { corridorWindowName, type EnqueueOutcome, type WindowCorridor, type WindowPayment } from '../../core/corridor-window-contract.ts';
import { clientFor } from './support.ts';

export const settleTimeoutMs = 20_000;
const pollIntervalMs = 100;

export function windowStub(corridorId: string, jurisdiction: string, shard: number) {
  return env.CORRIDOR_WINDOW.get(env.CORRIDOR_WINDOW.idFromName(corridorWindowName(corridorId, jurisdiction, shard)));
}

/** `<corridor>.<jurisdiction>.0.<start ms>` → its parts; the coordinator is shard 0. */
export function parseWindowId(windowId: string): { corridor: string; jurisdiction: string; startMs: number } {
  const [corridor, jurisdiction, shard, startMs] = windowId.split('.');
  expect(shard).toBe('0');
  return { corridor: corridor!, jurisdiction: jurisdiction!, startMs: Number(startMs) };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitFor<T>(what: string | (() => string), probe: () => Promise<T | undefined>, timeoutMs = settleTimeoutMs): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(pollIntervalMs);
  }
}

export async function waitForStatus(partner: PartnerCredentials, uetr: string, status: string): Promise<Record<string, unknown>> {
  let last: unknown;
  return waitFor(() => `payment ${uetr} to be ${status} (last: ${JSON.stringify(last)})`, async () => {
    const answer = await clientFor(partner).paymentStatus(uetr);
    last = answer.body.status;
    return answer.body.status === status ? answer.body : undefined;
  });
}

/** Waits until the coordinator's window starting at `startMs` is in `state`, and returns its summary. */
export async function waitForWindow(corridorId: string, jurisdiction: string, startMs: number, state: NettingWindowSummary['state'], timeoutMs = settleTimeoutMs): Promise<NettingWindowSummary> {
  const coordinator = windowStub(corridorId, jurisdiction, 0);
  return waitFor(`window ${corridorId}.${jurisdiction}.${startMs} to be ${state}`, async () => {
    const window = (await coordinator.describeWindows()).find((candidate) => candidate.start_ms === startMs);
    return window?.state === state ? window : undefined;
  }, timeoutMs);
}

/** A corridor snapshot for tests that talk to the window objects directly (each test its own corridor id). */
export function directCorridor(id: string, overrides: Partial<WindowCorridor> = {}): WindowCorridor {
  return { id, jurisdiction: 'eu', shard: 0, shards: 1, fx_provider: null, fx_rate_scaled: null, fx_rate_scale: 8, window_duration_ms: 1_000, legs_max: 5_000, ...overrides };
}

export function directPayment(corridor: WindowCorridor, amountMinor: string, debtorBic: string, creditorBic: string, uetr: string = crypto.randomUUID()): WindowPayment {
  const [source, target] = corridor.id.split('-') as [string, string];
  return { uetr, partner_id: 'alpha-bank', instructing_agent: debtorBic, amount_minor: amountMinor, source_currency: source, target_currency: target, debtor_agent_bic: debtorBic, creditor_agent_bic: creditorBic, debtor_country: 'DE', residency_exception: null };
}

/** Enqueues directly into a shard and returns the batch id of the window that took the payment; fails the test if it was refused. */
export async function enqueuePlaced(stub: { enqueue(payment: WindowPayment, corridor: WindowCorridor): Promise<EnqueueOutcome> }, payment: WindowPayment, corridor: WindowCorridor): Promise<string> {
  const outcome = await stub.enqueue(payment, corridor);
  if (outcome.kind !== 'placed') throw new Error(`enqueue of ${payment.uetr} was refused: ${JSON.stringify(outcome)}`);
  return outcome.batchId;
}

/** The committed settlement as the regional backend's auditor API returns it. */
export async function regionalSettlement(jurisdiction: string, region: string, batchId: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const backends = (JSON.parse(env.REGIONAL_BACKENDS) as Record<string, Array<{ region: string; url: string }>>)[jurisdiction] ?? [];
  const backend = backends.find((candidate) => candidate.region === region);
  if (backend === undefined) throw new Error(`no backend ${region} in ${jurisdiction}`);
  const response = await fetch(new URL(`/v1/settlements/${batchId}`, backend.url));
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * An independent recomputation (plain loop, not core's netting): positions from the legs alone
 * must equal the batch's, and sum to zero per currency.
 */
export function expectPositionsReproduce(batch: SettlementBatch): void {
  const net: Record<string, bigint> = {};
  for (const leg of batch.legs) {
    net[`${leg.currency} ${leg.payer}`] = (net[`${leg.currency} ${leg.payer}`] ?? 0n) - BigInt(leg.amount_minor);
    net[`${leg.currency} ${leg.payee}`] = (net[`${leg.currency} ${leg.payee}`] ?? 0n) + BigInt(leg.amount_minor);
  }
  const claimed = Object.fromEntries(batch.positions.map((position) => [`${position.currency} ${position.participant}`, BigInt(position.net_minor)]));
  expect(claimed).toEqual(net);
  const sums = new Map<string, bigint>();
  for (const position of batch.positions) sums.set(position.currency, (sums.get(position.currency) ?? 0n) + BigInt(position.net_minor));
  for (const sum of sums.values()) expect(sum).toBe(0n);
}

/** An in-memory mark on a running instance: the fresh instance that storage rebuilds after an eviction does not carry it. */
const evictionProbeKey = '__meridianEvictionProbe';

/**
 * Evicts the object behind `stub` and proves it: the instance is woken and marked in memory first
 * (so it is running, and `evictDurableObject` has no "not running" excuse to reject), evicted with
 * errors propagating, and whatever answers afterwards must be a fresh instance without the mark.
 */
export async function evictProven(stub: ReturnType<typeof windowStub>): Promise<void> {
  const mark = crypto.randomUUID();
  await runInDurableObject(stub, (instance) => {
    (instance as unknown as Record<string, unknown>)[evictionProbeKey] = mark;
  });
  await evictDurableObject(stub);
  const survivor = await runInDurableObject(stub, (instance) => (instance as unknown as Record<string, unknown>)[evictionProbeKey]);
  expect(survivor, 'the instance answering after eviction is the one that was marked: nothing was evicted').toBeUndefined();
}
