/**
 * Signing for the partner protocol, runtime-neutral: RFC 9421 message signatures (`sig1` Ed25519
 * through WebCrypto, `sig2` ML-DSA-65 through @noble/post-quantum for hybrid partners), RFC 9530
 * Content-Digest, and the instruction JWS (compact EdDSA, or the JSON serialization with EdDSA and
 * ML-DSA-65 for hybrid partners).
 */
import { CompactSign, importJWK, type JWK } from 'jose';
import { serializeSignatureParams, signatureBase } from '../../../core/message-signature.ts';
import { base64Encode, base64urlDecode, base64urlEncode, sha256, utf8 } from '../../../core/digest.ts';
import { jwsSigningInput } from '../../../core/hybrid-jws.ts';
import { mlDsa65KeyPairFromSeed, signMlDsa65 } from '../../../core/ml-dsa.ts';
import { nonceShardOf, partnerStateShardOf } from '../../../core/partner-state-shard.ts';

export interface PartnerCredentials {
  partner_id: string;
  keyid: string;
  private_jwk: JWK;
  /** Hybrid partners: the ML-DSA-65 key (`seed`: the 32-byte FIPS 204 seed, base64url). */
  ml_dsa_65?: { keyid: string; seed: string };
  /** The partner's profile: `required` means every instruction is sealed under a PQ session. */
  pq?: 'required' | 'optional';
}

export interface SignedRequestOptions {
  method: 'GET' | 'POST';
  url: string;
  body?: string;
  contentType?: string;
  /** Override for tests: seconds since the epoch. */
  createdS?: number;
  nonce?: string;
  /**
   * The payment this request submits or reads: the nonce is drawn so that its claim falls into the
   * gateway object holding the payment (one call there instead of two: core/partner-state-shard.ts).
   * A hint only; the gateway is exact whatever nonce it gets.
   */
  uetr?: string;
  /** Override for tests: sign these components instead of the defaults. */
  components?: string[];
  /** Override for tests: leave out a hybrid partner's `sig2`. */
  omitPqSignature?: boolean;
  /** Aborts the request (the caller's cancellation, a per-attempt timeout). */
  signal?: AbortSignal;
}

const signingKeys = new WeakMap<JWK, Promise<CryptoKey>>();

function signingKey(jwk: JWK): Promise<CryptoKey> {
  let key = signingKeys.get(jwk);
  if (key === undefined) {
    key = crypto.subtle.importKey('jwk', { ...jwk, alg: undefined, use: undefined, kid: undefined } as JsonWebKey, { name: 'Ed25519' }, false, ['sign']);
    signingKeys.set(jwk, key);
  }
  return key;
}

const mlDsaSecretKeys = new Map<string, Uint8Array>();

function mlDsaSecretKey(seed: string): Uint8Array {
  let secretKey = mlDsaSecretKeys.get(seed);
  if (secretKey === undefined) {
    secretKey = mlDsa65KeyPairFromSeed(base64urlDecode(seed)).secretKey;
    mlDsaSecretKeys.set(seed, secretKey);
  }
  return secretKey;
}

export function isHybrid(credentials: PartnerCredentials): credentials is PartnerCredentials & { ml_dsa_65: { keyid: string; seed: string } } {
  return credentials.ml_dsa_65 !== undefined;
}

export function newNonce(): string {
  return base64urlEncode(crypto.getRandomValues(new Uint8Array(18)));
}

/** Random nonces drawn at most, looking for one in the payment's shard: 1 − (3/4)^32 ≈ 99.99 % for one key, 1 − (15/16)^32 ≈ 87 % for two. */
export const shardAlignedNonceDrawsMax = 32;

/**
 * A fresh random nonce whose (keyid, nonce) pairs fall into the PartnerState shard of `uetr`, when
 * one turns up within shardAlignedNonceDrawsMax draws; otherwise the last one drawn. Each draw is
 * as random as newNonce(): conditioning 2 bits of 144 on a public hash leaves it unguessable.
 */
export function shardAlignedNonce(keyids: string[], uetr: string): string {
  const shard = partnerStateShardOf(uetr);
  let nonce = newNonce();
  for (let draw = 1; draw < shardAlignedNonceDrawsMax && !keyids.every((keyid) => nonceShardOf({ keyid, nonce }) === shard); draw++) nonce = newNonce();
  return nonce;
}

export async function contentDigest(body: string): Promise<string> {
  return `sha-256=:${base64Encode(sha256(body))}:`;
}

