import { addExactMinor, exactMinorAtScale, type ExactMinor } from './fx.ts';
import { paymentSettlement, type CorridorFx, type PaymentForLegs, type PaymentLegsRejection } from './payment-legs.ts';
import { sealSettlementBatch, type SealedSettlementBatch } from './settlement-batch.ts';
import type { SettlementLeg } from './settlement-leg.ts';

/*
 * Netting windows, pure: which window a payment lands in, and how the parts that a sharded
 * corridor's shards seal for one window become that window's single settlement batch.
 *
 * A window is keyed by corridor × jurisdiction × time slice. A hot corridor spreads ingest over
 * several shards (one Durable Object each); every shard seals its part of a slice on its own
 * clock, and one coordinator merges all parts. The merged batch is a function of the multiset of
 * legs only — not of which shard held a leg or in which order the parts arrived — because the
 * batch digest is the settlement's identity and a replay must give the same bytes.
 */

/** The shard segment of a merged batch id: the batch nets every shard, so it names the coordinator (shard 0). */
export const coordinatorShard = 0;
/** How far past the instant's own slice a payment may be pushed by closed (sealed or full) slices. */
export const lateSlicesMax = 8;

/** Start of the time slice holding `instantMs` (slices are aligned to the epoch). */
export function windowStartMs(instantMs: number, windowDurationMs: number): number {
  if (!Number.isSafeInteger(instantMs) || instantMs < 0) throw new RangeError(`windowStartMs: instant ${instantMs} is not a non-negative integer`);
  if (!Number.isSafeInteger(windowDurationMs) || windowDurationMs <= 0) throw new RangeError(`windowStartMs: duration ${windowDurationMs} is not a positive integer`);
  return instantMs - (instantMs % windowDurationMs);
}

/**
 * Deterministic window assignment: the instant's own slice if it still accepts payments, else
 * the next one that does (a late arrival, or one that finds its slice full, goes forward, never
 * back). `accepts(startMs)` reports a slice's state as the shard knows it. Returns null when
 * `lateSlicesMax` consecutive slices refuse, which means something is wrong upstream.
 */
export function assignWindowStartMs(instantMs: number, windowDurationMs: number, accepts: (startMs: number) => boolean): number | null {
  let startMs = windowStartMs(instantMs, windowDurationMs);
  for (let skipped = 0; skipped <= lateSlicesMax; skipped++, startMs += windowDurationMs) {
    if (accepts(startMs)) return startMs;
  }
  return null;
}

/** `<corridor>.<jurisdiction>.0.<window start ms>`: one batch per corridor × jurisdiction × slice. */
export function nettingWindowBatchId(corridor: string, jurisdiction: string, startMs: number): string {
  return `${corridor}.${jurisdiction}.${coordinatorShard}.${startMs}`;
}

/** What one shard hands over for one window: its legs and the FX remainders its payouts left. */
export interface NettingWindowPart {
  shard: number;
  legs: readonly SettlementLeg[];
  /** Sum of the part's payout remainders in target minor units; null when nothing was converted. */
  fxResidue: ExactMinor | null;
}

/** A payment of a part that cannot settle at the part's fixed rate: it is rejected alone, never blocks the window. */
export interface RejectedPayment {
  uetr: string;
  instructing_agent: string;
  reason: PaymentLegsRejection;
}

export interface BuiltNettingWindowPart extends NettingWindowPart {
  /** In the order the payments were given. */
  rejected: RejectedPayment[];
}

export interface NettingWindowHeader {
  corridor: string;
  jurisdiction: string;
  startMs: number;
  endMs: number;
  /** How many parts make the window whole: one per shard, 0 … shards − 1. */
  shards: number;
}

export interface SealedNettingWindow {
  sealed: SealedSettlementBatch;
  /** The window's FX residue (sum over parts), or null for a same-currency corridor. */
  fxResidue: ExactMinor | null;
}

function assertWholeWindow(header: NettingWindowHeader, parts: readonly NettingWindowPart[]): void {
  const shards = new Set(parts.map((part) => part.shard));
  if (parts.length !== header.shards || shards.size !== header.shards || [...shards].some((shard) => !Number.isInteger(shard) || shard < 0 || shard >= header.shards)) {
    throw new Error(`sealNettingWindow: window ${header.corridor}.${header.jurisdiction}.${header.startMs} needs parts 0..${header.shards - 1} once each, got [${parts.map((part) => part.shard).join(', ')}]`);
  }
}

