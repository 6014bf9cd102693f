import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import { countryJurisdictions, instructionRules, policyRefusal, policyRequest, type PolicyPaymentFacts, type PolicyRequest } from '../../core/policy-request.ts';
import { allPolicies, policiesDir, policyCases, policySchema } from './cedar-policies.ts';

const nowS = 1_800_000_000; // 2027-01-15T08:00:00Z, a Friday
const today = '2027-01-15';
const countries = countryJurisdictions(readFileSync(join(policiesDir, 'country-jurisdictions.json'), 'utf8'));

const facts = (overrides: Partial<PolicyPaymentFacts> = {}): PolicyPaymentFacts => ({
  partner: { partner_id: 'alpha-bank', jurisdiction: 'eu', bic: 'ALPHDEFFXXX', tls_min: '1.3' },
  corridor: { id: 'EUR-EUR', state: 'open', source_currency: 'EUR', payment_amount_max_minor: 100_000_000n, allow_on_us: false, holidays: [] },
  jurisdiction: 'eu',
  debtor_country: 'DE',
  amount_minor: 10_000n,
  tls_version: '1.3',
  tls_exceptions: [],
  residency_exceptions: [],
  country_jurisdictions: countries,
  instruction: { settlement_date: today, instructed_at_s: nowS, debtor_agent_bic: 'ALPHDEFFXXX', creditor_agent_bic: 'CHARUS33XXX' },
  instruction_limits: { clock_skew_s: 300, instructed_at_age_max_s: 86_400, settlement_date_horizon_days: 14 },
  now_s: nowS,
  ...overrides,
});

function build(overrides: Partial<PolicyPaymentFacts> = {}): PolicyRequest {
  const built = policyRequest(facts(overrides));
  if (!built.ok) throw new Error(`policyRequest refused: ${JSON.stringify(built.reason)}`);
  return built.value;
}

function authorize(request: PolicyRequest) {
  const answer = isAuthorized({ ...request, schema: policySchema, validateRequest: true, policies: { staticPolicies: allPolicies() } });
  if (answer.type === 'failure') throw new Error(answer.errors.map((error) => error.message).join('; '));
  return answer;
}

/** Authorizes a built request against the whole policy set and reads it back as a wire outcome. */
function outcome(request: PolicyRequest) {
  const answer = authorize(request);
  const refusal = policyRefusal({ decision: answer.response.decision, determining_policy_ids: answer.response.diagnostics.reason, error_count: answer.response.diagnostics.errors.length });
  if (!refusal.ok) throw new Error(`policyRefusal: ${JSON.stringify(refusal.reason)}`);
  return refusal.value ?? 'admitted';
}

const residencyException = (expiresAtS: number, partnerId = 'alpha-bank', debtorCountry = 'US') => ({
  partner_id: partnerId,
  debtor_country: debtorCountry,
  owner: 'ops.lead@meridian.example',
  reason: 'INC-1234 migration of debtor accounts',
  expires_at_s: expiresAtS,
});

describe('country-jurisdictions.json', () => {
  it('maps DESIGN\'s examples and the EU/EEA, and nothing else', () => {
    expect([countries.get('DE'), countries.get('FR'), countries.get('US'), countries.get('SG'), countries.get('JP')]).toEqual(['eu', 'eu', 'us', 'ap', 'ap']);
    expect([...countries.values()].filter((j) => j === 'eu')).toHaveLength(30);
    expect([countries.get('CH'), countries.get('GB'), countries.get('CN')]).toEqual([undefined, undefined, undefined]);
  });

  it('refuses a file with a non-ISO code or an unknown jurisdiction', () => {
    expect(() => countryJurisdictions('{"countries":{"UK":"eu"}}')).toThrow(/ISO 3166/);
    expect(() => countryJurisdictions('{"countries":{"CH":"ch"}}')).toThrow(/unknown jurisdiction/);
  });
});

