/**
 * Observability at the edge, inside workerd: a payment's W3C trace is adopted and echoed, its trace
 * id is in the edge's, PartnerState's and the window's JSON log lines and in the settlement
 * delivery's, and GET /ops/api/metrics counts the admission and a refusal by slug.
 * (The regional end of the same trace: test/regional/observability.test.ts.)
 */
import { SELF } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { signedRequest, signInstruction } from '../../packages/partner-sdk/src/partner-client.ts';
import { parseTraceparent } from '../../core/trace-context.ts';
import { ana, opsFetch } from './ops-support.ts';
import { alpha, eurPayment, gatewayUrl } from './support.ts';
import { parseWindowId, waitFor, waitForWindow } from './window-support.ts';

type LogLine = Record<string, unknown>;

const captured: string[] = [];
function captureConsole(): void {
  for (const method of ['log', 'warn', 'error'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void captured.push(args.map(String).join(' ')));
  }
}
afterEach(() => {
  vi.restoreAllMocks();
  captured.length = 0;
});

/** The JSON lines captured so far (other output, e.g. from workerd itself, is not ours to parse). */
function jsonLines(): LogLine[] {
  return captured.flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as unknown;
      return typeof parsed === 'object' && parsed !== null ? [parsed as LogLine] : [];
    } catch {
      return [];
    }
  });
}

async function tracedPayment(traceparent: string | null, amount: string, tamper = false): Promise<{ response: Response; uetr: string }> {
  const instruction = eurPayment(amount);
  const jws = await signInstruction(alpha, instruction);
  const request = await signedRequest(alpha, { method: 'POST', url: `${gatewayUrl}/v1/payments`, body: jws });
  const headers = new Headers(request.headers);
  if (traceparent !== null) headers.set('traceparent', traceparent);
  const body = tamper ? jws.slice(0, -1) + (jws.endsWith('A') ? 'B' : 'A') : jws;
  return { response: await SELF.fetch(new Request(request, { headers, body })), uetr: instruction.uetr };
}

async function edgeMetrics(): Promise<string> {
  const response = await opsFetch(ana, '/api/metrics');
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

function sampleValue(exposition: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(`${name}{`) && wanted.every((pair) => candidate.includes(pair)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('edge observability', () => {
  it('adopts a valid traceparent and echoes the edge span of the same trace, with a request id', async () => {
    const traceId = crypto.randomUUID().replaceAll('-', '');
    const { response } = await tracedPayment(`00-${traceId}-00f067aa0ba902b7-01`, '12.00');
    expect(response.status).toBe(202);
    const echoed = parseTraceparent(response.headers.get('traceparent') ?? '');
    if (!echoed.ok) throw new Error(echoed.reason.kind);
    expect(echoed.value.traceId).toBe(traceId);
    expect(echoed.value.spanId).not.toBe('00f067aa0ba902b7');
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);

    // Malformed or all-zero: a new trace, still echoed; a problem answer carries the ids too.
    const fresh = await SELF.fetch(`${gatewayUrl}/healthz`, { headers: { traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` } });
    const started = parseTraceparent(fresh.headers.get('traceparent') ?? '');
    expect(started.ok && started.value.traceId !== '0'.repeat(32)).toBe(true);
    const missing = await SELF.fetch(`${gatewayUrl}/no-such-path`);
    expect(missing.status).toBe(404);
    expect(parseTraceparent(missing.headers.get('traceparent') ?? '').ok).toBe(true);
  });

  it('GET /ops/api/metrics counts an accepted payment and a refusal by slug, and is behind Access', async () => {
    expect((await opsFetch(null, '/api/metrics')).status).toBe(401);
    const before = await edgeMetrics();
    const accepted = sampleValue(before, 'meridian_edge_payments_admitted_total', { status: 'accepted' });
    const refused = sampleValue(before, 'meridian_edge_payments_refused_total', { slug: 'content-digest-mismatch' });

    expect((await tracedPayment(null, '13.00')).response.status).toBe(202);
    expect((await tracedPayment(null, '14.00', true)).response.status).toBe(400);

    const after = await waitFor('the counts', async () => {
      const exposition = await edgeMetrics();
      return sampleValue(exposition, 'meridian_edge_payments_refused_total', { slug: 'content-digest-mismatch' }) > refused
        && sampleValue(exposition, 'meridian_edge_payments_admitted_total', { status: 'accepted' }) > accepted ? exposition : undefined;
    });
    expect(sampleValue(after, 'meridian_edge_payments_admitted_total', { status: 'accepted' })).toBe(accepted + 1);
    expect(sampleValue(after, 'meridian_edge_payments_refused_total', { slug: 'content-digest-mismatch' })).toBe(refused + 1);
    expect(after).toContain('# TYPE meridian_edge_outbox_depth gauge');
    expect(after).toMatch(/^meridian_edge_window_open_payments\{corridor="EUR-EUR",jurisdiction="eu"\} \d+$/m);
    expect(after).toMatch(/^meridian_edge_scrape_errors\{source="window"\} 0$/m);
  });

  it("one payment's trace id is in the edge's, PartnerState's, the window's and the delivery's log lines", async () => {
    captureConsole();
    const traceId = crypto.randomUUID().replaceAll('-', '');
    const { response, uetr } = await tracedPayment(`00-${traceId}-b7ad6b7169203331-01`, '15.00');
    expect(response.status).toBe(202);
    const window = ((await response.json()) as { window: string }).window;

    const lines = () => jsonLines().filter((line) => line.trace_id === traceId);
    expect(lines().find((line) => line.service === 'edge' && line.msg === 'payment answered')).toMatchObject({ uetr, status: 'accepted', request_id: response.headers.get('x-request-id') });
    expect(lines().find((line) => line.service === 'edge' && line.msg === 'request')).toMatchObject({ method: 'POST', path: '/v1/payments', status: 202, parent_span_id: 'b7ad6b7169203331' });
    expect(lines().find((line) => line.service === 'partner-state')).toMatchObject({ msg: 'payment admitted', uetr, window });
    expect(lines().find((line) => line.service === 'corridor-window' && line.msg === 'payment placed')).toMatchObject({ uetr, batch_id: window });

    const { corridor, jurisdiction, startMs } = parseWindowId(window);
    await waitForWindow(corridor, jurisdiction, startMs, 'settled');
    const delivery = jsonLines().find((line) => line.msg === 'settlement delivering' && line.batch_id === window);
    expect(delivery).toBeDefined();
    expect(delivery!.payment_trace_ids).toContain(traceId);
    for (const line of jsonLines().filter((candidate) => candidate.service !== undefined)) {
      expect(typeof line.at === 'string' && typeof line.level === 'string' && typeof line.msg === 'string', JSON.stringify(line)).toBe(true);
    }
  });
});
