import { canonicalSettlementBatchJson } from './canonical-settlement-json.ts';
import { sha256Hex } from './digest.ts';
import { compareLegs, comparePositions, netPositions, positionSums, sortLegs } from './netting.ts';
import { err, ok, type Result } from './result.ts';
import { batchHeaderProblem } from './settlement-batch-schema.ts';
import { parseSettlementBatch } from './settlement-batch-shape.ts';
import { sha256HexNative } from './sha256-native.ts';
import type { NetPosition, SettlementBatch, SettlementLeg } from './settlement-leg.ts';
import { formatIssues } from './zod-issues.ts';

export type { NetPosition, SettlementBatch, SettlementLeg } from './settlement-leg.ts';

/**
 * Lifetime of the per-call settlement token the edge mints for POST /v1/settlements (exp = iat + this).
 * Shared by the edge that mints it and the drills that skew clocks against it.
 */
export const settlementTokenTtlSeconds = 30;
/**
 * Clock disagreement between edge and backend that the token check tolerates (regional/edge-token.ts),
 * and that the edge allows for when it waits out a call that went unanswered (deliver-batch.ts).
 */
export const settlementTokenClockToleranceSeconds = 5;

/** The regional backend's answer: a JWS (EdDSA, kid = signer key id) over `SettlementReceiptClaims`. */
export interface SettlementReceiptClaims {
  batch_id: string;
  /** Lowercase hex SHA-256 of the batch's canonical JSON bytes. */
  digest: string;
  jurisdiction: string;
  region: string;
  log_index: number;
  leg_count: number;
  committed_at: string;
}

export interface SettlementResponse {
  batch_id: string;
  digest: string;
  region: string;
  log_index: number;
  /** Compact JWS over SettlementReceiptClaims. */
  receipt: string;
}

// ---------------------------------------------------------------------------------------------
// Sealing (edge, on window close) and verification (regional, on every delivery).
// Both sides derive the canonical bytes the same way, so the digest is the batch's identity:
// the same legs, in any arrival order, seal to byte-identical JSON.

export interface SealedSettlementBatch {
  batch: SettlementBatch;
  /** RFC 8785 canonical JSON of `batch`. */
  canonical: string;
  /** Lowercase hex SHA-256 of `canonical`'s UTF-8 bytes. */
  digest: string;
}

export interface SettlementBatchInput {
  batch_id: string;
  corridor: string;
  jurisdiction: string;
  window: { starts_at: string; ends_at: string };
  legs: readonly SettlementLeg[];
}

export type BatchRejection = {
  kind: 'malformed-batch' | 'digest-mismatch' | 'positions-mismatch' | 'not-canonical-order' | 'not-zero-sum';
  detail: string;
};

/**
 * Sorts the legs, nets them, and fixes the bytes. Before handing the batch out it runs the same
 * verification the regional backend will run, and throws if that fails: a batch the edge cannot
 * verify itself is a bug, and crashing the close (the outbox retries) beats shipping it.
 */
/**
 * A synchronous lowercase-hex SHA-256 of a string's UTF-8 bytes. The default is core's portable
 * pure-JS one; a runtime with a native synchronous hash (Node's and workerd's node:crypto) passes
 * its own, the same function of the same bytes at a fraction of the CPU for a ~2 MB batch.
 */
export type Sha256HexSync = (text: string) => string;

export function sealSettlementBatch(input: SettlementBatchInput, digestHex: Sha256HexSync = sha256Hex): SealedSettlementBatch {
  const legs = sortLegs(input.legs).map((leg) => ({
    uetr: leg.uetr,
    instructing_agent: leg.instructing_agent,
    payer: leg.payer,
    payee: leg.payee,
    currency: leg.currency,
    amount_minor: leg.amount_minor,
    debtor_country: leg.debtor_country,
    residency_exception: leg.residency_exception,
  }));
  const batch: SettlementBatch = {
    version: 3,
    batch_id: input.batch_id,
    corridor: input.corridor,
    jurisdiction: input.jurisdiction,
    window: { starts_at: input.window.starts_at, ends_at: input.window.ends_at },
    legs,
    positions: netPositions(legs),
  };
  // The verification derives the canonical bytes and the digest, exactly as the regional backend
  // will; serializing the batch a second time here would only repeat the largest step of a seal.
  const verified = verifySettlementBatch(batch, undefined, digestHex);
  if (!verified.ok) {
    throw new Error(`sealSettlementBatch: batch ${input.batch_id} fails its own verification: ${verified.reason.kind}: ${verified.reason.detail}`);
  }
  return { batch, canonical: verified.value.canonical, digest: verified.value.digest };
}

function reject(kind: BatchRejection['kind'], detail: string): { ok: false; reason: BatchRejection } {
  return err({ kind, detail });
}