/** A payment, (instructing agent, UETR), lands in exactly one shard's part: in two parts means it was enqueued twice. */
function assertPaymentsInOnePart(header: NettingWindowHeader, parts: readonly NettingWindowPart[]): void {
  const shardOfPayment = new Map<string, number>();
  for (const part of parts) {
    for (const leg of part.legs) {
      const payment = `${leg.instructing_agent}/${leg.uetr}`;
      const shard = shardOfPayment.get(payment);
      if (shard !== undefined && shard !== part.shard) {
        throw new Error(`sealNettingWindow: window ${header.corridor}.${header.jurisdiction}.${header.startMs}: payment ${payment} is in the parts of shards ${shard} and ${part.shard}`);
      }
      shardOfPayment.set(payment, part.shard);
    }
  }
}

/**
 * A shard's part of a window from the payments it took: each payment's legs (two through the FX
 * provider when currencies differ) at the window's fixed rate, and the sum of the exact remainders
 * the rounded-down payouts left. A payment that cannot settle at that rate is set aside in
 * `rejected` with its reason, so one payment can never stop its window from closing.
 * Deterministic in the payments, whatever their order.
 */
export function buildNettingWindowPart(shard: number, payments: readonly PaymentForLegs[], corridor: CorridorFx): BuiltNettingWindowPart {
  const legs: SettlementLeg[] = [];
  const rejected: RejectedPayment[] = [];
  let fxResidue: ExactMinor | null = null;
  for (const payment of payments) {
    const settlement = paymentSettlement(payment, corridor);
    if (!settlement.ok) {
      rejected.push({ uetr: payment.uetr, instructing_agent: payment.instructing_agent, reason: settlement.reason });
      continue;
    }
    for (const leg of settlement.value.legs) legs.push(leg);
    const residue = settlement.value.fxResidue;
    if (residue !== null) fxResidue = fxResidue === null ? residue : addExactMinor(fxResidue, residue);
  }
  return { shard, legs, fxResidue, rejected };
}

/**
 * Merges every shard's part of one window into its one settlement batch, netted exactly over all
 * of them. Throws (a bug, never input) if a part is missing or repeated, or a payment appears in
 * two parts; the sealing itself re-verifies order, zero sum and positions.
 */
export function sealNettingWindow(header: NettingWindowHeader, parts: readonly NettingWindowPart[]): SealedNettingWindow {
  assertWholeWindow(header, parts);
  assertPaymentsInOnePart(header, parts);
  const legs: SettlementLeg[] = [];
  let fxResidue: ExactMinor | null = null;
  for (const part of parts) {
    for (const leg of part.legs) legs.push(leg);
    if (part.fxResidue !== null) fxResidue = fxResidue === null ? part.fxResidue : addExactMinor(fxResidue, part.fxResidue);
  }
  const sealed = sealSettlementBatch({
    batch_id: nettingWindowBatchId(header.corridor, header.jurisdiction, header.startMs),
    corridor: header.corridor,
    jurisdiction: header.jurisdiction,
    window: { starts_at: new Date(header.startMs).toISOString(), ends_at: new Date(header.endMs).toISOString() },
    legs,
  });
  if (sealed.batch.legs.length !== legs.length) throw new Error(`sealNettingWindow: ${legs.length} legs in, ${sealed.batch.legs.length} sealed`);
  return { sealed, fxResidue };
}

/**
 * The residue booking a window produces, in the form a later batch version can carry: the FX
 * provider's explicit rounding-residue account, the target currency, and the exact amount as an
 * integer count of 10^−scale minor units. Not part of `SettlementBatch` v1 (the regional backend
 * rejects unknown fields); the window stores it next to the batch.
 */
export interface FxResidueBooking {
  account: 'fx-rounding-residue';
  participant: string;
  currency: string;
  units: string;
  scale: number;
}

export function fxResidueBooking(fxProvider: string, targetCurrency: string, residue: ExactMinor): FxResidueBooking {
  const { units, scale } = exactMinorAtScale(residue);
  return { account: 'fx-rounding-residue', participant: fxProvider, currency: targetCurrency, units, scale };
}