/** Builds a fetch Request signed per the partner protocol (sig1, and sig2 for hybrid partners). */
export async function signedRequest(credentials: PartnerCredentials, options: SignedRequestOptions): Promise<Request> {
  const headers = new Headers();
  const hasBody = options.body !== undefined;
  if (hasBody) {
    headers.set('content-type', options.contentType ?? 'application/jose');
    headers.set('content-digest', await contentDigest(options.body as string));
  }
  const components = options.components ?? (hasBody ? ['@method', '@target-uri', 'content-digest', 'content-type'] : ['@method', '@target-uri']);
  const created = options.createdS ?? Math.floor(Date.now() / 1000);
  const pq = isHybrid(credentials) && options.omitPqSignature !== true;
  const keyids = pq ? [credentials.keyid, credentials.ml_dsa_65.keyid] : [credentials.keyid];
  const nonce = options.nonce ?? (options.uetr === undefined ? newNonce() : shardAlignedNonce(keyids, options.uetr));
  const baseFor = (params: string): Uint8Array<ArrayBuffer> => {
    const base = signatureBase({ method: options.method, url: options.url, headers }, components, params);
    if (!base.ok) throw new Error(`cannot sign request: ${base.reason.detail}`);
    return new Uint8Array(new TextEncoder().encode(base.value));
  };
  const params1 = serializeSignatureParams(components, { created, nonce, keyid: credentials.keyid, alg: 'ed25519' });
  const signature1 = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, await signingKey(credentials.private_jwk), baseFor(params1)));
  const inputs = [`sig1=${params1}`];
  const signatures = [`sig1=:${base64Encode(signature1)}:`];
  if (pq) {
    const params2 = serializeSignatureParams(components, { created, nonce, keyid: credentials.ml_dsa_65.keyid, alg: 'ml-dsa-65' });
    const signature2 = signMlDsa65(mlDsaSecretKey(credentials.ml_dsa_65.seed), baseFor(params2));
    inputs.push(`sig2=${params2}`);
    signatures.push(`sig2=:${base64Encode(signature2)}:`);
  }
  headers.set('signature-input', inputs.join(', '));
  headers.set('signature', signatures.join(', '));
  return new Request(options.url, { method: options.method, headers, ...(hasBody ? { body: options.body } : {}), ...(options.signal === undefined ? {} : { signal: options.signal }) });
}

/** Signs an instruction as a compact JWS (EdDSA, kid = the partner key id). */
export async function signInstruction(credentials: PartnerCredentials, instruction: unknown): Promise<string> {
  const key = await importJWK({ ...credentials.private_jwk, alg: 'EdDSA' }, 'EdDSA');
  return new CompactSign(new TextEncoder().encode(JSON.stringify(instruction)))
    .setProtectedHeader({ alg: 'EdDSA', kid: credentials.keyid })
    .sign(key);
}

/**
 * Signs an instruction as a general JWS JSON serialization with an EdDSA and an ML-DSA-65
 * signature (hybrid partners). Both signing steps are deterministic, so re-signing the same
 * instruction yields the same text (a retry gets the original answer, not a UETR mismatch).
 */
export async function signHybridInstruction(credentials: PartnerCredentials, instruction: unknown): Promise<string> {
  if (!isHybrid(credentials)) throw new Error(`partner ${credentials.partner_id} has no ML-DSA-65 key`);
  const payload = base64urlEncode(utf8(JSON.stringify(instruction)));
  const edHeader = base64urlEncode(utf8(JSON.stringify({ alg: 'EdDSA', kid: credentials.keyid })));
  const pqHeader = base64urlEncode(utf8(JSON.stringify({ alg: 'ML-DSA-65', kid: credentials.ml_dsa_65.keyid })));
  const edSignature = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, await signingKey(credentials.private_jwk), jwsSigningInput(edHeader, payload)));
  const pqSignature = signMlDsa65(mlDsaSecretKey(credentials.ml_dsa_65.seed), jwsSigningInput(pqHeader, payload));
  return JSON.stringify({
    payload,
    signatures: [
      { protected: edHeader, signature: base64urlEncode(edSignature) },
      { protected: pqHeader, signature: base64urlEncode(pqSignature) },
    ],
  });
}

/** The instruction JWS this partner's profile calls for: hybrid JSON or compact. */
export function signInstructionFor(credentials: PartnerCredentials, instruction: unknown): Promise<string> {
  return isHybrid(credentials) ? signHybridInstruction(credentials, instruction) : signInstruction(credentials, instruction);
}

/** The media type of an unsealed instruction JWS: the JSON serialization is an object. */
export function jwsMediaType(jws: string): 'application/jose' | 'application/jose+json' {
  return jws.trimStart().startsWith('{') ? 'application/jose+json' : 'application/jose';
}
