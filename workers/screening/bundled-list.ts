/**
 * The sanctions list bundled with this deployment: OFAC's legacy `sdn.csv` + `alt.csv`, imported as
 * text modules, parsed and indexed once per isolate on the first screening (not at script start-up,
 * whose CPU budget is small). Why bundled rather than KV or fetched: dev/sanctions/README.md,
 * "How a list version reaches the edge" — in short, one list version per deployment, no
 * eventually consistent window in which two isolates screen against different lists.
 *
 * Locally (and in this repository) the bundled files are the dev excerpt of 76 real SDN entries.
 * Outside MERIDIAN_POSTURE=local-dev that excerpt is refused (`devExcerptListVersion`): screening a
 * production payment against 76 of ~18,000 entries would be a pass we cannot stand behind, so the
 * stage holds instead until a real list is bundled.
 */
import altCsv from '../../dev/sanctions/alt.csv';
import sdnCsv from '../../dev/sanctions/sdn.csv';
import { utf8 } from '../../core/digest.ts';
import { loadOfacCsv, type ListLoadError, type SanctionsList } from '../../core/sanctions/lists.ts';
import { createSanctionsMatcher, type SanctionsMatcher } from '../../core/sanctions/matcher.ts';
import { ok, type Result } from '../../core/result.ts';

/** SHA-256 list version of dev/sanctions/{sdn,alt}.csv; test/workers/screening.test.ts keeps it in step. */
export const devExcerptListVersion = '2ff2e9ca797648bcb7d2266b74c59f56ae6f019b04e7ca923e318d31accc7071';

export interface BundledScreening {
  list: SanctionsList;
  matcher: SanctionsMatcher;
}

let loaded: Result<SanctionsList, ListLoadError> | undefined;
const matchers = new Map<number, SanctionsMatcher>();
/** Thresholds differ only by configuration; a handful of matchers per isolate at most. */
const matchersMax = 4;

export function bundledSanctionsList(): Result<SanctionsList, ListLoadError> {
  loaded ??= loadOfacCsv({ sdn: utf8(sdnCsv), alt: utf8(altCsv), loadedAt: new Date().toISOString() });
  return loaded;
}

/** The bundled list and its index for one threshold, built once per isolate. */
export function bundledScreening(threshold: number): Result<BundledScreening, ListLoadError> {
  const list = bundledSanctionsList();
  if (!list.ok) return list;
  let matcher = matchers.get(threshold);
  if (matcher === undefined) {
    if (matchers.size >= matchersMax) matchers.clear();
    matcher = createSanctionsMatcher(list.value, { threshold });
    matchers.set(threshold, matcher);
  }
  return ok({ list: list.value, matcher });
}

export function isDevExcerpt(list: SanctionsList): boolean {
  return list.version === devExcerptListVersion;
}
