/**
 * The screening stage's outcome (workers/screening/screen-payment.ts) as PartnerState records it:
 * the result every admission carries (clear or held, with list version, algorithm and threshold, for
 * the evidence export) and, for a hold, what the ops console lists beside it. Names of the parties
 * go to PartnerState and the ops API only; the partner's answer says `held` and nothing else.
 */
import type { PaymentInstruction } from '../../core/instruction.ts';
import { inProcessProviderId } from '../../core/sanctions/in-process-provider.ts';
import { screeningAlgorithm } from '../../core/sanctions/matcher.ts';
import { worldCheckProviderId } from '../../core/sanctions/world-check.ts';
import type { HoldInput, ScreeningResultInput } from '../../durable-objects/partner-state/partner-state.ts';
import type { ScreeningOutcome } from '../screening/screen-payment.ts';

/** Which algorithm a provider scores with when a clear result has no match to name it. */
const providerAlgorithms: Readonly<Record<string, string>> = {
  [inProcessProviderId]: `${screeningAlgorithm.name}/${screeningAlgorithm.version}`,
  [worldCheckProviderId]: 'world-check-one',
};

export interface ScreeningEvidence {
  screening: ScreeningResultInput;
  /** Present exactly when screening held the payment. */
  hold?: HoldInput;
}

export function screeningEvidence(uetr: string, instruction: Pick<PaymentInstruction, 'debtor' | 'creditor'>, outcome: ScreeningOutcome): ScreeningEvidence {
  const { result } = outcome;
  const algorithms = [...new Set(result.matches.map((match) => match.algorithm))];
  const screening: ScreeningResultInput = {
    uetr,
    outcome: result.outcome,
    cause: outcome.kind === 'hold' ? outcome.cause : null,
    provider_id: result.providerId,
    list_version: result.listVersion === null ? null : { digest: result.listVersion.digest, loaded_at: result.listVersion.loadedAt },
    algorithm: algorithms.length > 0 ? algorithms.join(', ') : result.listVersion === null ? null : (providerAlgorithms[result.providerId] ?? result.providerId),
    threshold: result.threshold,
    screened_at: result.screenedAt,
    matches: result.matches.map((match) => ({
      party: match.party, screened_name: match.screenedName, entry_id: match.entryId, listed_name: match.listedName, matched_alias: match.matchedAlias, score: match.score, algorithm: match.algorithm,
    })),
    failure: result.failure === undefined ? null : { ...result.failure },
  };
  if (outcome.kind === 'clear') return { screening };
  return { screening, hold: { cause: outcome.cause, debtor_name: instruction.debtor.name, creditor_name: instruction.creditor.name } };
}
