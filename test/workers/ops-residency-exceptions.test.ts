/**
 * Residency exceptions under two-person control: one operator proposes, a different one approves,
 * Control stores the grant and pushes it to the partner's PartnerState (retried from its alarm when
 * that fails), and the exception lapses by itself with an audit entry. Countries here (CH, GB, NZ,
 * CA, BR, MX) are this suite's alone, so no other suite's residency refusal depends on them.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { residencyExceptionDurationMaxMs, verifyAuditChain, type AuditEntry } from '../../core/ops-changes.ts';
import type { ResidencyExceptionView } from '../../durable-objects/control/residency-exceptions.ts';
import { durableObjectFor } from '../../durable-objects/jurisdiction.ts';
import { allPartnerStateShards } from '../../durable-objects/partner-state/partner-shards.ts';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import { ana, ben, chidi, opsFetch, opsJson, proposeAndApprove } from './ops-support.ts';
import { alpha, bravo, clientFor } from './support.ts';
import { parseWindowId, regionalSettlement, waitForStatus, windowStub } from './window-support.ts';
import type { SettlementBatch } from '../../core/settlement-batch.ts';

const dayMs = 24 * 60 * 60 * 1000;

function control() {
  return env.CONTROL.get(env.CONTROL.idFromName('control'));
}

function alphaState() {
  return durableObjectFor(env, env.PARTNER_STATE, 'eu', 'alpha-bank');
}

function exception(overrides: Record<string, unknown> = {}) {
  return {
    kind: 'residency-exception', partner_id: 'alpha-bank', debtor_country: 'CH', owner: 'Compliance: R. Keller',
    reason: 'Swiss debtors of the Zurich branch until the CH backend is live', expires_at: new Date(Date.now() + 7 * dayMs).toISOString(), ...overrides,
  };
}

async function listed(changeId: string): Promise<ResidencyExceptionView | undefined> {
  const { status, body } = await opsJson<{ now: string; exceptions: ResidencyExceptionView[] }>(chidi, '/api/residency-exceptions');
  expect(status).toBe(200);
  return body.exceptions.find((entry) => entry.change_id === changeId);
}

async function auditOf(changeId: string): Promise<AuditEntry[]> {
  const { body } = await opsJson<{ entries: AuditEntry[] }>(ana, '/api/audit');
  expect(verifyAuditChain(body.entries).ok).toBe(true);
  return body.entries.filter((entry) => entry.change_id === changeId);
}

describe('residency exceptions under two-person control', () => {
  it('takes effect only when a second operator approves: stored in Control, pushed to PartnerState, listed with its time left', async () => {
    const proposal = exception();
    const proposed = await opsJson<{ id: string; status: string; proposed_by: string }>(ana, '/api/changes', { method: 'POST', json: proposal });
    expect(proposed).toMatchObject({ status: 201, body: { status: 'proposed', proposed_by: ana } });
    const id = proposed.body.id;
    expect(await listed(id)).toBeUndefined();

    const own = await opsJson<{ type: string }>(ana, `/api/changes/${id}/approve`, { method: 'POST' });
    expect(own).toMatchObject({ status: 403, body: { type: 'urn:meridian:problem:four-eyes-required' } });
    expect(await listed(id)).toBeUndefined();

    const approved = await opsJson<{ status: string; approved_by: string; effect: Record<string, unknown> }>(ben, `/api/changes/${id}/approve`, { method: 'POST' });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({
      status: 'applied', approved_by: ben,
      effect: { partner_id: 'alpha-bank', debtor_country: 'CH', owner: proposal.owner, reason: proposal.reason, expires_at: proposal.expires_at, granted_by: ben },
    });
    const view = (await listed(id))!;
    expect(view).toMatchObject({ partner_id: 'alpha-bank', debtor_country: 'CH', owner: proposal.owner, status: 'live', granted_by: ben, propagated: true });
    expect(view.time_left_ms).toBeGreaterThan(6 * dayMs);
    expect(view.time_left_ms).toBeLessThanOrEqual(7 * dayMs);

    const recorded = await alphaState().listResidencyExceptions();
    expect(recorded.find((entry) => entry.change_id === id)).toMatchObject({ partner_id: 'alpha-bank', debtor_country: 'CH', expires_at_ms: Date.parse(proposal.expires_at) });
    expect((await auditOf(id)).map((entry) => entry.action)).toEqual(['proposed', 'approved', 'applied']);

    const again = await opsJson<{ type: string }>(chidi, `/api/changes/${id}/approve`, { method: 'POST' });
    expect(again).toMatchObject({ status: 409, body: { type: 'urn:meridian:problem:change-not-pending' } });
  });

  it('refuses bad proposals with 422 invalid-change problem+json naming what is wrong', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [exception({ partner_id: 'no-such-bank' }), /no partner no-such-bank/],
      [exception({ debtor_country: 'ZZ' }), /ZZ is not an ISO 3166-1/],
      [exception({ debtor_country: 'ch' }), /debtor_country/],
      [exception({ debtor_country: 'DE' }), /DE already belongs to alpha-bank's jurisdiction eu/],
      [exception({ partner_id: 'charlie-trust', debtor_country: 'US' }), /US already belongs to charlie-trust's jurisdiction us/],
      [exception({ expires_at: new Date(Date.now() - 60_000).toISOString() }), /not in the future/],
      [exception({ expires_at: new Date(Date.now() + residencyExceptionDurationMaxMs + dayMs).toISOString() }), /more than 90 days ahead/],
      [exception({ expires_at: 'next tuesday' }), /expires_at/],
      [exception({ owner: '' }), /owner/],
      [exception({ reason: 'no' }), /reason/],
      [exception({ granted_by: 'ana' }), /granted_by/],
      [{ ...exception(), owner: undefined }, /owner/],
    ];
    for (const [proposal, detail] of cases) {
      const response = await opsFetch(ana, '/api/changes', { method: 'POST', json: proposal });
      expect(response.status, JSON.stringify(proposal)).toBe(422);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      const problem = (await response.json()) as { type: string; detail: string };
      expect(problem.type).toBe('urn:meridian:problem:invalid-change');
      expect(problem.detail, JSON.stringify(proposal)).toMatch(detail);
    }
  });

  it('refuses to approve an expired proposal (409 change-expired) and grants nothing', async () => {
    const proposed = await opsJson<{ id: string }>(ana, '/api/changes', { method: 'POST', json: exception({ debtor_country: 'GB' }) });
    expect(proposed.status).toBe(201);
    await runInDurableObject(control(), (_instance, state) => {
      state.storage.sql.exec(`UPDATE ops_changes SET expires_at_ms = ? WHERE id = ?`, Date.now() - 1, proposed.body.id);
    });
    const approved = await opsJson<{ type: string }>(ben, `/api/changes/${proposed.body.id}/approve`, { method: 'POST' });
    expect(approved).toMatchObject({ status: 409, body: { type: 'urn:meridian:problem:change-expired' } });
    expect(await listed(proposed.body.id)).toBeUndefined();
  });

  it('checks again at approval: an exception whose expiry passed while it waited is not granted', async () => {
    const proposed = await opsJson<{ id: string }>(ana, '/api/changes', { method: 'POST', json: exception({ debtor_country: 'CA' }) });
    await runInDurableObject(control(), (_instance, state) => {
      const row = state.storage.sql.exec<{ proposal: string }>(`SELECT proposal FROM ops_changes WHERE id = ?`, proposed.body.id).one();
      const stale = { ...JSON.parse(row.proposal), expires_at: new Date(Date.now() - 1_000).toISOString() };
      state.storage.sql.exec(`UPDATE ops_changes SET proposal = ? WHERE id = ?`, JSON.stringify(stale), proposed.body.id);
    });
    const approved = await opsJson<{ type: string; detail: string }>(ben, `/api/changes/${proposed.body.id}/approve`, { method: 'POST' });
    expect(approved.status).toBe(422);
    expect(approved.body.detail).toMatch(/not in the future/);
    expect(await listed(proposed.body.id)).toBeUndefined();
  });

  it('lapses by itself: listed as lapsed with no time left, one lapsed audit entry, the chain still verifies', async () => {
    const applied = await proposeAndApprove(chidi, ana, exception({ debtor_country: 'NZ' }));
    const id = applied.id as string;
    await runInDurableObject(control(), (_instance, state) => {
      state.storage.sql.exec(`UPDATE residency_exceptions SET expires_at_ms = ? WHERE change_id = ?`, Date.now() - 1, id);
    });
    expect(await listed(id)).toMatchObject({ status: 'lapsed', time_left_ms: 0 });
    await runDurableObjectAlarm(control());
    await runDurableObjectAlarm(control());
    const entries = await auditOf(id);
    expect(entries.map((entry) => entry.action)).toEqual(['proposed', 'approved', 'applied', 'lapsed']);
    expect(entries[3]).toMatchObject({ actor: 'system', kind: 'residency-exception', detail: { partner_id: 'alpha-bank', debtor_country: 'NZ' } });
  });

  it('survives a failed push to PartnerState: applied at once, propagated from the alarm once PartnerState answers', async () => {
    const broken = {
      jurisdiction: () => broken,
      idFromName: (name: string) => env.PARTNER_STATE.idFromName(name),
      get: () => ({ recordResidencyException: async () => { throw new Error('PartnerState unreachable (test)'); } }),
    };
    await runInDurableObject(control(), (instance) => {
      const holder = (instance as unknown as { residencyExceptions: { env: typeof env } }).residencyExceptions;
      holder.env = { ...holder.env, PARTNER_STATE: broken as unknown as typeof env.PARTNER_STATE };
    });
    const applied = await proposeAndApprove(ana, chidi, exception({ debtor_country: 'BR' }));
    const id = applied.id as string;
    expect(applied.status).toBe('applied');
    expect(await listed(id)).toMatchObject({ status: 'live', propagated: false });
    expect((await alphaState().listResidencyExceptions()).some((entry) => entry.change_id === id)).toBe(false);

    await runInDurableObject(control(), (instance) => {
      const holder = (instance as unknown as { residencyExceptions: { env: typeof env } }).residencyExceptions;
      holder.env = env;
    });
    expect(await runDurableObjectAlarm(control())).toBe(true);
    expect(await listed(id)).toMatchObject({ status: 'live', propagated: true });
    expect((await alphaState().listResidencyExceptions()).some((entry) => entry.change_id === id)).toBe(true);
  });

  it('end to end: a Mexican debtor of an eu partner is refused until two operators grant an exception, settles under it, and is refused again once it lapsed', async () => {
    const pay = () => clientFor(alpha).submitPayment(buildInstruction({
      debtorBic: alpha.bic, debtorCountry: 'MX', creditorBic: bravo.bic, creditorCountry: 'FR', amount: '42.00', currency: 'EUR', targetCurrency: 'EUR',
    }));
    const before = await pay();
    expect(before.status).toBe(403);
    expect(before.body.type).toBe('urn:meridian:problem:residency-denied');

    const applied = await proposeAndApprove(ana, ben, exception({ debtor_country: 'MX', reason: 'Mexican debtors of the Madrid branch, Q1 review' }));
    const admitted = await pay();
    expect(admitted.status, JSON.stringify(admitted.body)).toBe(202);
    const uetr = admitted.body.uetr as string;
    const settled = await waitForStatus(alpha, uetr, 'settled');
    // The eu backend re-checked the leg: MX maps to no jurisdiction, so it committed only because the leg names the exception.
    const committed = await regionalSettlement('eu', settled.region as string, settled.batch_id as string);
    expect(committed.status).toBe(200);
    const { corridor, jurisdiction, startMs } = parseWindowId(String(admitted.body.window));
    const sealed = JSON.parse((await windowStub(corridor, jurisdiction, 0).sealedBatch(startMs)) as string) as SettlementBatch;
    expect(sealed.legs.filter((leg) => leg.uetr === uetr)).toEqual([expect.objectContaining({ debtor_country: 'MX', residency_exception: applied.id })]);

    // Every shard holds the exception (partner-shards.ts); it lapses in all of them. Moved back in
    // storage, not in time, so each shard also drops its in-memory copy of the exceptions (as a
    // restart would): the shard that admitted the payment above holds one, whose expiry it checks
    // against the clock, and would otherwise still see the exception live whenever the next payment
    // lands in that shard (1 UETR in 4).
    for (const { stub } of allPartnerStateShards(env, 'eu', 'alpha-bank')) {
      await runInDurableObject(stub, (instance, state) => {
        state.storage.sql.exec(`UPDATE residency_exceptions SET expires_at_ms = ? WHERE change_id = ?`, Date.now() - 1, applied.id as string);
        (instance as unknown as { residencyExceptions: unknown }).residencyExceptions = undefined;
      });
    }
    const after = await pay();
    expect(after.status).toBe(403);
    expect(after.body.type).toBe('urn:meridian:problem:residency-denied');
  });
});
