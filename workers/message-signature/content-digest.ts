/**
 * RFC 9530 Content-Digest: the body the partner signed is the body we received.
 *
 * Hashed with node:crypto (native in both runtimes: BoringSSL under workerd's nodejs_compat, OpenSSL
 * in Node) rather than crypto.subtle.digest, whose promise costs Node a thread-pool round trip per
 * digest (about 5× the hash of a payment body, bench/admission.bench.ts); @noble's JavaScript
 * hash would cost more than either for a 64 KiB body.
 */
import { createHash } from 'node:crypto';
import { isInnerList, parseDictionary } from 'structured-headers';
import { err, ok, type Result } from '../../core/result.ts';

/**
 * RFC 9530 algorithm key → node:crypto hash name. A Map, not an object literal: the key is whatever the
 * partner wrote, and `name in {...}` is also true for `constructor`, `toString`, … (Object.prototype),
 * which once handed `Object` to the digest and answered 500.
 */
const supportedAlgorithms: ReadonlyMap<string, 'sha256' | 'sha512'> = new Map([
  ['sha-256', 'sha256'],
  ['sha-512', 'sha512'],
]);

export type DigestFailure = { kind: 'malformed-digest'; detail: string } | { kind: 'digest-mismatch'; detail: string };

export function verifyContentDigest(header: string | null, body: Uint8Array): Result<void, DigestFailure> {
  if (header === null) return err({ kind: 'malformed-digest', detail: 'Content-Digest header is required' });
  let members;
  try {
    members = parseDictionary(header);
  } catch (cause) {
    return err({ kind: 'malformed-digest', detail: `Content-Digest is not an RFC 8941 dictionary: ${(cause as Error).message}` });
  }
  let checked = 0;
  for (const [algorithm, member] of members) {
    const digestAlgorithm = supportedAlgorithms.get(algorithm);
    if (digestAlgorithm === undefined) continue;
    if (isInnerList(member) || !(member[0] instanceof ArrayBuffer)) {
      return err({ kind: 'malformed-digest', detail: `Content-Digest ${algorithm} must be a byte sequence` });
    }
    const expected = new Uint8Array(member[0]);
    const actual = new Uint8Array(createHash(digestAlgorithm).update(body).digest());
    if (!bytesEqual(expected, actual)) return err({ kind: 'digest-mismatch', detail: `Content-Digest ${algorithm} does not match the body` });
    checked += 1;
  }
  if (checked === 0) return err({ kind: 'malformed-digest', detail: 'Content-Digest carries no sha-256 or sha-512 digest' });
  return ok(undefined);
}

export function bytesEqual(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  let difference = 0;
  for (let index = 0; index < left.length; index += 1) difference |= (left[index] ?? 0) ^ (right[index] ?? 0);
  return difference === 0;
}
