/*
 * The two value shapes a settlement batch carries. Types only and no imports, so that netting,
 * batch sealing and leg construction can all depend on them without depending on each other.
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
