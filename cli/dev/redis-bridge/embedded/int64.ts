/**
 * Redis' signed 64-bit integers (`long long`), parsed as strictly as Redis' `string2ll`: optional
 * minus sign, no plus sign, no spaces, no leading zeros, within range. Anything else is "not an
 * integer" to Redis, and so to the embedded store.
 */
export const int64Min = -(2n ** 63n);
export const int64Max = 2n ** 63n - 1n;

const int64Pattern = /^(?:0|-?[1-9][0-9]{0,18})$/;

export function parseInt64(text: string): bigint | undefined {
  if (!int64Pattern.test(text)) return undefined;
  const value = BigInt(text);
  return value < int64Min || value > int64Max ? undefined : value;
}
