/**
 * Sanctions screening and velocity in the payment pipeline, through SELF.fetch with signed
 * requests: a possible match (or a provider outage) is admitted `202 held`, enters no window, and
 * settles only after one operator proposes and a second approves its release; a rejected hold reads
 * `rejected`. golf-limited is refused past 20 payments a minute. EUR-USD is this suite's corridor
 * alone: it pauses it.
 */
import { env, runDurableObjectAlarm, runInDurableObject, SELF } from 'cloudflare:test';
import { compactVerify, createLocalJWKSet } from 'jose';
import { describe, expect, it } from 'vitest';
import { signedRequest, signInstruction } from '../../packages/partner-sdk/src/partner-client.ts';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import golfLimitedJson from '../../dev/partners/golf-limited.json';
import { verifyAuditChain, type AuditEntry } from '../../core/ops-changes.ts';
import { partnerStateForPayment } from '../../durable-objects/partner-state/partner-shards.ts';
import type { HeldPayment } from '../../durable-objects/partner-state/partner-state.ts';
import { corridorDirectoryTtlMs } from '../../workers/payments/route-to-corridor.ts';
import { ana, ben, chidi, opsJson } from './ops-support.ts';
import { alpha, bravo, charlie, client, echo, expectProblem, type DevCredentials } from './partner-trust-support.ts';
import { gatewayUrl } from './support.ts';
import { sleep, waitForStatus } from './window-support.ts';

const golf = golfLimitedJson as DevCredentials;
const sanctioned = 'Usama bin Laden';
const disguised = 'LOERA Joaquin GUZMAN';
const ordinary = 'Aiko Tanaka';
const minuteMs = 60_000;

function control() {
  return env.CONTROL.get(env.CONTROL.idFromName('control'));
}

/** The PartnerState shard that holds alpha-bank's payment `uetr` (partner-shards.ts). */
function alphaState(uetr: string) {
  return partnerStateForPayment(env, 'eu', 'alpha-bank', uetr);
}

/** A EUR→EUR payment from alpha-bank whose debtor is `debtorName`. */
function eurPayment(debtorName: string, overrides: { targetCurrency?: string; creditorBic?: string } = {}) {
  const instruction = buildInstruction({
    debtorBic: alpha.bic, debtorCountry: 'DE', creditorBic: overrides.creditorBic ?? bravo.bic, creditorCountry: 'FR', amount: '310.00', currency: 'EUR', targetCurrency: overrides.targetCurrency ?? 'EUR',
  });
  return { ...instruction, debtor: { ...instruction.debtor, name: debtorName } };
}

function usdJpyPayment(partner: DevCredentials) {
  return buildInstruction({ debtorBic: partner.bic, debtorCountry: 'US', creditorBic: echo.bic, creditorCountry: 'JP', amount: '20.00', currency: 'USD', targetCurrency: 'JPY' });
}

async function submit(partner: DevCredentials, instruction: unknown) {
  return client(partner).submitPayment(instruction);
}

async function expectHeld(instruction: { uetr: string }) {
  const answer = await submit(alpha, instruction);
  expect(answer.status, JSON.stringify(answer.body)).toBe(202);
  expect(answer.body).toMatchObject({ uetr: instruction.uetr, status: 'held', window: null });
  return answer.body;
}

async function holds(): Promise<Array<HeldPayment & { partner_id: string }>> {
  const { status, body } = await opsJson<{ holds: Array<HeldPayment & { partner_id: string }> }>(chidi, '/api/holds');
  expect(status).toBe(200);
  return body.holds;
}

async function screeningResultsOf(uetr: string) {
  const { status, body } = await opsJson<{ results: Array<Record<string, unknown>> }>(ana, `/api/screening-results?partner_id=alpha-bank&limit=500`);
  expect(status).toBe(200);
  return body.results.filter((result) => result.uetr === uetr);
}

async function propose(operator: string, proposal: Record<string, unknown>) {
  return opsJson<{ id: string; status: string; proposal: Record<string, unknown>; type?: string; detail?: string }>(operator, '/api/changes', { method: 'POST', json: proposal });
}

async function approve(operator: string, changeId: string) {
  return opsJson<{ status: string; effect: Record<string, unknown>; type?: string; detail?: string }>(operator, `/api/changes/${changeId}/approve`, { method: 'POST' });
}

async function setCorridor(state: 'open' | 'paused') {
  expect((await control().setCorridorState('EUR-USD', state, { actor: 'holds-test@meridian.test', reason: 'holds suite' })).ok).toBe(true);
  await sleep(corridorDirectoryTtlMs + 100);
}

