import { currencyExponent } from './iso4217.ts';
import { err, ok, type Result } from './result.ts';

/*
 * Decimal amount strings <-> bigint minor units. Money never passes through a JS number: a
 * double cannot hold 0.1 exactly, and above 2^53 it silently drops units.
 */

/** Minor units stay below 10^18: fits a signed 64-bit column (CockroachDB INT8) with room for sums of 9. */
export const amountDigitsMax = 18;
export const amountMinorLimit = 10n ** BigInt(amountDigitsMax);
/** Longest text worth looking at: 18 digits, a point, a leading "0", and spare trailing zeros. */
export const amountTextLengthMax = 40;

const amountPattern = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

export type InvalidAmount = { kind: 'invalid-amount'; detail: string };

function invalid(detail: string): { ok: false; reason: InvalidAmount } {
  return err({ kind: 'invalid-amount', detail });
}

/**
 * Strict decimal → minor units: no sign, exponent, whitespace or leading zeros; at most the
 * currency's exponent of fractional digits ("10.50" USD is fine, "10.500" USD and "1.5" JPY are
 * not — we refuse rather than round, since rounding a partner's amount changes what they signed);
 * strictly positive; below 10^18 minor units.
 */
export function parseAmount(value: string, currency: string): Result<bigint, InvalidAmount> {
  const exponent = currencyExponent(currency);
  if (exponent === undefined) return invalid(`${JSON.stringify(currency)} is not a payable ISO 4217 currency`);
  if (value.length > amountTextLengthMax) return invalid(`longer than ${amountTextLengthMax} characters`);
  const match = amountPattern.exec(value);
  if (match === null) return invalid('not a plain decimal number (digits, optional "." and digits; no sign, exponent or spaces)');
  const integerDigits = match[1]!;
  const fractionDigits = match[2] ?? '';
  if (fractionDigits.length > exponent) return invalid(`more decimals than ${currency} allows (${exponent})`);
  const minor = BigInt(integerDigits + fractionDigits.padEnd(exponent, '0'));
  if (minor <= 0n) return invalid('must be greater than zero');
  if (minor >= amountMinorLimit) return invalid(`more than ${amountDigitsMax} digits in minor units`);
  return ok(minor);
}

/** Minor units → decimal string with exactly the currency's exponent of decimals ("-12.30"). */
export function formatAmount(minor: bigint, currency: string): string {
  const exponent = currencyExponent(currency);
  if (exponent === undefined) throw new Error(`formatAmount: ${JSON.stringify(currency)} is not a payable ISO 4217 currency`);
  const sign = minor < 0n ? '-' : '';
  const digits = (minor < 0n ? -minor : minor).toString().padStart(exponent + 1, '0');
  if (exponent === 0) return sign + digits;
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}
