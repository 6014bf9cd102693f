/**
 * The edge verifies every settlement receipt before a window is `settled`: signed by a key the
 * answering backend publishes at GET /v1/keys, naming exactly the batch that was delivered.
 *
 * The honest path runs against the real regional backends (test/workers/global-setup.ts). The
 * dishonest backend — it answers 201 with a receipt signed by a key it does not publish, or with
 * claims about another batch — cannot be a real regional backend, and workerd cannot listen on a
 * port, so it is a tiny fake HTTP server in this isolate: a fetch interceptor that answers only
 * for its own origin and passes every other request through to the network.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { canonicalJson } from '../../core/canonical-json.ts';
import { base64Encode, base64urlEncode, utf8 } from '../../core/digest.ts';
import { deliverSettlementBatch } from '../../durable-objects/corridor-window/deliver-batch.ts';
import type { Env } from '../../workers/env.ts';
import { alpha, bravo } from './support.ts';
import { directCorridor, directPayment, enqueuePlaced, parseWindowId, waitFor, windowStub } from './window-support.ts';

const fakeOrigin = 'http://fake-regional.meridian.test';
const deadBackends = JSON.stringify({ eu: [{ region: 'eu-down', url: 'http://127.0.0.1:9' }] });
const realEu1 = (JSON.parse(env.REGIONAL_BACKENDS) as Record<string, Array<{ region: string; url: string }>>).eu!.find((backend) => backend.region === 'eu-1')!;

interface FakeBackend {
  /** The key it publishes at /v1/keys. */
  publishedKid: string;
  /** Whether it signs with the published key (true) or with another one (false). */
  signsWithPublishedKey: boolean;
  /** Edits the claims it signs (what it says it committed). */
  claims?: (claims: Record<string, unknown>) => Record<string, unknown>;
  keysRequests: number;
  settlementRequests: number;
}

async function ed25519KeyPair(): Promise<{ privateKey: CryptoKey; publicKey: Uint8Array }> {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  return { privateKey: pair.privateKey, publicKey: new Uint8Array((await crypto.subtle.exportKey('raw', pair.publicKey)) as ArrayBuffer) };
}

/** Installs the fake backend at `fakeOrigin`; it commits nothing and answers 201 with a receipt. */
async function installFakeBackend(behaviour: Omit<FakeBackend, 'keysRequests' | 'settlementRequests'>): Promise<FakeBackend> {
  const published = await ed25519KeyPair();
  const other = await ed25519KeyPair();
  const fake: FakeBackend = { ...behaviour, keysRequests: 0, settlementRequests: 0 };
  const passThrough = globalThis.fetch;
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.origin !== fakeOrigin) return passThrough(request);
    if (url.pathname === '/v1/keys') {
      fake.keysRequests += 1;
      return Response.json({ keys: [{ kid: fake.publishedKid, alg: 'EdDSA', public_key: base64Encode(published.publicKey), created_at: new Date().toISOString(), rotation_overdue: false }], note_verifiers: [] });
    }
    // The jurisdiction's BackendHealth object probes /healthz in the background: not a settlement.
    if (url.pathname !== '/v1/settlements') return new Response('not found', { status: 404 });
    fake.settlementRequests += 1;
    const batch = JSON.parse(await request.text()) as { batch_id: string; jurisdiction: string; legs: unknown[] };
    const digest = [...new Uint8Array(await crypto.subtle.digest('SHA-256', utf8(canonicalJson(batch))))].map((byte) => byte.toString(16).padStart(2, '0')).join('');
    const honestClaims = { batch_id: batch.batch_id, digest, jurisdiction: batch.jurisdiction, region: 'eu-fake', log_index: 0, leg_count: batch.legs.length, committed_at: new Date().toISOString() };
    const claims = fake.claims === undefined ? honestClaims : fake.claims(honestClaims);
    const signingInput = `${base64urlEncode(utf8(canonicalJson({ alg: 'EdDSA', kid: fake.publishedKid })))}.${base64urlEncode(utf8(canonicalJson(claims)))}`;
    const signer = fake.signsWithPublishedKey ? published.privateKey : other.privateKey;
    const signature = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, signer, utf8(signingInput)));
    return Response.json({ batch_id: batch.batch_id, digest, region: 'eu-fake', log_index: 0, receipt: `${signingInput}.${base64urlEncode(signature)}` }, { status: 201 });
  });
  return fake;
}

