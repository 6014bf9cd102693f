/**
 * Stateless session tickets: the session id *is* the session, sealed with AES-256-GCM under a
 * gateway ticket key, so any edge location can open it without a lookup and nothing needs to be
 * stored or expired. The ticket carries the partner it was issued to, the payload key and the
 * expiry (≤ 1 h after issue).
 *
 *   session_id = "mst1." kid "." base64url(iv[12] ‖ AES-256-GCM(ticket key, iv, aad, plaintext) ‖ tag[16])
 *   aad        = ASCII("mst1." kid)                      binds the version and the key id
 *   plaintext  = JSON {"p": partner_id, "k": base64url(payload key), "e": expires_at_ms}
 *
 * Rotation: the binding holds a current and an optional previous key, each with a key id. New
 * tickets use the current key; a ticket under the previous key opens until it expires; a ticket
 * under any other key id is refused. Rotating more often than the session lifetime (1 h) would cut
 * live sessions short, so rotate at most hourly.
 */
import { base64urlDecode, base64urlEncode, utf8 } from '../../core/digest.ts';
import { sessionTtlMaxMs } from '../../core/pq-session.ts';
import { err, ok, type Result } from '../../core/result.ts';

export const ticketVersion = 'mst1';
const ivBytes = 12;
const tagBytes = 16;
const keyBytes = 32;
const sessionIdBytesMax = 512;
/** Tolerated clock difference between the isolate that issued a ticket and the one opening it. */
const ticketClockSkewMaxMs = 60_000;
const kidPattern = /^[A-Za-z0-9_-]{1,32}$/;
const sessionIdPattern = /^mst1\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]+)$/;

export interface SessionTicket {
  partnerId: string;
  payloadKey: Uint8Array;
  expiresAtMs: number;
}

export type TicketFailure =
  | { kind: 'malformed'; detail: string }
  | { kind: 'unknown-key'; detail: string }
  | { kind: 'undecryptable'; detail: string }
  | { kind: 'expired'; detail: string };

interface TicketKey {
  kid: string;
  key: CryptoKey;
}

interface TicketKeys {
  current: TicketKey;
  byKid: Map<string, TicketKey>;
}

let cached: { source: string; keys: Promise<TicketKeys> } | undefined;

export function ticketKeys(source: string): Promise<TicketKeys> {
  if (cached?.source === source) return cached.keys;
  const keys = importTicketKeys(source);
  cached = { source, keys };
  return keys;
}

async function importTicketKeys(source: string): Promise<TicketKeys> {
  const parsed = JSON.parse(source) as { current?: { kid?: unknown; key?: unknown }; previous?: { kid?: unknown; key?: unknown } };
  const current = await importTicketKey(parsed.current, 'current');
  const byKid = new Map([[current.kid, current]]);
  if (parsed.previous !== undefined) {
    const previous = await importTicketKey(parsed.previous, 'previous');
    if (byKid.has(previous.kid)) throw new Error('SESSION_TICKET_KEYS: previous and current share a kid');
    byKid.set(previous.kid, previous);
  }
  return { current, byKid };
}

async function importTicketKey(entry: { kid?: unknown; key?: unknown } | undefined, name: string): Promise<TicketKey> {
  if (entry === undefined || typeof entry.kid !== 'string' || !kidPattern.test(entry.kid) || typeof entry.key !== 'string') {
    throw new Error(`SESSION_TICKET_KEYS.${name} must be {"kid": [A-Za-z0-9_-]{1,32}, "key": base64url}`);
  }
  const raw = base64urlDecode(entry.key);
  if (raw.length !== keyBytes) throw new Error(`SESSION_TICKET_KEYS.${name}.key must be ${keyBytes} bytes`);
  return { kid: entry.kid, key: await crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']) };
}

export async function sealTicket(keys: TicketKeys, ticket: SessionTicket): Promise<string> {
  const { kid, key } = keys.current;
  const iv = crypto.getRandomValues(new Uint8Array(ivBytes));
  const plaintext = utf8(JSON.stringify({ p: ticket.partnerId, k: base64urlEncode(ticket.payloadKey), e: ticket.expiresAtMs }));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(`${ticketVersion}.${kid}`) }, key, plaintext));
  const body = new Uint8Array(ivBytes + sealed.length);
  body.set(iv);
  body.set(sealed, ivBytes);
  return `${ticketVersion}.${kid}.${base64urlEncode(body)}`;
}

/** Opens a session id. Whose ticket it is (the partner check) is the caller's decision. */
export async function openTicket(keys: TicketKeys, sessionId: string, nowMs: number): Promise<Result<SessionTicket, TicketFailure>> {
  if (sessionId.length > sessionIdBytesMax) return err({ kind: 'malformed', detail: 'session id is too long' });
  const match = sessionIdPattern.exec(sessionId);
  if (match === null) return err({ kind: 'malformed', detail: 'session id is not a Meridian session ticket' });
  const [, kid, encoded] = match as unknown as [string, string, string];
  const key = keys.byKid.get(kid);
  if (key === undefined) return err({ kind: 'unknown-key', detail: `session ticket key ${kid} is not current or previous (the session ended with a key rotation)` });
  let body: Uint8Array;
  try {
    body = base64urlDecode(encoded);
  } catch {
    return err({ kind: 'malformed', detail: 'session id is not base64url' });
  }
  if (body.length < ivBytes + tagBytes + 2) return err({ kind: 'malformed', detail: 'session id is truncated' });
  let plaintext: Uint8Array;
  try {
    plaintext = new Uint8Array(await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: body.subarray(0, ivBytes), additionalData: utf8(`${ticketVersion}.${kid}`) }, key.key, body.subarray(ivBytes),
    ));
  } catch {
    return err({ kind: 'undecryptable', detail: 'session ticket does not authenticate' });
  }
  // Authenticated plaintext was written by sealTicket: a shape error here is a bug, not input.
  const claims = JSON.parse(new TextDecoder().decode(plaintext)) as { p: string; k: string; e: number };
  const expired = ticketExpired(claims.e, nowMs);
  if (expired !== null) return err(expired);
  if (claims.e > nowMs + sessionTtlMaxMs + ticketClockSkewMaxMs) {
    // Only a holder of the ticket key can mint this: refuse it, and say so loudly in the logs.
    console.error(JSON.stringify({ event: 'session-ticket-lifetime-exceeded', kid, expires_at_ms: claims.e }));
    return err({ kind: 'undecryptable', detail: 'session ticket lifetime exceeds the maximum' });
  }
  return ok({ partnerId: claims.p, payloadKey: base64urlDecode(claims.k), expiresAtMs: claims.e });
}

/** The refusal of a ticket that has expired by `nowMs`, or null: for a ticket opened now or earlier (sealed-body.ts keeps opened ones). */
export function ticketExpired(expiresAtMs: number, nowMs: number): Extract<TicketFailure, { kind: 'expired' }> | null {
  return expiresAtMs <= nowMs ? { kind: 'expired', detail: `session expired at ${new Date(expiresAtMs).toISOString()}` } : null;
}
