import { convertPayout, type FxResidue } from './fx.ts';
import { amountMinorLimit } from './money.ts';
import { err, ok, type Result } from './result.ts';
import type { SettlementLeg } from './settlement-batch.ts';

/*
 * The legs one accepted payment contributes to its window's settlement batch.
 * Same currency: debtor agent → creditor agent. FX: debtor agent → FX provider in the source
 * currency, then FX provider → creditor agent in the target currency at the window's rate.
 */

export interface PaymentForLegs {
  uetr: string;
  amount_minor: bigint;
  source_currency: string;
  target_currency: string;
  debtor_agent_bic: string;
  creditor_agent_bic: string;
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

/**
 * Legs, or why the payment cannot be settled at this rate: an amount worth less than one target
 * minor unit (1 JPY → USD) or a payout of 10^18 minor units or more (the leg limit). Partner input
 * decides both, so the edge calls this at admission and answers 422; the window then calls
 * `paymentLegs` at close, where a failure would mean the rate changed between the two.
 */
export function checkPaymentLegs(payment: PaymentForLegs, corridor: CorridorFx): Result<SettlementLeg[], PaymentLegsRejection> {
  const settled = checkPaymentSettlement(payment, corridor);
  return settled.ok ? ok(settled.value.legs) : settled;
}

/** A payment's legs and, for an FX payment, the exact remainder its rounded-down payout left behind. */
export interface PaymentSettlement {
  legs: SettlementLeg[];
  /** In minor units of the target currency; null for a same-currency payment (nothing is converted). */
  fxResidue: FxResidue | null;
}

/** `checkPaymentLegs`, also returning the payout's residue so the window can book it. */
export function checkPaymentSettlement(payment: PaymentForLegs, corridor: CorridorFx): Result<PaymentSettlement, PaymentLegsRejection> {
  const { uetr, amount_minor: amountMinor, source_currency: sourceCurrency, target_currency: targetCurrency } = payment;
  if (amountMinor <= 0n || amountMinor >= amountMinorLimit) throw new RangeError(`paymentLegs: ${uetr} amount ${amountMinor} is outside 1..10^18-1`);
  if (sourceCurrency === targetCurrency) {
    return ok({ legs: [{ uetr, payer: payment.debtor_agent_bic, payee: payment.creditor_agent_bic, currency: sourceCurrency, amount_minor: amountMinor.toString() }], fxResidue: null });
  }
  if (corridor.fx_provider === null || corridor.fx_rate_scaled === null) {
    throw new Error(`paymentLegs: corridor ${sourceCurrency}-${targetCurrency} converts currencies but has no FX provider and rate`);
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
      { uetr, payer: payment.debtor_agent_bic, payee: corridor.fx_provider, currency: sourceCurrency, amount_minor: amountMinor.toString() },
      { uetr, payer: corridor.fx_provider, payee: payment.creditor_agent_bic, currency: targetCurrency, amount_minor: payoutMinor.toString() },
    ],
    fxResidue: residue,
  });
}

/** `checkPaymentLegs` for a payment already admitted: a rejection here is a bug and throws. */
export function paymentLegs(payment: PaymentForLegs, corridor: CorridorFx): SettlementLeg[] {
  const legs = checkPaymentLegs(payment, corridor);
  if (!legs.ok) throw new Error(`paymentLegs: admitted payment ${payment.uetr} cannot be settled: ${legs.reason.kind}: ${legs.reason.detail}`);
  return legs.value;
}

/** `checkPaymentSettlement` for a payment already admitted: a rejection here is a bug and throws. */
export function paymentSettlement(payment: PaymentForLegs, corridor: CorridorFx): PaymentSettlement {
  const settled = checkPaymentSettlement(payment, corridor);
  if (!settled.ok) throw new Error(`paymentSettlement: admitted payment ${payment.uetr} cannot be settled: ${settled.reason.kind}: ${settled.reason.detail}`);
  return settled.value;
}
