/**
 * The Cedar policy stage through the real app: signed payments into SELF.fetch, Cedar's web build
 * inside workerd, decisions read back from PartnerState and the ops API.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { allPartnerStateShards } from '../../durable-objects/partner-state/partner-shards.ts';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import { policyForbidSlugs, policyPermitId, policyRefusal } from '../../core/policy-request.ts';
import type { PolicyDecision } from '../../durable-objects/partner-state/partner-state.ts';
import { authorizePayment, policySet } from '../../workers/policy/policy-engine.ts';
import { ana, opsJson } from './ops-support.ts';
import { problemStatus, problemTypePrefix, type ProblemSlug } from '../../core/problem.ts';
import { alpha, bravo, client, partnerState } from './partner-trust-support.ts';

const dayMs = 24 * 60 * 60 * 1000;

function alphaPayment(overrides: { debtorCountry?: string; amount?: string; creditorBic?: string } = {}) {
  return buildInstruction({
    debtorBic: alpha.bic, debtorCountry: overrides.debtorCountry ?? 'DE', creditorBic: overrides.creditorBic ?? bravo.bic, creditorCountry: 'FR',
    amount: overrides.amount ?? '12.34', currency: 'EUR', targetCurrency: 'EUR',
  });
}

async function submit(instruction: unknown) {
  return client(alpha).submitPayment(instruction);
}

/** Submits and asserts an RFC 9457 refusal with this slug and its status; returns the body. */
async function refusal(instruction: unknown, slug: ProblemSlug): Promise<Record<string, unknown>> {
  const answer = await submit(instruction);
  expect({ status: answer.status, type: answer.body.type }, JSON.stringify(answer.body)).toEqual({ status: problemStatus[slug], type: problemTypePrefix + slug });
  return answer.body;
}

async function decisionsFor(uetr: string): Promise<PolicyDecision[]> {
  // An admission's allow is in the payment's shard, a refusal at home (partner-shards.ts): read both.
  const pages = await Promise.all(allPartnerStateShards(env, 'eu', alpha.partner_id).map(({ stub }) => stub.listPolicyDecisions({ limit: 500, fromMs: Date.now() - 60_000 })));
  return pages.flatMap((page) => page.decisions).filter((decision) => decision.uetr === uetr);
}

function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The first Saturday after today (UTC): 1 to 7 days ahead, inside the settlement horizon. */
function nextSaturday(): string {
  let ms = Date.now() + dayMs;
  while (new Date(ms).getUTCDay() !== 6) ms += dayMs;
  return utcDate(ms);
}

describe('the policy set inside workerd', () => {
  it('loads every policy the slug map names, keyed by @id, plus the base permit', () => {
    const { policies, digest } = policySet();
    expect(Object.keys(policies).sort()).toEqual([policyPermitId, ...Object.keys(policyForbidSlugs)].sort());
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
  });

  // The engine does not re-validate each request against the schema (policy-engine.ts says why):
  // a request of the wrong shape errors on every rule that reads a missing fact, and the stage
  // reads any decision with evaluation errors as untrusted, so it is refused either way.
  it('never admits a request of the wrong shape: a failure, or a decision whose errors the stage distrusts', () => {
    const request = {
      principal: { type: 'Partner', id: 'alpha-bank' },
      action: { type: 'Action', id: 'SubmitPayment' },
      resource: { type: 'Corridor', id: 'EUR-EUR' },
      // No `now`, no business-rule facts: with forbids only, a skipped rule would admit.
      context: { jurisdiction: 'eu', amount_minor: 1, tls_version: '1.3' },
      entities: [],
    };
    const answer = authorizePayment(request);
    if (answer.kind === 'failed') return;
    expect(answer.errorCount).toBeGreaterThan(0);
    expect(policyRefusal({ decision: answer.decision, determining_policy_ids: answer.determiningPolicyIds, error_count: answer.errorCount })).toMatchObject({ ok: false });
  });
});

