/**
 * The partner SDK: what a bank's integration engineer calls to talk to Meridian. Runtime-neutral
 * (WebCrypto, jose, @hpke/core, @noble/post-quantum), so the same code runs in Node (CLI, demo) and
 * inside workerd (tests).
 *
 * Every request is signed per RFC 9421 with label `sig1` over
 * ("@method" "@target-uri" "content-digest" "content-type") — or ("@method" "@target-uri") for a
 * bodiless GET — with `created`, a fresh `nonce`, `keyid` and `alg="ed25519"`; the body carries an
 * RFC 9530 `Content-Digest: sha-256=:…:`. Hybrid partners (credentials with `ml_dsa_65`) add `sig2`
 * over the same components with their ML-DSA-65 key, and sign instructions in the JWS JSON
 * serialization with EdDSA and ML-DSA-65. Partners whose profile says `pq: required` seal every
 * instruction under a PQ session (pq-session.ts); others may ask for it with `{ seal: true }`.
 *
 * One request per call, no retries: MeridianClient (meridian-client.ts) adds those on top.
 */
import { openPqSession, sealInstruction, SessionCache, type GatewayDiscovery, type PqSession } from './pq-session.ts';
import { base64urlDecode } from '../../../core/digest.ts';
import { problemTypePrefix } from '../../../core/problem.ts';
import { jwsMediaType, signedRequest, signInstructionFor, type PartnerCredentials } from './request-signing.ts';

export * from './request-signing.ts';
export { openPqSession, sealInstruction, SessionCache, SessionHandshakeError, type GatewayDiscovery, type PqSession } from './pq-session.ts';

export interface GatewayAnswer<T> {
  status: number;
  body: T;
  /** The `Retry-After` header of a 429 or 503 (seconds or an HTTP-date), else null. */
  retryAfter?: string | null;
}

export interface SubmitOptions {
  /** Seal the instruction under a PQ session (always, when the partner's profile says `pq: required`). */
  seal?: boolean;
  /** Cancels the request. */
  signal?: AbortSignal;
}

export interface PartnerClientOptions {
  /**
   * The TLS version this client's own stack negotiated with the gateway ("TLSv1.3", …), reported in
   * the session offer and compared with what the edge observed. Required for https gateways: the
   * SDK cannot see it through fetch (on Node, `negotiatedTlsVersion` from '@meridian/partner-sdk/node' measures it). Plain http reports "none".
   */
  reportedTls?: string | (() => Promise<string>);
  /** Sessions shared across clients (default: one cache per process). */
  sessions?: SessionCache;
}

const sharedSessions = new SessionCache();

export class PartnerClient {
  readonly credentials: PartnerCredentials;
  readonly baseUrl: string;
  private readonly send: (request: Request) => Promise<Response>;
  private readonly options: PartnerClientOptions;
  private discovery: Promise<GatewayDiscovery> | undefined;

  constructor(credentials: PartnerCredentials, baseUrl: string, send: (request: Request) => Promise<Response> = (request) => fetch(request), options: PartnerClientOptions = {}) {
    this.credentials = credentials;
    this.baseUrl = baseUrl;
    this.send = send;
    this.options = options;
  }

  /**
   * GET /.well-known/meridian (unsigned), cached per client. A failed fetch is not cached (the next
   * call asks again); `{ refresh: true }` asks again anyway (after a receipt key rotation).
   */
  discover(options: { refresh?: boolean } = {}): Promise<GatewayDiscovery> {
    if (options.refresh === true) this.discovery = undefined;
    const discovery = (this.discovery ??= (async () => {
      const response = await this.send(new Request(new URL('/.well-known/meridian', this.baseUrl)));
      if (!response.ok) throw new Error(`GET /.well-known/meridian answered HTTP ${response.status}`);
      return (await response.json()) as GatewayDiscovery;
    })());
    discovery.catch(() => {
      if (this.discovery === discovery) this.discovery = undefined;
    });
    return discovery;
  }

