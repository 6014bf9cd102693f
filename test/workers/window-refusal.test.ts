/**
 * A batch the regional backends refuse for good (durable-objects/corridor-window/deliver-batch.ts,
 * "Refusals"): the window ends `refused`, every payment in it reads `rejected` with the backend's
 * slug, the outbox stops delivering, and operators see it (the error line, the windows view, the
 * edge counter). And the counter-cases that must never reject a payment: an outage or a token the
 * backend refuses keeps retrying; a 409 or a refusal of a batch that is in fact committed settles;
 * a batch-id conflict and a rules disagreement retry and alarm.
 *
 * Partner-facing cases go through the real API on SGD-JPY (ap, one backend: ap-1), which no other
 * workerd suite uses; the answers of POST /v1/settlements are scripted per batch id by a fetch
 * spy (the Durable Objects run in this isolate), shaped as regional/routes/settlements.ts answers
 * them (test/regional/window-refusal.test.ts ties that shape to the real backend), and read-backs
 * go to the real ap-1. The direct-stub cases let the real backends refuse: a us corridor with a
 * foreign debtor leg refused by the real us-1, and an eu one where a refusal is final only once a
 * sibling agrees.
 */
import { env, runDurableObjectAlarm } from 'cloudflare:test';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import deltaSg from '../../dev/partners/delta-sg.json';
import type { PartnerCredentials } from '../../packages/partner-sdk/src/partner-client.ts';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import { settlementRefusalsMetric, settlementRefusedReason } from '../../core/netting-window.ts';
import { settlementTokenClockToleranceSeconds, settlementTokenTtlSeconds } from '../../core/settlement-batch.ts';
import { finishedWindowRetentionMs, type NettingWindowSummary } from '../../durable-objects/corridor-window/netting-store.ts';
import { partnerStateHome } from '../../durable-objects/partner-state/partner-shards.ts';
import { ana, opsFetch, opsJson } from './ops-support.ts';
import { alpha, bravo, clientFor } from './support.ts';
import { directCorridor, directPayment, enqueuePlaced, parseWindowId, sleep, waitFor, waitForStatus, waitForWindow, windowStub } from './window-support.ts';

const delta = deltaSg as PartnerCredentials & { bic: string };
const corridorId = 'SGD-JPY';
const configured = JSON.parse(env.REGIONAL_BACKENDS) as Record<string, Array<{ region: string; url: string }>>;
const eu1 = configured.eu!.find((backend) => backend.region === 'eu-1')!;
const euDown = configured.eu!.find((backend) => backend.region === 'eu-down')!;

/**
 * What a backend's POST /v1/settlements does for one batch: answer this, or `pass` to the real
 * backend (then answer `after`, if set), or leave the call unanswered (the edge sees a lost
 * connection) — and, with `commitsLater`, let the real backend commit it once the batch's next
 * read-back has answered, as a transaction the edge stopped waiting for would.
 */
type Script = (call: number) => { pass: true; after?: Response } | { pass: false; answer: Response } | { unanswered: true; commitsLater?: boolean };
type ReadBackScript = () => Response | 'pass';

const scripts = new Map<string, Script>();
const readBackScripts = new Map<string, ReadBackScript>();
/** Origins a batch's POST is scripted at (default: every backend); others pass through. */
const scriptedOrigins = new Map<string, Set<string>>();
const posts = new Map<string, number>();
/** Unanswered calls that commit after the batch's next read-back (Script `commitsLater`). */
const lateCommits = new Map<string, Request>();
const errorLines: Array<Record<string, unknown>> = [];

function problem(status: number, slug: string, detail: string, extensions: Record<string, unknown> = {}): Response {
  return new Response(JSON.stringify({ type: `urn:meridian:problem:${slug}`, title: slug.replaceAll('-', ' '), status, detail, ...extensions }), {
    status, headers: { 'content-type': 'application/problem+json' },
  });
}
const residencyDenied = (batchId: string) => problem(403, 'residency-denied', `batch ${batchId} leg DELTSGSGXXX/…: debtor country SG belongs to jurisdiction ap, not ap`, { reason: 'debtor-country-outside' });

