/*
 * talisman 1.1.4 ships CommonJS without type declarations (and without an `exports` map, so Node's
 * ESM loader needs the `.js` extension on each subpath). These are the two functions the matcher
 * uses, declared from their source in node_modules/talisman.
 */
declare module 'talisman/metrics/jaro-winkler.js' {
  /** Jaro-Winkler similarity in 0..1 (boost threshold 0.7, scaling factor 0.1). */
  const jaroWinkler: (a: string, b: string) => number;
  export default jaroWinkler;
}

declare module 'talisman/phonetics/double-metaphone.js' {
  /** [primary, secondary] Double Metaphone codes, each at most 4 characters. */
  const doubleMetaphone: (word: string) => [string, string];
  export default doubleMetaphone;
}