  /** Opens a new PQ session (POST /v1/sessions) and checks the gateway's key confirmation. */
  async openSession(): Promise<PqSession> {
    return openPqSession({
      credentials: this.credentials,
      baseUrl: this.baseUrl,
      discovery: await this.discover(),
      reportedTls: await this.reportedTls(),
      send: this.send,
    });
  }

  /** A live session for this partner, reused until shortly before it expires. */
  session(): Promise<PqSession> {
    return (this.options.sessions ?? sharedSessions).get(`${this.baseUrl} ${this.credentials.partner_id} ${this.credentials.keyid}`, () => this.openSession());
  }

  async submitPayment(instruction: unknown, options: SubmitOptions = {}): Promise<GatewayAnswer<Record<string, unknown>>> {
    return this.submitJws(await signInstructionFor(this.credentials, instruction), options);
  }

  /** Submits an instruction JWS, sealed when asked or when the partner's profile requires PQ. */
  async submitJws(jws: string, options: SubmitOptions = {}): Promise<GatewayAnswer<Record<string, unknown>>> {
    const url = new URL('/v1/payments', this.baseUrl).href;
    const uetr = instructionUetr(jws);
    const perRequest = { ...(options.signal === undefined ? {} : { signal: options.signal }), ...(uetr === undefined ? {} : { uetr }) };
    if (!(options.seal ?? this.credentials.pq === 'required')) {
      return this.answer(await this.send(await signedRequest(this.credentials, { method: 'POST', url, body: jws, contentType: jwsMediaType(jws), ...perRequest })));
    }
    const sealedOnce = async (session: PqSession) => {
      const sealed = await sealInstruction(session, jws);
      return this.answer(await this.send(await signedRequest(this.credentials, { method: 'POST', url, body: sealed, contentType: 'application/jose', ...perRequest })));
    };
    const session = await this.session();
    const answer = await sealedOnce(session);
    if (answer.status !== 401 || answer.body.type !== `${problemTypePrefix}bad-signature`) return answer;
    // A sealed body refused bad-signature is most often a session the gateway no longer honours (its
    // ticket lapsed early through clock skew, or the gateway rotated its ticket keys): the same
    // instruction goes once more under a fresh session (nothing was admitted: a 401 comes before
    // admission). If no fresh session opens, or the refusal was for another reason, the first answer stands.
    const sessions = this.options.sessions ?? sharedSessions;
    await sessions.evict(session);
    const fresh = await this.session().catch(() => undefined);
    return fresh === undefined ? answer : sealedOnce(fresh);
  }

  async paymentStatus(uetr: string, options: { signal?: AbortSignal } = {}): Promise<GatewayAnswer<Record<string, unknown>>> {
    const request = await signedRequest(this.credentials, { method: 'GET', url: new URL(`/v1/payments/${uetr}`, this.baseUrl).href, uetr, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    return this.answer(await this.send(request));
  }

  private async reportedTls(): Promise<string> {
    const configured = this.options.reportedTls;
    if (typeof configured === 'string') return configured;
    if (configured !== undefined) return configured();
    if (new URL(this.baseUrl).protocol === 'http:') return 'none';
    throw new Error('PartnerClient: reportedTls is required for an https gateway (report the TLS version your stack negotiated; negotiatedTlsVersion from @meridian/partner-sdk/node measures it)');
  }

  private async answer(response: Response): Promise<GatewayAnswer<Record<string, unknown>>> {
    const text = await response.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { raw: text };
    }
    return { status: response.status, body, retryAfter: response.headers.get('retry-after') };
  }
}

/** The UETR an instruction JWS (compact or JSON serialization) carries, read without verifying: only a nonce hint depends on it. */
function instructionUetr(jws: string): string | undefined {
  try {
    const payload = jws.trimStart().startsWith('{') ? (JSON.parse(jws) as { payload?: unknown }).payload : jws.split('.')[1];
    if (typeof payload !== 'string') return undefined;
    const uetr = (JSON.parse(new TextDecoder().decode(base64urlDecode(payload))) as { uetr?: unknown }).uetr;
    return typeof uetr === 'string' ? uetr : undefined;
  } catch {
    return undefined;
  }
}
