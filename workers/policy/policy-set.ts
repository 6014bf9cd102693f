/**
 * The policy files the gateway enforces, bundled as text (wrangler.toml [[rules]] Text for .cedar
 * and .cedarschema). Adding a policy file means listing it here: test/workers/policy-stage.test.ts
 * checks this list against the ids policyForbidSlugs names, so a file left out fails a test.
 */
import amountLimits from '../../policies/amount-limits.cedar';
import base from '../../policies/base.cedar';
import corridor from '../../policies/corridor.cedar';
import instruction from '../../policies/instruction.cedar';
import residency from '../../policies/residency.cedar';
import transport from '../../policies/transport.cedar';
import schema from '../../policies/schema.cedarschema';
import countryJurisdictionsFile from '../../policies/country-jurisdictions.json';
import { countryJurisdictions } from '../../core/policy-request.ts';

export const bundledPolicySchema: string = schema;

export const bundledPolicyFiles: ReadonlyArray<{ name: string; text: string }> = [
  { name: 'amount-limits.cedar', text: amountLimits },
  { name: 'base.cedar', text: base },
  { name: 'corridor.cedar', text: corridor },
  { name: 'instruction.cedar', text: instruction },
  { name: 'residency.cedar', text: residency },
  { name: 'transport.cedar', text: transport },
];

/** policies/country-jurisdictions.json, parsed and checked once per isolate. */
export const bundledCountryJurisdictions = countryJurisdictions(JSON.stringify(countryJurisdictionsFile));