beforeAll(() => {
  const passThrough = globalThis.fetch;
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.pathname === '/v1/settlements' && request.method === 'POST') {
      const batchId = (JSON.parse(await request.clone().text()) as { batch_id: string }).batch_id;
      const call = (posts.get(batchId) ?? 0) + 1;
      posts.set(batchId, call);
      const script = scripts.get(batchId) ?? (batchId.startsWith(`${corridorId}.`) ? () => ({ pass: false as const, answer: problem(503, 'unavailable', 'not scripted yet') }) : undefined);
      const origins = scriptedOrigins.get(batchId);
      if (script === undefined || (origins !== undefined && !origins.has(url.origin))) return passThrough(request);
      const step = script(call);
      if ('unanswered' in step) {
        if (step.commitsLater === true) lateCommits.set(batchId, request.clone());
        throw new TypeError('Network connection lost.');
      }
      if (!step.pass) return step.answer;
      const real = await passThrough(request);
      return step.after ?? real;
    }
    const readBack = /^\/v1\/settlements\/([^/]+)$/.exec(url.pathname);
    if (readBack !== null && request.method === 'GET') {
      const batchId = decodeURIComponent(readBack[1]!);
      const late = lateCommits.get(batchId);
      if (late !== undefined) {
        lateCommits.delete(batchId);
        const answered = await passThrough(request);
        const committed = await passThrough(late);
        if (committed.status !== 201) throw new Error(`the late commit of ${batchId} answered ${committed.status}: ${await committed.text()}`);
        return answered;
      }
      const scripted = readBackScripts.get(batchId)?.() ?? 'pass';
      if (scripted !== 'pass') return scripted;
      // eu-down stands in for a sibling sharing eu-1's database: its read-back is eu-1's.
      if (url.origin === new URL(euDown.url).origin) return passThrough(new URL(url.pathname, eu1.url), { headers: request.headers });
    }
    return passThrough(request);
  });
  const consoleError = console.error;
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    try {
      errorLines.push(JSON.parse(String(args[0])) as Record<string, unknown>);
    } catch {
      // not one of the JSON event lines
    }
    consoleError(...args);
  });
});
afterAll(() => vi.restoreAllMocks());
afterEach(() => {
  // A window a test left retrying settles for real from now on: nothing of this suite stays stuck.
  for (const batchId of scripts.keys()) scripts.set(batchId, () => ({ pass: true }));
  readBackScripts.clear();
  lateCommits.clear();
});

function sgdPayment(amount: string) {
  return buildInstruction({ debtorBic: delta.bic, debtorCountry: 'SG', creditorBic: 'ECHOJPJTXXX', creditorCountry: 'JP', amount, currency: 'SGD', targetCurrency: 'JPY' });
}

/** Submits through the API and scripts the answers for the window it landed in. */
async function submitScripted(amount: string, script: Script): Promise<{ uetr: string; batchId: string; startMs: number }> {
  const instruction = sgdPayment(amount);
  const answer = await clientFor(delta).submitPayment(instruction);
  expect(answer.status, JSON.stringify(answer.body)).toBe(202);
  expect(answer.body.status).toBe('accepted');
  const batchId = answer.body.window as string;
  scripts.set(batchId, script);
  return { uetr: instruction.uetr, batchId, startMs: parseWindowId(batchId).startMs };
}

async function windowOf(corridor: string, jurisdiction: string, startMs: number): Promise<NettingWindowSummary | undefined> {
  return (await windowStub(corridor, jurisdiction, 0).describeWindows()).find((window) => window.start_ms === startMs);
}

/** Waits until the window has failed `attempts` deliveries and is still sealed. */
async function retriedAtLeast(corridor: string, jurisdiction: string, startMs: number, attempts: number): Promise<NettingWindowSummary> {
  return waitFor(`window ${corridor}.${jurisdiction}.${startMs} to fail ${attempts} deliveries`, async () => {
    const window = await windowOf(corridor, jurisdiction, startMs);
    expect(window?.state === 'settled' || window?.state === 'refused', `window ${startMs} ended ${window?.state}: ${window?.last_error}`).toBe(false);
    return window !== undefined && window.state === 'sealed' && window.attempts >= attempts ? window : undefined;
  }, 30_000);
}