describe('policyRequest', () => {
  it('builds exactly the request and entities the residency cases use', () => {
    const live = policyCases('residency.cedar').cases.find((c) => c.name === 'eu partner, US debtor, live exception: admitted');
    const built = build({ debtor_country: 'US', residency_exceptions: [residencyException(nowS + 3600)] });
    expect({ request: { principal: built.principal, action: built.action, resource: built.resource, context: built.context }, entities: built.entities }).toEqual({
      request: live?.request,
      entities: live?.entities,
    });
  });

  it('admits a payment every rule allows', () => {
    expect(outcome(build())).toBe('admitted');
  });

  it('refuses each rule with its slug', () => {
    expect(outcome(build({ debtor_country: 'US' }))).toBe('residency-denied');
    expect(outcome(build({ debtor_country: 'CH' }))).toBe('residency-denied');
    expect(outcome(build({ corridor: { ...facts().corridor, state: 'draining' } }))).toBe('corridor-closed');
    expect(outcome(build({ amount_minor: 100_000_001n }))).toBe('limit-exceeded');
    expect(outcome(build({ tls_version: '1.2' }))).toBe('downgrade-detected');
  });

  it('names the downgrade first when several rules refuse', () => {
    expect(outcome(build({ tls_version: '1.2', debtor_country: 'US', amount_minor: 100_000_001n }))).toBe('downgrade-detected');
  });

  it('passes only the matching exception, the latest-expiring one, and lets Cedar judge its expiry', () => {
    expect(outcome(build({ debtor_country: 'US', residency_exceptions: [residencyException(nowS - 10), residencyException(nowS + 60)] }))).toBe('admitted');
    expect(outcome(build({ debtor_country: 'US', residency_exceptions: [residencyException(nowS - 10)] }))).toBe('residency-denied');
    expect(outcome(build({ debtor_country: 'US', residency_exceptions: [residencyException(nowS + 60, 'bravo-bank'), residencyException(nowS + 60, 'alpha-bank', 'JP')] }))).toBe('residency-denied');
    expect(build({ debtor_country: 'US', residency_exceptions: [residencyException(nowS + 60, 'bravo-bank')] }).context).not.toHaveProperty('residency_exception');
  });

  it('honours a live TLS exception and refuses a lapsed one', () => {
    expect(outcome(build({ tls_version: '1.2', tls_exceptions: [{ expires_at_s: nowS + 1 }] }))).toBe('admitted');
    expect(outcome(build({ tls_version: '1.2', tls_exceptions: [{ expires_at_s: nowS }] }))).toBe('downgrade-detected');
  });

  it('refuses amounts Cedar cannot carry exactly and countries that are not ISO 3166', () => {
    expect(policyRequest(facts({ amount_minor: 2n ** 53n }))).toEqual({ ok: false, reason: { kind: 'amount-out-of-range', amount_minor: '9007199254740992' } });
    expect(policyRequest(facts({ amount_minor: -1n }))).toMatchObject({ ok: false, reason: { kind: 'amount-out-of-range' } });
    expect(policyRequest(facts({ debtor_country: 'XK' }))).toEqual({ ok: false, reason: { kind: 'invalid-debtor-country', debtor_country: 'XK' } });
  });
});

describe('policyRequest: business rules', () => {
  const instruction = (overrides: Partial<PolicyPaymentFacts['instruction']>) => ({ instruction: { ...facts().instruction, ...overrides } });
  const rules = (request: PolicyRequest) => instructionRules(authorize(request).response.diagnostics.reason);

  it('counts settlement days from today in UTC and knows weekends and corridor holidays', () => {
    expect(build(instruction({ settlement_date: '2027-01-18' })).context).toMatchObject({ settlement_date_days_from_today: 3, settlement_date_business_day: true });
    expect(build(instruction({ settlement_date: '2027-01-16' })).context).toMatchObject({ settlement_date_days_from_today: 1, settlement_date_business_day: false });
    expect(build(instruction({ settlement_date: '2001-01-01' })).context).toMatchObject({ settlement_date_days_from_today: -9510 });
    const holiday = build({ ...instruction({ settlement_date: '2027-01-18' }), corridor: { ...facts().corridor, holidays: ['2027-01-18'] } });
    expect(holiday.context).toMatchObject({ settlement_date_business_day: false });
  });

  it('refuses each business rule with invalid-instruction and names it', () => {
    const cases: Array<[Partial<PolicyPaymentFacts['instruction']>, string[]]> = [
      [{ settlement_date: '2001-01-01' }, ['settlement-date-in-past']],
      [{ settlement_date: '2027-01-16' }, ['settlement-date-not-business-day']],
      [{ settlement_date: '2027-02-01' }, ['settlement-date-beyond-horizon']],
      [{ instructed_at_s: Date.parse('2099-01-01T00:00:00Z') / 1000 }, ['instructed-at-in-future']],
      [{ instructed_at_s: nowS - 86_401 }, ['instructed-at-too-old']],
      [{ creditor_agent_bic: 'ALPHDEFFXXX' }, ['on-us-not-allowed']],
    ];
    for (const [overrides, expected] of cases) {
      const request = build(instruction(overrides));
      expect([outcome(request), rules(request)]).toEqual(['invalid-instruction', expected]);
    }
  });

  it('admits today, the next business day, the skew edge and on-us where the corridor allows it', () => {
    expect(outcome(build(instruction({ settlement_date: '2027-01-18' })))).toBe('admitted');
    expect(outcome(build(instruction({ instructed_at_s: nowS + 300 })))).toBe('admitted');
    expect(outcome(build({ ...instruction({ creditor_agent_bic: 'ALPHDEFFXXX' }), corridor: { ...facts().corridor, allow_on_us: true } }))).toBe('admitted');
  });

  it('refuses a date or time the builder cannot carry', () => {
    expect(policyRequest(facts(instruction({ settlement_date: '2027-02-29' })))).toEqual({ ok: false, reason: { kind: 'invalid-settlement-date', settlement_date: '2027-02-29' } });
    expect(policyRequest(facts(instruction({ instructed_at_s: Number.NaN })))).toMatchObject({ ok: false, reason: { kind: 'instructed-at-out-of-range' } });
  });
});

describe('policyRefusal', () => {
  it('distrusts a decision with evaluation errors, unknown ids or an unexplained deny', () => {
    expect(policyRefusal({ decision: 'allow', determining_policy_ids: ['base.submit-payment'], error_count: 1 })).toEqual({ ok: false, reason: { kind: 'policy-evaluation-error', error_count: 1 } });
    expect(policyRefusal({ decision: 'deny', determining_policy_ids: ['policy0'], error_count: 0 })).toEqual({ ok: false, reason: { kind: 'unknown-determining-policy', policy_ids: ['policy0'] } });
    expect(policyRefusal({ decision: 'deny', determining_policy_ids: [], error_count: 0 })).toEqual({ ok: false, reason: { kind: 'deny-without-forbid', policy_ids: [] } });
  });
});
