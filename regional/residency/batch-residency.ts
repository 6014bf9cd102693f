/**
 * The regional re-check of residency (DESIGN.md "Policies, residency and limits"): the edge decides
 * residency with Cedar before a payment enters a window, and this backend checks the same rule
 * again for every leg of a batch before committing it, so a compromised or buggy edge cannot
 * settle one jurisdiction's payment data in another's ledger and log.
 *
 *   - the batch's jurisdiction must be this backend's;
 *   - each leg's debtor_country must map to that jurisdiction per policies/country-jurisdictions.json
 *     (the same file the edge's Cedar policies use), unless the leg carries the residency exception
 *     the edge admitted it under (`residency_exception`, an ops change id). The backend cannot see
 *     Control's exceptions, so the reference is taken as the edge's word and kept in the ledger
 *     (the stored canonical batch) for evidence; an unmapped country without one is refused.
 *
 * Pure apart from loading the map once per process.
 */
import { readFileSync } from 'node:fs';
import { countryJurisdictions } from '../../core/policy-request.ts';
import type { SettlementBatch } from '../../core/settlement-batch.ts';

export type BatchResidencyViolation =
  | { kind: 'foreign-jurisdiction'; batch_jurisdiction: string }
  | { kind: 'debtor-country-outside'; leg_index: number; uetr: string; instructing_agent: string; debtor_country: string; country_jurisdiction: string | null };

export type CountryJurisdictions = ReadonlyMap<string, string>;

/** policies/country-jurisdictions.json, parsed (and validated: a bad file throws at start). */
export function loadCountryJurisdictions(): CountryJurisdictions {
  return countryJurisdictions(readFileSync(new URL('../../policies/country-jurisdictions.json', import.meta.url), 'utf8'));
}

/** The first leg (in canonical order) that breaks residency, or null when every leg may settle here. */
export function batchResidencyViolation(batch: SettlementBatch, jurisdiction: string, countries: CountryJurisdictions): BatchResidencyViolation | null {
  if (batch.jurisdiction !== jurisdiction) return { kind: 'foreign-jurisdiction', batch_jurisdiction: batch.jurisdiction };
  for (const [legIndex, leg] of batch.legs.entries()) {
    const countryJurisdiction = countries.get(leg.debtor_country) ?? null;
    if (countryJurisdiction === jurisdiction || leg.residency_exception !== null) continue;
    return { kind: 'debtor-country-outside', leg_index: legIndex, uetr: leg.uetr, instructing_agent: leg.instructing_agent, debtor_country: leg.debtor_country, country_jurisdiction: countryJurisdiction };
  }
  return null;
}

/** The refusal's detail, naming the leg; the wire slug is residency-denied either way. */
export function batchResidencyDetail(batchId: string, jurisdiction: string, violation: BatchResidencyViolation): string {
  switch (violation.kind) {
    case 'foreign-jurisdiction':
      return `batch ${batchId} belongs to jurisdiction ${violation.batch_jurisdiction}; this backend serves ${jurisdiction}`;
    case 'debtor-country-outside':
      return `batch ${batchId} leg ${violation.leg_index} (${violation.instructing_agent}/${violation.uetr}): debtor country ${violation.debtor_country} `
        + `${violation.country_jurisdiction === null ? 'maps to no jurisdiction' : `belongs to jurisdiction ${violation.country_jurisdiction}`}, not ${jurisdiction}, and the leg carries no residency exception`;
  }
}
