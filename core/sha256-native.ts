/*
 * SHA-256 through the runtime's own implementation (WebCrypto `crypto.subtle.digest`), for large
 * inputs on the settlement path: a 10,000-leg batch is ~2 MB of canonical JSON, which the portable
 * pure-JS `sha256` (./digest.ts) hashes in ~17 ms of CPU and WebCrypto in ~2-4 ms (Node: OpenSSL,
 * workerd: BoringSSL). The trade-off is that it is asynchronous: callers that must stay synchronous
 * keep ./digest.ts, whose output is the same function of the same bytes (test/core/settlement-batch-shape.test.ts).
 * WebCrypto exists as the global `crypto` in both Node (≥ 19) and workerd, so this stays
 * runtime-neutral, as core/ must.
 */

/** Lowercase hex SHA-256 of `data` (a string is hashed as its UTF-8 bytes). */
export async function sha256HexNative(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
