/**
 * One payment's W3C trace, found in every hop's log lines (issue #12, "Done when"). The real
 * gateway runs under wrangler's test harness (workerd with wrangler.toml, its Durable Objects and
 * the dev bindings; the harness captures the Workers runtime's log output), the real regional
 * backends run as test/support/regional-fixture.ts (PGlite over the wire, the local signer) and
 * write their JSON lines to stdout. Free ports only, so this never collides with `meridian start`.
 *
 * The partner sends one payment with a `traceparent` of its own; once the payment reads settled,
 * its trace id must be in:
 *   edge            the request line of POST /v1/payments (with the partner's span as parent)
 *   PartnerState    `payment admitted`
 *   CorridorWindow  `payment placed`, `settlement delivering` (the window's close and delivery),
 *                   `settlement delivered` (the regional receipt verified: the receipt's line)
 *   regional        the commit line of the batch, `payment_trace_ids` included
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestHarness, type TestHarness } from 'wrangler';
import { startRedisBridge, type RedisBridge } from '../../cli/dev/redis-bridge.ts';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import { freePortRange } from '../support/free-ports.ts';
import { PartnerClient } from '../../packages/partner-sdk/src/partner-client.ts';
import { devUpstashToken, gatewayDevBindings, loadDevPartners } from '../../dev/fixtures.ts';

const startTimeoutMs = 150_000;
const settleTimeoutMs = 90_000;
const pollIntervalMs = 250;
const fixtureBackends = 3;

type LogRecord = Record<string, unknown>;

/** Every JSON object among the lines of `text`; other output (wrangler's banners) is skipped. */
function jsonLines(text: string): LogRecord[] {
  const records: LogRecord[] = [];
  for (const line of text.split('\n')) {
    const start = line.indexOf('{');
    if (start < 0) continue;
    try {
      const parsed = JSON.parse(line.slice(start)) as unknown;
      if (typeof parsed === 'object' && parsed !== null) records.push(parsed as LogRecord);
    } catch {
      // not a log line
    }
  }
  return records;
}

let fixture: ChildProcess;
let fixtureOutput = '';
let bridge: RedisBridge;
let harness: TestHarness;
let gateway: URL;

beforeAll(async () => {
  const base = await freePortRange(fixtureBackends);
  fixture = spawn(process.execPath, ['test/support/regional-fixture.ts', String(base)], { stdio: ['ignore', 'pipe', 'pipe'] });
  fixture.stdout?.on('data', (chunk: Buffer) => (fixtureOutput += chunk.toString()));
  fixture.stderr?.on('data', (chunk: Buffer) => (fixtureOutput += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (fixtureOutput.includes('regional-fixture: ready')) {
        clearInterval(timer);
        resolve();
      } else if (fixture.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`regional fixture exited ${fixture.exitCode}:\n${fixtureOutput.slice(-3_000)}`));
      }
    }, 100);
  });
  bridge = await startRedisBridge({ port: 0, token: devUpstashToken, log: () => {} });
  const backend = (offset: number) => `http://127.0.0.1:${base + offset}`;
  const regionalBackends = JSON.stringify({ eu: [{ region: 'eu-1', url: backend(0) }], us: [{ region: 'us-1', url: backend(1) }], ap: [{ region: 'ap-1', url: backend(2) }] });
  harness = createTestHarness({ workers: [{ configPath: 'wrangler.toml', secrets: gatewayDevBindings(), vars: { REGIONAL_BACKENDS: regionalBackends, UPSTASH_REDIS_REST_URL: bridge.url } }] });
  gateway = (await harness.listen()).url;
}, startTimeoutMs);

afterAll(async () => {
  await harness?.close();
  await bridge?.stop();
  if (fixture !== undefined && fixture.exitCode === null) {
    const exited = new Promise((resolve) => fixture.once('exit', resolve));
    fixture.kill('SIGTERM');
    await exited;
  }
}, 30_000);

