/**
 * Acceptance by independent implementations (issue 3, "Done when"): a partner client written here
 * from the specifications alone — nothing from core/ or packages/partner-sdk/ — talks to the real gateway
 * (wrangler's test harness runs workerd with wrangler.toml and the dev bindings) over HTTP:
 *
 *   - RFC 9421 signature base written out by hand per §2.5, Ed25519 and ML-DSA-65 signatures and
 *     the RFC 9530 Content-Digest by node:crypto (OpenSSL), the instruction JWS per RFC 7515 by hand;
 *   - the PQ session with X-Wing from @noble/post-quantum (the gateway uses @hpke/hybridkem-x-wing,
 *     built on the `mlkem` package) and an RFC 9180 key schedule hand-built on node:crypto HMAC
 *     (first checked against the hpke-pq vector), the key confirmation recomputed, and the sealed
 *     body as a compact JWE (RFC 7516) encrypted with node:crypto AES-256-GCM.
 *
 * The gateway listens on plain http here, so the client honestly reports TLS "none" and the
 * local-dev posture leaves the TLS checks out (they are covered in test/workers/downgrade-detection).
 */
import { createCipheriv, createHash, createHmac, createPrivateKey, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ml_kem768_x25519 as xwing } from '@noble/post-quantum/hybrid.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestHarness, type TestHarness } from 'wrangler';
import { startRedisBridge, type RedisBridge } from '../../../cli/dev/redis-bridge.ts';
import { devUpstashToken, gatewayDevBindings, loadDevPartners, type DevPartner } from '../../../dev/fixtures.ts';

const partners = new Map(loadDevPartners().map((partner) => [partner.partner_id, partner]));
const partner = (id: string): DevPartner => partners.get(id) as DevPartner;
const b64url = (bytes: Uint8Array | Buffer): string => Buffer.from(bytes).toString('base64url');
const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

// ---------------------------------------------------------------------------------------------
// Keys, with node:crypto (OpenSSL) only.

function ed25519Key(devPartner: DevPartner): KeyObject {
  const { kty, crv, d, x } = devPartner.private_jwk;
  return createPrivateKey({ key: { kty, crv, d, x } as never, format: 'jwk' });
}

/** ML-DSA-65 from the 32-byte seed; OpenSSL checks that `pub` is the key the seed expands to. */
function mlDsaKey(devPartner: DevPartner): KeyObject {
  const key = devPartner.ml_dsa_65 as { seed: string; public_key: string };
  return createPrivateKey({ key: { kty: 'AKP', alg: 'ML-DSA-65', priv: key.seed, pub: key.public_key } as never, format: 'jwk' });
}

const nodeHasMlDsa = (() => {
  try {
    mlDsaKey(partner('delta-sg'));
    return true;
  } catch {
    return false;
  }
})();

// ---------------------------------------------------------------------------------------------
// RFC 9421 + RFC 9530, written from the RFC text.

interface SignOptions {
  method: 'GET' | 'POST';
  url: string;
  body?: string;
  contentType?: string;
}

/** One `Signature-Input` member value: the inner list of components and its parameters (RFC 9421 §2.3). */
function signatureParams(components: string[], created: number, nonce: string, keyid: string, alg: string): string {
  return `(${components.map((component) => `"${component}"`).join(' ')});created=${created};nonce="${nonce}";keyid="${keyid}";alg="${alg}"`;
}

