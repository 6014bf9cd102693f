/**
 * Where a witness gets the checkpoint keys of the logs it witnesses.
 *
 * - pinned: verifier keys given in configuration (`verifiers`): the strongest choice, the
 *   operator checked them out of band;
 * - published: the `note_verifiers` of the log's backends' GET /v1/keys (`keys_urls`), fetched
 *   with a timeout, cached for logKeysCacheMs and refetched at most every logKeysRefreshMs when a
 *   checkpoint is signed by a key not in the cache (a rotation).
 *
 * The second trusts the log to name its own keys. That does not weaken what a witness is for: a
 * key swap cannot make the witness cosign a tree that does not extend the one it cosigned last
 * (./witness.ts checks consistency against its own record, whoever signed), so a fork still
 * cannot gather its cosignature.
 */
import { parseNoteVerifier, type NoteVerifierKey } from '../../core/signed-note.ts';
import type { RegionalLogger } from '../logger.ts';
import type { LogKeySource } from './witness.ts';

export const logKeysCacheMs = 60_000;
export const logKeysRefreshMs = 5_000;
export const logKeysFetchTimeoutMs = 5_000;
const keysBodyBytesMax = 1 << 20;

export interface WitnessedLog {
  origin: string;
  /** Pinned verifier keys (`<name>+<key id>+<key>`). */
  verifiers?: string[];
  /** GET /v1/keys URLs of the log's backends. */
  keysUrls?: string[];
}

function parsedVerifiers(texts: readonly unknown[], origin: string): NoteVerifierKey[] {
  const keys: NoteVerifierKey[] = [];
  for (const text of texts) {
    if (typeof text !== 'string') continue;
    const parsed = parseNoteVerifier(text);
    if (parsed.ok && parsed.value.name === origin && !keys.some((key) => key.keyIdHex === parsed.value.keyIdHex)) keys.push(parsed.value);
  }
  return keys;
}

async function fetchNoteVerifiers(url: string, fetcher: typeof fetch): Promise<unknown[]> {
  const response = await fetcher(url, { signal: AbortSignal.timeout(logKeysFetchTimeoutMs), redirect: 'error' });
  const text = await response.text();
  if (response.status !== 200 || text.length > keysBodyBytesMax) throw new Error(`GET ${url}: HTTP ${response.status}`);
  const body = JSON.parse(text) as { note_verifiers?: unknown };
  return Array.isArray(body.note_verifiers) ? body.note_verifiers : [];
}

export function logKeySource(logs: readonly WitnessedLog[], options: { fetch?: typeof fetch; logger: RegionalLogger; nowMs?: () => number }): LogKeySource {
  const fetcher = options.fetch ?? fetch;
  const nowMs = options.nowMs ?? Date.now;
  const cache = new Map<string, { keys: NoteVerifierKey[]; readAtMs: number }>();
  async function published(log: WitnessedLog): Promise<NoteVerifierKey[]> {
    const texts: unknown[] = [];
    for (const url of log.keysUrls ?? []) {
      try {
        texts.push(...(await fetchNoteVerifiers(url, fetcher)));
      } catch (error) {
        // One backend of the log down is normal (failover); its sibling lists the same keys.
        options.logger.info('witness: log keys unavailable', { origin: log.origin, url, error: (error as Error).message });
      }
    }
    return parsedVerifiers(texts, log.origin);
  }
  return {
    async verifiers(origin, { refresh }) {
      const log = logs.find((candidate) => candidate.origin === origin);
      if (log === undefined) return undefined;
      const pinned = parsedVerifiers(log.verifiers ?? [], origin);
      if ((log.keysUrls ?? []).length === 0) return pinned;
      const cached = cache.get(origin);
      const ageMs = cached === undefined ? Infinity : nowMs() - cached.readAtMs;
      if (cached === undefined || ageMs > logKeysCacheMs || (refresh && ageMs > logKeysRefreshMs)) {
        cache.set(origin, { keys: await published(log), readAtMs: nowMs() });
      }
      return [...pinned, ...cache.get(origin)!.keys.filter((key) => !pinned.some((pin) => pin.keyIdHex === key.keyIdHex))];
    },
  };
}
