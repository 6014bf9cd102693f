/**
 * Observability of one regional backend, through the real app on a real database: a settlement
 * delivery that carries the edge's `traceparent` and the payments' trace ids writes JSON log lines
 * that name them, answers with this backend's span of the same trace, and /metrics serves the new
 * series (signer latency, retries by SQLSTATE, the auditor read gate).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { formatPaymentTraceIds, paymentTraceIdsHeader, paymentTraceIdsPerHeaderMax, parseTraceparent } from '../../core/trace-context.ts';
import { createRegionalApp } from '../../regional/app.ts';
import { readConnectionsMax, type RegionalOrm } from '../../regional/db/client.ts';
import { createAuditorReadLimiter } from '../../regional/http/limit-auditor-reads.ts';
import { registerBackendKeys } from '../../regional/keys/backend-keys.ts';
import { createRegionalMetrics } from '../../regional/metrics.ts';
import { loadOrCreateLocalSigner } from '../../regional/signer/local-signer.ts';
import { freshJurisdiction, sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { createTestEdge, mintEdgeToken, testGatewayId } from './support/edge.ts';
import { withTransactionFaults } from './support/faults.ts';

const edgeTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
const edgeTraceparent = `00-${edgeTrace}-00f067aa0ba902b7-01`;
const paymentTraces = ['0af7651916cd43dd8448eb211c80319c', edgeTrace, 'a3ce929d0e0e47364bf92f3577b34da6'];

/** Every line written to stdout/stderr while `run` ran, each parsed as JSON (a line that is not JSON fails the test). */
async function capturedLines(run: () => Promise<void>): Promise<Array<Record<string, unknown>>> {
  const written: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void written.push(String(line)));
  const error = vi.spyOn(console, 'error').mockImplementation((line: unknown) => void written.push(String(line)));
  try {
    await run();
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
  return written.map((line) => JSON.parse(line) as Record<string, unknown>);
}

function sample(exposition: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((pair) => [pair[1], pair[2]]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) return Number(match[3]);
  }
  return undefined;
}

