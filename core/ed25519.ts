/**
 * Ed25519 signatures and EdDSA compact JWS (RFC 7515 / RFC 8037) straight on WebCrypto, the
 * runtime's native Ed25519 in workerd (BoringSSL) and Node (OpenSSL), with imported CryptoKeys
 * the callers cache per isolate.
 *
 * Why not jose here: on the payment path jose re-parses a header the caller has already parsed
 * strictly, re-decodes the payload, and re-checks the key on every call (a third of a compact
 * verification's CPU, bench/admission.bench.ts); signing a receipt re-encodes the same protected
 * header each time. What jose checked that is not one line here is refused by the callers: no
 * `crit`, no `b64` (we implement no JWS extension), and base64url is decoded strictly.
 */
import { base64urlDecode, base64urlEncode, utf8 } from './digest.ts';
import { jwsSigningInput } from './hybrid-jws.ts';

export const ed25519SignatureBytes = 64;

/** False for any signature that is not 64 bytes, so a caller maps every failure to one refusal. */
export async function verifyEd25519(publicKey: CryptoKey, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  if (signature.length !== ed25519SignatureBytes) return false;
  return crypto.subtle.verify({ name: 'Ed25519' }, publicKey, new Uint8Array(signature), new Uint8Array(message));
}

/**
 * Verifies one EdDSA signature segment over `protectedHeader.payload`. A segment that is not
 * strict base64url is a signature that does not verify, as jose treats it.
 */
export async function verifyEdDsaJwsSignature(publicKey: CryptoKey, protectedHeader: string, payload: string, signatureSegment: string): Promise<boolean> {
  let signature: Uint8Array;
  try {
    signature = base64urlDecode(signatureSegment);
  } catch {
    return false;
  }
  return verifyEd25519(publicKey, signature, jwsSigningInput(protectedHeader, payload));
}

const encodedHeaders = new Map<string, string>();
/** Distinct (kid, typ) headers per isolate: a gateway signs with one or two keys. */
const encodedHeadersMax = 16;

/**
 * An EdDSA compact JWS of `payload` with the protected header {alg, kid, typ} — the same bytes
 * jose's CompactSign writes for that header (it serializes the object in insertion order too). The
 * encoded header is kept per (kid, typ): it is the same for every receipt a key signs.
 */
export async function signEdDsaCompactJws(privateKey: CryptoKey, header: { kid: string; typ: string }, payload: Uint8Array): Promise<string> {
  const headerKey = `${header.kid}\n${header.typ}`;
  let protectedHeader = encodedHeaders.get(headerKey);
  if (protectedHeader === undefined) {
    if (encodedHeaders.size >= encodedHeadersMax) encodedHeaders.clear();
    protectedHeader = base64urlEncode(utf8(JSON.stringify({ alg: 'EdDSA', kid: header.kid, typ: header.typ })));
    encodedHeaders.set(headerKey, protectedHeader);
  }
  const payloadSegment = base64urlEncode(payload);
  const signature = await crypto.subtle.sign({ name: 'Ed25519' }, privateKey, jwsSigningInput(protectedHeader, payloadSegment));
  return `${protectedHeader}.${payloadSegment}.${base64urlEncode(new Uint8Array(signature))}`;
}
