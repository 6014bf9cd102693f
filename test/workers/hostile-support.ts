/**
 * Builders for hostile requests. The partner SDK (packages/partner-sdk/src/partner-client.ts) only produces
 * well-formed requests, so these write every header, parameter, label and JWS segment by hand:
 * each builder starts from what an honest partner would send and breaks exactly one thing.
 */
import { SELF } from 'cloudflare:test';
import { expect } from 'vitest';
import { serializeInnerList, type BareItem, type Parameters } from 'structured-headers';
import type { PartnerCredentials } from '../../packages/partner-sdk/src/partner-client.ts';
import { newNonce } from '../../packages/partner-sdk/src/partner-client.ts';
import { base64Encode, base64urlDecode, base64urlEncode, utf8 } from '../../core/digest.ts';
import { signatureBase } from '../../core/message-signature.ts';
import { problemStatus, problemTypePrefix, type ProblemSlug } from '../../core/problem.ts';
import { alpha, gatewayUrl } from './support.ts';

export const paymentsUrl = `${gatewayUrl}/v1/payments`;
export const defaultBodyComponents = ['@method', '@target-uri', 'content-digest', 'content-type'];
export const nowS = (): number => Math.floor(Date.now() / 1000);

/** One hostile case: how to build it and the problem it must get. `bug` names a known defect (the case runs as `it.fails`). */
export interface HostileCase {
  name: string;
  request: () => Promise<Request>;
  slug: ProblemSlug;
  bug?: string;
  /** What Cloudflare's edge observed (request.cf); absent = no observation (the local-dev case). */
  cf?: { tlsVersion: string };
}

/** Asserts an RFC 9457 answer with exactly this slug and its status: never a 5xx, never a 202. */
export async function expectProblem(response: Response, slug: ProblemSlug): Promise<Record<string, unknown>> {
  const text = await response.text();
  const context = `${response.status} ${text.slice(0, 300)}`;
  expect(response.status, context).toBeLessThan(500);
  expect(response.status, context).not.toBe(202);
  expect(response.headers.get('content-type'), context).toBe('application/problem+json');
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body.type, context).toBe(problemTypePrefix + slug);
  expect(response.status, context).toBe(problemStatus[slug]);
  expect(body.status, context).toBe(problemStatus[slug]);
  return body;
}

export async function sendHostile(hostile: HostileCase): Promise<void> {
  const request = await hostile.request();
  await expectProblem(await SELF.fetch(request, hostile.cf === undefined ? undefined : { cf: hostile.cf }), hostile.slug);
}

/** Registers each case as a test; a case with `bug` documents a known defect and runs as it.fails (green suite, visible bug). */
export function runHostileCases(cases: readonly HostileCase[], test: { (name: string, body: () => Promise<void>): void; fails(name: string, body: () => Promise<void>): void }): void {
  for (const hostile of cases) {
    if (hostile.bug === undefined) test(hostile.name, () => sendHostile(hostile));
    else test.fails(`${hostile.name} [known bug: ${hostile.bug}]`, () => sendHostile(hostile));
  }
}

const privateKeys = new Map<string, Promise<CryptoKey>>();

function ed25519PrivateKey(credentials: PartnerCredentials): Promise<CryptoKey> {
  let key = privateKeys.get(credentials.private_jwk.x as string);
  if (key === undefined) {
    const { kty, crv, d, x } = credentials.private_jwk;
    key = crypto.subtle.importKey('jwk', { kty, crv, d, x } as JsonWebKey, { name: 'Ed25519' }, false, ['sign']);
    privateKeys.set(credentials.private_jwk.x as string, key);
  }
  return key;
}

export async function ed25519Sign(credentials: PartnerCredentials, message: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, await ed25519PrivateKey(credentials), message));
}

export async function sha256Base64(body: Uint8Array): Promise<string> {
  return base64Encode(new Uint8Array(await crypto.subtle.digest('SHA-256', body)));
}

export interface CraftOptions {
  method?: string;
  url?: string;
  /** The body actually sent. */
  body?: string | Uint8Array | null;
  /** The body the Content-Digest is computed over (default: `body`). */
  digestOf?: string | Uint8Array;
  /** `null` omits the header. */
  contentType?: string | null;
  /** Raw Content-Digest; `null` omits it. Default: sha-256 of `digestOf`. */
  contentDigest?: string | null;
  /** Whose private key signs (default Alpha Bank). */
  signer?: PartnerCredentials;
  label?: string;
  components?: string[];
  /** Signature parameters; a key set to `undefined` is left out. Values may have any RFC 8941 type. */
  params?: Record<string, BareItem | undefined>;
  /** Sign a different message than the one sent (method, url or headers as the signer saw them). */
  signedAs?: { method?: string; url?: string; headers?: Record<string, string> };
  /** Raw header overrides, applied after signing. */
  signatureInput?: string | null;
  signature?: string | null;
  /** Rewrites the honest header values of this very request (so only the edit differs). */
  editSignatureInput?: (honest: string) => string;
  editSignature?: (honest: string) => string;
  /** Turns the honest signature into something else (wrong length, flipped bit). */
  mutateSignature?: (signature: Uint8Array) => Uint8Array;
  /** Extra headers set after signing. */
  headers?: Record<string, string>;
}

