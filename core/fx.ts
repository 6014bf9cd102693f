import { currencyExponent } from './iso4217.ts';

/*
 * FX with scaled integers. A rate is fixed per window as an integer scaled by 10^scale
 * ("1.08420000" at scale 8 is 108420000n). Conversion rounds once: payouts down, in the
 * liquidity provider's favour, so the creditor never receives more than the exact value; the
 * exact remainder is returned as a rational so it can be booked to an explicit residue account
 * instead of vanishing. Fees round half-even (banker's rounding: no drift across many fees).
 */

export const fxRateScaleDefault = 8;
/** Beyond 18 fractional digits a rate carries no information any provider quotes. */
export const fxRateScaleMax = 18;
export const fxRateTextLengthMax = 40;

const ratePattern = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

function assertScale(scale: number): void {
  if (!Number.isInteger(scale) || scale < 0 || scale > fxRateScaleMax) throw new RangeError(`fx: scale ${scale} is not an integer in 0..${fxRateScaleMax}`);
}

/**
 * "151.37000000" → 15137000000n at scale 8. Rates come from corridor configuration, not from
 * partners, so a malformed one is an operator error and throws (loudly, at config load).
 */
export function parseFxRate(text: string, scale: number = fxRateScaleDefault): bigint {
  assertScale(scale);
  const match = text.length <= fxRateTextLengthMax ? ratePattern.exec(text) : null;
  if (match === null) throw new RangeError(`parseFxRate: ${JSON.stringify(text)} is not a plain decimal`);
  const fraction = match[2] ?? '';
  if (fraction.length > scale) throw new RangeError(`parseFxRate: ${JSON.stringify(text)} has more than ${scale} decimals`);
  const rateScaled = BigInt(match[1]! + fraction.padEnd(scale, '0'));
  if (rateScaled <= 0n) throw new RangeError(`parseFxRate: ${JSON.stringify(text)} is not positive`);
  return rateScaled;
}

/** An exact non-negative fraction of one target minor unit: numerator / denominator, numerator < denominator. */
export interface FxResidue {
  numerator: bigint;
  denominator: bigint;
}

export interface FxPayout {
  payoutMinor: bigint;
  residue: FxResidue;
}

function exponentOf(currency: string): number {
  const exponent = currencyExponent(currency);
  if (exponent === undefined) throw new RangeError(`fx: ${JSON.stringify(currency)} is not a payable ISO 4217 currency`);
  return exponent;
}

/**
 * payout = floor(source × rate × 10^(expTarget − expSource) / 10^scale), in target minor units.
 * exact value = payoutMinor + residue.numerator / residue.denominator. The denominator is a
 * power of ten (not reduced) so residues of one window add up without a common-denominator step.
 */
export function convertPayout(sourceMinor: bigint, sourceCurrency: string, targetCurrency: string, rateScaled: bigint, scale: number): FxPayout {
  assertScale(scale);
  if (sourceMinor <= 0n) throw new RangeError(`convertPayout: source amount ${sourceMinor} is not positive`);
  if (rateScaled <= 0n) throw new RangeError(`convertPayout: rate ${rateScaled} is not positive`);
  const exponentShift = exponentOf(targetCurrency) - exponentOf(sourceCurrency);
  const numerator = sourceMinor * rateScaled * 10n ** BigInt(Math.max(exponentShift, 0));
  const denominator = 10n ** BigInt(scale + Math.max(-exponentShift, 0));
  const payoutMinor = numerator / denominator;
  const residue = { numerator: numerator % denominator, denominator };
  if (payoutMinor * denominator + residue.numerator !== numerator) throw new Error('convertPayout: payout and residue do not reconstruct the product');
  return { payoutMinor, residue };
}

/** numerator / denominator rounded to the nearest integer, ties to even (−2.5 → −2, 3.5 → 4). */
export function roundHalfEven(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new RangeError(`roundHalfEven: denominator ${denominator} is not positive`);
  const quotient = numerator / denominator; // truncates toward zero
  const remainder = numerator % denominator; // same sign as numerator
  const twiceRemainder = 2n * (remainder < 0n ? -remainder : remainder);
  const awayFromZero = numerator < 0n ? -1n : 1n;
  if (twiceRemainder > denominator) return quotient + awayFromZero;
  if (twiceRemainder === denominator && quotient % 2n !== 0n) return quotient + awayFromZero;
  return quotient;
}

// ---------------------------------------------------------------------------------------------
// Residue accounting. Each payout leaves an exact remainder below one target minor unit; a
// window books the sum of its payments' remainders to an explicit account of the FX provider
// (the provider keeps the value the creditor did not receive, and the books say so exactly).

/**
 * An exact non-negative amount in minor units of one currency: numerator / denominator. Unlike
 * `FxResidue`, the numerator may exceed the denominator (a window's sum of residues can be worth
 * several minor units). The denominator stays a power of ten, so the amount is a finite decimal.
 */
export interface ExactMinor {
  numerator: bigint;
  denominator: bigint;
}

function greatestCommonDivisor(left: bigint, right: bigint): bigint {
  let a = left < 0n ? -left : left;
  let b = right < 0n ? -right : right;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function assertExact(amount: ExactMinor, context: string): void {
  if (amount.denominator <= 0n || amount.numerator < 0n) throw new RangeError(`${context}: ${amount.numerator}/${amount.denominator} is not a non-negative fraction`);
}

/** left + right, exactly, over the least common denominator (for two powers of ten: the larger one). */
export function addExactMinor(left: ExactMinor, right: ExactMinor): ExactMinor {
  assertExact(left, 'addExactMinor');
  assertExact(right, 'addExactMinor');
  if (left.denominator === right.denominator) return { numerator: left.numerator + right.numerator, denominator: left.denominator };
  const denominator = (left.denominator / greatestCommonDivisor(left.denominator, right.denominator)) * right.denominator;
  return {
    numerator: left.numerator * (denominator / left.denominator) + right.numerator * (denominator / right.denominator),
    denominator,
  };
}

/** Sum of many residues; `denominator` is the zero's denominator when there is nothing to add. */
export function sumExactMinor(amounts: Iterable<ExactMinor>, denominator = 1n): ExactMinor {
  let total: ExactMinor = { numerator: 0n, denominator };
  for (const amount of amounts) total = addExactMinor(total, amount);
  return total;
}

/**
 * The same amount as an integer count of 10^−scale minor units: `{units: "21370000", scale: 8}`
 * is 0.2137 minor units. This is the form a ledger row or a batch field can carry as an integer
 * string without losing anything; it throws if the denominator is not a power of ten.
 */
export function exactMinorAtScale(amount: ExactMinor): { units: string; scale: number } {
  assertExact(amount, 'exactMinorAtScale');
  let scale = 0;
  let power = 1n;
  while (power < amount.denominator) {
    power *= 10n;
    scale += 1;
  }
  if (power !== amount.denominator) throw new RangeError(`exactMinorAtScale: denominator ${amount.denominator} is not a power of ten`);
  return { units: amount.numerator.toString(), scale };
}

/** Whole minor units and the remainder: floor(amount) and amount − floor(amount). */
export function splitExactMinor(amount: ExactMinor): { wholeMinor: bigint; remainder: ExactMinor } {
  assertExact(amount, 'splitExactMinor');
  return { wholeMinor: amount.numerator / amount.denominator, remainder: { numerator: amount.numerator % amount.denominator, denominator: amount.denominator } };
}
