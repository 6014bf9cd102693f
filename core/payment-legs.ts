import { convertPayout, type FxResidue } from './fx.ts';
import { amountMinorLimit } from './money.ts';
import { err, ok, type Result } from './result.ts';
import type { SettlementLeg } from './settlement-leg.ts';

/*
 * The legs one accepted payment contributes to its window's settlement batch.
 * Same currency: debtor agent → creditor agent. FX: debtor agent → FX provider in the source
 * currency, then FX provider → creditor agent in the target currency at the window's rate.
 * Every leg names its instructing agent (the submitting partner's BIC): a payment is identified
 * by (instructing agent, UETR), because gpi chains reuse one UETR at every hop.
 */

export interface PaymentForLegs {
  uetr: string;
  /** BIC of the partner that submitted the payment (its debtor agent). */
  instructing_agent: string;
  amount_minor: bigint;
  source_currency: string;
  target_currency: string;
  debtor_agent_bic: string;
  creditor_agent_bic: string;
  /** The instruction's debtor.country; every leg of the payment carries it (and the exception below). */
  debtor_country: string;
  residency_exception: string | null;
}

export interface CorridorFx {
  fx_provider: string | null;
  fx_rate_scaled: bigint | null;
  fx_rate_scale: number;
}

export type PaymentLegsRejection = {
  kind: 'payout-below-minor-unit' | 'payout-too-large';
  detail: string;
};

/** A payment's legs and, for an FX payment, the exact remainder its rounded-down payout left behind. */
export interface PaymentSettlement {
  legs: SettlementLeg[];
  /** In minor units of the target currency; null for a same-currency payment (nothing is converted). */
  fxResidue: FxResidue | null;
}

/**
 * The one entry point: a payment's legs at a rate, or why it cannot be settled at that rate — an
 * amount worth less than one target minor unit (1 JPY → USD) or a payout of 10^18 minor units or
 * more (the leg limit). Partner input and the window's fixed rate decide both, so callers handle
 * the rejection: the window refuses the payment before the edge acknowledges it, and a payment
 * that still cannot settle at close is rejected alone. Throws only on programmer error (an amount
 * outside 1..10^18−1, an FX corridor without a rate), which parsing and config loading exclude.
 */
export function paymentSettlement(payment: PaymentForLegs, corridor: CorridorFx): Result<PaymentSettlement, PaymentLegsRejection> {
  const { uetr, instructing_agent: instructingAgent, amount_minor: amountMinor, source_currency: sourceCurrency, target_currency: targetCurrency } = payment;
  const residency = { debtor_country: payment.debtor_country, residency_exception: payment.residency_exception };
  if (amountMinor <= 0n || amountMinor >= amountMinorLimit) throw new RangeError(`paymentSettlement: ${uetr} amount ${amountMinor} is outside 1..10^18-1`);
  if (sourceCurrency === targetCurrency) {
    const leg = { uetr, instructing_agent: instructingAgent, payer: payment.debtor_agent_bic, payee: payment.creditor_agent_bic, currency: sourceCurrency, amount_minor: amountMinor.toString(), ...residency };
    return ok({ legs: [leg], fxResidue: null });
  }
  if (corridor.fx_provider === null || corridor.fx_rate_scaled === null) {
    throw new Error(`paymentSettlement: corridor ${sourceCurrency}-${targetCurrency} converts currencies but has no FX provider and rate`);
  }
  const { payoutMinor, residue } = convertPayout(amountMinor, sourceCurrency, targetCurrency, corridor.fx_rate_scaled, corridor.fx_rate_scale);
  if (payoutMinor === 0n) {
    return err({ kind: 'payout-below-minor-unit', detail: `${amountMinor} ${sourceCurrency} minor units convert to less than one ${targetCurrency} minor unit` });
  }
  if (payoutMinor >= amountMinorLimit) {
    return err({ kind: 'payout-too-large', detail: `payout of ${payoutMinor} ${targetCurrency} minor units reaches the 10^18 leg limit` });
  }
  return ok({
    legs: [
      { uetr, instructing_agent: instructingAgent, payer: payment.debtor_agent_bic, payee: corridor.fx_provider, currency: sourceCurrency, amount_minor: amountMinor.toString(), ...residency },
      { uetr, instructing_agent: instructingAgent, payer: corridor.fx_provider, payee: payment.creditor_agent_bic, currency: targetCurrency, amount_minor: payoutMinor.toString(), ...residency },
    ],
    fxResidue: residue,
  });
}
