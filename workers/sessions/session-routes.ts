/**
 * POST /v1/sessions: the PQ session handshake of DESIGN.md, top to bottom:
 * media type → body limit → message signature + digest + nonce → TLS posture (downgrade case 1) →
 * strict request schema → suite → offer vs request (case 3) → reported vs observed TLS (case 4) →
 * HPKE base-mode decapsulation (X-Wing, HKDF-SHA256, AES-256-GCM, info "meridian/v1 session") →
 * exports → stateless ticket → 201 {session_id, expires_at, suite, confirm}.
 *
 * Nothing is stored: the session id is the sealed ticket (session-ticket.ts).
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { base64urlDecode } from '../../core/digest.ts';
import { exportSessionKeys, hpkeSessionSuite, sessionConfirm, sessionInfo, sessionSuite, sessionTtlMaxMs, xwingEncBytes } from '../../core/pq-session.ts';
import { ProblemError } from '../../core/problem.ts';
import { parseStrictJson } from '../../core/strict-json.ts';
import { enforceTransportPosture, type TransportVariables } from '../downgrade/enforce-transport-posture.ts';
import { offerDowngrade } from '../downgrade/handshake-offer.ts';
import { refuseWithSecurityEvent } from '../downgrade/security-events.ts';
import { reportedTls } from '../downgrade/tls-posture.ts';
import type { Env } from '../env.ts';
import { verifyMessageSignature } from '../message-signature/verify-message-signature.ts';
import { gatewayKemKey } from './gateway-kem-key.ts';
import { sealTicket, ticketKeys } from './session-ticket.ts';

export const sessionBodyBytesMax = 8 * 1024;
export const sessionTtlMs = sessionTtlMaxMs;
const offerEntriesMax = 16;
const algorithmName = z.string().min(1).max(64);

export const sessionRequestSchema = z.strictObject({
  suite: z.strictObject({ kem: algorithmName, kdf: algorithmName, aead: algorithmName }),
  enc: z.string().max(2 * xwingEncBytes).regex(/^[A-Za-z0-9_-]+$/, 'enc must be base64url'),
  offer: z.strictObject({
    kems: z.array(algorithmName).min(1).max(offerEntriesMax),
    aeads: z.array(algorithmName).min(1).max(offerEntriesMax),
    sigs: z.array(algorithmName).min(1).max(offerEntriesMax),
    tls: z.string().max(16),
  }),
});

type SessionsApp = { Bindings: Env; Variables: TransportVariables };

export function sessionRoutes(): Hono<SessionsApp> {
  const sessions = new Hono<SessionsApp>();
  sessions.post(
    '/',
    async (c, next) => {
      const contentType = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
      if (contentType !== 'application/json') throw new ProblemError('unsupported-media-type', 'Content-Type must be application/json');
      await next();
    },
    bodyLimit({ maxSize: sessionBodyBytesMax, onError: () => { throw new ProblemError('payload-too-large', `body exceeds ${sessionBodyBytesMax} bytes`); } }),
    verifyMessageSignature(),
    enforceTransportPosture(),
    async (c) => {
      const request = parseSessionRequest(c.var.body);
      const { suite, offer } = request;
      if (suite.kem !== sessionSuite.kem || suite.kdf !== sessionSuite.kdf || suite.aead !== sessionSuite.aead) {
        throw new ProblemError('invalid-request', `unsupported suite; the gateway speaks ${JSON.stringify(sessionSuite)}`);
      }
      const downgrade = offerDowngrade(offer, suite, c.var.signatureAlgorithms);
      if (downgrade !== null) await refuseWithSecurityEvent(c, downgrade.kind, 'downgrade-detected', downgrade.detail, { offer });
      const reported = reportedTls(offer.tls);
      if (reported === undefined) throw new ProblemError('invalid-request', 'offer.tls must be one of TLSv1.3, TLSv1.2, TLSv1.1, TLSv1, none');
      if (c.var.tls.kind === 'observed' && reported !== c.var.tls.version) {
        await refuseWithSecurityEvent(c, 'tls-report-mismatch', 'downgrade-detected', `client reports ${reported} but the edge observed ${c.var.tls.raw || 'no TLS'}`, {
          reported_tls: offer.tls,
          observed_tls: c.var.tls.raw,
        });
      }

      const keys = await openHpkeSession(c.env, request.enc);
      const expiresAtMs = Date.now() + sessionTtlMs;
      const sessionId = await sealTicket(await ticketKeys(c.env.SESSION_TICKET_KEYS), { partnerId: c.var.partner.partner_id, payloadKey: keys.payloadKey, expiresAtMs });
      return c.json({ session_id: sessionId, expires_at: new Date(expiresAtMs).toISOString(), suite: sessionSuite, confirm: sessionConfirm(keys.confirmKey, c.var.body) }, 201);
    },
  );
  return sessions;
}

function parseSessionRequest(body: Uint8Array): z.infer<typeof sessionRequestSchema> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body);
  } catch {
    throw new ProblemError('invalid-request', 'session request body is not UTF-8');
  }
  const strict = parseStrictJson(text);
  if (!strict.ok) throw new ProblemError('invalid-request', `session request body is not JSON without duplicate members: ${strict.reason.detail}`);
  const json = strict.value;
  const parsed = sessionRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 8).map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`);
    throw new ProblemError('invalid-request', `session request: ${issues.join('; ')}`, { issues });
  }
  return parsed.data;
}

/** HPKE base mode, recipient side. X-Wing decapsulation accepts any 1120 bytes (implicit rejection), so a bad enc only yields keys nobody else has. */
async function openHpkeSession(env: Env, encoded: string) {
  let enc: Uint8Array;
  try {
    enc = base64urlDecode(encoded);
  } catch {
    throw new ProblemError('invalid-request', 'enc is not base64url');
  }
  if (enc.length !== xwingEncBytes) throw new ProblemError('invalid-request', `enc must be an X-Wing encapsulation of ${xwingEncBytes} bytes, got ${enc.length}`);
  const kemKey = await gatewayKemKey(env.GATEWAY_XWING_KEY);
  let recipient;
  try {
    recipient = await hpkeSessionSuite().createRecipientContext({ recipientKey: kemKey.privateKey, enc: enc.slice().buffer, info: sessionInfo });
  } catch (cause) {
    throw new ProblemError('invalid-request', `enc does not decapsulate: ${(cause as Error).message}`);
  }
  return exportSessionKeys(recipient);
}
