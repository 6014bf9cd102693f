/**
 * The settlement batch: what a closed netting window hands to a regional backend.
 * Its canonical JSON (RFC 8785) bytes are hashed with SHA-256; that digest is the batch's identity.
 * Amounts are integer strings of minor units (never JSON numbers, never floats).
 */
export interface SettlementLeg {
  /** The payment this leg belongs to. An FX payment has two legs with the same UETR. */
  uetr: string;
  /** Participant BIC that pays. */
  payer: string;
  /** Participant BIC that receives. */
  payee: string;
  /** ISO 4217 alphabetic code. */
  currency: string;
  /** Positive integer string, minor units of `currency`. */
  amount_minor: string;
}

export interface NetPosition {
  participant: string;
  currency: string;
  /** Signed integer string: positive = participant receives, negative = participant pays. */
  net_minor: string;
}

export interface SettlementBatch {
  version: 1;
  /** `<corridor>.<jurisdiction>.<shard>.<window start, ms since epoch>`: one per netting window. */
  batch_id: string;
  corridor: string;
  jurisdiction: string;
  window: { starts_at: string; ends_at: string };
  /** Legs in canonical order: (uetr, currency, payer, payee). */
  legs: SettlementLeg[];
  /** Positions in canonical order: (currency, participant). Sum to zero per currency. */
  positions: NetPosition[];
}

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
