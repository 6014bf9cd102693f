import jaroWinkler from 'talisman/metrics/jaro-winkler.js';
import doubleMetaphone from 'talisman/phonetics/double-metaphone.js';
import type { SanctionsEntry, SanctionsList } from './lists.ts';
import { consonantSkeleton, hasArabicScript, normalizeName } from './normalize.ts';

/*
 * The in-process sanctions matcher, scoring in the manner of OFAC's Sanctions List Search
 * (Jaro-Winkler string distance plus a phonetic check, one score 0..1, a user-set minimum).
 *
 *   build:  every name of every entry → normalizeName → tokens + Double Metaphone codes, in two
 *           views (IndexView: latin, and skeleton for Arabic-script queries), each with postings
 *           token → records, metaphone code → records, joined tokens → records.
 *   screen: normalise the query; look up its joined tokens, each token and each of its metaphone
 *           codes in the postings of its view; score only the records found there (bounded by
 *           candidatesMax); keep the best score per entry; return those at or above the
 *           threshold, best first.
 *
 * Score of a query Q against a listed name N (both normalised):
 *   tokenScore    best one-to-one pairing of Q's and N's tokens by Jaro-Winkler (greedy, highest
 *                 pair first; pairs below tokenSimilarityMin are not paired), then the share of
 *                 Q's characters covered (weight 0.65) and of N's (0.35), each token's characters
 *                 weighted by its pair's similarity — unpaired tokens count as 0, so "John Smith"
 *                 is far from "John Smith Al-Rahman Trading".
 *   wholeScore    Jaro-Winkler of the whole names, N's tokens reordered to follow the pairing, so
 *                 "PUTIN, Vladimir" and "Vladimir Putin" compare as the same string.
 *   phoneticScore share of paired tokens whose Double Metaphone codes agree (primary or secondary).
 *   score = 0.4·tokenScore + 0.4·wholeScore + 0.2·phoneticScore
 *
 * Three refinements, each from a labelled case it fixes (test/core/sanctions/quality.test.ts):
 *   - Spacing: a name equal to a listed name once spaces are removed ("Ramimakhlouf", "ALQAEDA")
 *     scores 1; retrieval has a key for the joined tokens (`c:`), since no single token matches.
 *   - Patronymics: an unpaired listed token that is a Russian-style patronymic (-ovich, -evna, …)
 *     counts for nothing rather than against: payments rarely carry it ("Sergei Lavrov" for
 *     LAVROV, Sergei Viktorovich). A patronymic the query does carry still pairs and counts.
 *   - Numbers: digit tokens pair only when equal, and two names whose digit tokens differ score
 *     at most numberMismatchFactor of their score: "SNOW STORM 1" is another vessel than "SNOW STORM 2".
 *
 * Arabic script: any-ascii writes it as its consonants ("أسامة بن لادن" → "smh bn ldn"), which no
 * Latin spelling resembles. A query in Arabic script is therefore compared in a second view of the
 * index, where every listed name is reduced the same way (normalize.ts `consonantSkeleton`:
 * vowels and w/y dropped, doubled letters single, th/dh/gh/q folded): "usama bin laden" → "sm bn ldn".
 * Skeletons are lossy, so this view serves only queries written in Arabic script.
 *
 * Retrieval trade-off: a misspelling that changes both the token and its metaphone codes in every
 * token of a name is not retrieved. That needs every token wrong, and is the price of never
 * scanning the whole list per payment (the full SDN list has ~40,000 names).
 */

export const screeningAlgorithm = { name: 'meridian-jw-dmetaphone', version: '3' } as const;
export const screeningThresholdDefault = 0.85;
/** Records scored per query at most; a query made only of very common tokens stops here. */
export const candidatesMax = 5_000;
export const matchesMaxDefault = 10;
/** Tokens shorter than this are not looked up (initials, "al", "bin" would retrieve half the list). */
const retrievalTokenLengthMin = 3;

