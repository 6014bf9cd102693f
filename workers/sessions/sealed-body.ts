/**
 * Opens a sealed payment body: a compact JWE (`alg: dir`, `enc: A256GCM`, `kid` = session id) under
 * the session's payload key, whose plaintext is the instruction JWS (compact, or the JSON
 * serialization for hybrid partners).
 *
 * Failure → slug (stable; docs/partner-protocol.md):
 *   not a compact JWE, header not JSON, alg/enc other than dir/A256GCM, zip, no kid,
 *   an encrypted key (dir has none)                                                   → invalid-instruction
 *   kid is no ticket, unknown ticket key, ticket does not authenticate                → bad-signature
 *   session expired                                                                   → bad-signature
 *   session issued to another partner (recorded as a security event)                 → bad-signature
 *   iv, ciphertext or tag altered or truncated                                        → bad-signature
 * A sealed body proves it came from the holder of the session keys; every way that proof fails is
 * the same to the partner as a signature that does not verify, and `detail` says which it was.
 */
import { compactDecrypt, errors } from 'jose';
import { base64urlDecode } from '../../core/digest.ts';
import { ProblemError } from '../../core/problem.ts';
import { parseStrictJson } from '../../core/strict-json.ts';
import { refuseWithSecurityEvent, type SignedRequestContext } from '../downgrade/security-events.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { openTicket, ticketExpired, ticketKeys, type SessionTicket, type TicketFailure } from './session-ticket.ts';

const compactJwePattern = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const sealedHeaderBytesMax = 1024;
/** A256GCM: 96-bit iv and 128-bit tag, base64url without padding. */
const ivChars = 16;
const tagChars = 22;

export function isCompactJwe(body: string): boolean {
  return body.split('.').length === 5;
}

export async function openSealedInstruction(c: SignedRequestContext, jwe: string, nowMs: number): Promise<string> {
  if (!compactJwePattern.test(jwe)) throw new ProblemError('invalid-instruction', 'sealed body is not a compact JWE (five base64url segments)');
  const [, encryptedKey, iv, , tag] = jwe.split('.') as [string, string, string, string, string];
  if (encryptedKey !== '') throw new ProblemError('invalid-instruction', 'sealed body: alg "dir" has an empty encrypted key segment');
  const header = sealedHeader(jwe);
  const opened = await openSession(await ticketKeys(c.env.SESSION_TICKET_KEYS), header.kid, nowMs);
  if (!opened.ok) throw new ProblemError('bad-signature', `sealed body: ${opened.reason.detail}`);
  const partner = c.var.partner;
  if (opened.value.partnerId !== partner.partner_id) {
    await refuseWithSecurityEvent(c, 'foreign-session-ticket', 'bad-signature', `sealed body: the session was issued to another partner, not ${partner.partner_id}`, {
      session_partner_id: opened.value.partnerId,
    });
  }
  if (iv.length !== ivChars || tag.length !== tagChars) throw new ProblemError('bad-signature', 'sealed body: the iv or authentication tag is truncated or too long');
  let plaintext: Uint8Array;
  try {
    ({ plaintext } = await compactDecrypt(jwe, opened.value.payloadCryptoKey, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] }));
  } catch (cause) {
    if (cause instanceof errors.JWEDecryptionFailed) throw new ProblemError('bad-signature', 'sealed body does not decrypt under the session key (altered or truncated)');
    if (cause instanceof errors.JOSEError) throw new ProblemError('invalid-instruction', `sealed body: ${cause.message}`);
    throw cause;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(plaintext).trim();
  } catch {
    throw new ProblemError('invalid-instruction', 'sealed body plaintext is not UTF-8');
  }
}

/**
 * Sessions opened in this isolate, by session id, per set of ticket keys: a partner seals every
 * payment of a session (up to an hour) under one id, and opening its ticket (AES-GCM, JSON) and
 * importing its payload key cost about half of opening a seal (bench/admission.bench.ts, sealed
 * path). Sound because the key is the whole session id: only the exact authenticated ticket bytes
 * find an entry, and an entry holds exactly what opening those bytes again would give. Expiry is
 * checked on every use, and the partner binding by the caller, as for a ticket opened afresh; a
 * rotation of the ticket keys is a new set, with entries of its own. Bounded: the oldest entry
 * goes first, and only signed partner requests reach here.
 */
const openedSessionsMax = 1_024;
type OpenedSession = SessionTicket & { payloadCryptoKey: CryptoKey };
const openedSessions = new WeakMap<object, Map<string, OpenedSession>>();

async function openSession(keys: Parameters<typeof openTicket>[0], sessionId: string, nowMs: number): Promise<Result<OpenedSession, TicketFailure>> {
  let opened = openedSessions.get(keys);
  if (opened === undefined) {
    opened = new Map();
    openedSessions.set(keys, opened);
  }
  const known = opened.get(sessionId);
  if (known !== undefined) {
    const expired = ticketExpired(known.expiresAtMs, nowMs);
    if (expired === null) return ok(known);
    opened.delete(sessionId);
    return err(expired);
  }
  const ticket = await openTicket(keys, sessionId, nowMs);
  if (!ticket.ok) return ticket;
  const session = { ...ticket.value, payloadCryptoKey: await crypto.subtle.importKey('raw', ticket.value.payloadKey, { name: 'AES-GCM' }, false, ['decrypt']) };
  if (opened.size >= openedSessionsMax) opened.delete(opened.keys().next().value as string);
  opened.set(sessionId, session);
  return ok(session);
}

function sealedHeader(jwe: string): { kid: string } {
  const encoded = jwe.slice(0, jwe.indexOf('.'));
  if (encoded.length > sealedHeaderBytesMax) throw new ProblemError('invalid-instruction', `sealed body header exceeds ${sealedHeaderBytesMax} characters`);
  let headerText: string;
  try {
    headerText = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(base64urlDecode(encoded));
  } catch {
    throw new ProblemError('invalid-instruction', 'sealed body header is not base64url UTF-8');
  }
  // Strict: a header naming two kids (JSON.parse would take the last) is ambiguous, so it is refused.
  const parsed = parseStrictJson(headerText);
  if (!parsed.ok) throw new ProblemError('invalid-instruction', `sealed body header is not JSON without duplicate members: ${parsed.reason.detail}`);
  const header = parsed.value as Record<string, unknown>;
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new ProblemError('invalid-instruction', 'sealed body header must be a JSON object');
  if (header.alg !== 'dir' || header.enc !== 'A256GCM') throw new ProblemError('invalid-instruction', 'sealed body must be a JWE with alg "dir" and enc "A256GCM"');
  // Own members only: `in` would also see Object.prototype's (no `zip` there today, but the test is about the header).
  if (Object.hasOwn(header, 'zip')) throw new ProblemError('invalid-instruction', 'sealed body must not be compressed (zip)');
  if (typeof header.kid !== 'string' || header.kid.length === 0) throw new ProblemError('invalid-instruction', 'sealed body header needs kid = the session id');
  return { kid: header.kid };
}
