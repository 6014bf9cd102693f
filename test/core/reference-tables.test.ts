import { describe, expect, it } from 'vitest';
import { bic8, isBic } from '../../core/bic.ts';
import { countryCodes, isCountryCode } from '../../core/iso3166.ts';
import { currencyExponent, currencyExponents, fundCurrencyCodes, isKnownCurrency, isPayableCurrency, nonPayableCurrencyCodes } from '../../core/iso4217.ts';

describe('ISO 4217', () => {
  it('knows the exponents that change amounts', () => {
    const expected: Record<string, number> = {
      JPY: 0, KRW: 0, ISK: 0, CLP: 0, VND: 0, XAF: 0, XOF: 0, XPF: 0, UGX: 0, PYG: 0, UYI: 0,
      USD: 2, EUR: 2, GBP: 2, CHF: 2, SGD: 2, XCG: 2, ZWG: 2, SLE: 2, VED: 2, VES: 2,
      BHD: 3, KWD: 3, OMR: 3, JOD: 3, IQD: 3, LYD: 3, TND: 3,
      CLF: 4, UYW: 4,
    };
    for (const [code, exponent] of Object.entries(expected)) expect(currencyExponent(code), code).toBe(exponent);
  });

  it('holds 156 currencies and 9 funds with a minor unit', () => {
    expect(Object.keys(currencyExponents).length - fundCurrencyCodes.size).toBe(156);
    for (const fund of fundCurrencyCodes) expect(isPayableCurrency(fund), fund).toBe(true);
  });

  it('knows but refuses the "N.A." codes: metals, SDR, bond units, testing, no currency', () => {
    for (const code of ['XAU', 'XAG', 'XPT', 'XPD', 'XDR', 'XBA', 'XSU', 'XUA', 'XTS', 'XXX']) {
      expect(currencyExponent(code), code).toBeUndefined();
      expect(isKnownCurrency(code), code).toBe(true);
    }
    expect(nonPayableCurrencyCodes.size).toBe(13);
  });

  it('has dropped withdrawn codes', () => {
    for (const code of ['HRK', 'VEF', 'MRO', 'STD', 'SLL', 'ZWL', 'CUC', 'ANG', 'BYR', 'LTL']) expect(isKnownCurrency(code), code).toBe(false);
  });

  it('is case-sensitive and ignores prototype names', () => {
    expect(currencyExponent('usd')).toBeUndefined();
    expect(currencyExponent('constructor')).toBeUndefined();
    expect(currencyExponent('__proto__')).toBeUndefined();
  });
});

describe('ISO 3166-1 alpha-2', () => {
  it('holds exactly the 249 official codes', () => {
    expect(countryCodes.size).toBe(249);
    for (const code of ['DE', 'US', 'JP', 'SG', 'GB', 'AX', 'BQ', 'CW', 'SS', 'SX', 'PS', 'TW', 'AQ', 'UM']) expect(isCountryCode(code), code).toBe(true);
  });

  it('rejects user-assigned, reserved, withdrawn and lowercase codes', () => {
    for (const code of ['XK', 'UK', 'EU', 'AN', 'YU', 'CS', 'ZZ', 'de', 'DEU', '']) expect(isCountryCode(code), code).toBe(false);
  });
});

describe('BIC (ISO 9362)', () => {
  it('accepts BIC8 and BIC11, including digits in location and branch, and Kosovo', () => {
    for (const bic of ['DEUTDEFF', 'DEUTDEFF500', 'BOFAUS3N', 'LQPRDEFFXXX', 'MHCBJPJT', 'NBPHXKPR', 'ABCDGB2L', 'ABCDUS33A1B']) expect(isBic(bic), bic).toBe(true);
  });

  it('rejects wrong lengths, lowercase, digits in the institution, unknown countries and stray characters', () => {
    for (const bic of ['DEUTDEF', 'DEUTDEFF5', 'DEUTDEFF50', 'DEUTDEFF5000', 'deutdeff', 'DeutDEFF', 'DEU1DEFF', 'DEUTQQFF', 'DEUTUKFF', 'DEUT DEFF', 'DEUTDEFF-XX', ' DEUTDEFF', 'DEUTDEFF\n']) {
      expect(isBic(bic), JSON.stringify(bic)).toBe(false);
    }
  });

  it('bic8 keeps institution, country and location', () => {
    expect(bic8('DEUTDEFF500')).toBe('DEUTDEFF');
    expect(bic8('DEUTDEFF')).toBe('DEUTDEFF');
    expect(() => bic8('nope')).toThrow();
  });
});
