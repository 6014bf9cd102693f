import { isCountryCode } from './iso3166.ts';

/**
 * ISO 9362 business identifier codes, as SWIFT issues them: institution (4 letters), country
 * (ISO 3166-1 alpha-2, plus XK which SWIFT assigns to Kosovo), location (2 alphanumerics),
 * optional branch (3 alphanumerics). Uppercase only: a BIC is an identifier that ends up in
 * canonical bytes and ledger keys, so "deutdeff" is rejected rather than folded — folding would
 * give one participant two spellings and split its net position.
 */
const bicPattern = /^[A-Z]{4}([A-Z]{2})[A-Z0-9]{2}([A-Z0-9]{3})?$/;

/** Country codes SWIFT uses in BICs that are not officially assigned in ISO 3166-1. */
const bicExtraCountryCodes: ReadonlySet<string> = new Set(['XK']);

export const bicLengthMin = 8;
export const bicLengthMax = 11;

export function isBic(text: string): boolean {
  const match = bicPattern.exec(text);
  if (match === null) return false;
  const country = match[1]!;
  return isCountryCode(country) || bicExtraCountryCodes.has(country);
}

/** The 8-character institution + country + location part (a BIC8 names the head office's node). */
export function bic8(bic: string): string {
  if (!isBic(bic)) throw new Error(`bic8: not a BIC: ${JSON.stringify(bic)}`);
  return bic.slice(0, bicLengthMin);
}
