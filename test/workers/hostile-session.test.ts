/**
 * Hostile input against the post-quantum parts of the partner protocol: the session handshake
 * (POST /v1/sessions), sealed bodies (compact JWE under a session ticket), hybrid partners'
 * sig2 and JWS JSON serialization, and transport downgrades. Each case must get a 4xx
 * problem+json with its exact slug: never a 5xx, never a 201/202.
 *
 * Slugs for sealed bodies follow workers/sessions/sealed-body.ts: a body that is not a well-formed
 * dir/A256GCM JWE is `invalid-instruction`; a seal that does not open (ticket unknown, expired,
 * foreign, tampered; ciphertext or tag altered) is `bad-signature`.
 */
import { env, SELF } from 'cloudflare:test';
import { CompactEncrypt } from 'jose';
import { describe, expect, it } from 'vitest';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import {
  openPqSession, sealInstruction, signedRequest, signHybridInstruction, signInstruction, type GatewayDiscovery, type PartnerCredentials, type PqSession,
} from '../../packages/partner-sdk/src/partner-client.ts';
import { base64Decode, base64Encode, base64urlDecode, base64urlEncode, utf8 } from '../../core/digest.ts';
import { jwsSigningInput } from '../../core/hybrid-jws.ts';
import { mlDsa65KeyPairFromSeed, signMlDsa65 } from '../../core/ml-dsa.ts';
import { hpkeSessionSuite, sessionInfo, sessionSuite, xwingEncBytes } from '../../core/pq-session.ts';
import { sealTicket, ticketKeys } from '../../workers/sessions/session-ticket.ts';
import { craftRequest, ed25519Sign, runHostileCases, segment, type CraftOptions, type HostileCase } from './hostile-support.ts';
import { alpha, bravo, charlie, eurPayment, gatewayUrl } from './support.ts';
import deltaSg from '../../dev/partners/delta-sg.json';

const delta = deltaSg as PartnerCredentials & { bic: string };
const sessionsUrl = `${gatewayUrl}/v1/sessions`;
const hybridMediaType = 'application/jose+json';

const hostile = (name: string, slug: HostileCase['slug'], request: () => Promise<Request>, extra: Partial<HostileCase> = {}): HostileCase => ({ name, slug, request, ...extra });

let discoveryDocument: Promise<GatewayDiscovery> | undefined;
function discovery(): Promise<GatewayDiscovery> {
  discoveryDocument ??= SELF.fetch(`${gatewayUrl}/.well-known/meridian`).then((response) => response.json() as Promise<GatewayDiscovery>);
  return discoveryDocument;
}

function openSession(partner: PartnerCredentials): Promise<PqSession> {
  return discovery().then((document) => openPqSession({ credentials: partner, baseUrl: gatewayUrl, discovery: document, reportedTls: 'TLSv1.3', send: (request) => SELF.fetch(request) }));
}

/** A fresh sealed body of an honest instruction: [protected, encrypted key, iv, ciphertext, tag]. */
async function sealedParts(session: PqSession, jws?: string): Promise<string[]> {
  return (await sealInstruction(session, jws ?? (await signInstruction(alpha, eurPayment())))).split('.');
}

const postSealed = (body: string, options: CraftOptions = {}): Promise<Request> => craftRequest({ body, ...options });

async function sealedWith(change: (parts: string[]) => void): Promise<Request> {
  const parts = await sealedParts(await openSession(alpha));
  change(parts);
  return postSealed(parts.join('.'));
}

/** Flips one bit in the base64url segment's decoded bytes at `index` (negative: from the end). */
function flipByte(segmentText: string, index: number): string {
  const bytes = base64urlDecode(segmentText);
  const at = index < 0 ? bytes.length + index : index;
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  return base64urlEncode(bytes);
}

/** A JWE under `payloadKey` with any protected header (jose refuses none of the shapes we test). */
function encryptWith(header: Record<string, unknown>, payloadKey: Uint8Array, plaintext: string | Uint8Array): Promise<string> {
  return new CompactEncrypt(typeof plaintext === 'string' ? utf8(plaintext) : plaintext).setProtectedHeader(header as { alg: string; enc: string }).encrypt(payloadKey);
}

