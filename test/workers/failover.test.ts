/**
 * Edge failover inside a jurisdiction: the circuit breakers of the jurisdiction's BackendHealth
 * object, driven through real CorridorWindow outboxes against the real regional backends
 * (global-setup.ts). The workers project lists a dead `eu-down` (127.0.0.1:9, connection refused)
 * before eu-1 in eu, so the first eu delivery fails over and every later one must skip it.
 *
 * What reaches the network is observed with a pass-through fetch spy (Durable Objects run in the
 * test's isolate): the tests assert which backends a delivery called, not how long it took.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { breakerCoolDownMs, coolDownMs, deliveryOrder, freshBreaker, probeStrikesToOpen, recordFailure, recordProbeFailure, recordProbeOk, recordSuccess, type BackendBreaker } from '../../durable-objects/corridor-window/backend-health.ts';
import { ana, opsJson } from './ops-support.ts';
import { alpha, bravo } from './support.ts';
import { directCorridor, directPayment, enqueuePlaced, parseWindowId, sleep, waitFor, waitForWindow, windowStub } from './window-support.ts';

const configured = JSON.parse(env.REGIONAL_BACKENDS) as Record<string, Array<{ region: string; url: string }>>;
const euDown = configured.eu!.find((backend) => backend.region === 'eu-down')!;
const eu1 = configured.eu!.find((backend) => backend.region === 'eu-1')!;
const us1 = configured.us![0]!;

function health(name: string) {
  return env.BACKEND_HEALTH.get(env.BACKEND_HEALTH.idFromName(name));
}

/** POST /v1/settlements calls per backend origin since the spy was installed. */
let settlementCalls: Map<string, number>;
beforeEach(() => {
  settlementCalls = new Map();
  const passThrough = globalThis.fetch;
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.pathname === '/v1/settlements' && request.method === 'POST') settlementCalls.set(url.origin, (settlementCalls.get(url.origin) ?? 0) + 1);
    return passThrough(request);
  });
});
afterEach(() => vi.restoreAllMocks());

const calls = (backend: { url: string }) => settlementCalls.get(new URL(backend.url).origin) ?? 0;

/** One payment through a real window of its own corridor; resolves with the settled window. */
async function settleOne(corridorId: string) {
  const corridor = directCorridor(corridorId, { window_duration_ms: 500 });
  const windowId = await enqueuePlaced(windowStub(corridor.id, 'eu', 0), directPayment(corridor, '1500', alpha.bic, bravo.bic), corridor);
  return waitForWindow(corridor.id, 'eu', parseWindowId(windowId).startMs, 'settled');
}

describe('circuit breaker (backend-health.ts)', () => {
  const backends = [{ region: 'a-1', url: 'http://a-1.test' }, { region: 'a-2', url: 'http://a-2.test' }, { region: 'a-3', url: 'http://a-3.test' }];
  const closed = (index: number) => freshBreaker(backends[index]!.region, backends[index]!.url, 0);
  const keyed = (...breakers: BackendBreaker[]) => new Map(breakers.map((breaker) => [`${breaker.region} ${breaker.url}`, breaker]));

  it('opens on a failure, stays open through a good probe while cooling, turns half-open after, closes on a settled delivery', () => {
    const opened = recordFailure(closed(0), 'connection refused', 1_000);
    expect(opened).toMatchObject({ state: 'open', failures: 1, retry_at_ms: 1_000 + breakerCoolDownMs, last_failure: 'connection refused', last_failure_at_ms: 1_000 });
    expect(recordProbeOk(opened, 1_000 + breakerCoolDownMs - 1).state).toBe('open');
    const halfOpen = recordProbeOk(opened, 1_000 + breakerCoolDownMs);
    expect(halfOpen.state).toBe('half-open');
    expect(recordSuccess(halfOpen, 5_000)).toMatchObject({ state: 'closed', failures: 0, retry_at_ms: null, last_success_at_ms: 5_000, last_failure: 'connection refused' });
  });

  it('re-opens a half-open backend whose trial fails, with a doubled cool-down; probes alone do not grow it', () => {
    const halfOpen = recordProbeOk(recordFailure(closed(0), 'first', 0), breakerCoolDownMs);
    const reopened = recordFailure(halfOpen, 'trial failed', 10_000);
    expect(reopened).toMatchObject({ state: 'open', failures: 2, retry_at_ms: 10_000 + 2 * breakerCoolDownMs });
    const probedDown = recordProbeFailure(reopened, { kind: 'unreachable', detail: 'probe: refused' }, 11_000);
    expect(probedDown).toMatchObject({ state: 'open', failures: 2, retry_at_ms: reopened.retry_at_ms, last_failure: 'probe: refused' });
    expect(recordProbeFailure(closed(1), { kind: 'unreachable', detail: 'probe: refused' }, 11_000)).toMatchObject({ state: 'open', failures: 1 });
    expect(coolDownMs(100)).toBeLessThanOrEqual(30_000);
  });

  it('keeps a backend whose /healthz answered late once in rotation; opens it on the strike that reaches probeStrikesToOpen', () => {
    const late = { kind: 'unhealthy', detail: 'probe: TimeoutError' } as const;
    let breaker = closed(0);
    for (let strike = 1; strike < probeStrikesToOpen; strike++) {
      breaker = recordProbeFailure(breaker, late, strike * 1_000);
      expect(breaker).toMatchObject({ state: 'closed', probe_strikes: strike, failures: 0, last_failure: 'probe: TimeoutError' });
    }
    expect(recordProbeOk(breaker, 9_000)).toMatchObject({ state: 'closed', probe_strikes: 0 });
    expect(recordProbeFailure(breaker, late, 9_000)).toMatchObject({ state: 'open', failures: 1, probe_strikes: 0, retry_at_ms: 9_000 + breakerCoolDownMs });
  });

  it('orders available backends by preference and open ones last, adding nothing', () => {
    const order = deliveryOrder(backends, keyed(recordFailure(closed(0), 'x', 0), recordProbeOk(recordFailure(closed(1), 'y', 0), breakerCoolDownMs)));
    expect(order.map((backend) => backend.region)).toEqual(['a-2', 'a-3', 'a-1']);
    const allOpen = deliveryOrder(backends, keyed(recordFailure(closed(0), 'x', 5), recordFailure(closed(1), 'y', 1), recordFailure(closed(2), 'z', 3)));
    expect(allOpen.map((backend) => backend.region)).toEqual(['a-2', 'a-3', 'a-1']);
  });
});

