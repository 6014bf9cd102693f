import canonicalize from 'canonicalize';

/**
 * RFC 8785 (JCS) canonical JSON: sorted keys, no whitespace, ECMAScript number formatting.
 * Bytes produced here are hashed and signed, so anything that has no JSON form (undefined,
 * a function, a symbol at the top level) is a programmer error and throws rather than
 * silently hashing the string "undefined". NaN, Infinity, lone surrogates, cycles and bigint
 * also throw (from canonicalize / JSON.stringify): money must be an integer string before it
 * gets here.
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) {
    throw new TypeError(`canonicalJson: value of type ${typeof value} has no JSON representation`);
  }
  return text;
}