describe.each(testDatabaseKinds())('regional observability on %s', (kind) => {
  let database: TestDatabase;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'observability');
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  afterAll(async () => {
    await database?.drop();
  });

  /** The real app with its real console logger (no test logger), as regional/server.ts builds it. */
  async function backend(wrapOrm?: (orm: RegionalOrm) => RegionalOrm) {
    const jurisdiction = freshJurisdiction();
    const name = `regional-observability-${randomBytes(4).toString('hex')}`;
    const commits = database.connect(name);
    const reads = database.connect(`${name}-read`, { connectionsMax: readConnectionsMax });
    const keyDirectory = await mkdtemp(join(tmpdir(), 'meridian-observability-keys-'));
    cleanups.push(async () => {
      await commits.close();
      await reads.close();
      await rm(keyDirectory, { recursive: true, force: true });
    });
    const signer = await loadOrCreateLocalSigner({ keyFile: join(keyDirectory, 'eu-1.json') });
    const edge = await createTestEdge();
    const registered = await registerBackendKeys(commits.orm, { region: 'eu-1', jurisdiction, signer, noteSigner: signer }, new Date(), { retireSuperseded: false });
    if (!registered.ok) throw new Error(registered.reason.detail);
    const app = createRegionalApp({
      region: 'eu-1', jurisdiction, gatewayId: testGatewayId, signer, edgeKeys: edge.keys, keysRegisteredAtStart: true,
      database: wrapOrm === undefined ? commits : { ...commits, orm: wrapOrm(commits.orm) }, readDatabase: reads,
      commitOptions: { backoff: { retriesMax: 4, backoffBaseMs: 1, backoffCapMs: 5 } },
    });
    const deliver = async (headers: Record<string, string>) => {
      const sealed = sampleBatch({ jurisdiction });
      const token = await mintEdgeToken(edge, { audience: 'eu-1', batchDigest: sealed.digest });
      const response = await app.request('/v1/settlements', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body: sealed.canonical });
      return { response, sealed };
    };
    return { app, jurisdiction, deliver };
  }

  it('a delivery with traceparent and payment trace ids logs JSON lines naming them, and answers in the same trace', async () => {
    const { deliver } = await backend();
    let answer: Response | undefined;
    let batchId = '';
    const lines = await capturedLines(async () => {
      const { response, sealed } = await deliver({ traceparent: edgeTraceparent, [paymentTraceIdsHeader]: `${paymentTraces.join(',')},not-a-trace-id` });
      answer = response;
      batchId = sealed.batch.batch_id;
    });
    expect(answer!.status).toBe(201);
    const echoed = parseTraceparent(answer!.headers.get('traceparent') ?? '');
    if (!echoed.ok) throw new Error(`no valid traceparent on the answer: ${echoed.reason.kind}`);
    expect(echoed.value.traceId).toBe(edgeTrace);
    expect(echoed.value.spanId).not.toBe('00f067aa0ba902b7');
    const requestId = answer!.headers.get('x-request-id');
    expect(requestId).toMatch(/^[0-9a-f]{32}$/);

    const committed = lines.find((line) => line.msg === 'settlement committed');
    expect(committed).toMatchObject({
      level: 'info', service: 'regional', region: 'eu-1', batch_id: batchId,
      request_id: requestId, trace_id: edgeTrace, span_id: echoed.value.spanId, payment_trace_ids: paymentTraces,
    });
    expect(Number.isNaN(Date.parse(String(committed!.at)))).toBe(false);
    for (const line of lines) expect(line, JSON.stringify(line)).toMatchObject({ trace_id: edgeTrace, request_id: requestId });
  });

  it('a missing or invalid traceparent starts a new trace; a refused delivery logs in it, and no context key overrides the ids', async () => {
    const { deliver, app } = await backend();
    let answer: Response | undefined;
    const lines = await capturedLines(async () => {
      answer = (await deliver({ traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` })).response;
    });
    const started = parseTraceparent(answer!.headers.get('traceparent') ?? '');
    if (!started.ok) throw new Error(started.reason.kind);
    expect(started.value.traceId).not.toBe('0'.repeat(32));
    expect(lines.find((line) => line.msg === 'settlement committed')).toMatchObject({ trace_id: started.value.traceId });
    expect(lines.every((line) => line.payment_trace_ids === undefined)).toBe(true);

    const refusedLines = await capturedLines(async () => {
      answer = await app.request('/v1/settlements', { method: 'POST', headers: { authorization: 'Bearer not-a-token', 'content-type': 'application/json', traceparent: edgeTraceparent }, body: '{}' });
    });
    expect(answer!.status).toBe(401);
    expect(answer!.headers.get('traceparent')).toMatch(new RegExp(`^00-${edgeTrace}-[0-9a-f]{16}-01$`));
    expect(refusedLines.find((line) => line.msg === 'edge token rejected')).toMatchObject({ level: 'info', trace_id: edgeTrace, request_id: answer!.headers.get('x-request-id') });
  });

  it('GET /metrics serves signer latency, retries by SQLSTATE and the auditor read gate', async () => {
    const { deliver, app, jurisdiction } = await backend(withTransactionFaults([{ code: '40001', outcome: 'rolled-back' }, { code: '40P01', outcome: 'rolled-back' }]));
    await capturedLines(async () => {
      expect((await deliver({})).response.status).toBe(201);
    });
    const exposition = await (await app.request('/metrics')).text();
    const labels = { region: 'eu-1', jurisdiction };
    // Two Sign calls per commit (receipt and DSSE leaf), one per attempt that got that far.
    expect(sample(exposition, 'meridian_signer_sign_seconds_count', { ...labels, alg: 'EdDSA', outcome: 'ok' })).toBeGreaterThanOrEqual(2);
    expect(sample(exposition, 'meridian_settlement_commit_retries_total', { ...labels, sqlstate: '40001' })).toBe(1);
    expect(sample(exposition, 'meridian_settlement_commit_retries_total', { ...labels, sqlstate: '40P01' })).toBe(1);
    expect(sample(exposition, 'meridian_auditor_reads_in_use', labels)).toBe(0);
    expect(sample(exposition, 'meridian_auditor_reads_concurrent_max', labels)).toBe(2);
    expect(sample(exposition, 'meridian_auditor_reads_refused_total', labels)).toBe(0);
    expect(sample(exposition, 'meridian_log_tree_size', labels)).toBe(1);
    expect(sample(exposition, 'meridian_settlement_commit_seconds_count', labels)).toBe(1);
  });
});

describe('auditor read gate saturation', () => {
  it('reports requests in use, queued and refused, and /metrics serves them', async () => {
    const limiter = createAuditorReadLimiter({ concurrentMax: 2, queuedMax: 3, queueWaitMsMax: 60_000 });
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const app = new Hono();
    app.get('/read', limiter.middleware, async (c) => {
      await held;
      return c.text('ok');
    });
    const inFlight = Array.from({ length: 5 }, () => app.request('/read'));
    await vi.waitFor(() => expect(limiter.saturation()).toMatchObject({ inUse: 2, queued: 3 }));
    const refused = await app.request('/read');
    expect(refused.status).toBe(503);
    expect(limiter.saturation()).toEqual({ inUse: 2, queued: 3, refusedTotal: 1, concurrentMax: 2, queuedMax: 3 });

    const metrics = createRegionalMetrics({ region: 'eu-1', jurisdiction: 'eu', logTreeSize: async () => 0, auditorReads: () => limiter.saturation(), processMetrics: false });
    const during = await metrics.registry.metrics();
    expect(sample(during, 'meridian_auditor_reads_in_use', {})).toBe(2);
    expect(sample(during, 'meridian_auditor_reads_queued', {})).toBe(3);
    expect(sample(during, 'meridian_auditor_reads_refused_total', {})).toBe(1);

    release();
    for (const response of await Promise.all(inFlight)) expect(response.status).toBe(200);
    const after = await metrics.registry.metrics();
    expect(sample(after, 'meridian_auditor_reads_in_use', {})).toBe(0);
    expect(sample(after, 'meridian_auditor_reads_refused_total', {})).toBe(1);
  });
});

describe('retry labels', () => {
  it('a code the commit does not retry on is counted as other, so the label set stays closed', async () => {
    const metrics = createRegionalMetrics({ region: 'eu-1', jurisdiction: 'eu', logTreeSize: async () => 0, processMetrics: false });
    metrics.commitRetried('XX999');
    metrics.commitRetried('40003');
    metrics.commitRetried();
    const exposition = await metrics.registry.metrics();
    expect(sample(exposition, 'meridian_settlement_commit_retries_total', { sqlstate: 'other' })).toBe(2);
    expect(sample(exposition, 'meridian_settlement_commit_retries_total', { sqlstate: '40003' })).toBe(1);
    expect(sample(exposition, 'meridian_settlement_commit_retries_total', { sqlstate: '40001' })).toBe(0);
    expect(exposition).not.toContain('XX999');
  });
});

describe('payment trace ids header', () => {
  it('keeps distinct valid ids, at most the header maximum', () => {
    const many = Array.from({ length: paymentTraceIdsPerHeaderMax + 50 }, (_, index) => index.toString(16).padStart(32, 'a'));
    const header = formatPaymentTraceIds([...many, many[0]!, 'nope'])!;
    expect(header.split(',')).toHaveLength(paymentTraceIdsPerHeaderMax);
    expect(formatPaymentTraceIds(['0'.repeat(32)])).toBeNull();
  });
});
