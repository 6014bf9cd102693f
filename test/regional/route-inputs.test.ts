/**
 * Every route parameter and query value is validated before it reaches SQL: NUL bytes, overlong
 * text, percent-encodings that are not UTF-8 and numbers beyond any tree answer 400 or 404
 * problem+json, never 500 (PostgreSQL refuses NUL in text with 22021, which used to surface as 500).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { startTestbed, type Testbed } from './support/testbed.ts';

const overlong = 'A'.repeat(10_000);
const hugeDecimal = '9'.repeat(400);
/** Values that are not what any parameter means: NUL, non-UTF-8 and overlong encodings, signs, exponents, huge numbers. */
const hostileValues = ['%00', '0%00', '%FF%FE', '%C0%80', '%ED%A0%80', '%ZZ', '%', '-1', '1e3', '0x10', ' 1', '%E2%80%AE1', overlong, hugeDecimal, '9007199254740993', '9007199254740991'];

function hostileRequests(batchId: string): string[] {
  const paths: string[] = [];
  for (const value of hostileValues) {
    paths.push(`/v1/settlements/${value}`, `/v1/settlements/${batchId.slice(0, -1)}${value}`, `/v1/log/leaves/${value}`);
    paths.push(`/v1/log/inclusion?index=${value}&size=1`, `/v1/log/inclusion?index=0&size=${value}`);
    paths.push(`/v1/log/consistency?from=${value}&to=1`, `/v1/log/consistency?from=1&to=${value}`);
    paths.push(`/v1/evidence?from=${value}&to=1`, `/v1/evidence?from=0&to=${value}`);
  }
  paths.push('/v1/log/inclusion?index=0&index=0&size=1', '/v1/evidence?from=0&to=1&to=1', '/v1/log/consistency?to=1', `/v1/settlements/${batchId}%00`);
  return paths;
}

describe.each(testDatabaseKinds())('hostile route inputs on %s', (kind) => {
  let database: TestDatabase;
  let testbed: Testbed;
  let batchId: string;

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'route_inputs');
    testbed = await startTestbed(database);
    const sealed = sampleBatch();
    batchId = sealed.batch.batch_id;
    expect((await testbed.deliver(sealed)).status).toBe(201);
  });
  afterAll(async () => {
    await testbed?.close();
    await database?.drop();
  });

  it('answers GET /v1/settlements/%00 with a 4xx problem, not 500', async () => {
    const response = await testbed.app.request('/v1/settlements/%00');
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  });

  it('answers every route with 400 or 404 problem+json for NUL, overlong, non-UTF-8 and huge inputs', async () => {
    const answers: string[] = [];
    for (const path of hostileRequests(batchId)) {
      const response = await testbed.app.request(path);
      answers.push(`${response.status} ${response.headers.get('content-type')} ${path.slice(0, 80)}`);
    }
    const unexpected = answers.filter((answer) => !/^(400|404) application\/problem\+json /.test(answer));
    expect(unexpected).toEqual([]);
    expect(testbed.logged.filter((entry) => entry.message === 'unhandled error')).toEqual([]);
  });

  it('refuses an edge token whose jti the ledger could not store (NUL, non-ASCII) with 401, not 500', async () => {
    for (const jti of ['abc\u0000def', 'caf\u00e9', 'x'.repeat(129)]) {
      const response = await testbed.deliver(sampleBatch(), { jti });
      expect(response.status, JSON.stringify(jti)).toBe(401);
    }
  });

  it('still answers well-formed requests', async () => {
    expect((await testbed.app.request(`/v1/settlements/${batchId}`)).status).toBe(200);
    expect((await testbed.app.request('/v1/log/leaves/0')).status).toBe(200);
    expect((await testbed.app.request('/v1/log/inclusion?index=0&size=1')).status).toBe(200);
    expect((await testbed.app.request('/v1/evidence?from=0&to=1')).status).toBe(200);
  });
});
