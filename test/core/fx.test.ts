import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { convertPayout, parseFxRate, roundHalfEven } from '../../core/fx.ts';
import { currencyExponent } from '../../core/iso4217.ts';

describe('parseFxRate', () => {
  it('scales decimal rates to integers', () => {
    expect(parseFxRate('1.08420000')).toBe(108420000n);
    expect(parseFxRate('151.37', 8)).toBe(15137000000n);
    expect(parseFxRate('0.0066', 4)).toBe(66n);
    expect(parseFxRate('2', 0)).toBe(2n);
  });

  it('throws on malformed, zero or over-precise rates', () => {
    for (const text of ['', '-1.0', '1e2', ' 1.0', '1.', '.5', '01.5', '0', '0.00000000', '1.000000001']) {
      expect(() => parseFxRate(text, 8), text).toThrow(RangeError);
    }
    expect(() => parseFxRate('1.0', 19)).toThrow(RangeError);
  });
});

describe('convertPayout', () => {
  it('EUR → USD at 1.0842: 100.00 EUR pays 108.42 USD with no residue', () => {
    expect(convertPayout(10000n, 'EUR', 'USD', 108420000n, 8)).toEqual({ payoutMinor: 10842n, residue: { numerator: 0n, denominator: 100000000n } });
  });

  it('USD → JPY at 151.37: 10.01 USD is 1515.2137 JPY, paid 1515, residue 0.2137 yen', () => {
    const { payoutMinor, residue } = convertPayout(1001n, 'USD', 'JPY', 15137000000n, 8);
    expect(payoutMinor).toBe(1515n);
    expect(residue.numerator * 10000n / residue.denominator).toBe(2137n);
    expect(residue.numerator * 10000n % residue.denominator).toBe(0n);
  });

  it('JPY → BHD multiplies by 10^3 for the exponent difference', () => {
    // 1000 JPY at 0.00251234 BHD per JPY = 2.51234 BHD = 2512.34 fils → 2512 fils.
    const { payoutMinor, residue } = convertPayout(1000n, 'JPY', 'BHD', 251234n, 8);
    expect(payoutMinor).toBe(2512n);
    expect(Number(residue.numerator) / Number(residue.denominator)).toBeCloseTo(0.34, 10);
  });

  it('rounds down even at .999…: the creditor never gets more than the exact value', () => {
    expect(convertPayout(1n, 'USD', 'USD', 99999999n, 8).payoutMinor).toBe(0n);
    expect(convertPayout(3n, 'EUR', 'USD', 33333334n, 8).payoutMinor).toBe(1n);
  });

  it('throws on non-positive inputs and unknown currencies', () => {
    expect(() => convertPayout(0n, 'EUR', 'USD', 1n, 8)).toThrow(RangeError);
    expect(() => convertPayout(1n, 'EUR', 'USD', 0n, 8)).toThrow(RangeError);
    expect(() => convertPayout(1n, 'EUR', 'XAU', 1n, 8)).toThrow(RangeError);
  });

  it('property: payout ≤ exact value < payout + 1, and payout + residue reconstructs source × rate exactly', () => {
    const currencies = ['JPY', 'USD', 'BHD', 'CLF', 'EUR', 'KWD'];
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 18n - 1n }),
        fc.constantFrom(...currencies),
        fc.constantFrom(...currencies),
        fc.bigInt({ min: 1n, max: 10n ** 14n }),
        fc.integer({ min: 0, max: 18 }),
        (sourceMinor, source, target, rateScaled, scale) => {
          const { payoutMinor, residue } = convertPayout(sourceMinor, source, target, rateScaled, scale);
          // Exact value in target minor units, as a fraction over one common denominator:
          // source × rate × 10^expT / (10^scale × 10^expS).
          const exactNumerator = sourceMinor * rateScaled * 10n ** BigInt(currencyExponent(target)!);
          const exactDenominator = 10n ** BigInt(scale + currencyExponent(source)!);
          expect(payoutMinor * exactDenominator <= exactNumerator).toBe(true);
          expect((payoutMinor + 1n) * exactDenominator > exactNumerator).toBe(true);
          expect(residue.numerator >= 0n && residue.numerator < residue.denominator).toBe(true);
          // payout + residue = exact, cross-multiplied.
          expect((payoutMinor * residue.denominator + residue.numerator) * exactDenominator).toBe(exactNumerator * residue.denominator);
        },
      ),
    );
  });
});

describe('roundHalfEven', () => {
  it('rounds ties to the even neighbour, both signs', () => {
    const cases: Array<[bigint, bigint, bigint]> = [
      [5n, 2n, 2n], [7n, 2n, 4n], [-5n, 2n, -2n], [-7n, 2n, -4n],
      [1n, 2n, 0n], [3n, 2n, 2n], [-1n, 2n, 0n],
      [26n, 10n, 3n], [24n, 10n, 2n], [-26n, 10n, -3n], [-24n, 10n, -2n],
      [10n, 5n, 2n], [0n, 7n, 0n], [1n, 3n, 0n], [2n, 3n, 1n],
    ];
    for (const [numerator, denominator, expected] of cases) expect(roundHalfEven(numerator, denominator), `${numerator}/${denominator}`).toBe(expected);
  });

  it('throws on a non-positive denominator', () => {
    expect(() => roundHalfEven(1n, 0n)).toThrow(RangeError);
    expect(() => roundHalfEven(1n, -2n)).toThrow(RangeError);
  });

  it('property: the result is within half a unit of the exact value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.bigInt({ min: 1n, max: 10n ** 12n }), (numerator, denominator) => {
        const rounded = roundHalfEven(numerator, denominator);
        const distanceTwice = 2n * (rounded * denominator - numerator);
        expect(distanceTwice <= denominator && distanceTwice >= -denominator).toBe(true);
        if (distanceTwice === denominator || distanceTwice === -denominator) expect(rounded % 2n).toBe(0n);
      }),
    );
  });
});