/** A dir/A256GCM compact JWE over an exact protected-header text (jose always re-serializes the header, so duplicates need this). */
async function encryptOverHeaderText(headerText: string, payloadKey: Uint8Array, plaintext: string): Promise<string> {
  const protectedSegment = segment(headerText);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await crypto.subtle.importKey('raw', payloadKey, { name: 'AES-GCM' }, false, ['encrypt']);
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(protectedSegment), tagLength: 128 }, key, utf8(plaintext)));
  return [protectedSegment, '', base64urlEncode(iv), base64urlEncode(sealed.slice(0, -16)), base64urlEncode(sealed.slice(-16))].join('.');
}

/** A ticket minted with the gateway's own ticket key, for claims the handshake would never issue. */
async function forgedTicket(claims: { partnerId: string; expiresAtMs: number }, payloadKey: Uint8Array): Promise<string> {
  return sealTicket(await ticketKeys(env.SESSION_TICKET_KEYS), { ...claims, payloadKey });
}

async function rogueTicket(payloadKey: Uint8Array): Promise<string> {
  const rogueKeys = await ticketKeys(JSON.stringify({ current: { kid: 'rogue', key: base64urlEncode(crypto.getRandomValues(new Uint8Array(32))) } }));
  return sealTicket(rogueKeys, { partnerId: alpha.partner_id, payloadKey, expiresAtMs: Date.now() + 600_000 });
}

async function sealedUnderTicket(ticket: (payloadKey: Uint8Array) => Promise<string>): Promise<Request> {
  const payloadKey = crypto.getRandomValues(new Uint8Array(32));
  const jwe = await encryptWith({ alg: 'dir', enc: 'A256GCM', kid: await ticket(payloadKey) }, payloadKey, await signInstruction(alpha, eurPayment()));
  return postSealed(jwe);
}

async function sealedUnderSessionWith(header: Record<string, unknown>, plaintext?: string | Uint8Array): Promise<Request> {
  const session = await openSession(alpha);
  const jwe = await encryptWith({ alg: 'dir', enc: 'A256GCM', kid: session.sessionId, ...header }, session.payloadKey, plaintext ?? (await signInstruction(alpha, eurPayment())));
  return postSealed(jwe);
}