describe('a batch the backend refuses for its content', () => {
  it('ends the window refused, rejects every payment with the slug, stops delivering, and shows operators the problem', async () => {
    const first = await submitScripted('120.00', (call) => ({ pass: false, answer: residencyDenied(`call ${call}`) }));
    const second = await submitScripted('80.50', (call) => ({ pass: false, answer: residencyDenied(`call ${call}`) }));
    for (const payment of [first, second]) {
      const status = await waitForStatus(delta, payment.uetr, 'rejected');
      expect(status.reason).toBe(settlementRefusedReason('residency-denied'));
      expect(status.batch_id, 'a rejected payment names no batch: nothing was settled').toBeNull();
    }
    const window = await waitForWindow(corridorId, 'ap', first.startMs, 'refused');
    expect(window).toMatchObject({ refusal_slug: 'residency-denied', refusal_reason: 'debtor-country-outside', refused_by: ['ap-1'], partners_notified: 1, next_attempt_ms: null });
    expect(window.refusal_detail).toContain('debtor country SG');

    const delivered = posts.get(first.batchId)!;
    await sleep(1_500);
    for (let alarm = 0; alarm < 3; alarm++) await runDurableObjectAlarm(windowStub(corridorId, 'ap', 0));
    expect(posts.get(first.batchId), 'a refused batch is never delivered again').toBe(delivered);
    expect((await windowOf(corridorId, 'ap', first.startMs))?.state).toBe('refused');

    expect(errorLines.some((line) => line.event === 'settlement-refused' && line.batch_id === first.batchId && line.slug === 'residency-denied')).toBe(true);
    const view = await opsJson<{ corridors: Array<{ corridor: string; jurisdiction: string; windows_by_state: Record<string, number>; windows: Array<{ batch_id: string; state: string; refusal: Record<string, unknown> | null }> }> }>(ana, '/api/windows');
    const corridor = view.body.corridors.find((candidate) => candidate.corridor === corridorId && candidate.jurisdiction === 'ap')!;
    expect(corridor.windows_by_state.refused).toBeGreaterThanOrEqual(1);
    expect(corridor.windows.find((candidate) => candidate.batch_id === first.batchId)).toMatchObject({
      state: 'refused', refusal: { slug: 'residency-denied', reason: 'debtor-country-outside', regions: ['ap-1'], partners_notified: true },
    });
    const metrics = await (await opsFetch(ana, '/api/metrics')).text();
    const counted = metrics.split('\n').find((line) => line.startsWith(`${settlementRefusalsMetric}{`) && line.includes('jurisdiction="ap"') && line.includes('slug="residency-denied"'));
    expect(counted, metrics.split('\n').filter((line) => line.includes('refusals')).join('\n')).toBeDefined();
    expect(Number(counted!.split(' ').at(-1))).toBeGreaterThanOrEqual(1);

    const inFirstBatch = [first, second].filter((payment) => payment.batchId === first.batchId).length;
    // The partner's ops view: one settlement-refused security event for the batch (a repeated notification adds none), counted per kind.
    const security = await opsJson<{ events: Array<{ id: number; partner_id: string; kind: string; slug: string; context: Record<string, unknown> }>; partners: Array<{ partner_id: string; counts: Record<string, number> }> }>(ana, '/api/security-events');
    expect(security.status).toBe(200);
    const refusals = security.body.events.filter((event) => event.partner_id === delta.partner_id && event.kind === 'settlement-refused' && event.context.batch_id === first.batchId);
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ slug: 'residency-denied', context: { corridor: corridorId, jurisdiction: 'ap', reason: 'debtor-country-outside', payments: inFirstBatch } });
    expect(security.body.partners.find((partner) => partner.partner_id === delta.partner_id)?.counts['settlement-refused']).toBeGreaterThanOrEqual(1);
    const again = await partnerStateHome(env, 'ap', delta.partner_id).recordSettlementRefusal({ batchId: first.batchId, corridor: corridorId, jurisdiction: 'ap', slug: 'residency-denied', reason: 'debtor-country-outside', payments: inFirstBatch });
    expect(again.id, 'a repeated notice of the same refused batch returns the first event').toBe(refusals[0]!.id);
  });

  it('is final only when the real backend refuses it and reads it back absent (us-1, a foreign debtor leg); retention then retires the slice', async () => {
    const corridor = directCorridor('MXN-MXN', { jurisdiction: 'us', window_duration_ms: 500 });
    const payment = { ...directPayment(corridor, '2500', alpha.bic, bravo.bic), partner_id: 'charlie-trust', debtor_country: 'DE' };
    const coordinator = windowStub(corridor.id, 'us', 0);
    const batchId = await enqueuePlaced(coordinator, payment, corridor);
    const { startMs } = parseWindowId(batchId);
    const window = await waitForWindow(corridor.id, 'us', startMs, 'refused');
    expect(window).toMatchObject({ refusal_slug: 'residency-denied', refusal_reason: 'debtor-country-outside', refused_by: ['us-1'], partners_notified: 1 });
    expect(window.refusal_detail).toContain(`debtor country DE belongs to jurisdiction eu, not us`);
    // Kept for the retention like a settled window, then pruned; the watermark refuses the slice for good.
    expect((await coordinator.pruneRetained(Date.now())).windows).toBe(0);
    expect((await coordinator.pruneRetained(Date.now() + finishedWindowRetentionMs + 60_000)).windows).toBeGreaterThanOrEqual(1);
    expect((await coordinator.describeWindows()).some((candidate) => candidate.start_ms === startMs)).toBe(false);
    expect(await coordinator.joinWindow(corridor, startMs, startMs + corridor.window_duration_ms)).toBe('sealed');
  });

  it('waits for a sibling to agree: eu-1 refusing alone while eu-down is down retries; once both refuse it is final', { timeout: 120_000 }, async () => {
    const corridor = directCorridor('CAD-CAD', { window_duration_ms: 500 });
    const batchId = await enqueuePlaced(windowStub(corridor.id, 'eu', 0), { ...directPayment(corridor, '3100', alpha.bic, bravo.bic), debtor_country: 'US' }, corridor);
    const { startMs } = parseWindowId(batchId);
    const waiting = await retriedAtLeast(corridor.id, 'eu', startMs, 2);
    expect(waiting.last_error).toMatch(/eu-1: HTTP 403 residency-denied \(debtor-country-outside\)/);
    expect(waiting.last_error).toMatch(/not final: 2 backends must refuse/);
    // eu-down comes back, with the rules eu-1 has: it refuses the same bytes.
    scriptedOrigins.set(batchId, new Set([new URL(euDown.url).origin]));
    scripts.set(batchId, () => ({ pass: false, answer: problem(403, 'residency-denied', 'debtor country US belongs to jurisdiction us, not eu', { reason: 'debtor-country-outside' }) }));
    // eu-down's calls while it was down went unanswered, so the refusal waits until they cannot commit (about 35 s).
    const refused = await waitForWindow(corridor.id, 'eu', startMs, 'refused', 60_000);
    expect([...refused.refused_by!].sort()).toEqual(['eu-1', 'eu-down']);
    scripts.delete(batchId);
  });
});

