/**
 * The hybrid instruction JWS: RFC 7515 general JSON serialization with exactly one EdDSA and one
 * ML-DSA-65 signature over the same payload. Each signature's header is fully protected (no
 * unprotected `header` member), so every byte that means something is covered by both signatures
 * and the stored JWS stays a clean piece of non-repudiation evidence.
 *
 * The ML-DSA-65 signature is computed over the standard JWS signing input
 * ASCII(BASE64URL(protected) || '.' || BASE64URL(payload)), pure ML-DSA, empty context
 * (as in draft-ietf-cose-dilithium for JOSE "ML-DSA-65").
 */
import { err, ok, type Result } from './result.ts';
import { base64urlDecode } from './digest.ts';
import { parseStrictJson } from './strict-json.ts';

export const hybridJwsAlgorithms = ['EdDSA', 'ML-DSA-65'] as const;
export type JwsAlgorithm = (typeof hybridJwsAlgorithms)[number];

export interface GeneralJwsSignature {
  protected: string;
  signature: string;
}

export interface GeneralJws {
  payload: string;
  signatures: GeneralJwsSignature[];
}

export interface ParsedJwsSignature {
  alg: JwsAlgorithm;
  kid: string;
  header: Record<string, unknown>;
  protected: string;
  signature: string;
}

/** `malformed`: not a general JWS at all; `bad-header`: a JWS whose signature headers we refuse (algorithm, key id, duplicates). */
export type GeneralJwsFailure = { kind: 'malformed'; detail: string } | { kind: 'bad-header'; detail: string };

const base64urlPattern = /^[A-Za-z0-9_-]*$/;
export const signaturesMax = 2;
export const headerBytesMax = 1024;

export function jwsSigningInput(protectedHeader: string, payload: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new TextEncoder().encode(`${protectedHeader}.${payload}`));
}

/** Parses the JSON text strictly: the exact members of a general JWS, protected headers only, each algorithm once. */
export function parseGeneralJws(text: string): Result<{ jws: GeneralJws; signatures: ParsedJwsSignature[] }, GeneralJwsFailure> {
  const strict = parseStrictJson(text);
  if (!strict.ok) return err({ kind: 'malformed', detail: strict.reason.kind === 'not-json' ? 'body is not JSON' : `JWS JSON: ${strict.reason.detail}` });
  const value = strict.value;
  if (!isPlainObject(value)) return err({ kind: 'malformed', detail: 'a JWS JSON serialization is an object' });
  const extra = Object.keys(value).filter((name) => name !== 'payload' && name !== 'signatures');
  if (extra.length > 0) return err({ kind: 'malformed', detail: `JWS JSON: unexpected member ${extra[0]?.slice(0, 40)} (only the general serialization with payload and signatures is accepted)` });
  const { payload, signatures } = value;
  if (typeof payload !== 'string' || payload.length === 0 || !isBase64url(payload)) return err({ kind: 'malformed', detail: 'JWS JSON: payload must be non-empty base64url' });
  if (!Array.isArray(signatures) || signatures.length === 0 || signatures.length > signaturesMax) {
    return err({ kind: 'malformed', detail: `JWS JSON: signatures must be an array of 1..${signaturesMax}` });
  }
  const parsed: ParsedJwsSignature[] = [];
  for (const [index, entry] of signatures.entries()) {
    const signature = parseSignatureEntry(entry, index);
    if (!signature.ok) return signature;
    if (parsed.some((other) => other.alg === signature.value.alg)) return err({ kind: 'bad-header', detail: `JWS JSON: algorithm ${signature.value.alg} appears twice` });
    parsed.push(signature.value);
  }
  return ok({ jws: { payload, signatures: parsed.map((entry) => ({ protected: entry.protected, signature: entry.signature })) }, signatures: parsed });
}

function parseSignatureEntry(entry: unknown, index: number): Result<ParsedJwsSignature, GeneralJwsFailure> {
  const where = `JWS JSON signatures[${index}]`;
  if (!isPlainObject(entry)) return err({ kind: 'malformed', detail: `${where} must be an object` });
  const extra = Object.keys(entry).filter((name) => name !== 'protected' && name !== 'signature');
  if (extra.length > 0) return err({ kind: 'malformed', detail: `${where}: only protected and signature are accepted (every header parameter must be protected)` });
  const { protected: protectedHeader, signature } = entry;
  if (typeof protectedHeader !== 'string' || protectedHeader.length === 0 || protectedHeader.length > headerBytesMax || !base64urlPattern.test(protectedHeader)) {
    return err({ kind: 'malformed', detail: `${where}: protected must be base64url (≤ ${headerBytesMax} characters)` });
  }
  if (typeof signature !== 'string' || signature.length === 0 || !base64urlPattern.test(signature)) return err({ kind: 'malformed', detail: `${where}: signature must be base64url` });
  let header: unknown;
  try {
    const parsed = parseStrictJson(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(base64urlDecode(protectedHeader)));
    if (!parsed.ok) return err({ kind: 'malformed', detail: `${where}: protected header is not JSON without duplicate members` });
    header = parsed.value;
  } catch {
    return err({ kind: 'malformed', detail: `${where}: protected header is not base64url UTF-8` });
  }
  if (!isPlainObject(header)) return err({ kind: 'malformed', detail: `${where}: protected header must be an object` });
  const { alg, kid } = header;
  if (alg !== 'EdDSA' && alg !== 'ML-DSA-65') return err({ kind: 'bad-header', detail: `${where}: alg must be EdDSA or ML-DSA-65` });
  if (typeof kid !== 'string' || kid.length === 0) return err({ kind: 'bad-header', detail: `${where}: kid is required` });
  return ok({ alg, kid, header, protected: protectedHeader, signature });
}

/** Strict base64url (RFC 4648 §5, no padding, zero trailing bits): one spelling per byte string. */
function isBase64url(text: string): boolean {
  try {
    base64urlDecode(text);
    return true;
  } catch {
    return false;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