describe('amount limits', () => {
  it('refuses a payment over the corridor\'s payment_amount_max with 403 limit-exceeded, and admits exactly the maximum', async () => {
    const over = alphaPayment({ amount: '1000000.01' });
    const body = await refusal(over, 'limit-exceeded');
    expect(body.detail).toContain('1000000.00 EUR');
    expect(body.policy_ids).toEqual(['amount-limits.above-payment-amount-max']);
    expect((await submit(alphaPayment({ amount: '1000000.00' }))).status).toBe(202);
  });
});

describe('residency', () => {
  it('refuses an eu partner paying for a US debtor, admits it under a live exception and refuses it again once that lapsed', async () => {
    const first = alphaPayment({ debtorCountry: 'US' });
    const denied = await refusal(first, 'residency-denied');
    expect(denied.policy_ids).toEqual(['residency.jurisdiction-not-allowed']);

    // Short-lived on purpose: the lapse is observed without a clock seam, after at most 3 s.
    const expiresAtMs = Date.now() + 3_000;
    const exception = { change_id: crypto.randomUUID(), partner_id: alpha.partner_id, debtor_country: 'US', owner: 'ops.lead@meridian.example', reason: 'INC-42 migration', expires_at_ms: expiresAtMs };
    // As Control's push does: every shard of the partner holds the exception (the payment's shard is
    // SHA-256 of its UETR, so any of them may decide it).
    const [stored, ...others] = await Promise.all(allPartnerStateShards(env, 'eu', alpha.partner_id).map(({ stub }) => stub.recordResidencyException(exception)));
    expect(stored).toMatchObject(exception);
    for (const copy of others) expect(copy).toMatchObject(exception);
    // Idempotent on change_id: a retried apply changes nothing.
    expect(await partnerState(alpha.partner_id).recordResidencyException({ ...exception, expires_at_ms: expiresAtMs + 60_000 })).toEqual(stored);

    const admitted = await submit(alphaPayment({ debtorCountry: 'US' }));
    expect(admitted.status, JSON.stringify(admitted.body)).toBe(202);
    const [allow] = await decisionsFor(admitted.body.uetr as string);
    expect(allow).toMatchObject({ decision: 'allow', determining_policy_ids: [policyPermitId], facts: { debtor_country: 'US', residency_exception: { change_id: exception.change_id } } });

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAtMs - Date.now()) + 50));
    const lapsed = alphaPayment({ debtorCountry: 'US' });
    await refusal(lapsed, 'residency-denied');
    const [deny] = await decisionsFor(lapsed.uetr);
    expect(deny).toMatchObject({ decision: 'deny', slug: 'residency-denied', determining_policy_ids: ['residency.jurisdiction-not-allowed'] });
  });
});

describe('business rules: 422 invalid-instruction with the rule named', () => {
  const cases: Array<[string, (instruction: ReturnType<typeof alphaPayment>) => unknown, string]> = [
    ['a settlement date in the past (2001-01-01)', (i) => ({ ...i, settlement_date: '2001-01-01' }), 'settlement-date-in-past'],
    ['a settlement date beyond the horizon', (i) => ({ ...i, settlement_date: utcDate(Date.now() + 30 * dayMs) }), 'settlement-date-beyond-horizon'],
    ['a later settlement date on a Saturday', (i) => ({ ...i, settlement_date: nextSaturday() }), 'settlement-date-not-business-day'],
    ['instructed_at in 2099', (i) => ({ ...i, instructed_at: '2099-01-01T00:00:00Z' }), 'instructed-at-in-future'],
    ['instructed_at two days old', (i) => ({ ...i, instructed_at: new Date(Date.now() - 2 * dayMs).toISOString() }), 'instructed-at-too-old'],
    ['an on-us payment (debtor agent = creditor agent)', (i) => ({ ...i, creditor_agent: { bic: alpha.bic } }), 'on-us-not-allowed'],
  ];

  it.each(cases)('refuses %s', async (_name, change, rule) => {
    const instruction = change(alphaPayment()) as { uetr: string };
    const body = await refusal(instruction, 'invalid-instruction');
    expect(body.rule).toBe(rule);
    expect(body.detail).toContain(`rule ${rule}`);
    const [deny] = await decisionsFor(instruction.uetr);
    expect(deny).toMatchObject({ decision: 'deny', slug: 'invalid-instruction', determining_policy_ids: [`instruction.${rule}`] });
  });

  it('admits an instruction for the next business day', async () => {
    let ms = Date.now() + dayMs;
    while ([0, 6].includes(new Date(ms).getUTCDay())) ms += dayMs;
    expect((await submit({ ...alphaPayment(), settlement_date: utcDate(ms) })).status).toBe(202);
  });
});