/** A request signed per the partner protocol, with every part overridable. */
export async function craftRequest(options: CraftOptions = {}): Promise<Request> {
  const method = options.method ?? 'POST';
  const url = options.url ?? paymentsUrl;
  const body = options.body === undefined ? null : options.body;
  const bodyBytes = body === null ? undefined : typeof body === 'string' ? utf8(body) : body;
  const headers = new Headers();
  if (bodyBytes !== undefined) {
    const contentType = options.contentType === undefined ? 'application/jose' : options.contentType;
    if (contentType !== null) headers.set('content-type', contentType);
    const digestOf = options.digestOf === undefined ? bodyBytes : typeof options.digestOf === 'string' ? utf8(options.digestOf) : options.digestOf;
    const contentDigest = options.contentDigest === undefined ? `sha-256=:${await sha256Base64(digestOf)}:` : options.contentDigest;
    if (contentDigest !== null) headers.set('content-digest', contentDigest);
  } else if (options.contentType !== undefined && options.contentType !== null) {
    headers.set('content-type', options.contentType);
  }
  const signer = options.signer ?? alpha;
  const label = options.label ?? 'sig1';
  const components = options.components ?? (bodyBytes === undefined ? ['@method', '@target-uri'] : defaultBodyComponents);
  const params = serializedParams(components, {
    created: nowS(),
    nonce: newNonce(),
    keyid: signer.keyid,
    alg: 'ed25519',
    ...options.params,
  });
  const signedHeaders = new Headers(headers);
  for (const [name, value] of Object.entries(options.signedAs?.headers ?? {})) signedHeaders.set(name, value);
  const base = signatureBase({ method: options.signedAs?.method ?? method, url: options.signedAs?.url ?? url, headers: signedHeaders }, components, params);
  // A component the gateway cannot build a base for is refused before verification; any bytes do.
  let signature = base.ok ? await ed25519Sign(signer, utf8(base.value)) : crypto.getRandomValues(new Uint8Array(64));
  if (options.mutateSignature !== undefined) signature = options.mutateSignature(signature);
  headers.set('signature-input', `${label}=${params}`);
  headers.set('signature', `${label}=:${base64Encode(signature)}:`);
  if (options.editSignatureInput !== undefined) headers.set('signature-input', options.editSignatureInput(headers.get('signature-input')!));
  if (options.editSignature !== undefined) headers.set('signature', options.editSignature(headers.get('signature')!));
  if (options.signatureInput !== undefined) setOrDelete(headers, 'signature-input', options.signatureInput);
  if (options.signature !== undefined) setOrDelete(headers, 'signature', options.signature);
  for (const [name, value] of Object.entries(options.headers ?? {})) headers.set(name, value);
  return new Request(url, { method, headers, ...(bodyBytes === undefined ? {} : { body: bodyBytes }) });
}

function setOrDelete(headers: Headers, name: string, value: string | null): void {
  if (value === null) headers.delete(name);
  else headers.set(name, value);
}

export function serializedParams(components: string[], params: Record<string, BareItem | undefined>): string {
  const parameters: Parameters = new Map();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) parameters.set(name, value);
  return serializeInnerList([components.map((component) => [component, new Map()]), parameters]);
}

/** base64url of a JSON value or of raw text. */
export function segment(value: unknown): string {
  return base64urlEncode(utf8(typeof value === 'string' ? value : JSON.stringify(value)));
}

/** A compact JWS with any header and payload text, Ed25519-signed over its signing input by `signer`. */
export async function jwsWith(options: { header?: unknown; headerSegment?: string; payload?: unknown; payloadSegment?: string; signer?: PartnerCredentials }): Promise<string> {
  const signer = options.signer ?? alpha;
  const headerSegment = options.headerSegment ?? segment(options.header ?? { alg: 'EdDSA', kid: signer.keyid });
  const payloadSegment = options.payloadSegment ?? segment(options.payload ?? {});
  const signature = await ed25519Sign(signer, utf8(`${headerSegment}.${payloadSegment}`));
  return `${headerSegment}.${payloadSegment}.${base64urlEncode(signature)}`;
}

/** A JWS whose payload is exactly this text (not re-serialized): for malformed JSON. */
export function jwsOfText(payloadText: string, signer: PartnerCredentials = alpha): Promise<string> {
  return jwsWith({ payloadSegment: base64urlEncode(utf8(payloadText)), signer });
}

/** POSTs a JWS (or any body) signed honestly by the message signer. */
export function postBody(body: string, options: CraftOptions = {}): Promise<Request> {
  return craftRequest({ body, ...options });
}

export function flipLastBit(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 1;
  return copy;
}

export function publicKeyBytes(credentials: PartnerCredentials): Uint8Array {
  return base64urlDecode(credentials.private_jwk.x as string);
}
