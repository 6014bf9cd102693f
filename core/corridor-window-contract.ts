/**
 * What a CorridorWindow is told with every payment, and how window objects are named. No runtime
 * imports: routing (edge Worker) and the Durable Object both use it.
 */
import type { PaymentLegsRejection } from './payment-legs.ts';
import type { SettlementLeg } from './settlement-leg.ts';

/**
 * One accepted payment, as the edge hands it to its shard. Its identity is (partner_id, uetr):
 * gpi chains reuse one UETR at every hop, so two partners may submit the same UETR.
 */
export interface WindowPayment {
  uetr: string;
  partner_id: string;
  /** The submitting partner's BIC; it is also the debtor agent (the edge checks that). */
  instructing_agent: string;
  amount_minor: string;
  source_currency: string;
  target_currency: string;
  debtor_agent_bic: string;
  creditor_agent_bic: string;
  /** The instruction's debtor.country (ISO 3166-1 alpha-2): carried onto every leg for the regional residency re-check. */
  debtor_country: string;
  /** The change id of the residency exception the policy stage admitted the payment under, or null. */
  residency_exception: string | null;
}

/** The corridor as routing saw it for this payment (Control's configuration), for one shard. */
export interface WindowCorridor {
  id: string;
  jurisdiction: string;
  /** This object's shard, 0 … shards − 1. Shard 0 also coordinates: it merges every shard's part of a window. */
  shard: number;
  shards: number;
  fx_provider: string | null;
  fx_rate_scaled: string | null;
  fx_rate_scale: number;
  window_duration_ms: number;
  /** Legs this shard takes into one window. */
  legs_max: number;
}

/** What one shard hands its coordinator for one window; immutable once the shard closed it. */
export interface WindowPart {
  /** The sending shard's corridor snapshot. */
  corridor: WindowCorridor;
  start_ms: number;
  end_ms: number;
  shard: number;
  close_reason: CloseReason;
  fx_rate_scaled: string | null;
  legs: SettlementLeg[];
  payments: Array<{ uetr: string; partner_id: string }>;
  /** Sum of the part's payout remainders in target minor units (integer strings); null when nothing was converted. */
  fx_residue: { numerator: string; denominator: string } | null;
  /** SHA-256 of the part's canonical JSON: a repeated hand-off must carry the same part. */
  part_digest: string;
}

/** time: the slice ended; size: the shard's part is full; coordinator: the coordinator collected it. */
export type CloseReason = 'time' | 'size' | 'coordinator';

/** The Durable Object name of one shard of a corridor × jurisdiction. */
export function corridorWindowName(corridorId: string, jurisdiction: string, shard: number): string {
  return `${corridorId}|${jurisdiction}|${shard}`;
}

/** Rejects a snapshot that cannot be right (a programmer error upstream, so it throws). */
export function assertWindowCorridor(corridor: WindowCorridor): void {
  const problems: string[] = [];
  if (!/^[A-Z]{3}-[A-Z]{3}$/.test(corridor.id)) problems.push('id');
  if (!Number.isInteger(corridor.shards) || corridor.shards < 1) problems.push('shards');
  if (!Number.isInteger(corridor.shard) || corridor.shard < 0 || corridor.shard >= corridor.shards) problems.push('shard');
  if (!Number.isSafeInteger(corridor.window_duration_ms) || corridor.window_duration_ms <= 0) problems.push('window_duration_ms');
  if (!Number.isSafeInteger(corridor.legs_max) || corridor.legs_max < 1) problems.push('legs_max');
  if ((corridor.fx_provider === null) !== (corridor.fx_rate_scaled === null)) problems.push('fx_provider/fx_rate_scaled');
  if (problems.length > 0) throw new Error(`corridor window: invalid corridor snapshot (${problems.join(', ')}): ${JSON.stringify(corridor)}`);
}

/**
 * What a shard answers to an enqueue: the payment is in a window (its batch id), or it cannot be
 * settled at the rate that window fixed, so the edge refuses it before acknowledging anything.
 */
export type EnqueueOutcome =
  | { kind: 'placed'; batchId: string }
  | { kind: 'unsettleable'; reason: PaymentLegsRejection };