/** Legs strictly increasing in canonical order, one leg per (uetr, instructing_agent, currency). */
function legOrderProblem(legs: readonly SettlementLeg[]): BatchRejection | null {
  for (let index = 1; index < legs.length; index++) {
    const previous = legs[index - 1]!;
    const current = legs[index]!;
    if (previous.uetr === current.uetr && previous.instructing_agent === current.instructing_agent && previous.currency === current.currency) {
      return { kind: 'malformed-batch', detail: `legs[${index}]: second leg for payment ${current.instructing_agent}/${current.uetr} in ${current.currency}` };
    }
    if (compareLegs(previous, current) > 0) {
      return { kind: 'not-canonical-order', detail: `legs[${index}] sorts before legs[${index - 1}]` };
    }
  }
  return null;
}

function positionOrderProblem(positions: readonly NetPosition[]): BatchRejection | null {
  for (let index = 1; index < positions.length; index++) {
    if (comparePositions(positions[index - 1]!, positions[index]!) >= 0) {
      return { kind: 'not-canonical-order', detail: `positions[${index}] does not sort strictly after positions[${index - 1}]` };
    }
  }
  return null;
}

function positionsDifference(claimed: readonly NetPosition[], recomputed: readonly NetPosition[]): string | null {
  const length = Math.max(claimed.length, recomputed.length);
  for (let index = 0; index < length; index++) {
    const left = claimed[index];
    const right = recomputed[index];
    if (left?.participant !== right?.participant || left?.currency !== right?.currency || left?.net_minor !== right?.net_minor) {
      return `positions[${index}] is ${JSON.stringify(left ?? null)}, the legs give ${JSON.stringify(right ?? null)}`;
    }
  }
  return null;
}

/**
 * Everything the regional backend checks before it commits: strict shape (unknown fields
 * rejected), header consistency, canonical order, zero sum per currency, positions recomputed
 * independently from the legs and compared exactly, and — when the caller knows it — the digest.
 * Returns the re-derived canonical bytes: callers store and sign those, never the bytes received.
 *
 * Without `expectedDigest` this proves internal consistency only: a sender who rewrites legs and
 * positions together passes, and an on-us leg (payer = payee) nets to nothing, so its amount is
 * covered by the digest alone. The regional backend must pass the digest the edge vouched for.
 *
 * Synchronous, so it hashes with `digestHex` (the portable pure-JS SHA-256 unless the caller has a
 * native synchronous one); `verifySettlementBatchNative` is the same verification with WebCrypto's
 * digest, for callers that can await.
 */
export function verifySettlementBatch(batch: unknown, expectedDigest?: string, digestHex: Sha256HexSync = sha256Hex): Result<SealedSettlementBatch, BatchRejection> {
  const checked = checkSettlementBatch(batch);
  if (!checked.ok) return checked;
  return digestVerdict(checked.value, digestHex(checked.value.canonical), expectedDigest);
}

/**
 * verifySettlementBatch with the SHA-256 of the ~2 MB canonical bytes of a 10,000-leg batch taken
 * by WebCrypto (./sha256-native.ts: ~3 ms instead of ~17 ms). Same checks, same verdicts.
 */
export async function verifySettlementBatchNative(batch: unknown, expectedDigest?: string): Promise<Result<SealedSettlementBatch, BatchRejection>> {
  const checked = checkSettlementBatch(batch);
  if (!checked.ok) return checked;
  return digestVerdict(checked.value, await sha256HexNative(checked.value.canonical), expectedDigest);
}

/** Every check but the digest; returns the batch as checked and its canonical bytes. */
function checkSettlementBatch(batch: unknown): Result<Omit<SealedSettlementBatch, 'digest'>, BatchRejection> {
  // The schema's verdict (the hand-written pass when it accepts, zod's issues when it does not).
  const parsed = parseSettlementBatch(batch);
  if (!parsed.success) return reject('malformed-batch', formatIssues(parsed.issues).join('; '));
  const shaped: SettlementBatch = parsed.data;
  const headerProblem = batchHeaderProblem(shaped);
  if (headerProblem !== null) return reject('malformed-batch', headerProblem);
  const orderProblem = legOrderProblem(shaped.legs) ?? positionOrderProblem(shaped.positions);
  if (orderProblem !== null) return err(orderProblem);
  for (const [currency, sumMinor] of positionSums(shaped.positions)) {
    if (sumMinor !== 0n) return reject('not-zero-sum', `${currency} positions sum to ${sumMinor}`);
  }
  const difference = positionsDifference(shaped.positions, netPositions(shaped.legs));
  if (difference !== null) return reject('positions-mismatch', difference);
  // Same bytes as canonicalJson(shaped), by construction and by test (core/canonical-settlement-json.ts).
  return ok({ batch: shaped, canonical: canonicalSettlementBatchJson(shaped) });
}

function digestVerdict(checked: Omit<SealedSettlementBatch, 'digest'>, digest: string, expectedDigest: string | undefined): Result<SealedSettlementBatch, BatchRejection> {
  if (expectedDigest !== undefined && expectedDigest !== digest) {
    return reject('digest-mismatch', `batch digest is ${digest}, expected ${expectedDigest}`);
  }
  return ok({ ...checked, digest });
}