function independentlySignedRequest(devPartner: DevPartner, options: SignOptions): Request {
  const headers: Record<string, string> = {};
  const components = ['@method', '@target-uri'];
  if (options.body !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/jose';
    headers['content-digest'] = `sha-256=:${createHash('sha256').update(options.body, 'utf8').digest('base64')}:`;
    components.push('content-digest', 'content-type');
  }
  const created = Math.floor(Date.now() / 1000);
  const nonce = randomBytes(18).toString('base64url');
  const lines = (params: string): Buffer => {
    const covered = components.map((component) => {
      if (component === '@method') return `"@method": ${options.method}`;
      if (component === '@target-uri') return `"@target-uri": ${options.url}`;
      return `"${component}": ${headers[component]}`;
    });
    return utf8([...covered, `"@signature-params": ${params}`].join('\n'));
  };
  const params1 = signatureParams(components, created, nonce, devPartner.keyid, 'ed25519');
  const inputs = [`sig1=${params1}`];
  const signatures = [`sig1=:${sign(null, lines(params1), ed25519Key(devPartner)).toString('base64')}:`];
  if (devPartner.ml_dsa_65 !== undefined) {
    const params2 = signatureParams(components, created, nonce, devPartner.ml_dsa_65.keyid, 'ml-dsa-65');
    inputs.push(`sig2=${params2}`);
    signatures.push(`sig2=:${sign(null, lines(params2), mlDsaKey(devPartner)).toString('base64')}:`);
  }
  headers['signature-input'] = inputs.join(', ');
  headers.signature = signatures.join(', ');
  return new Request(options.url, { method: options.method, headers, ...(options.body === undefined ? {} : { body: options.body }) });
}

/** RFC 7515 compact JWS (EdDSA), or the general JSON serialization with EdDSA + ML-DSA-65 for a hybrid partner. */
function independentInstructionJws(devPartner: DevPartner, instruction: unknown): string {
  const payload = b64url(utf8(JSON.stringify(instruction)));
  const edHeader = b64url(utf8(JSON.stringify({ alg: 'EdDSA', kid: devPartner.keyid })));
  const edSignature = b64url(sign(null, utf8(`${edHeader}.${payload}`), ed25519Key(devPartner)));
  if (devPartner.ml_dsa_65 === undefined) return `${edHeader}.${payload}.${edSignature}`;
  const pqHeader = b64url(utf8(JSON.stringify({ alg: 'ML-DSA-65', kid: devPartner.ml_dsa_65.keyid })));
  const pqSignature = b64url(sign(null, utf8(`${pqHeader}.${payload}`), mlDsaKey(devPartner)));
  return JSON.stringify({ payload, signatures: [{ protected: edHeader, signature: edSignature }, { protected: pqHeader, signature: pqSignature }] });
}

// ---------------------------------------------------------------------------------------------
// RFC 9180 base mode key schedule and exporter, hand-built on HMAC-SHA256.

function i2osp(value: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  bytes.writeUIntBE(value, 0, length);
  return bytes;
}

function hpkeSuiteId(kemId: number, kdfId: number, aeadId: number): Buffer {
  return Buffer.concat([utf8('HPKE'), i2osp(kemId, 2), i2osp(kdfId, 2), i2osp(aeadId, 2)]);
}

function labeledExtract(suiteId: Buffer, salt: Buffer, label: string, ikm: Uint8Array): Buffer {
  return createHmac('sha256', salt).update(Buffer.concat([utf8('HPKE-v1'), suiteId, utf8(label), ikm])).digest();
}

