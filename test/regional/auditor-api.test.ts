import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SettlementResponse } from '../../core/settlement-batch.ts';
import { formatNoteVerifier } from '../../core/signed-note.ts';
import { createRegionalApp } from '../../regional/app.ts';
import { connectRegionalDatabase } from '../../regional/db/client.ts';
import { silentLogger } from '../../regional/logger.ts';
import { loadOrCreateLocalSigner } from '../../regional/signer/local-signer.ts';
import { freshJurisdiction, sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { createTestEdge } from './support/edge.ts';
import { publishedKeys, verifyReceipt } from './support/receipts.ts';
import { startTestbed, type Testbed } from './support/testbed.ts';

const dayMs = 24 * 60 * 60 * 1000;

describe.each(testDatabaseKinds())('auditor API on %s', (kind) => {
  let database: TestDatabase;
  let testbed: Testbed;
  let keyDirectory: string;

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'auditor_api');
    testbed = await startTestbed(database);
    keyDirectory = await mkdtemp(join(tmpdir(), 'meridian-regional-signer-'));
  });
  afterAll(async () => {
    await testbed?.close();
    await database?.drop();
    await rm(keyDirectory, { recursive: true, force: true });
  });

  it('GET /v1/settlements/:batch_id returns the committed settlement in the DESIGN shape', async () => {
    const sealed = sampleBatch({ payments: 2 });
    const committed = (await (await testbed.deliver(sealed)).json()) as SettlementResponse;
    const response = await testbed.app.request(`/v1/settlements/${sealed.batch.batch_id}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['batch_id', 'corridor', 'digest', 'jurisdiction', 'legs', 'log_index', 'positions', 'receipt']);
    expect(body).toEqual({
      batch_id: sealed.batch.batch_id,
      digest: sealed.digest,
      corridor: 'EUR-USD',
      jurisdiction: 'eu',
      // The published leg shape (DESIGN) without the residency facts a v3 batch carries for the re-check.
      legs: sealed.batch.legs.map(({ debtor_country: _country, residency_exception: _exception, ...leg }) => leg),
      positions: sealed.batch.positions,
      log_index: committed.log_index,
      receipt: committed.receipt,
    });
    // Amounts travel as integer strings, never JSON numbers.
    for (const leg of body.legs as Array<Record<string, unknown>>) expect(leg.amount_minor).toMatch(/^[1-9][0-9]*$/);
    for (const position of body.positions as Array<Record<string, unknown>>) expect(position.net_minor).toMatch(/^(0|-?[1-9][0-9]*)$/);
  });

  it('GET /v1/settlements/:batch_id of an unknown batch is a 404 problem', async () => {
    const response = await testbed.app.request('/v1/settlements/EUR-USD.eu.0.1');
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ type: 'urn:meridian:problem:not-found', status: 404 });
    expect((await testbed.app.request(`/v1/settlements/${'x'.repeat(500)}`)).status).toBe(404);
  });

  it('GET /v1/keys publishes the signing key: base64 public key, creation date, not overdue, region and validity', async () => {
    const response = await testbed.app.request('/v1/keys');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { keys: unknown[]; note_verifiers: unknown[] };
    // The checkpoint key: the same Ed25519 key, named after the log's origin (log.test.ts checks it signs).
    expect(body.note_verifiers).toEqual([formatNoteVerifier('meridian.example/log/eu', testbed.signer.publicKey)]);
    expect(body.keys).toEqual([
      {
        kid: testbed.signer.kid,
        alg: 'EdDSA',
        public_key: Buffer.from(testbed.signer.publicKey).toString('base64'),
        created_at: testbed.signer.createdAt.toISOString(),
        rotation_overdue: false,
        region: 'eu-1',
        not_before: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        not_after: null,
      },
    ]);
  });

  it('reports rotation_overdue for a key created 91 days ago, not for one created 89 days ago', async () => {
    const now = Date.now();
    const old = await loadOrCreateLocalSigner({ keyFile: join(keyDirectory, 'old.json'), now: () => new Date(now - 91 * dayMs) });
    const recent = await loadOrCreateLocalSigner({ keyFile: join(keyDirectory, 'recent.json'), now: () => new Date(now - 89 * dayMs) });
    // Their own jurisdiction: /v1/keys lists every key of a jurisdiction, and eu has others here.
    const overdue = await startTestbed(database, { signer: old, jurisdiction: freshJurisdiction(), now: () => new Date(now) });
    const current = await startTestbed(database, { signer: recent, jurisdiction: freshJurisdiction(), now: () => new Date(now) });
    try {
      expect((await publishedKeys(overdue.app)).map((key) => key.rotation_overdue)).toEqual([true]);
      expect((await publishedKeys(current.app)).map((key) => key.rotation_overdue)).toEqual([false]);
    } finally {
      await overdue.close();
      await current.close();
    }
  });

  it('keeps the signing key across restarts, so earlier receipts stay verifiable', async () => {
    const keyFile = join(keyDirectory, 'restart', 'eu-1.json');
    const firstSigner = await loadOrCreateLocalSigner({ keyFile });
    const before = await startTestbed(database, { signer: firstSigner });
    const committed = (await (await before.deliver(sampleBatch())).json()) as SettlementResponse;
    await before.close();

    const restartedSigner = await loadOrCreateLocalSigner({ keyFile });
    expect(restartedSigner.kid).toBe(firstSigner.kid);
    expect(restartedSigner.createdAt.toISOString()).toBe(firstSigner.createdAt.toISOString());
    const after = await startTestbed(database, { signer: restartedSigner });
    try {
      expect((await verifyReceipt(after.app, committed.receipt)).batch_id).toMatch(/^EUR-USD\.eu\./);
    } finally {
      await after.close();
    }
  });

  it('creates one key when two processes start at once, and refuses a tampered key file', async () => {
    const keyFile = join(keyDirectory, 'race', 'eu-2.json');
    const [left, right] = await Promise.all([loadOrCreateLocalSigner({ keyFile }), loadOrCreateLocalSigner({ keyFile })]);
    expect(left.kid).toBe(right.kid);
    const stored = JSON.parse(await readFile(keyFile, 'utf8')) as Record<string, string>;
    const other = await loadOrCreateLocalSigner({ keyFile: join(keyDirectory, 'race', 'other.json') });
    const otherStored = JSON.parse(await readFile(join(keyDirectory, 'race', 'other.json'), 'utf8')) as Record<string, string>;
    expect(other.kid).not.toBe(left.kid);
    await writeFile(keyFile, JSON.stringify({ ...stored, x: otherStored.x }));
    await expect(loadOrCreateLocalSigner({ keyFile })).rejects.toThrow(/x does not match the private key/);
  });

  it('GET /healthz reports ok with region, jurisdiction and database', async () => {
    const response = await testbed.app.request('/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', region: 'eu-1', jurisdiction: 'eu', database: 'ok' });
  });

  it('GET /healthz is a 503 problem when the database is unreachable', async () => {
    const edge = await createTestEdge();
    const unreachable = connectRegionalDatabase('postgres://postgres@127.0.0.1:1/none', { applicationName: 'regional-test-down' });
    const signer = await loadOrCreateLocalSigner({ keyFile: join(keyDirectory, 'down.json') });
    const app = createRegionalApp({ region: 'eu-1', jurisdiction: 'eu', gatewayId: 'meridian-test', database: unreachable, signer, edgeKeys: edge.keys, logger: silentLogger });
    try {
      const response = await app.request('/healthz');
      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(await response.json()).toMatchObject({ type: 'urn:meridian:problem:unavailable', database: 'unavailable', region: 'eu-1' });
      const read = await app.request('/v1/settlements/EUR-USD.eu.0.1');
      expect(read.status).toBe(503);
    } finally {
      await unreachable.close();
    }
  });

  it('answers 503 when the edge JWKS cannot be fetched: the token cannot be judged', async () => {
    const signer = await loadOrCreateLocalSigner({ keyFile: join(keyDirectory, 'jwks.json') });
    const edge = await createTestEdge();
    const app = createRegionalApp({
      region: 'eu-1',
      jurisdiction: 'eu',
      gatewayId: 'meridian-test',
      database: testbed.database,
      signer,
      edgeKeys: createRemoteJWKSet(new URL('http://127.0.0.1:1/jwks.json'), { timeoutDuration: 1_000 }),
      logger: silentLogger,
    });
    const sealed = sampleBatch();
    const { mintEdgeToken } = await import('./support/edge.ts');
    const token = await mintEdgeToken(edge, { audience: 'eu-1', batchDigest: sealed.digest });
    const response = await app.request('/v1/settlements', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: sealed.canonical,
    });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ type: 'urn:meridian:problem:unavailable', reason: 'keys-unavailable' });
  });

  it('answers unknown routes with 404 and wrong methods with 405 problems', async () => {
    const missing = await testbed.app.request('/v1/nothing-here');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ type: 'urn:meridian:problem:not-found' });
    for (const [method, path, allow] of [
      ['DELETE', '/v1/keys', 'GET, HEAD'],
      ['GET', '/v1/settlements', 'POST'],
      ['PUT', '/v1/settlements/EUR-USD.eu.0.1', 'GET, HEAD'],
      ['POST', '/healthz', 'GET, HEAD'],
    ] as const) {
      const response = await testbed.app.request(path, { method });
      expect(response.status, `${method} ${path}`).toBe(405);
      expect(response.headers.get('allow')).toBe(allow);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(await response.json()).toMatchObject({ type: 'urn:meridian:problem:method-not-allowed' });
    }
  });
});