describe('screening in the pipeline: holds', () => {
  it('admits a sanctioned name and a disguised variant 202 held with a held receipt, tells the partner nothing more, and lists both for operators', async () => {
    const listed = eurPayment(sanctioned);
    const variant = eurPayment(disguised);
    const answer = await expectHeld(listed);
    await expectHeld(variant);

    const jwks = (await (await SELF.fetch(`${gatewayUrl}/.well-known/jwks.json`)).json()) as { keys: [] };
    const { payload } = await compactVerify(answer.receipt as string, createLocalJWKSet(jwks));
    expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({ uetr: listed.uetr, partner_id: 'alpha-bank', status: 'held', window: null });

    // No tipping-off: the owner reads `held` and nothing about the match.
    const status = await client(alpha).paymentStatus(listed.uetr);
    expect(status).toMatchObject({ status: 200, body: { uetr: listed.uetr, status: 'held', batch_id: null } });
    expect(JSON.stringify(status.body)).not.toMatch(/laden|ofac|match|score|sanction/i);

    const shown = await holds();
    const hold = shown.find((entry) => entry.uetr === listed.uetr)!;
    expect(hold).toMatchObject({
      partner_id: 'alpha-bank', corridor: 'EUR-EUR', amount: { value: '310.00', currency: 'EUR' }, debtor_name: sanctioned, creditor_name: 'Beneficiary Ltd', cause: 'possible-match',
      screening: { outcome: 'possible-match', provider_id: 'in-process', threshold: 0.85, algorithm: 'meridian-jw-dmetaphone/3', list_version: { digest: expect.stringMatching(/^[0-9a-f]{64}$/) } },
    });
    expect(hold.screening!.matches[0]).toMatchObject({ party: 'debtor', entry_id: 'ofac-sdn:6365', score: 1 });
    expect(shown.find((entry) => entry.uetr === variant.uetr)?.screening?.matches[0]?.listed_name).toMatch(/GUZMAN LOERA/i);
    const times = shown.map((entry) => entry.held_at);
    expect(times).toEqual([...times].sort().reverse());
  });

  it('settles an ordinary payment while the held one submitted beside it stays held; a release by two operators settles it', async () => {
    const held = eurPayment(sanctioned);
    const clear = eurPayment(ordinary);
    await expectHeld(held);
    const accepted = await submit(alpha, clear);
    expect(accepted.body).toMatchObject({ status: 'accepted', window: expect.stringMatching(/^EUR-EUR\.eu\./) });
    expect(await screeningResultsOf(clear.uetr)).toMatchObject([{ outcome: 'clear', cause: null, algorithm: 'meridian-jw-dmetaphone/3', threshold: 0.85, matches: [] }]);
    await waitForStatus(alpha, clear.uetr, 'settled');
    expect((await client(alpha).paymentStatus(held.uetr)).body.status).toBe('held');

    const proposed = await propose(ana, { kind: 'hold-decision', uetr: held.uetr, decision: 'release', reason: 'false positive: a different person, passport checked' });
    expect(proposed).toMatchObject({ status: 201, body: { status: 'proposed', proposal: { partner_id: 'alpha-bank', uetr: held.uetr } } });
    const own = await approve(ana, proposed.body.id);
    expect(own).toMatchObject({ status: 403, body: { type: 'urn:meridian:problem:four-eyes-required' } });
    expect((await client(alpha).paymentStatus(held.uetr)).body.status).toBe('held');

    const approved = await approve(ben, proposed.body.id);
    expect(approved).toMatchObject({ status: 200, body: { status: 'applied', effect: { partner_id: 'alpha-bank', uetr: held.uetr, decision: 'release', window_name: expect.stringMatching(/^EUR-EUR\|eu\|/) } } });
    const settled = await waitForStatus(alpha, held.uetr, 'settled');
    expect(settled.batch_id).toMatch(/^EUR-EUR\.eu\.0\./);
    expect((await holds()).some((entry) => entry.uetr === held.uetr)).toBe(false);

    const { body } = await opsJson<{ entries: AuditEntry[] }>(ana, '/api/audit');
    expect(verifyAuditChain(body.entries).ok).toBe(true);
    expect(body.entries.filter((entry) => entry.change_id === proposed.body.id).map((entry) => [entry.action, entry.actor])).toEqual([['proposed', ana], ['approved', ben], ['applied', ben]]);
    // A decided hold cannot be decided again.
    expect(await propose(chidi, { kind: 'hold-decision', uetr: held.uetr, decision: 'reject', reason: 'second thoughts' })).toMatchObject({ status: 422, body: { type: 'urn:meridian:problem:invalid-change' } });
  });

  it('rejects a hold by two operators: the partner reads rejected, reason sanctions-hold-rejected', async () => {
    const held = eurPayment(disguised);
    await expectHeld(held);
    const proposed = await propose(ben, { kind: 'hold-decision', uetr: held.uetr, partner_id: 'alpha-bank', decision: 'reject', reason: 'confirmed match against SDN entry' });
    expect(proposed.status).toBe(201);
    expect(await approve(chidi, proposed.body.id)).toMatchObject({ status: 200, body: { status: 'applied', effect: { decision: 'reject', window_name: null } } });
    expect((await client(alpha).paymentStatus(held.uetr)).body).toMatchObject({ status: 'rejected', reason: 'sanctions-hold-rejected' });
    expect((await holds()).some((entry) => entry.uetr === held.uetr)).toBe(false);
    // A repeat of the UETR still gets its original answer (held), never a second admission.
    const again = await submit(alpha, held);
    expect(again.body).toMatchObject({ status: 'held' });
  });

  it('refuses a hold-decision for a UETR that is not held: unknown, accepted, or another partner named', async () => {
    const accepted = eurPayment(ordinary);
    expect((await submit(alpha, accepted)).body.status).toBe('accepted');
    const held = eurPayment(sanctioned);
    await expectHeld(held);
    for (const proposal of [
      { uetr: crypto.randomUUID() },
      { uetr: accepted.uetr },
      { uetr: held.uetr, partner_id: 'banque-bravo' },
      { uetr: held.uetr, partner_id: 'no-such-bank' },
    ]) {
      const refused = await propose(ana, { kind: 'hold-decision', decision: 'release', reason: 'not held', ...proposal });
      expect(refused.status, JSON.stringify(proposal)).toBe(422);
      expect(refused.body.type).toBe('urn:meridian:problem:invalid-change');
    }
  });

  it('refuses a release into a paused corridor 409 corridor-closed, keeps the change proposed, and releases once the corridor is open again', async () => {
    const held = eurPayment(sanctioned, { targetCurrency: 'USD', creditorBic: charlie.bic });
    await expectHeld(held);
    const proposed = await propose(ana, { kind: 'hold-decision', uetr: held.uetr, decision: 'release', reason: 'cleared by compliance' });
    await setCorridor('paused');
    try {
      const refused = await approve(ben, proposed.body.id);
      expect(refused).toMatchObject({ status: 409, body: { type: 'urn:meridian:problem:corridor-closed' } });
      expect(refused.body.detail).toContain('EUR-USD is paused');
      const pending = await opsJson<{ changes: Array<{ id: string }> }>(ana, '/api/changes?status=proposed');
      expect(pending.body.changes.some((change) => change.id === proposed.body.id)).toBe(true);
      expect((await client(alpha).paymentStatus(held.uetr)).body.status).toBe('held');
    } finally {
      await setCorridor('open');
    }
    expect(await approve(ben, proposed.body.id)).toMatchObject({ status: 200, body: { status: 'applied' } });
    await waitForStatus(alpha, held.uetr, 'settled');
  });

  it('finishes a release whose push to PartnerState failed from Control’s alarm, and enqueues it once', async () => {
    const held = eurPayment(disguised);
    await expectHeld(held);
    const broken = {
      jurisdiction: () => broken,
      idFromName: (name: string) => env.PARTNER_STATE.idFromName(name),
      // Reads still answer (the approval re-reads the hold); the push of the decision fails.
      get: (id: DurableObjectId) => ({ heldPayment: (uetr: string) => env.PARTNER_STATE.get(id).heldPayment(uetr), decideHold: async () => { throw new Error('PartnerState unreachable (test)'); } }),
    };
    const setHoldEnv = (value: typeof env) => runInDurableObject(control(), (instance) => {
      (instance as unknown as { holdDecisions: { env: typeof env } }).holdDecisions.env = value;
    });
    await setHoldEnv({ ...env, PARTNER_STATE: broken as unknown as typeof env.PARTNER_STATE });
    const proposed = await propose(chidi, { kind: 'hold-decision', uetr: held.uetr, partner_id: 'alpha-bank', decision: 'release', reason: 'cleared' });
    try {
      expect(await approve(ana, proposed.body.id)).toMatchObject({ status: 200, body: { status: 'applied' } });
      expect((await client(alpha).paymentStatus(held.uetr)).body.status).toBe('held');
    } finally {
      await setHoldEnv(env);
    }
    expect(await runDurableObjectAlarm(control())).toBe(true);
    const settled = await waitForStatus(alpha, held.uetr, 'settled');
    // A second push (a retry after a lost confirmation) finds the decision made and the payment placed: nothing twice.
    expect(await alphaState(held.uetr).decideHold({ change_id: proposed.body.id, uetr: held.uetr, decision: 'release', reason: 'cleared', decided_by: ana })).toEqual({ kind: 'released', window: settled.batch_id });
    expect(await alphaState(held.uetr).decideHold({ change_id: crypto.randomUUID(), uetr: held.uetr, decision: 'reject', reason: 'late', decided_by: ana })).toEqual({ kind: 'decided-by-another-change', change_id: proposed.body.id });
  });

  it('holds, never refuses, when the screening provider is down; and never drops the payment', async () => {
    const saved = { SANCTIONS_PROVIDER: env.SANCTIONS_PROVIDER, WORLD_CHECK_URL: env.WORLD_CHECK_URL, WORLD_CHECK_API_KEY: env.WORLD_CHECK_API_KEY, WORLD_CHECK_API_SECRET: env.WORLD_CHECK_API_SECRET, WORLD_CHECK_GROUP_ID: env.WORLD_CHECK_GROUP_ID };
    const instruction = eurPayment(ordinary);
    // The Worker under SELF reads this same env object: a World-Check configuration on a dead port.
    Object.assign(env, { SANCTIONS_PROVIDER: 'world-check', WORLD_CHECK_URL: 'http://127.0.0.1:9/v2', WORLD_CHECK_API_KEY: 'k', WORLD_CHECK_API_SECRET: 's', WORLD_CHECK_GROUP_ID: 'g' });
    try {
      await expectHeld(instruction);
    } finally {
      Object.assign(env, saved);
    }
    const [result] = await screeningResultsOf(instruction.uetr);
    expect(result).toMatchObject({ outcome: 'provider-unavailable', cause: 'provider-unavailable', provider_id: 'world-check-one', list_version: null, failure: { kind: 'provider-unreachable' } });
    expect((await holds()).find((entry) => entry.uetr === instruction.uetr)).toMatchObject({ cause: 'provider-unavailable' });
  });

  it('answers a repeat of a held UETR held without screening it again, and concurrent repeats share one admission', async () => {
    const held = eurPayment(sanctioned);
    const jws = await signInstruction(alpha, held);
    const answers = await Promise.all(Array.from({ length: 8 }, () => client(alpha).submitJws(jws)));
    expect(answers.map((answer) => answer.status)).toEqual(Array.from({ length: 8 }, () => 202));
    expect(new Set(answers.map((answer) => answer.body.receipt)).size).toBe(1);
    const again = await client(alpha).submitJws(jws);
    expect(again.body).toEqual(answers[0]!.body);
    expect(await screeningResultsOf(held.uetr)).toHaveLength(1);
    expect((await holds()).filter((entry) => entry.uetr === held.uetr)).toHaveLength(1);
  });
});

