import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { amountDigitsMax, formatAmount, parseAmount } from '../../core/money.ts';

function minor(value: string, currency: string): bigint | string {
  const parsed = parseAmount(value, currency);
  return parsed.ok ? parsed.value : parsed.reason.detail;
}

describe('parseAmount', () => {
  it('reads decimals into minor units per the currency exponent', () => {
    expect(minor('10.50', 'USD')).toBe(1050n);
    expect(minor('10.5', 'USD')).toBe(1050n);
    expect(minor('10', 'USD')).toBe(1000n);
    expect(minor('0.01', 'EUR')).toBe(1n);
    expect(minor('1500', 'JPY')).toBe(1500n);
    expect(minor('1.234', 'BHD')).toBe(1234n);
    expect(minor('0.0001', 'CLF')).toBe(1n);
    expect(minor('12.5', 'UYW')).toBe(125000n);
  });

  it('accepts the largest amount below 10^18 minor units and rejects 10^18', () => {
    expect(minor('9999999999999999.99', 'USD')).toBe(10n ** 18n - 1n);
    expect(minor('999999999999999999', 'JPY')).toBe(10n ** 18n - 1n);
    expect(minor('10000000000000000.00', 'USD')).toMatch(/more than 18 digits/);
    expect(minor('1000000000000000000', 'JPY')).toMatch(/more than 18 digits/);
    expect(amountDigitsMax).toBe(18);
  });

  it('rejects more decimals than the currency has, even trailing zeros', () => {
    expect(minor('10.500', 'USD')).toBe('more decimals than USD allows (2)');
    expect(minor('1.5', 'JPY')).toBe('more decimals than JPY allows (0)');
    expect(minor('1.0', 'JPY')).toBe('more decimals than JPY allows (0)');
    expect(minor('1.2345', 'KWD')).toBe('more decimals than KWD allows (3)');
    expect(minor('1.23456', 'CLF')).toBe('more decimals than CLF allows (4)');
  });

  it('rejects zero in any spelling', () => {
    for (const value of ['0', '0.00', '0.0']) expect(minor(value, 'USD'), value).toBe('must be greater than zero');
  });

  it('rejects signs, exponents, spaces, leading zeros and other spellings', () => {
    for (const value of ['-1', '+1', '1e5', '1E5', '01.5', '00', ' 1', '1 ', '1,00', '1.', '.5', '', '0x10', '1_000', '١٢', 'Infinity', 'NaN', '1.5.0', '１']) {
      expect(parseAmount(value, 'USD').ok, JSON.stringify(value)).toBe(false);
    }
  });

  it('rejects unknown and non-payable currencies', () => {
    expect(minor('1', 'XAU')).toMatch(/not a payable ISO 4217 currency/);
    expect(minor('1', 'usd')).toMatch(/not a payable ISO 4217 currency/);
    expect(minor('1', 'ZZZ')).toMatch(/not a payable ISO 4217 currency/);
  });

  it('rejects 19 significant digits and absurdly long input', () => {
    expect(minor('1234567890123456789', 'JPY')).toMatch(/more than 18 digits/);
    expect(minor('1'.repeat(1000), 'JPY')).toMatch(/longer than/);
  });

  it('tags every failure invalid-amount', () => {
    const parsed = parseAmount('-1', 'USD');
    expect(parsed).toMatchObject({ ok: false, reason: { kind: 'invalid-amount' } });
  });
});

describe('formatAmount', () => {
  it('always writes the currency exponent of decimals', () => {
    expect(formatAmount(1050n, 'USD')).toBe('10.50');
    expect(formatAmount(1n, 'USD')).toBe('0.01');
    expect(formatAmount(1500n, 'JPY')).toBe('1500');
    expect(formatAmount(1n, 'BHD')).toBe('0.001');
    expect(formatAmount(10000n, 'CLF')).toBe('1.0000');
    expect(formatAmount(-7500n, 'EUR')).toBe('-75.00');
    expect(formatAmount(0n, 'EUR')).toBe('0.00');
  });

  it('throws on a currency it cannot format (programmer error)', () => {
    expect(() => formatAmount(1n, 'XAU')).toThrow();
  });

  it('property: parse(format(x)) = x for every amount and currency exponent', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 18n - 1n }), fc.constantFrom('JPY', 'USD', 'BHD', 'CLF'), (amountMinor, currency) => {
        expect(parseAmount(formatAmount(amountMinor, currency), currency)).toEqual({ ok: true, value: amountMinor });
      }),
    );
  });
});