const sealedCases: HostileCase[] = [
  hostile('ticket expired a second ago', 'bad-signature', () => sealedUnderTicket((key) => forgedTicket({ partnerId: alpha.partner_id, expiresAtMs: Date.now() - 1_000 }, key))),
  hostile('ticket expired a day ago', 'bad-signature', () => sealedUnderTicket((key) => forgedTicket({ partnerId: alpha.partner_id, expiresAtMs: Date.now() - 86_400_000 }, key))),
  hostile('ticket issued to another partner (forged with the ticket key)', 'bad-signature', () => sealedUnderTicket((key) => forgedTicket({ partnerId: charlie.partner_id, expiresAtMs: Date.now() + 600_000 }, key))),
  hostile("another partner's real session (Charlie's ticket, Alpha's request)", 'bad-signature', async () => {
    const session = await openSession(charlie);
    return postSealed(await sealInstruction(session, await signInstruction(alpha, eurPayment())));
  }),
  hostile('ticket under a ticket key the gateway never had', 'bad-signature', () => sealedUnderTicket(rogueTicket)),
  hostile('ticket with one bit flipped', 'bad-signature', () => sealedWith((parts) => {
    const header = JSON.parse(new TextDecoder().decode(base64urlDecode(parts[0]!))) as { kid: string };
    const [version, kid, body] = header.kid.split('.') as [string, string, string];
    parts[0] = segment({ ...header, kid: `${version}.${kid}.${flipByte(body, 20)}` });
  })),
  hostile('ticket truncated', 'bad-signature', () => sealedWith((parts) => {
    const header = JSON.parse(new TextDecoder().decode(base64urlDecode(parts[0]!))) as { kid: string };
    parts[0] = segment({ ...header, kid: header.kid.slice(0, 24) });
  })),
  hostile('kid that is no ticket', 'bad-signature', () => sealedUnderTicket(async () => 'session-42')),
  hostile('kid of 600 characters', 'bad-signature', () => sealedUnderTicket(async () => `mst1.k.${'A'.repeat(600)}`)),
  hostile("wrong kid: another live session's id of the same partner", 'bad-signature', async () => {
    const [first, second] = await Promise.all([openSession(alpha), openSession(alpha)]);
    const jwe = await encryptWith({ alg: 'dir', enc: 'A256GCM', kid: second.sessionId }, first.payloadKey, await signInstruction(alpha, eurPayment()));
    return postSealed(jwe);
  }),
  hostile('ciphertext truncated by one byte', 'bad-signature', () => sealedWith((parts) => {
    parts[3] = base64urlEncode(base64urlDecode(parts[3]!).slice(0, -1));
  })),
  hostile('ciphertext truncated to 16 bytes', 'bad-signature', () => sealedWith((parts) => {
    parts[3] = base64urlEncode(base64urlDecode(parts[3]!).slice(0, 16));
  })),
  hostile('ciphertext with one bit flipped', 'bad-signature', () => sealedWith((parts) => {
    parts[3] = flipByte(parts[3]!, 10);
  })),
  hostile('tag with one bit flipped', 'bad-signature', () => sealedWith((parts) => {
    parts[4] = flipByte(parts[4]!, -1);
  })),
  hostile('tag truncated to 12 bytes', 'bad-signature', () => sealedWith((parts) => {
    parts[4] = base64urlEncode(base64urlDecode(parts[4]!).slice(0, 12));
  })),
  hostile('iv with one bit flipped', 'bad-signature', () => sealedWith((parts) => {
    parts[2] = flipByte(parts[2]!, 0);
  })),
  hostile('protected header re-encoded with an extra member (AAD changed)', 'bad-signature', () => sealedWith((parts) => {
    const header = JSON.parse(new TextDecoder().decode(base64urlDecode(parts[0]!))) as Record<string, unknown>;
    parts[0] = segment({ ...header, cty: 'JWS' });
  })),
  hostile('sealed header repeats kid (garbage first, the real ticket last), encrypted over that exact header', 'invalid-instruction', async () => {
    const session = await openSession(alpha);
    const headerText = `{"alg":"dir","enc":"A256GCM","kid":"mst1.x.AAAA","kid":${JSON.stringify(session.sessionId)}}`;
    return postSealed(await encryptOverHeaderText(headerText, session.payloadKey, await signInstruction(alpha, eurPayment())));
  }),
  hostile('alg RSA-OAEP-256', 'invalid-instruction', () => sealedWith((parts) => {
    const header = JSON.parse(new TextDecoder().decode(base64urlDecode(parts[0]!))) as Record<string, unknown>;
    parts[0] = segment({ ...header, alg: 'RSA-OAEP-256' });
  })),
  hostile('enc A128GCM', 'invalid-instruction', () => sealedWith((parts) => {
    const header = JSON.parse(new TextDecoder().decode(base64urlDecode(parts[0]!))) as Record<string, unknown>;
    parts[0] = segment({ ...header, enc: 'A128GCM' });
  })),
  hostile('enc A256CBC-HS512', 'invalid-instruction', () => sealedWith((parts) => {
    const header = JSON.parse(new TextDecoder().decode(base64urlDecode(parts[0]!))) as Record<string, unknown>;
    parts[0] = segment({ ...header, enc: 'A256CBC-HS512' });
  })),
  hostile('zip DEF (compressed)', 'invalid-instruction', () => sealedWith((parts) => {
    const header = JSON.parse(new TextDecoder().decode(base64urlDecode(parts[0]!))) as Record<string, unknown>;
    parts[0] = segment({ ...header, zip: 'DEF' });
  })),
  hostile('no kid', 'invalid-instruction', () => sealedWith((parts) => {
    const { kid: _kid, ...header } = JSON.parse(new TextDecoder().decode(base64urlDecode(parts[0]!))) as Record<string, unknown>;
    parts[0] = segment(header);
  })),
  hostile('kid a number', 'invalid-instruction', () => sealedWith((parts) => {
    const header = JSON.parse(new TextDecoder().decode(base64urlDecode(parts[0]!))) as Record<string, unknown>;
    parts[0] = segment({ ...header, kid: 42 });
  })),
  hostile('protected header not JSON', 'invalid-instruction', () => sealedWith((parts) => {
    parts[0] = segment('dir/A256GCM');
  })),
  hostile('protected header JSON null', 'invalid-instruction', () => sealedWith((parts) => {
    parts[0] = segment('null');
  })),
  hostile('a non-empty encrypted key with alg dir', 'invalid-instruction', () => sealedWith((parts) => {
    parts[1] = base64urlEncode(new Uint8Array(32));
  })),
  hostile('iv truncated to 3 bytes', 'bad-signature', () => sealedWith((parts) => {
    parts[2] = base64urlEncode(base64urlDecode(parts[2]!).slice(0, 3));
  })),
  hostile('six segments', 'invalid-instruction', () => sealedWith((parts) => {
    parts.push('AAAA');
  })),
  hostile('five segments, one with a foreign character', 'invalid-instruction', () => sealedWith((parts) => {
    parts[3] = `${parts[3]!.slice(0, 4)}+${parts[3]!.slice(5)}`;
  })),
  hostile('plaintext is the unsigned instruction JSON', 'invalid-instruction', () => sealedUnderSessionWith({}, JSON.stringify(eurPayment()))),
  hostile('plaintext is not UTF-8', 'invalid-instruction', () => sealedUnderSessionWith({}, new Uint8Array([0xff, 0xfe, 0x00]))),
  hostile('plaintext is another sealed body (nested JWE)', 'invalid-instruction', async () => {
    const session = await openSession(alpha);
    const inner = await sealInstruction(session, await signInstruction(alpha, eurPayment()));
    return postSealed(await sealInstruction(session, inner));
  }),
  hostile("plaintext is another partner's JWS", 'bad-signature', async () => postSealed(await sealInstruction(await openSession(alpha), await signInstruction(charlie, eurPayment())))),
  hostile('a sealed body sent as application/jose+json', 'invalid-instruction', async () => postSealed((await sealedParts(await openSession(alpha))).join('.'), { contentType: hybridMediaType })),
];

