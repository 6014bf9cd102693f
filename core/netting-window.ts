import { addExactMinor, exactMinorAtScale, type ExactMinor } from './fx.ts';
import { paymentSettlement, type CorridorFx, type PaymentForLegs, type PaymentLegsRejection } from './payment-legs.ts';
import { problemSlugOf, problemStatus, type ProblemSlug } from './problem.ts';
import { sealSettlementBatch, type SealedSettlementBatch, type Sha256HexSync } from './settlement-batch.ts';
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
export function sealNettingWindow(header: NettingWindowHeader, parts: readonly NettingWindowPart[], digestHex?: Sha256HexSync): SealedNettingWindow {
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
  }, digestHex);
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

// ---------------------------------------------------------------------------------------------
// Window states, and what a regional backend's refusal means for one

/**
 * A coordinator's netting window: collecting (parts arrive) → sealed (bytes stored, the outbox
 * delivers) → settled (a verified receipt) | refused (the jurisdiction's backends refused the
 * batch for its content and proved it is not committed: its payments are rejected); or collecting
 * → empty (every payment was rejected at close). settled, refused and empty are final.
 */
export type NettingWindowState = 'collecting' | 'sealed' | 'settled' | 'empty' | 'refused';

/**
 * A backend's problem answer to POST /v1/settlements, classified by what it says about the batch
 * (regional/routes/settlements.ts and regional/commit.ts are the other side of this table):
 *
 *   403 residency-denied                  content: a leg's debtor may not be processed in this
 *                                         jurisdiction; the re-check runs before any write
 *   422 batch-rejected with `reason`      content, as the backend sees it (malformed-batch,
 *       (not digest-mismatch)             positions-mismatch, not-canonical-order, not-zero-sum);
 *                                         the caller must re-check the bytes itself (see below)
 *   422 batch-rejected without `reason`   the batch id is already committed under another digest
 *   409, whatever its body                "already there": may be committed (settled only on a
 *                                         read-back with a verified receipt)
 *   everything else                       transient or configuration: 5xx, 429, 401 unauthorized
 *                                         and 403 forbidden (an unknown gateway key, a stale JWKS:
 *                                         the operator's problem, never the partners'), 413/415
 *                                         (edge and backend limits disagree), 400, digest-mismatch
 *                                         (the edge computed token and bytes from the same stored
 *                                         batch, so the body changed on the way), and any body that
 *                                         is not our problem+json with the status its slug has
 *
 * Only `content` can make a window final, and only with more proof (deliver-batch.ts): a read-back
 * showing the batch is not committed, and a sibling that agrees. A `content` batch-rejected whose
 * bytes pass the edge's own verifySettlementBatch is the two sides running different rules (a
 * release skew): it is retried, because the batch will commit once the rules agree.
 */
export type SettlementRefusalClass =
  | { kind: 'content'; slug: 'residency-denied' | 'batch-rejected'; reason: string | null; detail: string }
  | { kind: 'maybe-committed'; slug: string; detail: string }
  | { kind: 'transient'; detail: string };

const contentBatchRejections: ReadonlySet<string> = new Set(['malformed-batch', 'positions-mismatch', 'not-canonical-order', 'not-zero-sum']);
/** Characters of a backend's problem detail kept for logs and the ops view (never for partners: it names other partners' legs). */
export const refusalDetailCharsMax = 500;
const refusalReasonCharsMax = 64;

export function classifySettlementRefusal(status: number, body: string): SettlementRefusalClass {
  const problem = problemOf(body);
  const detail = `HTTP ${status} ${problem === null ? body.slice(0, 300) : `${problem.slug}${problem.reason === null ? '' : ` (${problem.reason})`}: ${problem.detail}`}`.slice(0, refusalDetailCharsMax);
  if (status === 409) return { kind: 'maybe-committed', slug: problem?.slug ?? 'conflict', detail };
  // Our problem+json, with the status its slug has: anything else did not come from a backend's route (a proxy, a bug).
  if (problem === null || problemStatus[problem.slug] !== status) return { kind: 'transient', detail };
  if (status === 403 && problem.slug === 'residency-denied') return { kind: 'content', slug: 'residency-denied', reason: problem.reason, detail };
  if (status === 422 && problem.slug === 'batch-rejected') {
    if (problem.reason === null) return { kind: 'maybe-committed', slug: problem.slug, detail };
    if (contentBatchRejections.has(problem.reason)) return { kind: 'content', slug: 'batch-rejected', reason: problem.reason, detail };
  }
  return { kind: 'transient', detail };
}

/** Our problem+json (`internal` stands for a type that is not ours), or null for a body that is no problem at all. */
function problemOf(body: string): { slug: ProblemSlug; reason: string | null; detail: string } | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const { type, reason, detail } = parsed as Record<string, unknown>;
  if (typeof type !== 'string') return null;
  return { slug: problemSlugOf(type), reason: typeof reason === 'string' ? reason.slice(0, refusalReasonCharsMax) : null, detail: typeof detail === 'string' ? detail : '' };
}

/** The edge counter of windows refused for good, by jurisdiction and slug (GET /ops/api/metrics). */
export const settlementRefusalsMetric = 'meridian_edge_settlement_refusals_total';

/**
 * What a partner reads as `reason` for a payment of a refused window: the backend's slug only.
 * The backend's detail names legs of the whole batch — other partners' payments — so it goes to
 * the ops view and the logs, never to a partner.
 */
export function settlementRefusedReason(slug: string): string {
  return `settlement-refused: ${slug}`;
}
