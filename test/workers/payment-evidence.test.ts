/**
 * The evidence of refused payments, through SELF.fetch with signed requests: a payment refused at
 * routeToCorridor has its policy decision record (a deny with the slug the partner got, no
 * determining policy, the routing facts), like the policy stage's own refusals; a payment refused by
 * velocity after screening saw it has its screening result. Read back through the ops API, as
 * operators and the evidence export read them.
 */
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import golfLimitedJson from '../../dev/partners/golf-limited.json';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import { signedRequest, signInstruction } from '../../packages/partner-sdk/src/partner-client.ts';
import type { PolicyDecision } from '../../durable-objects/partner-state/partner-state.ts';
import { ana, opsJson } from './ops-support.ts';
import { alpha, bravo, charlie, expectProblem, type DevCredentials } from './partner-trust-support.ts';
import { gatewayUrl } from './support.ts';

const golf = golfLimitedJson as DevCredentials;

async function submitted(partner: DevCredentials, instruction: unknown): Promise<Response> {
  return SELF.fetch(await signedRequest(partner, { method: 'POST', url: `${gatewayUrl}/v1/payments`, body: await signInstruction(partner, instruction) }));
}

async function decisionsOf(partnerId: string, uetr: string): Promise<PolicyDecision[]> {
  const from = encodeURIComponent(new Date(Date.now() - 60_000).toISOString());
  const listed = await opsJson<{ decisions: PolicyDecision[] }>(ana, `/api/policy-decisions?partner_id=${partnerId}&from=${from}&limit=500`);
  expect(listed.status).toBe(200);
  return listed.body.decisions.filter((decision) => decision.uetr === uetr);
}

describe('evidence of refused payments', () => {
  it('records a routeToCorridor refusal as a policy decision: an unknown corridor, and a corridor that does not serve the partner', async () => {
    const unknown = buildInstruction({ debtorBic: alpha.bic, debtorCountry: 'DE', creditorBic: bravo.bic, creditorCountry: 'FR', amount: '40.00', currency: 'EUR', targetCurrency: 'JPY' });
    await expectProblem(await submitted(alpha, unknown), 'corridor-closed');
    const foreign = buildInstruction({ debtorBic: alpha.bic, debtorCountry: 'DE', creditorBic: charlie.bic, creditorCountry: 'US', amount: '41.00', currency: 'USD', targetCurrency: 'USD' });
    await expectProblem(await submitted(alpha, foreign), 'residency-denied');

    const [unknownDecision] = await decisionsOf(alpha.partner_id, unknown.uetr);
    expect(unknownDecision).toMatchObject({
      decision: 'deny', slug: 'corridor-closed', determining_policy_ids: [],
      facts: { stage: 'routeToCorridor', refusal: 'unknown-corridor', corridor: 'EUR-JPY', partner_jurisdiction: 'eu', debtor_country: 'DE' },
    });
    expect(unknownDecision!.policy_set_digest).toMatch(/^[0-9a-f]{64}$/);
    expect(await decisionsOf(alpha.partner_id, foreign.uetr)).toMatchObject([
      { decision: 'deny', slug: 'residency-denied', facts: { stage: 'routeToCorridor', refusal: 'jurisdiction-not-served', corridor: 'USD-USD', jurisdiction: 'eu' } },
    ]);
  });

  it('records the screening result of a payment that velocity refused after screening saw it', async () => {
    // Above golf-limited's amount_per_day (USD 250,000) and below the corridor's payment_amount_max: Cedar allows it, velocity refuses it and counts nothing.
    const instruction = buildInstruction({ debtorBic: golf.bic, debtorCountry: 'US', creditorBic: charlie.bic, creditorCountry: 'US', amount: '300000.00', currency: 'USD', targetCurrency: 'USD' });
    await expectProblem(await submitted(golf, instruction), 'velocity-exceeded');
    const listed = await opsJson<{ results: Array<Record<string, unknown>> }>(ana, `/api/screening-results?partner_id=${golf.partner_id}&limit=500`);
    expect(listed.status).toBe(200);
    const results = listed.body.results.filter((result) => result.uetr === instruction.uetr);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ outcome: 'clear', matches: [] });
    expect(results[0]!.list_version).not.toBeNull();
  });
});
