/// <reference path="../workers/policy/bundled-modules.d.ts" />
/**
 * The Worker bench/policy.bench.ts runs inside workerd: it loads the policy engine exactly as the
 * gateway does (workers/policy/policy-engine.ts: web build, wasm module, pre-parsed set) and times
 * `policyRequest` + one `statefulIsAuthorized` per decision. Local workerd's clock advances during
 * execution (production's does not: Spectre mitigation) but only in whole milliseconds, so each
 * sample times a batch of `decisionsPerSample` decisions and reports the mean per decision: the
 * percentiles are over batches, with a resolution of 1 ms / decisionsPerSample.
 */
import { policyRequest, settlementDateHorizonDays, instructedAtAgeMaxS, type PolicyPaymentFacts } from '../core/policy-request.ts';
import { authorizePayment, policySet } from '../workers/policy/policy-engine.ts';
import { bundledCountryJurisdictions } from '../workers/policy/policy-set.ts';

const iterationsMax = 100_000;
const decisionsPerSample = 50;

function facts(nowS: number, variant: 'allow' | 'deny'): PolicyPaymentFacts {
  return {
    partner: { partner_id: 'alpha-bank', jurisdiction: 'eu', bic: 'ALPHDEFFXXX', tls_min: '1.3' },
    corridor: { id: 'EUR-EUR', state: 'open', source_currency: 'EUR', payment_amount_max_minor: 100_000_000n, allow_on_us: false, holidays: ['2026-12-25'] },
    jurisdiction: 'eu',
    debtor_country: variant === 'allow' ? 'DE' : 'US',
    amount_minor: 1_234n,
    tls_version: '1.3',
    tls_exceptions: [],
    residency_exceptions: [{ partner_id: 'alpha-bank', debtor_country: 'JP', owner: 'ops', reason: 'bench', expires_at_s: nowS + 3600 }],
    country_jurisdictions: bundledCountryJurisdictions,
    instruction: { settlement_date: new Date(nowS * 1000).toISOString().slice(0, 10), instructed_at_s: nowS, debtor_agent_bic: 'ALPHDEFFXXX', creditor_agent_bic: 'BRAVFRPPXXX' },
    instruction_limits: { clock_skew_s: 300, instructed_at_age_max_s: instructedAtAgeMaxS, settlement_date_horizon_days: settlementDateHorizonDays },
    now_s: nowS,
  };
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const iterations = Math.min(Number(url.searchParams.get('iterations') ?? 1_000), iterationsMax);
    const variant = url.searchParams.get('variant') === 'deny' ? 'deny' : 'allow';
    const initStart = performance.now();
    const { digest } = policySet();
    const initMs = performance.now() - initStart;
    const samplesUs: number[] = [];
    const nowS = Math.floor(Date.now() / 1000);
    let decisions = 0;
    for (let sample = 0; sample < Math.ceil(iterations / decisionsPerSample); sample += 1) {
      const start = performance.now();
      for (let i = 0; i < decisionsPerSample; i += 1) {
        const built = policyRequest(facts(nowS, variant));
        if (!built.ok) throw new Error(JSON.stringify(built.reason));
        const answer = authorizePayment(built.value);
        if (answer.kind !== 'decided' || answer.decision !== variant) throw new Error(`unexpected answer ${JSON.stringify(answer)}`);
        decisions += 1;
      }
      samplesUs.push(((performance.now() - start) * 1000) / decisionsPerSample);
    }
    return Response.json({ digest, init_ms: initMs, decisions, decisions_per_sample: decisionsPerSample, samples_us: samplesUs });
  },
};
