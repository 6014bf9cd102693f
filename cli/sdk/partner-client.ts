/**
 * The partner SDK: what a bank's integration engineer calls to talk to Meridian. Runtime-neutral
 * (WebCrypto + jose), so the same code runs in Node (CLI, demo) and inside workerd (tests).
 *
 * Every request is signed per RFC 9421 with label `sig1` over
 * ("@method" "@target-uri" "content-digest" "content-type") — or ("@method" "@target-uri") for a
 * bodiless GET — with `created`, a fresh `nonce`, `keyid` and `alg="ed25519"`; the body carries an
 * RFC 9530 `Content-Digest: sha-256=:…:`.
 */
import { CompactSign, importJWK, type JWK } from 'jose';
import { serializeSignatureParams, signatureBase } from '../../core/message-signature.ts';
import { base64Encode } from '../../core/digest.ts';

export interface PartnerCredentials {
  partner_id: string;
  keyid: string;
  private_jwk: JWK;
}

export interface SignedRequestOptions {
  method: 'GET' | 'POST';
  url: string;
  body?: string;
  contentType?: string;
  /** Override for tests: seconds since the epoch. */
  createdS?: number;
  nonce?: string;
  /** Override for tests: sign these components instead of the defaults. */
  components?: string[];
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

export function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return base64Encode(bytes).replaceAll('+', '-').replaceAll('/', '_');
}

export async function contentDigest(body: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body)));
  return `sha-256=:${base64Encode(digest)}:`;
}

/** Builds a fetch Request signed per the partner protocol. */
export async function signedRequest(credentials: PartnerCredentials, options: SignedRequestOptions): Promise<Request> {
  const headers = new Headers();
  const hasBody = options.body !== undefined;
  if (hasBody) {
    headers.set('content-type', options.contentType ?? 'application/jose');
    headers.set('content-digest', await contentDigest(options.body as string));
  }
  const components = options.components ?? (hasBody ? ['@method', '@target-uri', 'content-digest', 'content-type'] : ['@method', '@target-uri']);
  const params = serializeSignatureParams(components, {
    created: options.createdS ?? Math.floor(Date.now() / 1000),
    nonce: options.nonce ?? newNonce(),
    keyid: credentials.keyid,
    alg: 'ed25519',
  });
  const base = signatureBase({ method: options.method, url: options.url, headers }, components, params);
  if (!base.ok) throw new Error(`cannot sign request: ${base.reason.detail}`);
  const signature = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, await signingKey(credentials.private_jwk), new TextEncoder().encode(base.value)));
  headers.set('signature-input', `sig1=${params}`);
  headers.set('signature', `sig1=:${base64Encode(signature)}:`);
  return new Request(options.url, { method: options.method, headers, ...(hasBody ? { body: options.body } : {}) });
}

/** Signs an instruction as a compact JWS (EdDSA, kid = the partner key id). */
export async function signInstruction(credentials: PartnerCredentials, instruction: unknown): Promise<string> {
  const key = await importJWK({ ...credentials.private_jwk, alg: 'EdDSA' }, 'EdDSA');
  return new CompactSign(new TextEncoder().encode(JSON.stringify(instruction)))
    .setProtectedHeader({ alg: 'EdDSA', kid: credentials.keyid })
    .sign(key);
}

export interface GatewayAnswer<T> {
  status: number;
  body: T;
}

export class PartnerClient {
  readonly credentials: PartnerCredentials;
  readonly baseUrl: string;
  private readonly send: (request: Request) => Promise<Response>;

  constructor(credentials: PartnerCredentials, baseUrl: string, send: (request: Request) => Promise<Response> = (request) => fetch(request)) {
    this.credentials = credentials;
    this.baseUrl = baseUrl;
    this.send = send;
  }

  async submitPayment(instruction: unknown): Promise<GatewayAnswer<Record<string, unknown>>> {
    const jws = await signInstruction(this.credentials, instruction);
    return this.submitJws(jws);
  }

  async submitJws(jws: string): Promise<GatewayAnswer<Record<string, unknown>>> {
    const request = await signedRequest(this.credentials, { method: 'POST', url: new URL('/v1/payments', this.baseUrl).href, body: jws });
    return this.answer(await this.send(request));
  }

  async paymentStatus(uetr: string): Promise<GatewayAnswer<Record<string, unknown>>> {
    const request = await signedRequest(this.credentials, { method: 'GET', url: new URL(`/v1/payments/${uetr}`, this.baseUrl).href });
    return this.answer(await this.send(request));
  }

  private async answer(response: Response): Promise<GatewayAnswer<Record<string, unknown>>> {
    const text = await response.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { raw: text };
    }
    return { status: response.status, body };
  }
}
