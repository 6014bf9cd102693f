import { randomUUID } from 'node:crypto';
import { generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumedTokensGcIntervalMs, consumedTokensRetentionMarginMs } from '../../regional/edge-token.ts';
import { sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { createTestEdge, mintEdgeToken } from './support/edge.ts';
import { startTestbed, type Testbed } from './support/testbed.ts';

describe.each(testDatabaseKinds())('edge tokens on %s', (kind) => {
  let database: TestDatabase;
  let testbed: Testbed;
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'edge_token');
    testbed = await startTestbed(database);
  });
  afterAll(async () => {
    await testbed?.close();
    await database?.drop();
  });

  async function expectUnauthorized(response: Response, reason: string): Promise<void> {
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ type: 'urn:meridian:problem:unauthorized', status: 401, reason });
  }

  it('accepts a fresh token (the control case for the rejections below)', async () => {
    expect((await testbed.deliver(sampleBatch())).status).toBe(201);
  });

  it('rejects a request without a bearer token', async () => {
    const sealed = sampleBatch();
    const response = await testbed.app.request('/v1/settlements', { method: 'POST', headers: { 'content-type': 'application/json' }, body: sealed.canonical });
    await expectUnauthorized(response, 'missing-token');
  });

  it('rejects a token minted for another region', async () => {
    await expectUnauthorized(await testbed.deliver(sampleBatch(), { audience: 'eu-2' }), 'invalid-token');
  });

  it('rejects a token from another issuer', async () => {
    await expectUnauthorized(await testbed.deliver(sampleBatch(), { issuer: 'someone-else' }), 'invalid-token');
  });

  it('rejects an expired token', async () => {
    const issuedAt = nowSeconds() - 50;
    await expectUnauthorized(await testbed.deliver(sampleBatch(), { issuedAt, expiresAt: issuedAt + 30 }), 'invalid-token');
  });

  it('rejects a token whose lifetime exceeds 60 s, even while it is still valid', async () => {
    const issuedAt = nowSeconds();
    await expectUnauthorized(await testbed.deliver(sampleBatch(), { issuedAt, expiresAt: issuedAt + 61 }), 'lifetime-too-long');
  });

  it('accepts a token of exactly 60 s lifetime', async () => {
    const issuedAt = nowSeconds();
    expect((await testbed.deliver(sampleBatch(), { issuedAt, expiresAt: issuedAt + 60 })).status).toBe(201);
  });

  it('rejects a token issued in the future beyond the clock tolerance', async () => {
    const issuedAt = nowSeconds() + 30;
    await expectUnauthorized(await testbed.deliver(sampleBatch(), { issuedAt, expiresAt: issuedAt + 30 }), 'invalid-token');
  });

  it('rejects a reused jti, also for a different batch', async () => {
    const jti = randomUUID();
    expect((await testbed.deliver(sampleBatch(), { jti })).status).toBe(201);
    await expectUnauthorized(await testbed.deliver(sampleBatch(), { jti }), 'replayed-jti');
  });

  it('rejects a token without jti or without batch_digest', async () => {
    await expectUnauthorized(await testbed.deliver(sampleBatch(), { jti: null }), 'invalid-token');
    const sealed = sampleBatch();
    const token = await mintEdgeToken(testbed.edge, { audience: 'eu-1' });
    const response = await testbed.app.request('/v1/settlements', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: sealed.canonical,
    });
    await expectUnauthorized(response, 'missing-claim');
  });

  it('rejects a token signed by a key the edge does not publish', async () => {
    const stranger = await createTestEdge('edge-test-1');
    await expectUnauthorized(await testbed.deliver(sampleBatch(), { privateKey: stranger.privateKey }), 'invalid-token');
  });

  it('rejects a token signed with another algorithm', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    await expectUnauthorized(await testbed.deliver(sampleBatch(), { alg: 'ES256', privateKey }), 'invalid-token');
  });

  it('rejects garbage in the Authorization header with 401, never 5xx', async () => {
    for (const authorization of ['Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer a.b.c', 'Bearer eyJhbGciOiJub25lIn0.e30.', `Bearer ${'A'.repeat(5000)}`]) {
      const response = await testbed.app.request('/v1/settlements', {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(response.status, authorization.slice(0, 40)).toBe(401);
    }
  });

  it('garbage-collects consumed jtis once they are past expiry plus the retention margin', async () => {
    const sql = testbed.database.sql;
    const expiredJti = `expired-${randomUUID()}`;
    const liveJti = `live-${randomUUID()}`;
    // A testbed whose clock has moved past the GC interval runs a pass on its next verification;
    // it deletes jtis that expired more than the retention margin before its clock.
    const clockMs = Date.now() + consumedTokensGcIntervalMs + 1;
    const gcBeforeMs = clockMs - consumedTokensRetentionMarginMs;
    await sql`insert into consumed_tokens (jti, expires_at) values
      (${expiredJti}, ${new Date(gcBeforeMs - 1_000).toISOString()}::timestamptz),
      (${liveJti}, ${new Date(gcBeforeMs + 60_000).toISOString()}::timestamptz)`;
    const later = await startTestbed(database, { now: () => new Date(clockMs) });
    try {
      const issuedAt = Math.floor(clockMs / 1000);
      expect((await later.deliver(sampleBatch(), { issuedAt, expiresAt: issuedAt + 30 })).status).toBe(201);
      await expect.poll(async () => (await sql`select jti from consumed_tokens where jti = ${expiredJti}`).length).toBe(0);
      expect(await sql`select jti from consumed_tokens where jti = ${liveJti}`).toHaveLength(1);
    } finally {
      await later.close();
    }
  });
});
