import { z } from 'zod';
import { sha256Hex, utf8 } from '../digest.ts';
import { err, ok, type Result } from '../result.ts';
import { screenedPartiesMax, screeningOutcome, type ProviderFailure, type ProviderMatch, type SanctionsScreeningProvider, type ScreenedParty } from './provider.ts';
import { worldCheckAuthorization } from './world-check-signature.ts';

/*
 * World-Check One API v2 adapter. Per screened party, two calls, each signed (world-check-signature.ts):
 *
 *   POST {base}/cases/screeningRequest   {groupId, entityType: "UNSPECIFIED", providerTypes: ["WATCHLIST"],
 *                                         name, secondaryFields: [], customFields: []}
 *                                        → 200/201 {caseSystemId, …}   (a case created and screened)
 *   GET  {base}/cases/{caseSystemId}/results
 *                                        → 200 [{resultId, referenceId, matchStrength, matchScore?,
 *                                               matchedTerm, matchedNameType, categories, primaryName?}, …]
 *
 * Parties are screened in parallel. Every call has its own timeout (requestTimeoutMs) inside the
 * caller's signal (the stage's whole screening budget), and is retried a bounded number of times
 * (attemptsMax) on what a retry can fix: a network failure, 429 (after Retry-After, capped) and 5xx.
 * Redirects are not followed (`redirect: 'manual'`; workerd has no 'error'): a 3xx is a bad answer,
 * since a signed request replayed to another host is not what the vendor authorised.
 * 401/403 is never retried: a wrong key or secret does not get better, and hammering the vendor with
 * bad signatures gets the key locked. A retried POST may leave a second case in World-Check: that
 * is vendor-side bookkeeping, not money, and cheaper than not retrying.
 *
 * Scores: World-Check returns a strength (EXACT, STRONG, MEDIUM, WEAK) and, on newer tenants, a
 * matchScore (0..100). We use matchScore/100 when present, else the strength's floor in
 * `strengthScores`, and apply the configured threshold like the in-process matcher does. Only
 * results in a sanctions category count (World-Check also returns PEP and adverse-media hits,
 * which are not a reason to hold a payment here); a result without categories counts — when unsure,
 * hold. The list version is the SHA-256 of the results bodies as received (World-Check publishes no
 * list digest), so evidence can show exactly what the vendor answered.
 */

export const worldCheckProviderId = 'world-check-one';

export interface WorldCheckConfig {
  /** e.g. `https://api-worldcheck.refinitiv.com/v2`; the path prefix is part of the signed request-target. */
  baseUrl: string;
  apiKey: string;
  apiSecret: string;
  groupId: string;
  threshold: number;
  requestTimeoutMs?: number;
  attemptsMax?: number;
  retryDelayMs?: number;
  fetch?: typeof fetch;
  now?: () => Date;
}

export const worldCheckRequestTimeoutMsDefault = 2_000;
export const worldCheckAttemptsMaxDefault = 3;
export const worldCheckRetryDelayMsDefault = 100;
/** A Retry-After longer than this is not waited for: the screening budget would be gone anyway. */
export const worldCheckRetryAfterMsMax = 1_000;
export const worldCheckResponseBytesMax = 1024 * 1024;

export const strengthScores: Record<string, number> = { EXACT: 1, STRONG: 0.9, MEDIUM: 0.8, WEAK: 0.7 };

const caseResponseSchema = z.object({ caseSystemId: z.string().min(1).max(128) });
const resultSchema = z.object({
  referenceId: z.string().min(1).max(256),
  matchStrength: z.string().max(32).nullish(),
  matchScore: z.number().min(0).max(100).nullish(),
  matchedTerm: z.string().max(1024).nullish(),
  primaryName: z.string().max(1024).nullish(),
  categories: z.array(z.string().max(256)).max(64).nullish(),
});
const resultsSchema = z.array(resultSchema).max(1_000);

type Attempt = { kind: 'answer'; status: number; text: string } | { kind: 'failure'; failure: ProviderFailure };