/** A sealed batch from a real window (so its shape is whatever the window builds), never delivered. */
async function sealedWindowBatch(corridorId: string): Promise<{ canonical: string; digest: string }> {
  const corridor = directCorridor(corridorId, { window_duration_ms: 1_000 });
  const coordinator = windowStub(corridor.id, corridor.jurisdiction, 0);
  await runInDurableObject(coordinator, (instance) => {
    const holder = instance as unknown as { env: Env };
    holder.env = { ...holder.env, REGIONAL_BACKENDS: deadBackends };
  });
  const windowId = await enqueuePlaced(coordinator, directPayment(corridor, '4200', alpha.bic, bravo.bic), corridor);
  const { startMs } = parseWindowId(windowId);
  const sealed = await waitFor('a sealed window', async () => {
    const window = (await coordinator.describeWindows()).find((candidate) => candidate.start_ms === startMs);
    return window !== undefined && window.digest !== null && window.attempts >= 1 ? window : undefined;
  });
  return { canonical: (await coordinator.sealedBatch(startMs))!, digest: sealed.digest! };
}

const withBackends = (...backends: Array<{ region: string; url: string }>): Env => ({ ...env, REGIONAL_BACKENDS: JSON.stringify({ eu: backends }) });
const fakeBackend = { region: 'eu-fake', url: fakeOrigin };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('settlement receipts are verified before anything is settled', () => {
  it('refuses a 201 whose receipt is signed by a key the backend does not publish', async () => {
    const { canonical, digest } = await sealedWindowBatch('ISK-ISK');
    const fake = await installFakeBackend({ publishedKid: 'fake-1', signsWithPublishedKey: false });
    const outcome = await deliverSettlementBatch(withBackends(fakeBackend), 'eu', canonical, digest);
    expect(fake.settlementRequests).toBe(1);
    expect(outcome.kind).toBe('failed');
    expect(outcome.kind === 'failed' && outcome.errors.join('; ')).toMatch(/eu-fake: settlement receipt refused: bad-receipt-signature/);
  });

  it('refuses a validly signed receipt that names another digest or log index', async () => {
    const { canonical, digest } = await sealedWindowBatch('RON-RON');
    for (const edit of [(claims: Record<string, unknown>) => ({ ...claims, digest: '0'.repeat(64) }), (claims: Record<string, unknown>) => ({ ...claims, log_index: 7 })]) {
      vi.restoreAllMocks();
      await installFakeBackend({ publishedKid: 'fake-2', signsWithPublishedKey: true, claims: edit });
      const outcome = await deliverSettlementBatch(withBackends(fakeBackend), 'eu', canonical, digest);
      expect(outcome.kind === 'failed' && outcome.errors.join('; ')).toMatch(/claims-mismatch/);
    }
  });

  it('refetches the keys once for an unknown kid, then refuses', async () => {
    const { canonical, digest } = await sealedWindowBatch('BGN-BGN');
    const fake = await installFakeBackend({ publishedKid: 'fake-3', signsWithPublishedKey: true });
    // An honest-looking fake delivery fills the key cache for this backend with fake-3…
    await deliverSettlementBatch(withBackends(fakeBackend), 'eu', canonical, digest);
    const keysRequestsBefore = fake.keysRequests;
    // …then the backend "rotates": a kid the cache does not hold costs exactly one refetch.
    fake.publishedKid = 'fake-3-rotated';
    fake.signsWithPublishedKey = false;
    const outcome = await deliverSettlementBatch(withBackends(fakeBackend), 'eu', canonical, digest);
    expect(fake.keysRequests - keysRequestsBefore).toBe(1);
    expect(outcome.kind).toBe('failed');
  });

  it('fails over past the dishonest backend to a real one, whose receipt verifies', async () => {
    const { canonical, digest } = await sealedWindowBatch('MKD-MKD');
    const fake = await installFakeBackend({ publishedKid: 'fake-4', signsWithPublishedKey: false });
    // A path no earlier test failed at: its breaker (per region and URL) is closed, so it is tried first.
    const freshFake = { region: fakeBackend.region, url: `${fakeOrigin}/failover` };
    const outcome = await deliverSettlementBatch(withBackends(freshFake, realEu1), 'eu', canonical, digest);
    expect(fake.settlementRequests).toBe(1);
    if (outcome.kind !== 'settled') throw new Error(`not settled: ${outcome.errors.join('; ')}`);
    expect(outcome.response).toMatchObject({ digest, region: 'eu-1' });
  });

  it('settles against the real backend alone (the honest receipt verifies under its /v1/keys)', async () => {
    const { canonical, digest } = await sealedWindowBatch('RSD-RSD');
    const outcome = await deliverSettlementBatch(withBackends(realEu1), 'eu', canonical, digest);
    if (outcome.kind !== 'settled') throw new Error(`not settled: ${outcome.errors.join('; ')}`);
    expect(outcome.response.digest).toBe(digest);
  });
});