function labeledExpand(suiteId: Buffer, prk: Buffer, label: string, info: Uint8Array, length: number): Buffer {
  const labeledInfo = Buffer.concat([i2osp(length, 2), utf8('HPKE-v1'), suiteId, utf8(label), info]);
  const blocks: Buffer[] = [];
  let previous = Buffer.alloc(0);
  for (let counter = 1; Buffer.concat(blocks).length < length; counter += 1) {
    previous = createHmac('sha256', prk).update(Buffer.concat([previous, labeledInfo, Buffer.from([counter])])).digest();
    blocks.push(previous);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** KeySchedule(mode_base, shared_secret, info, psk = "", psk_id = "") → the exporter (RFC 9180 §5.1, §5.3). */
function hpkeExporter(suiteId: Buffer, sharedSecret: Uint8Array, info: Uint8Array) {
  const empty = Buffer.alloc(0);
  const pskIdHash = labeledExtract(suiteId, empty, 'psk_id_hash', empty);
  const infoHash = labeledExtract(suiteId, empty, 'info_hash', info);
  const context = Buffer.concat([Buffer.from([0x00]), pskIdHash, infoHash]);
  const secret = labeledExtract(suiteId, Buffer.from(sharedSecret), 'secret', empty);
  const exporterSecret = labeledExpand(suiteId, secret, 'exp', context, 32);
  return (exporterContext: Uint8Array, length: number): Buffer => labeledExpand(suiteId, exporterSecret, 'sec', exporterContext, length);
}

// ---------------------------------------------------------------------------------------------

const regionalNowhere = JSON.stringify({
  eu: [{ region: 'eu-none', url: 'http://127.0.0.1:9' }],
  us: [{ region: 'us-none', url: 'http://127.0.0.1:9' }],
  ap: [{ region: 'ap-none', url: 'http://127.0.0.1:9' }],
});

let server: TestHarness;
let gateway: URL;
let velocityStore: RedisBridge;

beforeAll(async () => {
  // Accepted payments never settle here: their windows deliver to a closed port, never to a running
  // `npm start`; and the velocity stage counts in this suite's own embedded store, not in whatever
  // bridge may be listening on :8079.
  velocityStore = await startRedisBridge({ port: 0, token: devUpstashToken, log: () => {} });
  server = createTestHarness({ workers: [{ configPath: 'wrangler.toml', secrets: gatewayDevBindings(), vars: { REGIONAL_BACKENDS: regionalNowhere, UPSTASH_REDIS_REST_URL: velocityStore.url } }] });
  gateway = (await server.listen()).url;
}, 120_000);

afterAll(async () => {
  await server?.close();
  await velocityStore?.stop();
});

function instructionFrom(devPartner: DevPartner, creditorBic: string, currency: string, target: string, debtorCountry: string, creditorCountry: string) {
  const uetr = randomUUID();
  const now = new Date();
  return {
    uetr,
    end_to_end_id: `IND-${uetr.slice(0, 8)}`,
    instructed_at: now.toISOString(),
    settlement_date: now.toISOString().slice(0, 10),
    amount: { value: '321.09', currency },
    target_currency: target,
    charge_bearer: 'SHAR',
    debtor: { name: 'Independent Debtor', country: debtorCountry, account: `${debtorCountry}00INDEPENDENT1` },
    debtor_agent: { bic: devPartner.bic },
    creditor: { name: 'Independent Creditor', country: creditorCountry, account: `${creditorCountry}00INDEPENDENT2` },
    creditor_agent: { bic: creditorBic },
  };
}

describe('an independent RFC 9421 client (node:crypto, hand-written signature base)', () => {
  it('is accepted: 202 with a receipt, and the owner reads the status', async () => {
    const alpha = partner('alpha-bank');
    const instruction = instructionFrom(alpha, partner('banque-bravo').bic, 'EUR', 'EUR', 'DE', 'FR');
    const response = await fetch(independentlySignedRequest(alpha, { method: 'POST', url: new URL('/v1/payments', gateway).href, body: independentInstructionJws(alpha, instruction) }));
    const answer = (await response.json()) as Record<string, unknown>;
    expect(response.status, JSON.stringify(answer)).toBe(202);
    expect(answer).toMatchObject({ uetr: instruction.uetr, status: 'accepted' });
    const status = await fetch(independentlySignedRequest(alpha, { method: 'GET', url: new URL(`/v1/payments/${instruction.uetr}`, gateway).href }));
    expect(status.status).toBe(200);
  });

  it('is refused when the hand-built base covers another target URI than the one requested', async () => {
    const alpha = partner('alpha-bank');
    const signed = independentlySignedRequest(alpha, { method: 'GET', url: new URL(`/v1/payments/${randomUUID()}`, gateway).href });
    const moved = new Request(new URL(`/v1/payments/${randomUUID()}`, gateway), { headers: signed.headers });
    const response = await fetch(moved);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { type: string }).type).toBe('urn:meridian:problem:bad-signature');
  });

  it.skipIf(!nodeHasMlDsa)('is accepted as a hybrid partner: sig2 and the instruction signed with OpenSSL ML-DSA-65', async () => {
    const delta = partner('delta-sg');
    const instruction = instructionFrom(delta, partner('echo-jp').bic, 'SGD', 'JPY', 'SG', 'JP');
    const body = independentInstructionJws(delta, instruction);
    const response = await fetch(independentlySignedRequest(delta, { method: 'POST', url: new URL('/v1/payments', gateway).href, body, contentType: 'application/jose+json' }));
    expect(response.status, await response.clone().text()).toBe(202);
  });
});

