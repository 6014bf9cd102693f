import { describe, expect, it } from 'vitest';
import { checkPaymentLegs, paymentLegs } from '../../core/netting.ts';

const uetr = '3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const eurUsd = { fx_provider: 'LQPRDEFFXXX', fx_rate_scaled: 108420000n, fx_rate_scale: 8 };
const usdJpy = { fx_provider: 'LQPRUS33XXX', fx_rate_scaled: 15137000000n, fx_rate_scale: 8 };

describe('paymentLegs', () => {
  it('same currency: one leg from debtor agent to creditor agent', () => {
    const legs = paymentLegs(
      { uetr, amount_minor: 12345n, source_currency: 'EUR', target_currency: 'EUR', debtor_agent_bic: 'DEUTDEFF', creditor_agent_bic: 'BNPAFRPP' },
      { fx_provider: null, fx_rate_scaled: null, fx_rate_scale: 8 },
    );
    expect(legs).toEqual([{ uetr, payer: 'DEUTDEFF', payee: 'BNPAFRPP', currency: 'EUR', amount_minor: '12345' }]);
  });

  it('FX: debtor agent → provider in source, provider → creditor agent in target at the rounded-down payout', () => {
    const legs = paymentLegs(
      { uetr, amount_minor: 1001n, source_currency: 'USD', target_currency: 'JPY', debtor_agent_bic: 'BOFAUS3N', creditor_agent_bic: 'MHCBJPJT' },
      usdJpy,
    );
    expect(legs).toEqual([
      { uetr, payer: 'BOFAUS3N', payee: 'LQPRUS33XXX', currency: 'USD', amount_minor: '1001' },
      { uetr, payer: 'LQPRUS33XXX', payee: 'MHCBJPJT', currency: 'JPY', amount_minor: '1515' },
    ]);
  });

  it('rejects at admission a payment worth less than one target minor unit', () => {
    const jpyUsd = { fx_provider: 'LQPRUS33XXX', fx_rate_scaled: 660000n, fx_rate_scale: 8 }; // 0.0066 USD per JPY
    const payment = { uetr, amount_minor: 1n, source_currency: 'JPY', target_currency: 'USD', debtor_agent_bic: 'MHCBJPJT', creditor_agent_bic: 'BOFAUS3N' };
    expect(checkPaymentLegs(payment, jpyUsd)).toMatchObject({ ok: false, reason: { kind: 'payout-below-minor-unit' } });
    expect(() => paymentLegs(payment, jpyUsd)).toThrow(/payout-below-minor-unit/);
    expect(checkPaymentLegs({ ...payment, amount_minor: 2n }, jpyUsd)).toMatchObject({ ok: true, value: [{}, { amount_minor: '1' }] });
  });

  it('rejects a payout that reaches 10^18 target minor units', () => {
    const payment = { uetr, amount_minor: 10n ** 18n - 1n, source_currency: 'USD', target_currency: 'JPY', debtor_agent_bic: 'BOFAUS3N', creditor_agent_bic: 'MHCBJPJT' };
    expect(checkPaymentLegs(payment, usdJpy)).toMatchObject({ ok: false, reason: { kind: 'payout-too-large' } });
  });

  it('crashes on a corridor that converts without a provider, and on an impossible amount', () => {
    const payment = { uetr, amount_minor: 100n, source_currency: 'EUR', target_currency: 'USD', debtor_agent_bic: 'DEUTDEFF', creditor_agent_bic: 'BOFAUS3N' };
    expect(() => paymentLegs(payment, { fx_provider: null, fx_rate_scaled: null, fx_rate_scale: 8 })).toThrow(/no FX provider/);
    expect(() => paymentLegs({ ...payment, amount_minor: 0n }, eurUsd)).toThrow(RangeError);
  });
});