describe('failover through the outbox (BackendHealth "eu")', () => {
  it('marks the dead eu-down open on its first failed delivery, and later windows skip it', async () => {
    const first = await settleOne('HUF-HUF');
    expect(first.region).toBe('eu-1');
    const [down, up] = await health('eu').snapshot([euDown, eu1]);
    expect(down).toMatchObject({ region: 'eu-down', state: 'open', last_failure: expect.any(String) });
    expect(up).toMatchObject({ region: 'eu-1', state: 'closed' });

    settlementCalls.clear();
    const second = await settleOne('CZK-CZK');
    expect(second.region).toBe('eu-1');
    expect(calls(eu1)).toBeGreaterThanOrEqual(1); // the spy sees the outbox's calls…
    expect(calls(euDown)).toBe(0); // …and none went to the open backend
  });

  it('prefers a recovered backend again: eu-1 marked down turns half-open on a good probe after its cool-down, then settles and closes', async () => {
    await health('eu').plan([euDown, eu1]);
    const opened = await health('eu').report(eu1, { kind: 'failed', detail: 'drill: eu-1 marked down' });
    expect(opened.state).toBe('open');
    await sleep(opened.retry_at_ms! - Date.now() + 50);
    const probed = await health('eu').probeWatched();
    expect(probed.map((breaker) => [breaker.region, breaker.state])).toEqual([['eu-down', 'open'], ['eu-1', 'half-open']]);

    settlementCalls.clear();
    const settled = await settleOne('PLN-PLN');
    expect(settled.region).toBe('eu-1');
    expect(calls(euDown)).toBe(0);
    const [, eu1After] = await health('eu').snapshot([euDown, eu1]);
    expect(eu1After).toMatchObject({ state: 'closed', failures: 0, last_failure: 'drill: eu-1 marked down' });
  });

  it('opens a backend from an active probe before any delivery fails there', async () => {
    const watched = health('probe-drill');
    await watched.plan([euDown, eu1]);
    await runDurableObjectAlarm(watched);
    const [down, up] = await watched.snapshot([euDown, eu1]);
    expect(down).toMatchObject({ state: 'open', failures: 1, last_failure: expect.stringMatching(/^probe: /) });
    expect(up?.state).toBe('closed');
  });
});

describe('failover never leaves the jurisdiction', () => {
  it('with every eu backend dead, a delivery fails (and retries later) without calling another jurisdiction', async () => {
    const corridor = directCorridor('BAM-BAM', { window_duration_ms: 500 });
    const coordinator = windowStub(corridor.id, 'eu', 0);
    await runInDurableObject(coordinator, (instance) => {
      const holder = instance as unknown as { env: typeof env };
      holder.env = { ...holder.env, REGIONAL_BACKENDS: JSON.stringify({ eu: [euDown], us: [us1] }) };
    });
    const windowId = await enqueuePlaced(coordinator, directPayment(corridor, '700', alpha.bic, bravo.bic), corridor);
    const { startMs } = parseWindowId(windowId);
    const failed = await waitFor('a failed delivery attempt', async () => {
      const window = (await coordinator.describeWindows()).find((candidate) => candidate.start_ms === startMs);
      return window !== undefined && window.attempts >= 1 ? window : undefined;
    });
    expect(failed.last_error).toContain('eu-down');
    expect(failed.last_error).not.toContain('us-1');
    expect(calls(us1)).toBe(0);
  });
});

describe('GET /ops/api/backends shows the breakers', () => {
  it("shows eu-down's open breaker with its last failure, the delivery order, and eu-1 in use", async () => {
    await health('eu').report(euDown, { kind: 'failed', detail: 'drill: refused' });
    const answer = await opsJson<{ jurisdictions: Array<{ jurisdiction: string; in_use: string; delivery_order: string[]; backends: Array<{ region: string; breaker: { state: string; last_failure: string; last_failure_at: string; retry_at: string } | null }> }> }>(ana, '/api/backends');
    expect(answer.status).toBe(200);
    const eu = answer.body.jurisdictions.find((entry) => entry.jurisdiction === 'eu')!;
    expect(eu.delivery_order).toEqual(['eu-1', 'eu-down']);
    expect(eu.in_use).toBe('eu-1');
    const down = eu.backends.find((backend) => backend.region === 'eu-down')!;
    expect(down.breaker).toMatchObject({ state: 'open', last_failure: expect.any(String), last_failure_at: expect.stringMatching(/^\d{4}-/), retry_at: expect.stringMatching(/^\d{4}-/) });
  });
});