describe('one payment, one trace id from the edge to the regional commit and back', () => {
  it('is in the edge, PartnerState, CorridorWindow and regional log lines', async () => {
    const partner = loadDevPartners().find((candidate) => candidate.partner_id === 'alpha-bank')!;
    const traceId = randomBytes(16).toString('hex');
    const partnerSpanId = randomBytes(8).toString('hex');
    const traceparent = `00-${traceId}-${partnerSpanId}-01`;
    let echoed: string | null = null;
    // traceparent is not a signed component: the partner's stack adds it beside the signature.
    const client = new PartnerClient(partner, gateway.href, async (request) => {
      const traced = new Request(request);
      traced.headers.set('traceparent', traceparent);
      const response = await fetch(traced);
      if (traced.method === 'POST' && new URL(traced.url).pathname === '/v1/payments') echoed = response.headers.get('traceparent');
      return response;
    });
    const instruction = buildInstruction({ debtorBic: partner.bic, debtorCountry: 'DE', creditorBic: 'BRAVFRPPXXX', creditorCountry: 'FR', amount: '123.45', currency: 'EUR', targetCurrency: 'EUR', remittanceInfo: 'Meridian trace test' });
    const answer = await client.submitPayment(instruction);
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    expect(answer.body.status).toBe('accepted');
    // The edge's own span under the partner's trace.
    expect(echoed).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(echoed).not.toBe(traceparent);

    const deadline = Date.now() + settleTimeoutMs;
    let settled: Record<string, unknown> | undefined;
    while (Date.now() < deadline && settled === undefined) {
      const status = await client.paymentStatus(instruction.uetr);
      if (status.body.status === 'settled') settled = status.body;
      else await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
    }
    expect(settled, `not settled within ${settleTimeoutMs} ms`).toBeDefined();
    const batchId = settled!.batch_id as string;

    // The window's delivered line is written after the receipt verified, before markSettled: present by now.
    const edgeLines = jsonLines(harness.getLogs().map((log) => log.message).join('\n'));
    const regionalLines = jsonLines(fixtureOutput);
    const traced = (lines: LogRecord[]) => lines.filter((line) => line.trace_id === traceId || (Array.isArray(line.payment_trace_ids) && line.payment_trace_ids.includes(traceId)));
    const find = (lines: LogRecord[], service: string, msg: string, where: (line: LogRecord) => boolean = () => true) => {
      const found = traced(lines).find((line) => line.service === service && line.msg === msg && where(line));
      expect(found, `${service} "${msg}" with trace ${traceId}; traced lines:\n${traced([...edgeLines, ...regionalLines]).map((line) => JSON.stringify(line)).join('\n')}`).toBeDefined();
      return found!;
    };

    const request = find(edgeLines, 'edge', 'request', (line) => line.method === 'POST' && line.path === '/v1/payments');
    expect(request).toMatchObject({ status: 202, trace_id: traceId, parent_span_id: partnerSpanId, request_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const edgeSpan = request.span_id as string;
    expect(echoed).toBe(`00-${traceId}-${edgeSpan}-01`);

    const admitted = find(edgeLines, 'partner-state', 'payment admitted', (line) => line.uetr === instruction.uetr);
    expect(admitted).toMatchObject({ trace_id: traceId, parent_span_id: edgeSpan, status: 'accepted', window: batchId });
    const placed = find(edgeLines, 'corridor-window', 'payment placed', (line) => line.uetr === instruction.uetr);
    expect(placed).toMatchObject({ trace_id: traceId, parent_span_id: admitted.span_id, batch_id: batchId });
    const delivering = find(edgeLines, 'corridor-window', 'settlement delivering', (line) => line.batch_id === batchId);
    expect(delivering).toMatchObject({ trace_id: traceId, payment_trace_ids: [traceId] });
    const delivered = find(edgeLines, 'corridor-window', 'settlement delivered', (line) => line.batch_id === batchId);
    expect(delivered).toMatchObject({ trace_id: traceId, span_id: delivering.span_id, payment_trace_ids: [traceId], region: settled!.region, log_index: settled!.log_index });

    const committed = find(regionalLines, 'regional', 'settlement committed', (line) => line.batch_id === batchId);
    // The regional span's parent is the delivery's span; its trace is the payment's.
    expect(committed).toMatchObject({ trace_id: traceId, payment_trace_ids: [traceId], region: settled!.region, log_index: settled!.log_index, request_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
  }, settleTimeoutMs + 30_000);
});