export function createWorldCheckProvider(config: WorldCheckConfig): SanctionsScreeningProvider {
  const base = new URL(config.baseUrl.endsWith('/') ? config.baseUrl : `${config.baseUrl}/`);
  const requestTimeoutMs = config.requestTimeoutMs ?? worldCheckRequestTimeoutMsDefault;
  const attemptsMax = config.attemptsMax ?? worldCheckAttemptsMaxDefault;
  const retryDelayMs = config.retryDelayMs ?? worldCheckRetryDelayMsDefault;
  const fetchFn = config.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const now = config.now ?? (() => new Date());

  /** One signed call, retried on what retrying can fix; the first definitive answer or failure wins. */
  async function call(method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal): Promise<Attempt> {
    const url = new URL(path, base);
    // Sent as the string, signed as its UTF-8 bytes: fetch encodes a string body as UTF-8.
    const text = body === undefined ? undefined : JSON.stringify(body);
    const bytes = text === undefined ? undefined : utf8(text);
    let last: Attempt = { kind: 'failure', failure: { kind: 'provider-unreachable', providerId: worldCheckProviderId, attempts: 0, cause: 'not attempted' } };
    for (let attempt = 1; attempt <= attemptsMax; attempt++) {
      if (signal.aborted) return timeout(requestTimeoutMs);
      const date = now().toUTCString();
      const parts = { method, target: url.pathname + url.search, host: url.host, date, ...(bytes === undefined ? {} : { body: { contentType: 'application/json', bytes } }) };
      const headers: Record<string, string> = { date, authorization: worldCheckAuthorization(config.apiKey, config.apiSecret, parts), accept: 'application/json' };
      if (bytes !== undefined) headers['content-type'] = 'application/json';
      let response: Response;
      try {
        response = await fetchFn(url, { method, headers, body: text, signal: AbortSignal.any([signal, AbortSignal.timeout(requestTimeoutMs)]), redirect: 'manual' });
      } catch (cause) {
        if (signal.aborted || isTimeout(cause)) return timeout(requestTimeoutMs);
        last = { kind: 'failure', failure: { kind: 'provider-unreachable', providerId: worldCheckProviderId, attempts: attempt, cause: String(cause) } };
        await pause(retryDelayMs * 2 ** (attempt - 1), signal);
        continue;
      }
      const answered = await boundedText(response, signal);
      if (answered === null) return timeout(requestTimeoutMs);
      if (response.status === 401 || response.status === 403) {
        return { kind: 'failure', failure: { kind: 'provider-auth-refused', providerId: worldCheckProviderId, status: response.status } };
      }
      if (response.status === 429) {
        last = { kind: 'failure', failure: { kind: 'provider-rate-limited', providerId: worldCheckProviderId, attempts: attempt } };
        await pause(Math.min(retryAfterMs(response.headers.get('retry-after')) ?? retryDelayMs * 2 ** (attempt - 1), worldCheckRetryAfterMsMax), signal);
        continue;
      }
      if (response.status >= 500) {
        last = { kind: 'failure', failure: { kind: 'provider-server-error', providerId: worldCheckProviderId, attempts: attempt, status: response.status } };
        await pause(retryDelayMs * 2 ** (attempt - 1), signal);
        continue;
      }
      return { kind: 'answer', status: response.status, text: answered };
    }
    return signal.aborted ? timeout(requestTimeoutMs) : last;
  }

  /** The party's results bodies (as received) and matches. */
  async function screenParty(party: ScreenedParty, signal: AbortSignal): Promise<Result<{ text: string; matches: ProviderMatch[] }, ProviderFailure>> {
    const body = { groupId: config.groupId, entityType: 'UNSPECIFIED', providerTypes: ['WATCHLIST'], name: party.name, secondaryFields: [], customFields: [] };
    const created = await call('POST', 'cases/screeningRequest', body, signal);
    if (created.kind === 'failure') return err(created.failure);
    if (created.status !== 200 && created.status !== 201) return badResponse(`screeningRequest answered ${created.status}`);
    const caseResponse = caseResponseSchema.safeParse(parseJson(created.text));
    if (!caseResponse.success) return badResponse('screeningRequest answer has no caseSystemId');
    const fetched = await call('GET', `cases/${encodeURIComponent(caseResponse.data.caseSystemId)}/results`, undefined, signal);
    if (fetched.kind === 'failure') return err(fetched.failure);
    if (fetched.status !== 200) return badResponse(`results answered ${fetched.status}`);
    const results = resultsSchema.safeParse(parseJson(fetched.text));
    if (!results.success) return badResponse('results answer is not a list of screening results');
    const matches: ProviderMatch[] = [];
    for (const result of results.data) {
      if (result.categories != null && result.categories.length > 0 && !result.categories.some((category) => /sanction/i.test(category))) continue;
      const score = result.matchScore != null ? result.matchScore / 100 : (strengthScores[result.matchStrength ?? ''] ?? strengthScores.WEAK!);
      if (score < config.threshold) continue;
      const matchedAlias = result.matchedTerm ?? result.primaryName ?? '';
      matches.push({
        party: party.role,
        screenedName: party.name,
        entryId: `world-check:${result.referenceId}`,
        listedName: result.primaryName ?? matchedAlias,
        matchedAlias,
        score,
        algorithm: `world-check-one/${result.matchStrength ?? 'UNSPECIFIED'}`,
      });
    }
    return ok({ text: fetched.text, matches });
  }

  return {
    id: worldCheckProviderId,
    async screen(parties, signal) {
      if (parties.length > screenedPartiesMax) return err({ kind: 'provider-misconfigured', providerId: worldCheckProviderId, detail: `at most ${screenedPartiesMax} parties per screening` });
      const screened = await Promise.all(parties.map((party) => screenParty(party, signal)));
      const matches: ProviderMatch[] = [];
      const bodies: string[] = [];
      for (const party of screened) {
        if (!party.ok) return party;
        matches.push(...party.value.matches);
        bodies.push(party.value.text);
      }
      matches.sort((a, b) => b.score - a.score || a.entryId.localeCompare(b.entryId));
      return ok({
        outcome: screeningOutcome(matches),
        matches,
        listVersion: { digest: sha256Hex(bodies.join('\n')), loadedAt: now().toISOString() },
        threshold: config.threshold,
        providerId: worldCheckProviderId,
      });
    },
  };
}

function timeout(timeoutMs: number): Attempt {
  return { kind: 'failure', failure: { kind: 'provider-timeout', providerId: worldCheckProviderId, timeoutMs } };
}

function badResponse(detail: string): { ok: false; reason: ProviderFailure } {
  return err({ kind: 'provider-bad-response', providerId: worldCheckProviderId, detail });
}

function isTimeout(cause: unknown): boolean {
  return typeof cause === 'object' && cause !== null && 'name' in cause && (cause.name === 'TimeoutError' || cause.name === 'AbortError');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The body as text, or null when it timed out; a body over the limit reads as '' (then fails validation). */
async function boundedText(response: Response, signal: AbortSignal): Promise<string | null> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > worldCheckResponseBytesMax) {
    await response.body?.cancel();
    return '';
  }
  try {
    const text = await response.text();
    return utf8(text).byteLength > worldCheckResponseBytesMax ? '' : text;
  } catch (cause) {
    if (signal.aborted || isTimeout(cause)) return null;
    return '';
  }
}

/** Retry-After in seconds (the form World-Check sends), in ms; an HTTP date or garbage is ignored. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null || !/^\d{1,6}$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1_000;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