const bravoPayment = () => buildInstruction({ debtorBic: bravo.bic, debtorCountry: 'FR', creditorBic: alpha.bic, creditorCountry: 'DE', amount: '12.34', currency: 'EUR', targetCurrency: 'EUR' });

const pqRequiredCases: HostileCase[] = [
  hostile('pq-required partner sends an unsealed compact JWS', 'pq-required', async () => craftRequest({ body: await signInstruction(bravo, bravoPayment()), signer: bravo })),
  hostile('pq-required partner sends an unsealed JWS JSON', 'pq-required', async () => {
    const [protectedHeader, payload, signature] = (await signInstruction(bravo, bravoPayment())).split('.');
    return craftRequest({ body: JSON.stringify({ payload, signatures: [{ protected: protectedHeader, signature }] }), signer: bravo, contentType: hybridMediaType });
  }),
  hostile("pq-required partner seals under Alpha's session", 'bad-signature', async () => craftRequest({ body: await sealInstruction(await openSession(alpha), await signInstruction(bravo, bravoPayment())), signer: bravo })),
  hostile('pq-required partner seals under an expired ticket', 'bad-signature', async () => {
    const payloadKey = crypto.getRandomValues(new Uint8Array(32));
    const kid = await forgedTicket({ partnerId: bravo.partner_id, expiresAtMs: Date.now() - 1 }, payloadKey);
    return craftRequest({ body: await encryptWith({ alg: 'dir', enc: 'A256GCM', kid }, payloadKey, await signInstruction(bravo, bravoPayment())), signer: bravo });
  }),
];

interface SessionBodyParts {
  suite?: unknown;
  enc?: unknown;
  offer?: Record<string, unknown>;
  extra?: Record<string, unknown>;
}

async function honestEnc(): Promise<string> {
  const document = await discovery();
  const suite = hpkeSessionSuite();
  const recipientPublicKey = await suite.kem.deserializePublicKey(base64urlDecode(document.xwing.public_key));
  const sender = await suite.createSenderContext({ recipientPublicKey, info: sessionInfo });
  return base64urlEncode(new Uint8Array(sender.enc));
}

async function sessionBody(parts: SessionBodyParts = {}, partner: PartnerCredentials = alpha): Promise<string> {
  const hybrid = partner.ml_dsa_65 !== undefined;
  return JSON.stringify({
    suite: parts.suite ?? sessionSuite,
    enc: parts.enc ?? (await honestEnc()),
    offer: { kems: ['X-Wing'], aeads: ['AES-256-GCM'], sigs: hybrid ? ['ed25519', 'ml-dsa-65'] : ['ed25519'], tls: 'TLSv1.3', ...parts.offer },
    ...parts.extra,
  });
}

const postSession = async (body: string | Promise<string>, options: CraftOptions = {}): Promise<Request> =>
  craftRequest({ url: sessionsUrl, body: await body, contentType: 'application/json', ...options });

