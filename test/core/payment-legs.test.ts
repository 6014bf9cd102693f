import { describe, expect, it } from 'vitest';
import { buildNettingWindowPart } from '../../core/netting-window.ts';
import { paymentSettlement, type PaymentForLegs } from '../../core/payment-legs.ts';

const uetr = '3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const eurUsd = { fx_provider: 'LQPRDEFFXXX', fx_rate_scaled: 108420000n, fx_rate_scale: 8 };
const usdJpy = { fx_provider: 'LQPRUS33XXX', fx_rate_scaled: 15137000000n, fx_rate_scale: 8 };
const jpyUsd = { fx_provider: 'LQPRUS33XXX', fx_rate_scaled: 660000n, fx_rate_scale: 8 }; // 0.0066 USD per JPY

function legsOf(payment: PaymentForLegs, corridor: typeof eurUsd | { fx_provider: null; fx_rate_scaled: null; fx_rate_scale: number }) {
  const settlement = paymentSettlement(payment, corridor);
  if (!settlement.ok) throw new Error(`unexpected rejection ${settlement.reason.kind}`);
  return settlement.value.legs;
}

describe('paymentSettlement', () => {
  it('same currency: one leg from debtor agent to creditor agent, naming the instructing agent', () => {
    const legs = legsOf(
      { uetr, instructing_agent: 'DEUTDEFF', amount_minor: 12345n, source_currency: 'EUR', target_currency: 'EUR', debtor_agent_bic: 'DEUTDEFF', creditor_agent_bic: 'BNPAFRPP', debtor_country: 'DE', residency_exception: null },
      { fx_provider: null, fx_rate_scaled: null, fx_rate_scale: 8 },
    );
    expect(legs).toEqual([{ uetr, instructing_agent: 'DEUTDEFF', payer: 'DEUTDEFF', payee: 'BNPAFRPP', currency: 'EUR', amount_minor: '12345', debtor_country: 'DE', residency_exception: null }]);
  });

  it('FX: debtor agent → provider in source, provider → creditor agent in target at the rounded-down payout', () => {
    const exceptionId = '5d1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5c';
    const legs = legsOf(
      { uetr, instructing_agent: 'BOFAUS3N', amount_minor: 1001n, source_currency: 'USD', target_currency: 'JPY', debtor_agent_bic: 'BOFAUS3N', creditor_agent_bic: 'MHCBJPJT', debtor_country: 'CA', residency_exception: exceptionId },
      usdJpy,
    );
    expect(legs).toEqual([
      // Both legs carry the debtor's country and the exception it was admitted under (the regional residency re-check reads them).
      { uetr, instructing_agent: 'BOFAUS3N', payer: 'BOFAUS3N', payee: 'LQPRUS33XXX', currency: 'USD', amount_minor: '1001', debtor_country: 'CA', residency_exception: exceptionId },
      { uetr, instructing_agent: 'BOFAUS3N', payer: 'LQPRUS33XXX', payee: 'MHCBJPJT', currency: 'JPY', amount_minor: '1515', debtor_country: 'CA', residency_exception: exceptionId },
    ]);
  });

  it('rejects a payment worth less than one target minor unit, as a value', () => {
    const payment = { uetr, instructing_agent: 'MHCBJPJT', amount_minor: 1n, source_currency: 'JPY', target_currency: 'USD', debtor_agent_bic: 'MHCBJPJT', creditor_agent_bic: 'BOFAUS3N', debtor_country: 'DE', residency_exception: null };
    expect(paymentSettlement(payment, jpyUsd)).toMatchObject({ ok: false, reason: { kind: 'payout-below-minor-unit' } });
    expect(paymentSettlement({ ...payment, amount_minor: 2n }, jpyUsd)).toMatchObject({ ok: true, value: { legs: [{}, { amount_minor: '1' }] } });
  });

  it('rejects a payout that reaches 10^18 target minor units', () => {
    const payment = { uetr, instructing_agent: 'BOFAUS3N', amount_minor: 10n ** 18n - 1n, source_currency: 'USD', target_currency: 'JPY', debtor_agent_bic: 'BOFAUS3N', creditor_agent_bic: 'MHCBJPJT', debtor_country: 'DE', residency_exception: null };
    expect(paymentSettlement(payment, usdJpy)).toMatchObject({ ok: false, reason: { kind: 'payout-too-large' } });
  });

  it('crashes on a corridor that converts without a provider, and on an impossible amount (programmer errors)', () => {
    const payment = { uetr, instructing_agent: 'DEUTDEFF', amount_minor: 100n, source_currency: 'EUR', target_currency: 'USD', debtor_agent_bic: 'DEUTDEFF', creditor_agent_bic: 'BOFAUS3N', debtor_country: 'DE', residency_exception: null };
    expect(() => paymentSettlement(payment, { fx_provider: null, fx_rate_scaled: null, fx_rate_scale: 8 })).toThrow(/no FX provider/);
    expect(() => paymentSettlement({ ...payment, amount_minor: 0n }, eurUsd)).toThrow(RangeError);
  });
});

describe('buildNettingWindowPart', () => {
  it('sets aside a payment that cannot settle at the part rate and keeps the others (one payment never blocks a window)', () => {
    const good = { uetr, instructing_agent: 'MHCBJPJT', amount_minor: 1_000n, source_currency: 'JPY', target_currency: 'USD', debtor_agent_bic: 'MHCBJPJT', creditor_agent_bic: 'BOFAUS3N', debtor_country: 'DE', residency_exception: null };
    const tiny = { ...good, uetr: '3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5c', amount_minor: 1n };
    const part = buildNettingWindowPart(0, [good, tiny], jpyUsd);
    expect(part.legs.map((leg) => leg.uetr)).toEqual([uetr, uetr]);
    expect(part.rejected).toEqual([{ uetr: tiny.uetr, instructing_agent: 'MHCBJPJT', reason: expect.objectContaining({ kind: 'payout-below-minor-unit' }) }]);
  });

  it('two partners with one UETR are two payments, each with its own legs', () => {
    const fromAlpha = { uetr, instructing_agent: 'ALPHDEFFXXX', amount_minor: 100n, source_currency: 'EUR', target_currency: 'USD', debtor_agent_bic: 'ALPHDEFFXXX', creditor_agent_bic: 'CHARUS33XXX', debtor_country: 'DE', residency_exception: null };
    const fromBravo = { ...fromAlpha, instructing_agent: 'BRAVFRPPXXX', debtor_agent_bic: 'BRAVFRPPXXX', amount_minor: 250n };
    const part = buildNettingWindowPart(0, [fromAlpha, fromBravo], eurUsd);
    expect(part.legs).toHaveLength(4);
    expect(new Set(part.legs.map((leg) => leg.instructing_agent))).toEqual(new Set(['ALPHDEFFXXX', 'BRAVFRPPXXX']));
  });
});