describe('a refusal after a call that went unanswered (deliver-batch.ts, Unanswered calls)', () => {
  // Each case waits out a token's lifetime and the clock tolerance (about 35 s) on purpose.
  const unansweredWaitMs = (settlementTokenTtlSeconds + settlementTokenClockToleranceSeconds) * 1000;

  it('settles when that call commits after the refusal\'s read-back found the batch absent', { timeout: 120_000 }, async () => {
    const unansweredAtMs = Date.now();
    const payment = await submitScripted('58.00', (call) => (call === 1 ? { unanswered: true, commitsLater: true } : { pass: false, answer: residencyDenied(`call ${call}`) }));
    const settled = await waitFor(`payment ${payment.uetr} to settle`, async () => {
      const status = (await clientFor(delta).paymentStatus(payment.uetr)).body;
      expect(status.status, 'told rejected while its batch is committed').not.toBe('rejected');
      return status.status === 'settled' ? status : undefined;
    }, 90_000);
    expect(settled).toMatchObject({ batch_id: payment.batchId, region: 'ap-1' });
    expect(lateCommits.has(payment.batchId), 'the late commit ran').toBe(false);
    const window = (await windowOf(corridorId, 'ap', payment.startMs))!;
    expect(window).toMatchObject({ state: 'settled', refusal_slug: null });
    expect(window.settled_at_ms! - unansweredAtMs, 'settled only after the unanswered call could no longer commit').toBeGreaterThanOrEqual(unansweredWaitMs - 1_000);
  });

  it('is final only once that call can no longer commit, and the batch still reads back absent', { timeout: 120_000 }, async () => {
    const payment = await submitScripted('59.00', (call) => (call === 1 ? { unanswered: true } : { pass: false, answer: residencyDenied(`call ${call}`) }));
    const firstCallMs = Date.now();
    const window = await waitFor(`window ${payment.batchId} to be refused`, async () => {
      const found = await windowOf(corridorId, 'ap', payment.startMs);
      expect(found?.state).not.toBe('settled');
      return found?.state === 'refused' ? found : undefined;
    }, 90_000);
    expect(window).toMatchObject({ refusal_slug: 'residency-denied', refused_by: ['ap-1'] });
    expect(window.refused_at_ms! - firstCallMs, 'not refused while the unanswered call could still commit').toBeGreaterThanOrEqual(unansweredWaitMs - 2_000);
    expect((await waitForStatus(delta, payment.uetr, 'rejected')).reason).toBe(settlementRefusedReason('residency-denied'));
  });
});