/** Hybrid partners sign with the SDK (sig1 + sig2); the hostile part is in the body or offer. */
const postHybridSession = async (body: string | Promise<string>): Promise<Request> =>
  signedRequest(delta, { method: 'POST', url: sessionsUrl, body: await body, contentType: 'application/json' });

const handshakeCases: HostileCase[] = [
  hostile('session request as application/jose', 'unsupported-media-type', () => postSession(sessionBody(), { contentType: 'application/jose' })),
  hostile('session request without Content-Type', 'unsupported-media-type', () => postSession(sessionBody(), { contentType: null, components: ['@method', '@target-uri', 'content-digest'] })),
  hostile('session request of 9 KiB', 'payload-too-large', () => postSession(sessionBody({ extra: { padding: 'p'.repeat(9 * 1024) } }))),
  hostile('session request unsigned', 'bad-signature', () => postSession(sessionBody(), { signatureInput: null, signature: null })),
  hostile('session request with a tampered digest', 'content-digest-mismatch', () => postSession(sessionBody(), { digestOf: '{}' })),
  hostile('session request stale', 'stale-signature', () => postSession(sessionBody(), { params: { created: Math.floor(Date.now() / 1000) - 600 } })),
  hostile('session request body not JSON', 'invalid-request', () => postSession('suite=X-Wing')),
  hostile('session request body not UTF-8', 'invalid-request', () => craftRequest({ url: sessionsUrl, body: new Uint8Array([0x7b, 0xff, 0x7d]), contentType: 'application/json' })),
  hostile('session request body a JSON array', 'invalid-request', () => postSession('[]')),
  hostile('session request with an unknown member', 'invalid-request', () => postSession(sessionBody({ extra: { psk: 'x' } }))),
  hostile('session request with a repeated member (offer twice)', 'invalid-request', async () => {
    const body = await sessionBody();
    return postSession(body.replace(/^\{/, `{"offer":${JSON.stringify({ kems: ['DHKEM(X25519, HKDF-SHA256)'], aeads: ['AES-128-GCM'], sigs: ['ed25519'], tls: 'TLSv1.3' })},`));
  }),
  hostile('session request without offer', 'invalid-request', async () => {
    const { offer: _offer, ...body } = JSON.parse(await sessionBody()) as Record<string, unknown>;
    return postSession(JSON.stringify(body));
  }),
  hostile('suite with a classical KEM', 'invalid-request', () => postSession(sessionBody({ suite: { ...sessionSuite, kem: 'DHKEM(X25519, HKDF-SHA256)' } }))),
  hostile('suite with ChaCha20-Poly1305', 'invalid-request', () => postSession(sessionBody({ suite: { ...sessionSuite, aead: 'ChaCha20Poly1305' } }))),
  hostile('suite with an unknown member', 'invalid-request', () => postSession(sessionBody({ suite: { ...sessionSuite, mode: 'psk' } }))),
  hostile('enc in standard base64', 'invalid-request', async () => postSession(sessionBody({ enc: `${(await honestEnc()).slice(0, -2)}+/` }))),
  hostile('enc one byte short', 'invalid-request', () => postSession(sessionBody({ enc: base64urlEncode(new Uint8Array(xwingEncBytes - 1)) }))),
  hostile('enc one byte long', 'invalid-request', () => postSession(sessionBody({ enc: base64urlEncode(new Uint8Array(xwingEncBytes + 1)) }))),
  hostile('enc empty', 'invalid-request', () => postSession(sessionBody({ enc: '' }))),
  hostile('enc of impossible base64url length', 'invalid-request', async () => postSession(sessionBody({ enc: `${await honestEnc()}A` }))),
  hostile('enc a number', 'invalid-request', () => postSession(sessionBody({ enc: 1120 }))),
  hostile('offer.tls unknown', 'invalid-request', () => postSession(sessionBody({ offer: { tls: 'TLSv9' } }))),
  hostile('offer.kems empty', 'invalid-request', () => postSession(sessionBody({ offer: { kems: [] } }))),
  hostile('offer.kems with 17 entries', 'invalid-request', () => postSession(sessionBody({ offer: { kems: ['X-Wing', ...Array.from({ length: 16 }, (_, index) => `kem-${index}`)] } }))),
  hostile('offer stripped of the selected KEM', 'downgrade-detected', () => postSession(sessionBody({ offer: { kems: ['DHKEM(X25519, HKDF-SHA256)'] } }))),
  hostile('offer stripped of the selected AEAD', 'downgrade-detected', () => postSession(sessionBody({ offer: { aeads: ['AES-128-GCM'] } }))),
  hostile('offer stripped of the algorithm that signs the request', 'downgrade-detected', () => postSession(sessionBody({ offer: { sigs: ['ml-dsa-65'] } }))),
  hostile('hybrid offer stripped of ml-dsa-65', 'downgrade-detected', () => postHybridSession(sessionBody({ offer: { sigs: ['ed25519'] } }, delta))),
  hostile('hybrid offer with its signature algorithms reordered', 'downgrade-detected', () => postHybridSession(sessionBody({ offer: { sigs: ['ml-dsa-65', 'ed25519'] } }, delta))),
  hostile('offer.tls differs from what the edge observed', 'downgrade-detected', () => postSession(sessionBody({ offer: { tls: 'TLSv1.2' } })), { cf: { tlsVersion: 'TLSv1.3' } }),
  hostile('session request over TLS 1.2 without an exception', 'downgrade-detected', () => postSession(sessionBody({ offer: { tls: 'TLSv1.2' } })), { cf: { tlsVersion: 'TLSv1.2' } }),
];

// "No TLS" (an empty cf.tlsVersion) is refused in production, but the workerd tests run with
// MERIDIAN_POSTURE=local-dev, where an empty observation means "no Cloudflare in front": not testable here.
const transportCases: HostileCase[] = [
  hostile('payment over TLS 1.2 without an exception', 'downgrade-detected', async () => craftRequest({ body: await signInstruction(alpha, eurPayment()) }), { cf: { tlsVersion: 'TLSv1.2' } }),
  hostile('payment over TLS 1.1', 'downgrade-detected', async () => craftRequest({ body: await signInstruction(alpha, eurPayment()) }), { cf: { tlsVersion: 'TLSv1.1' } }),
  hostile('payment over TLS 1.0', 'downgrade-detected', async () => craftRequest({ body: await signInstruction(alpha, eurPayment()) }), { cf: { tlsVersion: 'TLSv1' } }),
  hostile('payment with an unrecognized TLS version', 'downgrade-detected', async () => craftRequest({ body: await signInstruction(alpha, eurPayment()) }), { cf: { tlsVersion: 'SSLv3' } }),
  hostile('status read over TLS 1.2', 'downgrade-detected', () => craftRequest({ method: 'GET', url: `${gatewayUrl}/v1/payments/${crypto.randomUUID()}` }), { cf: { tlsVersion: 'TLSv1.2' } }),
];

const deltaPayment = () => buildInstruction({ debtorBic: delta.bic, debtorCountry: 'SG', creditorBic: 'ECHOJPJTXXX', creditorCountry: 'JP', amount: '12.34', currency: 'SGD', targetCurrency: 'JPY' });
const postHybrid = async (jws: string | Promise<string>, options: { contentType?: string; omitPqSignature?: boolean } = {}): Promise<Request> =>
  signedRequest(delta, { method: 'POST', url: `${gatewayUrl}/v1/payments`, body: await jws, contentType: options.contentType ?? hybridMediaType, ...(options.omitPqSignature === undefined ? {} : { omitPqSignature: options.omitPqSignature }) });

async function hybridJws(change: (jws: { payload: string; signatures: Array<{ protected: string; signature: string; header?: unknown }> }) => void): Promise<string> {
  const jws = JSON.parse(await signHybridInstruction(delta, deltaPayment())) as { payload: string; signatures: Array<{ protected: string; signature: string }> };
  change(jws);
  return JSON.stringify(jws);
}

/** A hybrid JWS JSON over any payload segment text, both signatures honest over it. */
async function hybridJwsOver(payloadSegment: string): Promise<string> {
  const ml = delta.ml_dsa_65!;
  const edHeader = segment({ alg: 'EdDSA', kid: delta.keyid });
  const pqHeader = segment({ alg: 'ML-DSA-65', kid: ml.keyid });
  const edSignature = await ed25519Sign(delta, jwsSigningInput(edHeader, payloadSegment));
  const pqSignature = signMlDsa65(mlDsa65KeyPairFromSeed(base64urlDecode(ml.seed)).secretKey, jwsSigningInput(pqHeader, payloadSegment));
  return JSON.stringify({ payload: payloadSegment, signatures: [{ protected: edHeader, signature: base64urlEncode(edSignature) }, { protected: pqHeader, signature: base64urlEncode(pqSignature) }] });
}

/** Rewrites sig2 only, leaving sig1 honest. */
async function withSig2(change: (input: string, signature: string) => [string, string]): Promise<Request> {
  const honest = await postHybrid(signHybridInstruction(delta, deltaPayment()));
  const [input1, input2] = honest.headers.get('signature-input')!.split(', sig2=') as [string, string];
  const [signature1, signature2] = honest.headers.get('signature')!.split(', sig2=') as [string, string];
  const [input, signature] = change(`sig2=${input2}`, `sig2=${signature2}`);
  const headers = new Headers(honest.headers);
  headers.set('signature-input', `${input1}, ${input}`);
  headers.set('signature', `${signature1}, ${signature}`);
  return new Request(honest.url, { method: 'POST', headers, body: await honest.text() });
}

const hybridCases: HostileCase[] = [
  hostile('hybrid partner without sig2', 'bad-signature', () => postHybrid(signHybridInstruction(delta, deltaPayment()), { omitPqSignature: true })),
  hostile('hybrid sig2 with one bit flipped', 'bad-signature', () => withSig2((input, signature) => {
    const bytes = base64Decode(signature.slice('sig2=:'.length, -1));
    bytes[100] = (bytes[100] ?? 0) ^ 1;
    return [input, `sig2=:${base64Encode(bytes)}:`];
  })),
  hostile('hybrid sig2 truncated to 3,000 bytes', 'bad-signature', () => withSig2((input, signature) => [input, `sig2=:${base64Encode(base64Decode(signature.slice('sig2=:'.length, -1)).slice(0, 3_000))}:`])),
  hostile('hybrid sig2 with alg ed25519', 'bad-signature', () => withSig2((input, signature) => [input.replace('alg="ml-dsa-65"', 'alg="ed25519"'), signature])),
  hostile('hybrid sig2 over fewer components', 'bad-signature', () => withSig2((input, signature) => [input.replace(' "content-type"', ''), signature])),
  hostile("hybrid sig2 under the partner's Ed25519 keyid", 'bad-signature', () => withSig2((input, signature) => [input.replace(/keyid="[^"]+"/, `keyid="${delta.keyid}"`), signature])),
  hostile('hybrid partner sends a compact EdDSA-only JWS', 'bad-signature', async () => postHybrid(signInstruction(delta, deltaPayment()), { contentType: 'application/jose' })),
  hostile('hybrid JWS JSON with the ML-DSA-65 signature stripped', 'bad-signature', () => postHybrid(hybridJws((jws) => {
    jws.signatures = jws.signatures.slice(0, 1);
  }))),
  hostile('hybrid JWS JSON with the ML-DSA-65 signature flipped', 'bad-signature', () => postHybrid(hybridJws((jws) => {
    jws.signatures[1]!.signature = flipByte(jws.signatures[1]!.signature, 7);
  }))),
  hostile('hybrid JWS JSON with both signatures EdDSA', 'bad-signature', () => postHybrid(hybridJws((jws) => {
    jws.signatures[1] = { ...jws.signatures[0]! };
  }))),
  hostile('hybrid JWS JSON with a third signature', 'invalid-instruction', () => postHybrid(hybridJws((jws) => {
    jws.signatures.push({ ...jws.signatures[0]! });
  }))),
  hostile('hybrid JWS JSON with an unprotected header member', 'invalid-instruction', () => postHybrid(hybridJws((jws) => {
    jws.signatures[0]!.header = { kid: 'x' };
  }))),
  hostile('hybrid JWS JSON whose payload was swapped', 'bad-signature', () => postHybrid(hybridJws((jws) => {
    jws.payload = segment(deltaPayment());
  }))),
  hostile('hybrid JWS JSON whose payload is not base64url-decodable, validly signed', 'invalid-instruction', () => {
    let payloadSegment = segment(deltaPayment());
    while (payloadSegment.length % 4 !== 1) payloadSegment += 'A';
    return postHybrid(hybridJwsOver(payloadSegment));
  }),
  hostile('hybrid JWS JSON in the flattened serialization', 'invalid-instruction', () => postHybrid(hybridJws((jws) => {
    Object.assign(jws, { protected: jws.signatures[0]!.protected, signature: jws.signatures[0]!.signature });
  }))),
  hostile('hybrid JWS JSON sent as application/jose', 'invalid-instruction', () => postHybrid(signHybridInstruction(delta, deltaPayment()), { contentType: 'application/jose' })),
  hostile('hybrid JWS JSON with a duplicate payload member (signed payload last)', 'invalid-instruction', async () => {
    const text = await signHybridInstruction(delta, deltaPayment());
    return postHybrid(text.replace(/^\{/, `{"payload":"${segment({ ...deltaPayment(), amount: { value: '1.00', currency: 'SGD' } })}",`));
  }),
  hostile('classical partner sends a JWS JSON with an ML-DSA-65 signature', 'bad-signature', async () => {
    const hybrid = JSON.parse(await signHybridInstruction(delta, deltaPayment())) as { signatures: Array<{ protected: string; signature: string }> };
    const [protectedHeader, payload, signature] = (await signInstruction(alpha, eurPayment())).split('.');
    return craftRequest({ body: JSON.stringify({ payload, signatures: [{ protected: protectedHeader, signature }, hybrid.signatures[1]] }), contentType: hybridMediaType });
  }),
  hostile('classical partner sends a sig2', 'bad-signature', async () => {
    const honest = await craftRequest({ body: await signInstruction(alpha, eurPayment()) });
    const hybrid = await postHybrid(signHybridInstruction(delta, deltaPayment()));
    const headers = new Headers(honest.headers);
    headers.set('signature-input', `${honest.headers.get('signature-input')!}, sig2=${hybrid.headers.get('signature-input')!.split(', sig2=')[1]!}`);
    headers.set('signature', `${honest.headers.get('signature')!}, sig2=${hybrid.headers.get('signature')!.split(', sig2=')[1]!}`);
    return new Request(honest.url, { method: 'POST', headers, body: await honest.text() });
  }),
];

describe('hostile sessions: controls', () => {
  it('accepts a sealed body built by these helpers, from the pq-required partner too', async () => {
    const sealed = await SELF.fetch(await postSealed((await sealedParts(await openSession(alpha))).join('.')));
    expect(sealed.status, await sealed.clone().text()).toBe(202);
    const bravoSealed = await SELF.fetch(await craftRequest({ body: await sealInstruction(await openSession(bravo), await signInstruction(bravo, bravoPayment())), signer: bravo }));
    expect(bravoSealed.status, await bravoSealed.clone().text()).toBe(202);
    const underSession = await SELF.fetch(await sealedUnderSessionWith({}));
    expect(underSession.status, await underSession.clone().text()).toBe(202);
    const session = await openSession(alpha);
    const handBuilt = await encryptOverHeaderText(JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid: session.sessionId }), session.payloadKey, await signInstruction(alpha, eurPayment()));
    const viaHandBuiltJwe = await SELF.fetch(await postSealed(handBuilt));
    expect(viaHandBuiltJwe.status, await viaHandBuiltJwe.clone().text()).toBe(202);
  });

  it('opens a session from the hand-built request and a hybrid one through the SDK signer', async () => {
    const classical = await SELF.fetch(await postSession(sessionBody()));
    expect(classical.status, await classical.clone().text()).toBe(201);
    const hybrid = await SELF.fetch(await postHybridSession(sessionBody({}, delta)));
    expect(hybrid.status, await hybrid.clone().text()).toBe(201);
    const observed = await SELF.fetch(await postSession(sessionBody()), { cf: { tlsVersion: 'TLSv1.3' } });
    expect(observed.status, await observed.clone().text()).toBe(201);
  });

  it('accepts a hybrid payment built by these helpers', async () => {
    const response = await SELF.fetch(await postHybrid(hybridJws(() => undefined)));
    expect(response.status, await response.clone().text()).toBe(202);
    const viaSig2Rewrite = await SELF.fetch(await withSig2((input, signature) => [input, signature]));
    expect(viaSig2Rewrite.status, await viaSig2Rewrite.clone().text()).toBe(202);
  });
});

describe('hostile sessions: sealed bodies', () => runHostileCases(sealedCases, it));
describe('hostile sessions: pq-required partner', () => runHostileCases(pqRequiredCases, it));
describe('hostile sessions: handshake (POST /v1/sessions)', () => runHostileCases(handshakeCases, it));
describe('hostile sessions: transport downgrades', () => runHostileCases(transportCases, it));
describe('hostile sessions: hybrid sig2 and JWS JSON', () => runHostileCases(hybridCases, it));