const weights = { token: 0.4, whole: 0.4, phonetic: 0.2 } as const;
/**
 * Token pairs below this Jaro-Winkler similarity are not paired at all: "kuwait"/"cuba" (0.6)
 * would otherwise lend "National Bank of Kuwait" most of a match on "National Bank of Cuba".
 */
const tokenSimilarityMin = 0.8;
/**
 * How much of the query is covered weighs more than how much of the listed name is: a payment
 * often carries a shortened name ("Nicolas Maduro" for MADURO MOROS, Nicolas), rarely a longer one.
 */
const coverageWeights = { query: 0.65, listed: 0.35 } as const;
/** Names whose digit tokens differ ("… 1" / "… 2") keep at most this share of their score. */
const numberMismatchFactor = 0.8;
const patronymicPattern = /^[a-z]{3,}(ovich|evich|ovych|evych|avich|ich|itch|ovna|evna|ivna|ichna|ogly|kyzy)$/;
const digitsPattern = /^\d+$/;

interface NameRecord {
  entry: SanctionsEntry;
  name: string;
}

/**
 * One way of spelling every listed name, with its postings: `latin` (normalised tokens, Double
 * Metaphone codes) for Latin-script queries, `skeleton` (consonantSkeleton tokens, each its own
 * code) for Arabic-script ones. Indexed by record; a record with no skeleton has empty tokens.
 */
interface IndexView {
  postings: Postings;
  tokens: string[][];
  codes: string[][][];
}

function emptyView(): IndexView {
  return { postings: { token: new Map(), code: new Map(), compact: new Map() }, tokens: [], codes: [] };
}

function addToView(view: IndexView, recordIndex: number, tokens: string[], codes: string[][]): void {
  view.tokens[recordIndex] = tokens;
  view.codes[recordIndex] = codes;
  if (tokens.length > 0) forEachRetrievalKey(tokens, codes, (map, key) => addPosting(view.postings[map], key, recordIndex));
}

export interface SanctionsMatch {
  entryId: string;
  entryType: SanctionsEntry['type'];
  /** The entry's primary name, as the list writes it. */
  listedName: string;
  /** The listed name (primary or alias) that scored best, as the list writes it. */
  matchedName: string;
  score: number;
  algorithm: typeof screeningAlgorithm;
}

export interface ScreeningResult {
  name: string;
  normalized: string;
  listVersion: string;
  threshold: number;
  algorithm: typeof screeningAlgorithm;
  /** Matches at or above the threshold, best first; empty means clear. */
  matches: SanctionsMatch[];
  /** How many listed names this query scored (the rest were never touched). */
  candidatesScored: number;
}

export interface PaymentScreening {
  hit: boolean;
  debtor: ScreeningResult;
  creditor: ScreeningResult;
}

export interface SanctionsMatcher {
  listVersion: string;
  threshold: number;
  screen(name: string): ScreeningResult;
  screenPayment(debtorName: string, creditorName: string): PaymentScreening;
  /** Names scored since the matcher was built, across all queries; tests and metrics read it. */
  readonly namesScoredTotal: number;
  readonly namesIndexed: number;
}