describe('an independent HPKE X-Wing client (@noble/post-quantum + hand-built RFC 9180 key schedule)', () => {
  it('reproduces the hpke-pq X-Wing vector exports with the hand-built key schedule', () => {
    const vectors = JSON.parse(readFileSync('test/conformance/vectors/hpke-pq/test-vectors.json', 'utf8')) as Array<Record<string, unknown>>;
    const vector = vectors.find((candidate) => candidate.kem_id === 0x647a && candidate.kdf_id === 0x0001) as { shared_secret: string; info: string; skRm: string; enc: string; exports: Array<{ exporter_context: string; L: number; exported_value: string }> };
    expect(Buffer.from(xwing.decapsulate(Buffer.from(vector.enc, 'hex'), Buffer.from(vector.skRm, 'hex'))).toString('hex')).toBe(vector.shared_secret);
    const exporter = hpkeExporter(hpkeSuiteId(0x647a, 0x0001, 0x0003), Buffer.from(vector.shared_secret, 'hex'), Buffer.from(vector.info, 'hex'));
    for (const exported of vector.exports) {
      expect(exporter(Buffer.from(exported.exporter_context, 'hex'), exported.L).toString('hex')).toBe(exported.exported_value);
    }
  });

  it('opens a session, checks the key confirmation and gets a sealed payment from a pq: required partner accepted', async () => {
    const discovery = (await (await fetch(new URL('/.well-known/meridian', gateway))).json()) as { xwing: { public_key: string } };
    const { cipherText, sharedSecret } = xwing.encapsulate(Buffer.from(discovery.xwing.public_key, 'base64url'));
    const exporter = hpkeExporter(hpkeSuiteId(0x647a, 0x0001, 0x0002), sharedSecret, utf8('meridian/v1 session'));
    const payloadKey = exporter(utf8('meridian/v1 payload key'), 32);
    const confirmKey = exporter(utf8('meridian/v1 confirm'), 32);

    const bravo = partner('banque-bravo');
    const sessionBody = JSON.stringify({
      suite: { kem: 'X-Wing', kdf: 'HKDF-SHA256', aead: 'AES-256-GCM' },
      enc: b64url(cipherText),
      offer: { kems: ['X-Wing'], aeads: ['AES-256-GCM'], sigs: ['ed25519'], tls: 'none' },
    });
    const opened = await fetch(independentlySignedRequest(bravo, { method: 'POST', url: new URL('/v1/sessions', gateway).href, body: sessionBody, contentType: 'application/json' }));
    const session = (await opened.json()) as { session_id: string; expires_at: string; suite: unknown; confirm: string };
    expect(opened.status, JSON.stringify(session)).toBe(201);
    const expectedConfirm = createHmac('sha256', confirmKey).update(createHash('sha256').update(sessionBody, 'utf8').digest()).digest('base64url');
    expect(session.confirm).toBe(expectedConfirm);

    const instruction = instructionFrom(bravo, partner('alpha-bank').bic, 'EUR', 'EUR', 'FR', 'DE');
    const protectedHeader = b64url(utf8(JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid: session.session_id })));
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', payloadKey, iv);
    cipher.setAAD(Buffer.from(protectedHeader, 'ascii'));
    const ciphertext = Buffer.concat([cipher.update(utf8(independentInstructionJws(bravo, instruction))), cipher.final()]);
    const sealed = [protectedHeader, '', b64url(iv), b64url(ciphertext), b64url(cipher.getAuthTag())].join('.');
    const submitted = await fetch(independentlySignedRequest(bravo, { method: 'POST', url: new URL('/v1/payments', gateway).href, body: sealed }));
    expect(submitted.status, await submitted.clone().text()).toBe(202);
    expect(((await submitted.json()) as { uetr: string }).uetr).toBe(instruction.uetr);
  });
});