describe('velocity in the pipeline', () => {
  it('refuses golf-limited past 20 payments a minute with 429 velocity-exceeded and Retry-After, while another partner is not', async () => {
    // Keep the run inside one UTC minute (fixed windows): a boundary mid-run would reset the count.
    const leftMs = minuteMs - (Date.now() % minuteMs);
    if (leftMs < 15_000) await sleep(leftMs + 200);
    let accepted = 0;
    let refusal: Response | undefined;
    for (let attempt = 0; attempt < 21 && refusal === undefined; attempt += 1) {
      const request = await signedRequest(golf, { method: 'POST', url: `${gatewayUrl}/v1/payments`, body: await signInstruction(golf, usdJpyPayment(golf)) });
      const answer = await SELF.fetch(request);
      if (answer.status === 202) accepted += 1;
      else refusal = answer;
      if (answer.status === 202) await answer.body?.cancel();
    }
    expect(refusal, `${accepted} accepted and no refusal`).toBeDefined();
    expect(accepted).toBeLessThanOrEqual(20);
    expect(await expectProblem(refusal!, 'velocity-exceeded')).toMatchObject({ limit: 'partner-payments-per-minute' });
    const retryAfter = Number(refusal!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await submit(charlie, usdJpyPayment(charlie))).status).toBe(202);
  });
});
