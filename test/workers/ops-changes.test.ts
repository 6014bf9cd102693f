/**
 * The ops API: Cloudflare Access as the only way in, and every change under two-person control with
 * a hash-chained audit log an outsider can recompute. SEK-SEK is this suite's corridor alone.
 */
import { env, runInDurableObject, SELF } from 'cloudflare:test';
import { generateKeyPair, exportJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import { verifyAuditChain, type AuditEntry } from '../../core/ops-changes.ts';
import { corridorDirectoryTtlMs } from '../../workers/payments/route-to-corridor.ts';
import { accessToken, ana, ben, chidi, opsFetch, opsJson, proposeAndApprove } from './ops-support.ts';
import { alpha, clientFor, gatewayUrl } from './support.ts';
import { sleep } from './window-support.ts';

const corridorId = 'SEK-SEK';

function control() {
  return env.CONTROL.get(env.CONTROL.idFromName('control'));
}

function sekPayment(amount: string) {
  return buildInstruction({ debtorBic: alpha.bic, debtorCountry: 'DE', creditorBic: 'ESSESESSXXX', creditorCountry: 'SE', amount, currency: 'SEK', targetCurrency: 'SEK' });
}

async function corridorState(): Promise<string> {
  const { body } = await opsJson<{ corridors: Array<{ id: string; state: string }> }>(ana, '/api/corridors');
  return body.corridors.find((corridor) => corridor.id === corridorId)!.state;
}

function pause(reason = 'maintenance of the SEK leg') {
  return { kind: 'corridor-state', corridor: corridorId, state: 'paused', reason };
}

function reopen() {
  return { kind: 'corridor-state', corridor: corridorId, state: 'open', reason: 'maintenance over' };
}

async function withToken(token: string, path = '/api/corridors'): Promise<{ status: number; type: string }> {
  const response = await SELF.fetch(`${gatewayUrl}/ops${path}`, { headers: { 'cf-access-jwt-assertion': token } });
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  return { status: response.status, type: ((await response.json()) as { type: string }).type };
}

describe('Cloudflare Access in front of /ops', () => {
  it('refuses every /ops path without a token: 401 unauthenticated', async () => {
    for (const path of ['', '/', '/api/corridors', '/api/changes', '/api/audit']) {
      const response = await opsFetch(null, path);
      expect(response.status, path).toBe(401);
      expect(((await response.json()) as { type: string }).type).toBe('urn:meridian:problem:unauthenticated');
    }
    const proposal = await opsFetch(null, '/api/changes', { method: 'POST', json: pause() });
    expect(proposal.status).toBe(401);
  });

  it('refuses a wrong audience, a wrong issuer, an expired token and a foreign key with 401', async () => {
    const { privateKey } = await generateKeyPair('Ed25519', { extractable: true });
    const foreign = { ...(await exportJWK(privateKey)), kid: 'access-dev-2026-11' };
    for (const token of [
      await accessToken(ana, { audience: 'another-application' }),
      await accessToken(ana, { issuer: 'https://attacker.cloudflareaccess.com' }),
      await accessToken(ana, { expiresInSeconds: -120 }),
      await accessToken(ana, { key: foreign }),
      'not-a-jwt',
    ]) {
      expect(await withToken(token)).toEqual({ status: 401, type: 'urn:meridian:problem:unauthenticated' });
    }
  });

  it('answers 403 forbidden to a valid token of someone who is not an operator', async () => {
    expect(await withToken(await accessToken('mallory@meridian.example'))).toEqual({ status: 403, type: 'urn:meridian:problem:forbidden' });
  });

  it('takes the CF_Authorization cookie the browser carries', async () => {
    const response = await SELF.fetch(`${gatewayUrl}/ops/api/corridors`, { headers: { cookie: `CF_Authorization=${await accessToken(ben)}` } });
    expect(response.status).toBe(200);
  });
});

describe('two-person control', () => {
  it('applies a pause only when a second operator approves it, exactly once; the proposer cannot approve', async () => {
    const proposed = await opsJson<{ id: string; status: string; proposed_by: string; expires_at: string }>(ana, '/api/changes', { method: 'POST', json: pause() });
    expect(proposed.status).toBe(201);
    expect(proposed.body).toMatchObject({ kind: 'corridor-state', status: 'proposed', proposed_by: ana });
    expect(Date.parse(proposed.body.expires_at)).toBeGreaterThan(Date.now());
    expect(await corridorState()).toBe('open');

    const own = await opsJson<{ type: string }>(ana, `/api/changes/${proposed.body.id}/approve`, { method: 'POST' });
    expect(own.status).toBe(403);
    expect(own.body.type).toBe('urn:meridian:problem:four-eyes-required');
    expect(await corridorState()).toBe('open');

    // Two operators race to approve: one applies it, the other finds it decided.
    const [first, second] = await Promise.all([
      opsJson(ben, `/api/changes/${proposed.body.id}/approve`, { method: 'POST' }),
      opsJson(chidi, `/api/changes/${proposed.body.id}/approve`, { method: 'POST' }),
    ]);
    expect([first.status, second.status].sort()).toEqual([200, 409]);
    const applied = first.status === 200 ? first.body : second.body;
    expect(applied).toMatchObject({ status: 'applied', approved_by: expect.stringMatching(/^(ben|chidi)@/) });
    expect(await corridorState()).toBe('paused');
    const history = await control().corridorStateChanges(corridorId);
    expect(history.filter((change) => change.to === 'paused')).toHaveLength(1);

    await proposeAndApprove(ben, ana, reopen());
    expect(await corridorState()).toBe('open');
  });

  it('has the effects DESIGN.md promises: new payments 409 while paused, an earlier one keeps its 202, reopening restores admission', async () => {
    const admitted = sekPayment('15.00');
    const first = await clientFor(alpha).submitPayment(admitted);
    expect(first.status).toBe(202);
    await proposeAndApprove(ana, ben, pause('effects test'));
    try {
      await sleep(corridorDirectoryTtlMs + 100);
      const refused = await clientFor(alpha).submitPayment(sekPayment('16.00'));
      expect(refused.status).toBe(409);
      expect(refused.body.type).toBe('urn:meridian:problem:corridor-closed');
      const retry = await clientFor(alpha).submitPayment(admitted);
      expect(retry.status).toBe(202);
      expect(retry.body).toEqual(first.body);
    } finally {
      await proposeAndApprove(ben, chidi, reopen());
    }
    await sleep(corridorDirectoryTtlMs + 100);
    expect((await clientFor(alpha).submitPayment(sekPayment('17.00'))).status).toBe(202);
  });

  it('lets either operator reject a proposal, after which it can no longer be approved', async () => {
    const proposed = await opsJson<{ id: string }>(ana, '/api/changes', { method: 'POST', json: pause('to be rejected') });
    const rejected = await opsJson(chidi, `/api/changes/${proposed.body.id}/reject`, { method: 'POST' });
    expect(rejected).toMatchObject({ status: 200, body: { status: 'rejected', decided_by: chidi } });
    const late = await opsJson<{ type: string }>(ben, `/api/changes/${proposed.body.id}/approve`, { method: 'POST' });
    expect(late.status).toBe(409);
    expect(late.body.type).toBe('urn:meridian:problem:change-not-pending');
    expect(await corridorState()).toBe('open');
  });

  it('expires a proposal nobody approved in time: 409 change-expired, recorded in the audit log', async () => {
    const proposed = await opsJson<{ id: string }>(ana, '/api/changes', { method: 'POST', json: pause('will expire') });
    await runInDurableObject(control(), (_instance, state) => {
      state.storage.sql.exec(`UPDATE ops_changes SET expires_at_ms = ? WHERE id = ?`, Date.now() - 1, proposed.body.id);
    });
    const approved = await opsJson<{ type: string }>(ben, `/api/changes/${proposed.body.id}/approve`, { method: 'POST' });
    expect(approved.status).toBe(409);
    expect(approved.body.type).toBe('urn:meridian:problem:change-expired');
    expect(await corridorState()).toBe('open');
    const { body } = await opsJson<{ entries: AuditEntry[] }>(ana, '/api/audit');
    expect(body.entries.filter((entry) => entry.change_id === proposed.body.id).map((entry) => entry.action)).toEqual(['proposed', 'expired']);
  });

  it('refuses malformed or inapplicable proposals with 422 invalid-change, and other media types with 415', async () => {
    for (const proposal of [
      { kind: 'corridor-state', corridor: 'XXX-YYY', state: 'paused', reason: 'no such corridor' },
      { kind: 'corridor-state', corridor: corridorId, state: 'closed', reason: 'not a state' },
      { kind: 'corridor-state', corridor: corridorId, state: 'paused' },
      { kind: 'corridor-state', corridor: corridorId, state: 'paused', reason: 'extra', extra: 1 },
      { kind: 'hold-decision', uetr: crypto.randomUUID(), decision: 'release', reason: 'not enabled yet' },
      { kind: 'nonsense' },
    ]) {
      const answer = await opsJson<{ type: string }>(ana, '/api/changes', { method: 'POST', json: proposal });
      expect(answer.status, JSON.stringify(proposal)).toBe(422);
      expect(answer.body.type).toBe('urn:meridian:problem:invalid-change');
    }
    const text = await opsFetch(ana, '/api/changes', { method: 'POST', body: 'pause it', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    const duplicate = await opsFetch(ana, '/api/changes', { method: 'POST', body: '{"kind":"corridor-state","kind":"corridor-state"}', headers: { 'content-type': 'application/json' } });
    expect(duplicate.status).toBe(422);
    expect((await opsFetch(ben, '/api/changes/not-an-id/approve', { method: 'POST' })).status).toBe(404);
    expect((await opsFetch(ben, `/api/changes/${crypto.randomUUID()}/approve`, { method: 'POST' })).status).toBe(404);
  });
});

describe('the audit log', () => {
  it('records every proposal, approval, rejection, expiry and effect in one chain that recomputes from the outside', async () => {
    await proposeAndApprove(chidi, ana, pause('audit chain'));
    await proposeAndApprove(ana, chidi, reopen());
    const { status, body } = await opsJson<{ entries: AuditEntry[] }>(ben, '/api/audit');
    expect(status).toBe(200);
    const entries = body.entries;
    expect(entries[0]!.prev_hash).toBe('0'.repeat(64));
    for (const action of ['proposed', 'approved', 'applied']) expect(entries.some((entry) => entry.action === action)).toBe(true);
    expect(verifyAuditChain(entries)).toMatchObject({ ok: true, value: { entries: entries.length } });

    // An outsider detects any change to any entry, or a dropped one.
    const tampered = entries.map((entry) => ({ ...entry }));
    tampered[1] = { ...tampered[1]!, actor: 'mallory@meridian.example' };
    expect(verifyAuditChain(tampered)).toMatchObject({ ok: false, reason: { seq: 2 } });
    expect(verifyAuditChain([entries[0]!, ...entries.slice(2)])).toMatchObject({ ok: false });
  });
});
