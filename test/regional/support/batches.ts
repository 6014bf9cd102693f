/**
 * Settlement batches sealed with the core helper, exactly as a CorridorWindow seals them.
 * Each payment in EUR-USD is two legs through the FX provider: debtor agent → provider in EUR,
 * provider → creditor agent in USD.
 */
import { randomUUID } from 'node:crypto';
import { sealSettlementBatch, type SealedSettlementBatch, type SettlementLeg } from '../../../core/settlement-batch.ts';

export const fxProviderBic = 'FXPRGB2L';
const debtorAgents = ['DEUTDEFF', 'BNPAFRPP', 'INGBNL2A'];
const creditorAgents = ['CHASUS33', 'CITIUS33'];
const windowDurationMs = 60_000;

let windowCounter = 0;

/**
 * A debtor country of each real jurisdiction (policies/country-jurisdictions.json). The made-up
 * jurisdictions of freshJurisdiction() have no country, so their legs carry a residency exception
 * reference, as the edge would for a payment it admitted under one.
 */
const debtorCountries: Record<string, string> = { eu: 'DE', us: 'US', ap: 'SG' };

function residencyOf(jurisdiction: string): Pick<SettlementLeg, 'debtor_country' | 'residency_exception'> {
  const country = debtorCountries[jurisdiction];
  return country === undefined ? { debtor_country: 'DE', residency_exception: randomUUID() } : { debtor_country: country, residency_exception: null };
}

export interface SampleBatchOptions {
  jurisdiction?: string;
  payments?: number;
  /** Window start; by default a fresh one per call, so every batch has its own batch_id. */
  startsAtMs?: number;
  /** Overrides the amounts (minor units) of the payments, in order. */
  amountsMinor?: readonly string[];
}

export function sampleBatch(options: SampleBatchOptions = {}): SealedSettlementBatch {
  const jurisdiction = options.jurisdiction ?? 'eu';
  const startsAtMs = options.startsAtMs ?? Date.UTC(2026, 0, 1) + (windowCounter++ + Math.floor(Math.random() * 1e6)) * windowDurationMs;
  const legs: SettlementLeg[] = [];
  for (let index = 0; index < (options.payments ?? 3); index++) {
    const uetr = randomUUID();
    const amountMinor = options.amountsMinor?.[index] ?? String(10_000 + index * 2_501);
    const usdMinor = ((BigInt(amountMinor) * 108n) / 100n).toString();
    const debtorAgent = debtorAgents[index % debtorAgents.length]!;
    const residency = residencyOf(jurisdiction);
    legs.push({ uetr, instructing_agent: debtorAgent, payer: debtorAgent, payee: fxProviderBic, currency: 'EUR', amount_minor: amountMinor, ...residency });
    legs.push({ uetr, instructing_agent: debtorAgent, payer: fxProviderBic, payee: creditorAgents[index % creditorAgents.length]!, currency: 'USD', amount_minor: usdMinor, ...residency });
  }
  return sealSettlementBatch({
    batch_id: `EUR-USD.${jurisdiction}.0.${startsAtMs}`,
    corridor: 'EUR-USD',
    jurisdiction,
    window: { starts_at: new Date(startsAtMs).toISOString(), ends_at: new Date(startsAtMs + windowDurationMs).toISOString() },
    legs,
  });
}

/** A jurisdiction id no other test uses, so its log starts at index 0. */
export function freshJurisdiction(): string {
  let letters = '';
  for (let index = 0; index < 8; index++) letters += String.fromCharCode(97 + Math.floor(Math.random() * 26));
  return `eu${letters}`;
}