export function createSanctionsMatcher(list: SanctionsList, options: { threshold?: number; matchesMax?: number } = {}): SanctionsMatcher {
  const threshold = options.threshold ?? screeningThresholdDefault;
  const matchesMax = options.matchesMax ?? matchesMaxDefault;
  if (!(threshold > 0 && threshold <= 1)) throw new RangeError(`sanctions threshold must be in (0, 1], got ${threshold}`);
  const records: NameRecord[] = [];
  const latin = emptyView();
  const skeleton = emptyView();
  for (const entry of list.entries) {
    for (const name of entry.names) {
      const normalized = normalizeName(name);
      if (normalized.tokens.length === 0) continue;
      const recordIndex = records.push({ entry, name }) - 1;
      addToView(latin, recordIndex, normalized.tokens, normalized.tokens.map(tokenCodes));
      const skeletonTokens = normalized.tokens.map(consonantSkeleton).filter((token) => token !== '');
      addToView(skeleton, recordIndex, skeletonTokens, skeletonTokens.map((token) => [token]));
    }
  }
  let namesScoredTotal = 0;

  const screen = (name: string): ScreeningResult => {
    const query = normalizeName(name);
    // Arabic script comes back from any-ascii without its short vowels: compare consonants with consonants.
    const view = hasArabicScript(name) ? skeleton : latin;
    const queryTokens = view === latin ? query.tokens : query.tokens.map(consonantSkeleton).filter((token) => token !== '');
    const queryCodes = view === latin ? queryTokens.map(tokenCodes) : queryTokens.map((token) => [token]);
    const candidates = new Set<number>();
    forEachRetrievalKey(queryTokens, queryCodes, (map, key) => {
      for (const recordIndex of view.postings[map].get(key) ?? []) {
        if (candidates.size >= candidatesMax) return;
        candidates.add(recordIndex);
      }
    });
    const bestByEntry = new Map<string, SanctionsMatch>();
    for (const recordIndex of candidates) {
      const record = records[recordIndex]!;
      const score = scoreName(queryTokens, queryCodes, view.tokens[recordIndex]!, view.codes[recordIndex]!);
      const best = bestByEntry.get(record.entry.id);
      if (best === undefined || score > best.score) {
        bestByEntry.set(record.entry.id, { entryId: record.entry.id, entryType: record.entry.type, listedName: record.entry.names[0]!, matchedName: record.name, score, algorithm: screeningAlgorithm });
      }
    }
    namesScoredTotal += candidates.size;
    const matches = [...bestByEntry.values()]
      .filter((match) => match.score >= threshold)
      .sort((a, b) => b.score - a.score || a.entryId.localeCompare(b.entryId))
      .slice(0, matchesMax);
    return { name, normalized: query.text, listVersion: list.version, threshold, algorithm: screeningAlgorithm, matches, candidatesScored: candidates.size };
  };

  return {
    listVersion: list.version,
    threshold,
    screen,
    screenPayment(debtorName, creditorName) {
      const debtor = screen(debtorName);
      const creditor = screen(creditorName);
      return { hit: debtor.matches.length > 0 || creditor.matches.length > 0, debtor, creditor };
    },
    get namesScoredTotal() {
      return namesScoredTotal;
    },
    namesIndexed: records.length,
  };
}

/**
 * Double Metaphone codes of a token, memoised: talisman's implementation costs ~12 µs a call, and a
 * list repeats its tokens (surnames, "al", "bank") so often that the memo makes the index build
 * several times faster. Bounded: past tokenCodesCacheMax distinct tokens it starts afresh.
 */
const tokenCodesCache = new Map<string, string[]>();
const tokenCodesCacheMax = 200_000;

function tokenCodes(token: string): string[] {
  const cached = tokenCodesCache.get(token);
  if (cached !== undefined) return cached;
  const [primary, secondary] = doubleMetaphone(token);
  const codes = [...new Set([primary, secondary].filter((code) => code !== ''))];
  if (tokenCodesCache.size >= tokenCodesCacheMax) tokenCodesCache.clear();
  tokenCodesCache.set(token, codes);
  return codes;
}

/** Postings by kind of key: whole tokens, Double Metaphone codes, and the name's tokens joined. */
interface Postings {
  token: Map<string, number[]>;
  code: Map<string, number[]>;
  compact: Map<string, number[]>;
}

/** The joined name first, then each token long enough to be selective and its metaphone codes. */
function forEachRetrievalKey(tokens: readonly string[], codes: readonly string[][], visit: (map: keyof Postings, key: string) => void): void {
  visit('compact', tokens.join(''));
  for (let index = 0; index < tokens.length; index++) {
    if (tokens[index]!.length < retrievalTokenLengthMin) continue;
    visit('token', tokens[index]!);
    for (const code of codes[index]!) if (code.length >= 2) visit('code', code);
  }
}

