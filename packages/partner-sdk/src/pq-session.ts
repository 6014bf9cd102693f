/**
 * The client side of the PQ session (DESIGN.md "PQ session"): HPKE base mode to the gateway's
 * X-Wing key (from discovery), the signed offer, the key confirmation check, and sealing an
 * instruction JWS as a compact JWE (`dir`, `A256GCM`, `kid` = session id) under the payload key.
 *
 * If the gateway's `confirm` does not match, the gateway did not derive our keys from our exact
 * offer: the session is abandoned, never used.
 */
import { CompactEncrypt } from 'jose';
import { base64urlDecode, base64urlEncode, utf8 } from '../../../core/digest.ts';
import { exportSessionKeys, hpkeSessionSuite, sessionConfirm, sessionInfo, sessionSuite } from '../../../core/pq-session.ts';
import { isHybrid, signedRequest, type PartnerCredentials } from './request-signing.ts';

export interface GatewayDiscovery {
  gateway_id: string;
  xwing: { kid: string; public_key: string };
  session_suite: typeof sessionSuite;
  signature_algorithms: string[];
  min_tls_version: string;
  [member: string]: unknown;
}

export interface PqSession {
  sessionId: string;
  expiresAtMs: number;
  payloadKey: Uint8Array;
  partnerId: string;
}

export class SessionHandshakeError extends Error {
  readonly kind = 'session-handshake';
  readonly status: number;
  readonly answer: unknown;

  constructor(message: string, status: number, answer: unknown) {
    super(message);
    this.status = status;
    this.answer = answer;
  }
}

export interface OpenSessionInput {
  credentials: PartnerCredentials;
  baseUrl: string;
  discovery: GatewayDiscovery;
  /** The TLS version the client's own stack negotiated ("TLSv1.3", …, or "none"). */
  reportedTls: string;
  send: (request: Request) => Promise<Response>;
}

/** The offer this SDK makes: what it supports, most preferred first, and the signatures it signs with. */
export function sdkOffer(credentials: PartnerCredentials, reportedTls: string) {
  return {
    kems: [sessionSuite.kem],
    aeads: [sessionSuite.aead],
    sigs: isHybrid(credentials) ? ['ed25519', 'ml-dsa-65'] : ['ed25519'],
    tls: reportedTls,
  };
}

export async function openPqSession(input: OpenSessionInput): Promise<PqSession> {
  const suite = hpkeSessionSuite();
  const recipientPublicKey = await suite.kem.deserializePublicKey(base64urlDecode(input.discovery.xwing.public_key));
  const sender = await suite.createSenderContext({ recipientPublicKey, info: sessionInfo });
  const body = JSON.stringify({ suite: sessionSuite, enc: base64urlEncode(new Uint8Array(sender.enc)), offer: sdkOffer(input.credentials, input.reportedTls) });
  const request = await signedRequest(input.credentials, { method: 'POST', url: new URL('/v1/sessions', input.baseUrl).href, body, contentType: 'application/json' });
  const response = await input.send(request);
  const answer = (await response.json().catch(() => null)) as { session_id?: unknown; expires_at?: unknown; confirm?: unknown } | null;
  if (response.status !== 201 || answer === null) throw new SessionHandshakeError(`POST /v1/sessions answered ${response.status}`, response.status, answer);
  const keys = await exportSessionKeys(sender);
  if (answer.confirm !== sessionConfirm(keys.confirmKey, utf8(body))) {
    throw new SessionHandshakeError('the gateway key confirmation does not match our offer: session abandoned', response.status, answer);
  }
  if (typeof answer.session_id !== 'string' || typeof answer.expires_at !== 'string') throw new SessionHandshakeError('session answer lacks session_id or expires_at', response.status, answer);
  return { sessionId: answer.session_id, expiresAtMs: Date.parse(answer.expires_at), payloadKey: keys.payloadKey, partnerId: input.credentials.partner_id };
}

/** Seals an instruction JWS (compact or JSON serialization) as the compact JWE the gateway opens. */
export function sealInstruction(session: PqSession, jws: string): Promise<string> {
  return new CompactEncrypt(utf8(jws)).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: session.sessionId }).encrypt(session.payloadKey);
}

/** Renew this long before expiry so a sealed body never arrives with a ticket that just expired. */
export const sessionRenewBeforeMs = 60_000;

/** Live sessions by key; concurrent callers share one handshake. */
export class SessionCache {
  private readonly sessions = new Map<string, Promise<PqSession>>();

  async get(key: string, open: () => Promise<PqSession>): Promise<PqSession> {
    const cached = this.sessions.get(key);
    if (cached !== undefined) {
      const session = await cached.catch(() => undefined);
      if (session !== undefined && session.expiresAtMs - sessionRenewBeforeMs > Date.now()) return session;
      if (this.sessions.get(key) === cached) this.sessions.delete(key);
    }
    const opening = open();
    this.sessions.set(key, opening);
    opening.catch(() => {
      if (this.sessions.get(key) === opening) this.sessions.delete(key);
    });
    return opening;
  }

  /** Drops `session` wherever it is cached; resolved once it is gone, so the next `get` opens a new one. */
  async evict(session: PqSession): Promise<void> {
    await Promise.all([...this.sessions].map(async ([key, entry]) => {
      const candidate = await entry.catch(() => undefined);
      if (candidate?.sessionId === session.sessionId && this.sessions.get(key) === entry) this.sessions.delete(key);
    }));
  }
}
