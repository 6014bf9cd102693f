import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { base64Decode, base64Encode, utf8 } from '../digest.ts';

/*
 * World-Check One's request authentication (API v1/v2, "Security: HMAC"): an HMAC-SHA256 over a
 * draft-cavage HTTP-signature string, keyed with the API secret, in the `Authorization` header:
 *
 *   (request-target): post /v2/cases/screeningRequest
 *   host: api-worldcheck.refinitiv.com
 *   date: Tue, 07 Jun 2022 20:51:35 GMT
 *   content-type: application/json
 *   content-length: 88
 *   {"groupId":"…","entityType":"UNSPECIFIED",…}
 *
 *   Authorization: Signature keyId="<api key>",algorithm="hmac-sha256",
 *                  headers="(request-target) host date content-type content-length",signature="<base64>"
 *
 * Lines are joined by LF; a request with a body appends the exact body bytes after the
 * content-length line (that is how the body is covered: a tampered body breaks the signature); a
 * bodyless GET signs `(request-target) host date` only. content-length is the UTF-8 byte length.
 *
 * The same module signs (the adapter) and verifies (test/support/world-check-server.ts), so the
 * two cannot drift apart without the adapter's tests failing against the server.
 */

export const worldCheckSignedHeadersWithBody = '(request-target) host date content-type content-length';
export const worldCheckSignedHeadersWithoutBody = '(request-target) host date';

export interface SignedRequestParts {
  method: string;
  /** Path and query, as sent: `/v2/cases/screeningRequest`. */
  target: string;
  host: string;
  /** IMF-fixdate, as in the Date header. */
  date: string;
  /** Present for requests with a body. */
  body?: { contentType: string; bytes: Uint8Array };
}

export function worldCheckStringToSign(parts: SignedRequestParts): Uint8Array {
  const lines = [`(request-target): ${parts.method.toLowerCase()} ${parts.target}`, `host: ${parts.host}`, `date: ${parts.date}`];
  if (parts.body === undefined) return utf8(lines.join('\n'));
  lines.push(`content-type: ${parts.body.contentType}`, `content-length: ${parts.body.bytes.byteLength}`);
  const head = utf8(`${lines.join('\n')}\n`);
  const signed = new Uint8Array(head.byteLength + parts.body.bytes.byteLength);
  signed.set(head, 0);
  signed.set(parts.body.bytes, head.byteLength);
  return signed;
}

export function worldCheckSignature(apiSecret: string, parts: SignedRequestParts): string {
  return base64Encode(hmac(nobleSha256, utf8(apiSecret), worldCheckStringToSign(parts)));
}

export function worldCheckAuthorization(apiKey: string, apiSecret: string, parts: SignedRequestParts): string {
  const headers = parts.body === undefined ? worldCheckSignedHeadersWithoutBody : worldCheckSignedHeadersWithBody;
  return `Signature keyId="${apiKey}",algorithm="hmac-sha256",headers="${headers}",signature="${worldCheckSignature(apiSecret, parts)}"`;
}

export interface ParsedAuthorization {
  keyId: string;
  algorithm: string;
  headers: string;
  signature: string;
}

/** The parameters of a `Signature k="v",…` header, or null when it is not one. */
export function parseWorldCheckAuthorization(header: string): ParsedAuthorization | null {
  if (!header.startsWith('Signature ')) return null;
  const params = new Map<string, string>();
  for (const match of header.slice('Signature '.length).matchAll(/\s*([a-zA-Z]+)="([^"]*)"\s*(?:,|$)/g)) params.set(match[1]!, match[2]!);
  const keyId = params.get('keyId');
  const algorithm = params.get('algorithm');
  const headers = params.get('headers');
  const signature = params.get('signature');
  if (keyId === undefined || algorithm === undefined || headers === undefined || signature === undefined) return null;
  return { keyId, algorithm, headers, signature };
}

/** Constant-time comparison of the expected and presented signatures (both base64 of 32 bytes). */
export function worldCheckSignatureMatches(expected: string, presented: string): boolean {
  let presentedBytes: Uint8Array;
  try {
    presentedBytes = base64Decode(presented);
  } catch {
    return false;
  }
  const expectedBytes = base64Decode(expected);
  if (presentedBytes.byteLength !== expectedBytes.byteLength) return false;
  let difference = 0;
  for (let index = 0; index < expectedBytes.byteLength; index++) difference |= expectedBytes[index]! ^ presentedBytes[index]!;
  return difference === 0;
}