function addPosting(postings: Map<string, number[]>, key: string, recordIndex: number): void {
  const list = postings.get(key);
  if (list === undefined) postings.set(key, [recordIndex]);
  else if (list.at(-1) !== recordIndex) list.push(recordIndex);
}

/** The formula in the header. Both token lists are at most nameTokensMax long (normalizeName). */
export function scoreName(query: readonly string[], queryCodes: readonly string[][], listed: readonly string[], listedCodes: readonly string[][]): number {
  if (query.length === 0 || listed.length === 0) return 0;
  if (query.join('') === listed.join('')) return 1;
  const pairing = pairTokens(query, queryCodes, listed, listedCodes);
  // Unpaired patronymics of the listed name are left out of its side entirely.
  const listedKept = listed.flatMap((token, l) => (pairing.listedOf.has(l) || !patronymicPattern.test(token) ? [l] : []));
  const queryCharacters = query.join('').length;
  const listedCharacters = listedKept.reduce((characters, l) => characters + listed[l]!.length, 0);
  const tokenScore = coverageWeights.query * (pairing.queryCovered / queryCharacters) + coverageWeights.listed * (pairing.listedCovered / listedCharacters);
  // Listed tokens in the order of the query tokens they paired with, then the unpaired ones kept.
  const reordered = [...pairing.pairs].sort((a, b) => a.q - b.q).map((pair) => listed[pair.l]!);
  for (const l of listedKept) if (!pairing.listedOf.has(l)) reordered.push(listed[l]!);
  const wholeScore = jaroWinkler(query.join(' '), reordered.join(' '));
  const phoneticScore = pairing.phoneticAgreements / Math.max(query.length, listedKept.length);
  const score = weights.token * tokenScore + weights.whole * wholeScore + weights.phonetic * phoneticScore;
  return digitTokensDiffer(query, listed) ? score * numberMismatchFactor : score;
}

interface TokenPairing {
  pairs: { q: number; l: number; similarity: number }[];
  listedOf: Set<number>;
  queryCovered: number;
  listedCovered: number;
  phoneticAgreements: number;
}

/** Best one-to-one pairing, greedy from the most similar pair; digit tokens pair only when equal. */
function pairTokens(query: readonly string[], queryCodes: readonly string[][], listed: readonly string[], listedCodes: readonly string[][]): TokenPairing {
  const candidates: TokenPairing['pairs'] = [];
  for (let q = 0; q < query.length; q++) {
    for (let l = 0; l < listed.length; l++) {
      const numeric = digitsPattern.test(query[q]!) || digitsPattern.test(listed[l]!);
      const similarity = numeric ? (query[q] === listed[l] ? 1 : 0) : jaroWinkler(query[q]!, listed[l]!);
      if (similarity >= tokenSimilarityMin) candidates.push({ q, l, similarity });
    }
  }
  candidates.sort((a, b) => b.similarity - a.similarity || a.q - b.q || a.l - b.l);
  const pairing: TokenPairing = { pairs: [], listedOf: new Set(), queryCovered: 0, listedCovered: 0, phoneticAgreements: 0 };
  const queryPaired = new Set<number>();
  for (const pair of candidates) {
    if (queryPaired.has(pair.q) || pairing.listedOf.has(pair.l)) continue;
    queryPaired.add(pair.q);
    pairing.listedOf.add(pair.l);
    pairing.pairs.push(pair);
    pairing.queryCovered += pair.similarity * query[pair.q]!.length;
    pairing.listedCovered += pair.similarity * listed[pair.l]!.length;
    if (queryCodes[pair.q]!.some((code) => listedCodes[pair.l]!.includes(code))) pairing.phoneticAgreements++;
  }
  return pairing;
}

function digitTokensDiffer(query: readonly string[], listed: readonly string[]): boolean {
  const queryDigits = query.filter((token) => digitsPattern.test(token)).sort().join(' ');
  const listedDigits = listed.filter((token) => digitsPattern.test(token)).sort().join(' ');
  return queryDigits !== '' && listedDigits !== '' && queryDigits !== listedDigits;
}