describe('answers that must never reject a payment', () => {
  for (const [status, answer] of [
    [503, () => problem(503, 'unavailable', 'the settlement database is unreachable; retry later')],
    [401, () => problem(401, 'unauthorized', 'token signed by an unknown key', { reason: 'invalid-token' })],
  ] as const) {
    it(`${status} keeps the window retrying with the payment accepted, and it settles once the backend answers`, async () => {
      const payment = await submitScripted('45.00', () => ({ pass: false, answer: answer() }));
      const window = await retriedAtLeast(corridorId, 'ap', payment.startMs, 3);
      expect(window.last_error).toContain(`HTTP ${status}`);
      expect((await clientFor(delta).paymentStatus(payment.uetr)).body.status).toBe('accepted');
      scripts.set(payment.batchId, () => ({ pass: true }));
      expect((await waitForStatus(delta, payment.uetr, 'settled')).batch_id).toBe(payment.batchId);
    });
  }

  it('a 409 whose read-back shows the same digest with a verified receipt counts as settled', async () => {
    const payment = await submitScripted('61.00', () => ({ pass: true, after: problem(409, 'change-not-pending', 'already committed') }));
    const settled = await waitForStatus(delta, payment.uetr, 'settled');
    expect(settled).toMatchObject({ batch_id: payment.batchId, jurisdiction: 'ap', region: 'ap-1' });
    expect(posts.get(payment.batchId)).toBe(1);
  });

  it('a refusal of a batch that a lost answer left committed settles it (the read-back finds it), never rejects', async () => {
    const payment = await submitScripted('72.00', (call) => (call === 1
      ? { pass: true, after: problem(503, 'unavailable', 'answer lost after COMMIT') }
      : { pass: false, answer: residencyDenied('the re-check runs before the digest lookup') }));
    const settled = await waitForStatus(delta, payment.uetr, 'settled');
    expect(settled).toMatchObject({ batch_id: payment.batchId, region: 'ap-1' });
    expect((await windowOf(corridorId, 'ap', payment.startMs))?.state).toBe('settled');
  });

  it('a batch-id conflict (another digest under this batch id) retries and alarms, the payment stays accepted', async () => {
    const payment = await submitScripted('33.00', () => ({ pass: false, answer: problem(422, 'batch-rejected', 'batch is already committed with digest 00…', { batch_id: 'x' }) }));
    readBackScripts.set(payment.batchId, () => Response.json({ batch_id: payment.batchId, digest: '0'.repeat(64), corridor: corridorId, jurisdiction: 'ap', legs: [], positions: [], log_index: 0, receipt: 'a.b.c' }));
    await retriedAtLeast(corridorId, 'ap', payment.startMs, 2);
    expect(errorLines.some((line) => line.event === 'settlement-batch-id-conflict' && line.batch_id === payment.batchId)).toBe(true);
    expect((await clientFor(delta).paymentStatus(payment.uetr)).body.status).toBe('accepted');
  });

  it('a batch-rejected whose bytes pass the edge\'s own check (a release skew) retries and alarms', async () => {
    const payment = await submitScripted('27.00', () => ({ pass: false, answer: problem(422, 'batch-rejected', 'legs[0]: unrecognized key', { reason: 'malformed-batch' }) }));
    const window = await retriedAtLeast(corridorId, 'ap', payment.startMs, 2);
    expect(window.last_error).toContain('release skew');
    expect(errorLines.some((line) => line.event === 'settlement-rules-disagree' && line.batch_id === payment.batchId)).toBe(true);
    expect((await clientFor(delta).paymentStatus(payment.uetr)).body.status).toBe('accepted');
  });
});
