import { err, ok, type Result } from '../result.ts';
import type { SanctionsList } from './lists.ts';
import { createSanctionsMatcher, type SanctionsMatcher } from './matcher.ts';
import { screenedPartiesMax, screeningOutcome, type ProviderFailure, type ProviderMatch, type ProviderScreeningResult, type SanctionsScreeningProvider, type ScreenedParty } from './provider.ts';

/*
 * The default provider: the in-process matcher over a loaded list (matcher.ts). Synchronous and
 * CPU-bound: a screening takes well under a millisecond per party on the dev list (see
 * bench/screening.bench.ts), so it checks the abort signal between parties rather than racing it.
 */

export const inProcessProviderId = 'in-process';

export function createInProcessProvider(list: SanctionsList, options: { threshold: number }): SanctionsScreeningProvider {
  const matcher = createSanctionsMatcher(list, { threshold: options.threshold });
  return inProcessProvider(list, matcher);
}

/** For callers that already built the matcher (the edge keeps one per isolate). */
export function inProcessProvider(list: Pick<SanctionsList, 'version' | 'loadedAt'>, matcher: SanctionsMatcher): SanctionsScreeningProvider {
  return {
    id: inProcessProviderId,
    async screen(parties: readonly ScreenedParty[], signal: AbortSignal): Promise<Result<ProviderScreeningResult, ProviderFailure>> {
      if (parties.length > screenedPartiesMax) {
        return err({ kind: 'provider-misconfigured', providerId: inProcessProviderId, detail: `at most ${screenedPartiesMax} parties per screening` });
      }
      const matches: ProviderMatch[] = [];
      for (const party of parties) {
        if (signal.aborted) return err({ kind: 'provider-timeout', providerId: inProcessProviderId, timeoutMs: 0 });
        const screened = matcher.screen(party.name);
        for (const match of screened.matches) {
          matches.push({
            party: party.role,
            screenedName: party.name,
            entryId: match.entryId,
            listedName: match.listedName,
            matchedAlias: match.matchedName,
            score: match.score,
            algorithm: `${match.algorithm.name}/${match.algorithm.version}`,
          });
        }
      }
      matches.sort((a, b) => b.score - a.score || a.entryId.localeCompare(b.entryId));
      return ok({
        outcome: screeningOutcome(matches),
        matches,
        listVersion: { digest: list.version, loadedAt: list.loadedAt },
        threshold: matcher.threshold,
        providerId: inProcessProviderId,
      });
    },
  };
}
