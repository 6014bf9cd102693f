import type { Result } from '../result.ts';

/*
 * One interface for every sanctions screening provider: the in-process matcher (the default,
 * in-process-provider.ts) and vendors such as World-Check One (world-check.ts). The screening
 * stage (workers/screening/) only sees this interface, so what it records — the outcome, the
 * matched entries with score and algorithm, the list version, the threshold, the provider — is
 * the same whoever screened.
 *
 * A provider that cannot answer returns a failure; it never answers `clear` for a party it did not
 * screen. What the caller does with a failure is its policy (the edge holds the payment: fail
 * closed), so the failure says what went wrong precisely enough for an operator to act on it.
 */

export type PartyRole = 'debtor' | 'creditor';

export interface ScreenedParty {
  role: PartyRole;
  name: string;
}

export interface ProviderMatch {
  party: PartyRole;
  /** The name as the payment carried it. */
  screenedName: string;
  /** The provider's id for the listed party (`ofac-sdn:<ent_num>`, a World-Check reference id). */
  entryId: string;
  /** The listed party's primary name. */
  listedName: string;
  /** The listed name or alias that matched. */
  matchedAlias: string;
  /** 0..1; a possible match is one at or above the threshold. */
  score: number;
  /** Which algorithm scored it, with its version: `meridian-jw-dmetaphone/1`, `world-check-one/STRONG`. */
  algorithm: string;
}

/** Which list answered: what evidence cites. */
export interface ListVersion {
  /** Lowercase hex SHA-256 of the list bytes (in-process), or of the provider's answer (vendors). */
  digest: string;
  /** RFC 3339. */
  loadedAt: string;
}

export interface ProviderScreeningResult {
  outcome: 'clear' | 'possible-match';
  /** At or above the threshold, best first; empty exactly when the outcome is clear. */
  matches: ProviderMatch[];
  listVersion: ListVersion;
  threshold: number;
  providerId: string;
}

export type ProviderFailure =
  | { kind: 'provider-timeout'; providerId: string; timeoutMs: number }
  | { kind: 'provider-unreachable'; providerId: string; attempts: number; cause: string }
  | { kind: 'provider-auth-refused'; providerId: string; status: number }
  | { kind: 'provider-rate-limited'; providerId: string; attempts: number }
  | { kind: 'provider-server-error'; providerId: string; attempts: number; status: number }
  | { kind: 'provider-bad-response'; providerId: string; detail: string }
  | { kind: 'provider-misconfigured'; providerId: string; detail: string };

export interface SanctionsScreeningProvider {
  readonly id: string;
  /** Screens every party against every alias of every listed entry. `signal` aborts the work. */
  screen(parties: readonly ScreenedParty[], signal: AbortSignal): Promise<Result<ProviderScreeningResult, ProviderFailure>>;
}

/** Parties screened per request at most: a payment has two, a batch re-screen a few more. */
export const screenedPartiesMax = 16;

export function screeningOutcome(matches: readonly ProviderMatch[]): ProviderScreeningResult['outcome'] {
  return matches.length > 0 ? 'possible-match' : 'clear';
}
