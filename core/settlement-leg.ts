/*
 * The settlement batch and the two value shapes it carries. Types only and no imports, so that
 * netting, batch sealing, the batch's hand-written parser (./settlement-batch-shape.ts) and leg
 * construction can all depend on them without depending on each other.
 *
 * Payment identity is (instructing agent, UETR): SWIFT gpi keeps one UETR along the whole chain,
 * so two partners can each submit the same UETR (two hops of one chain) into the same corridor
 * window. A leg is therefore named by (uetr, instructing_agent, currency).
 */

export interface SettlementLeg {
  /** The payment's UETR. An FX payment has two legs with the same UETR and instructing agent. */
  uetr: string;
  /**
   * BIC of the partner that submitted the payment (the instruction's debtor agent). Both legs of
   * an FX payment carry the submitter's BIC, including the FX provider → creditor agent leg.
   */
  instructing_agent: string;
  /** Participant BIC that pays. */
  payer: string;
  /** Participant BIC that receives. */
  payee: string;
  /** ISO 4217 alphabetic code. */
  currency: string;
  /** Positive integer string, minor units of `currency`. */
  amount_minor: string;
  /**
   * ISO 3166-1 alpha-2 country of the payment's debtor (the instruction's debtor.country): the
   * regional backend re-checks residency on it (DESIGN.md "Policies, residency and limits").
   */
  debtor_country: string;
  /**
   * The change id of the live residency exception the edge admitted the payment under, when the
   * debtor's country belongs to another jurisdiction than the batch's; null otherwise.
   */
  residency_exception: string | null;
}

export interface NetPosition {
  participant: string;
  currency: string;
  /** Signed integer string: positive = participant receives, negative = participant pays. */
  net_minor: string;
}

/**
 * The settlement batch: what a closed netting window hands to a regional backend.
 * Its canonical JSON (RFC 8785) bytes are hashed with SHA-256; that digest is the batch's identity.
 * Amounts are integer strings of minor units (never JSON numbers, never floats).
 */
export interface SettlementBatch {
  /**
   * 3: legs carry `instructing_agent` (payment identity is (instructing agent, UETR), since 2) and
   * `debtor_country` with the `residency_exception` the edge admitted them under (since 3), so the
   * regional backend re-checks residency per leg. It accepts version 3 only
   * (core/settlement-batch-schema.ts); earlier versions are refused with 422 batch-rejected.
   */
  version: 3;
  /**
   * `<corridor>.<jurisdiction>.<shard>.<window start, ms since epoch>`: one per netting window. The
   * window's coordinator is shard 0, which seals the one batch netted over every shard, so the
   * shard segment is 0 for every batch today; it stays in the id for a future coordinator choice.
   */
  batch_id: string;
  corridor: string;
  jurisdiction: string;
  window: { starts_at: string; ends_at: string };
  /** Legs in canonical order: (uetr, instructing_agent, currency, payer, payee); one per (uetr, instructing_agent, currency). */
  legs: SettlementLeg[];
  /** Positions in canonical order: (currency, participant). Sum to zero per currency. */
  positions: NetPosition[];
}