describe('decision records', () => {
  it('records allow and deny with their determining ids, and a repeat of an admitted UETR is answered before the policy stage', async () => {
    const admitted = alphaPayment();
    const first = await submit(admitted);
    expect(first.status).toBe(202);
    const again = await submit(admitted);
    expect(again.body).toEqual(first.body);
    const refused = alphaPayment({ amount: '2000000.00' });
    await refusal(refused, 'limit-exceeded');

    const allows = await decisionsFor(admitted.uetr);
    expect(allows).toHaveLength(1);
    expect(allows[0]).toMatchObject({
      partner_id: alpha.partner_id, uetr: admitted.uetr, decision: 'allow', slug: null, determining_policy_ids: [policyPermitId],
      policy_set_digest: policySet().digest, facts: { jurisdiction: 'eu', debtor_country: 'DE', amount_minor: '1234', corridor: 'EUR-EUR', tls_observed: false },
    });
    expect(allows[0]!.instruction_sha256).toMatch(/^[0-9a-f]{64}$/);

    const listed = await opsJson<{ decisions: PolicyDecision[]; next_after_id: number | null }>(ana, `/api/policy-decisions?partner_id=alpha-bank&from=${encodeURIComponent(new Date(Date.now() - 60_000).toISOString())}&limit=500`);
    expect(listed.status).toBe(200);
    const mine = listed.body.decisions.filter((decision) => decision.uetr === admitted.uetr || decision.uetr === refused.uetr);
    expect(mine.map((decision) => [decision.decision, decision.determining_policy_ids])).toEqual([
      ['allow', [policyPermitId]],
      ['deny', ['amount-limits.above-payment-amount-max']],
    ]);
  });

  it('pages by after_id and refuses a bad query with the parameter named', async () => {
    for (let i = 0; i < 3; i += 1) await submit(alphaPayment());
    const first = await opsJson<{ decisions: PolicyDecision[]; next_after_id: number }>(ana, '/api/policy-decisions?partner_id=alpha-bank&limit=2');
    expect(first.body.decisions).toHaveLength(2);
    const second = await opsJson<{ decisions: PolicyDecision[] }>(ana, `/api/policy-decisions?partner_id=alpha-bank&limit=2&after_id=${first.body.next_after_id}`);
    expect(second.body.decisions[0]!.id).toBeGreaterThan(first.body.decisions[1]!.id);

    expect(await opsJson(ana, '/api/policy-decisions?partner_id=alpha-bank&limit=0')).toMatchObject({ status: 400, body: { parameter: 'limit' } });
    expect(await opsJson(ana, '/api/policy-decisions?partner_id=alpha-bank&from=yesterday')).toMatchObject({ status: 400, body: { parameter: 'from' } });
    expect(await opsJson(ana, '/api/policy-decisions')).toMatchObject({ status: 400, body: { parameter: 'partner_id' } });
    expect((await opsJson(ana, '/api/policy-decisions?partner_id=nobody')).status).toBe(404);
    expect((await opsJson(null, '/api/policy-decisions?partner_id=alpha-bank')).status).toBe(401);
  });
});
