/**
 * Sanctions screening: quality at the configured threshold, and speed against a 10,000-entry list.
 *
 *   npm run bench:screening            (node_modules/.bin/node bench/screening.bench.ts [entries] [payments])
 *
 * Quality (the sets: test/support/sanctions-quality.ts; the floors: test/core/sanctions/quality.test.ts):
 *   - nomenklatura LogicV2 name cases: recall, precision, false positives;
 *   - OFAC SLS scores: Spearman rank correlation with SLS, share of SLS's strong full-name hits held;
 *   - the generated set from the dev list: recall per disguise, precision, false positives among
 *     300 common names from many cultures, among the hand-written near misses, and among 136
 *     ordinary Arabic and Persian names written in Arabic script.
 *
 * Speed: the dev list's 76 real entries plus generated entries up to 10,000, built
 * deterministically in the dev entries' shapes — individuals as "SURNAME, Given Middle" with 0–3
 * aliases, entities as "WORD WORD <legal form>", vessels as one or two words — from name pools
 * and syllables (xorshift seed 0x5c12): names that share tokens and sounds with one another as a
 * real list's do, so retrieval has real candidates to score. The list is written out in OFAC's CSV
 * layout and loaded through the real loader, so "list load" is parse + index as the edge pays it
 * on its first screening ("cold": first load in the process; "warm": median of 5). Then N payments
 * (default 2,000; 90% ordinary parties, 10% disguised listed names) are screened through the
 * in-process provider as the edge calls it, debtor and creditor each; p50/p99 per payment. Times
 * are process CPU time (what a Worker is billed and limited by, and what a loaded shared machine
 * does not inflate), with wall time beside them.
 * Appends one JSON line to bench/results/screening.jsonl.
 */
import { performance } from 'node:perf_hooks';
import { createInProcessProvider } from '../core/sanctions/in-process-provider.ts';
import { loadOfacCsv, type SanctionsList } from '../core/sanctions/lists.ts';
import { createSanctionsMatcher, screeningAlgorithm, screeningThresholdDefault } from '../core/sanctions/matcher.ts';
import {
  arabicScriptOrdinaryNames,
  devSanctionsList,
  disguisedVariants,
  logicV2Pairs,
  measureGeneratedSet,
  measurePairs,
  nearMissNames,
  ofacSlsRows,
  ordinaryNames,
  pairScore,
  spearman,
} from '../test/support/sanctions-quality.ts';
import { median, recordResult, round, xorshift } from './machine.ts';

const entryCount = Number(process.argv[2] ?? 10_000);
const paymentCount = Number(process.argv[3] ?? 2_000);
const threshold = screeningThresholdDefault;
const warmLoads = 5;

// ---------------------------------------------------------------------------------------------
// Quality

function quality() {
  const { pairs, outOfScope } = logicV2Pairs();
  const logicV2 = measurePairs(pairs, threshold);
  const rows = ofacSlsRows();
  const scored = rows.filter((row) => row.slsScore >= 0).map((row) => ({ row, score: pairScore(row.query, [row.listed]) }));
  const strong = scored.filter(({ row }) => row.slsScore >= 97 && row.query.trim().split(/\s+/).length >= 2);
  const list = devSanctionsList();
  const matcher = createSanctionsMatcher(list, { threshold });
  const generated = measureGeneratedSet(matcher, disguisedVariants(list), ordinaryNames());
  const arabicScriptOrdinary = arabicScriptOrdinaryNames();
  const arabicScriptHeld = arabicScriptOrdinary.filter((name) => matcher.screen(name).matches.length > 0);
  const nearMisses = nearMissNames.flatMap((name) => {
    const best = matcher.screen(name).matches[0];
    return best === undefined ? [] : [{ name, matchedName: best.matchedName, score: round(best.score, 3) }];
  });
  return {
    logic_v2: {
      cases: pairs.length,
      out_of_scope: outOfScope,
      recall: round(logicV2.recall, 3),
      precision: round(logicV2.precision, 3),
      false_positives: logicV2.falsePositives.map((pair) => `${pair.query} / ${pair.listed}`),
      false_negatives: logicV2.falseNegatives.map((pair) => `${pair.query} / ${pair.listed}`),
    },
    ofac_sls: {
      pairs: scored.length,
      spearman: round(spearman(scored.map(({ row }) => row.slsScore), scored.map(({ score }) => score)), 3),
      strong_full_name_pairs: strong.length,
      strong_full_name_held: strong.filter(({ score }) => score >= threshold).length,
      held_where_sls_below_80: scored.filter(({ row, score }) => row.slsScore < 80 && score >= threshold).length,
    },
    generated: {
      positives: generated.positives,
      recall: round(generated.recall, 3),
      precision: round(generated.precision, 3),
      recall_by_kind: Object.fromEntries(Object.entries(generated.recallByKind).map(([kind, [found, total]]) => [kind, `${found}/${total}`])),
      ordinary_names: generated.negatives,
      false_positives: generated.falsePositives.length,
      false_positive_names: generated.falsePositives.map((hit) => `${hit.name} → ${hit.matchedName}`),
      near_miss_names: nearMissNames.length,
      near_miss_false_positives: nearMisses.length,
      near_miss_false_positive_names: nearMisses.map((hit) => `${hit.name} → ${hit.matchedName} (${hit.score})`),
      arabic_script_ordinary_names: arabicScriptOrdinary.length,
      arabic_script_false_positives: arabicScriptHeld.length,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A 10k-entry list in the dev entries' shapes

const givenPool = ['Ahmad', 'Ali', 'Hassan', 'Omar', 'Yusuf', 'Ivan', 'Sergei', 'Dmitri', 'Oleg', 'Jose', 'Luis', 'Carlos', 'Miguel', 'Jong', 'Song', 'Chol', 'Wei', 'Ming', 'Reza', 'Farid', 'Khalid', 'Abdul', 'Viktor', 'Andrei', 'Juan', 'Rafael', 'Nasser', 'Tariq', 'Hyon', 'Kwang'];
const surnamePool = ['AL-RASHID', 'HADDAD', 'PETROV', 'SOKOLOV', 'GARCIA', 'HERRERA', 'KIM', 'PAK', 'ZHANG', 'LIU', 'HOSSEINI', 'KARIMI', 'VOLKOV', 'MORALES', 'RI', 'CHOE', 'NAJAFI', 'SALEH', 'MANSOUR', 'ORTIZ'];
const syllables = ['ba', 'dar', 'ka', 'lo', 'mir', 'na', 'ro', 'sa', 'ta', 'vel', 'za', 'kov', 'har', 'min', 'dul', 'sur', 'gan', 'lev', 'ros', 'tin', 'mo', 'qar', 'shi', 'yon'];
const entityWords = ['GLOBAL', 'TRADING', 'SHIPPING', 'INVESTMENT', 'PETRO', 'BANK', 'ENERGY', 'INDUSTRIAL', 'GROUP', 'HOLDING', 'EXPORT', 'MARINE', 'TECHNICAL', 'CONSTRUCTION', 'GENERAL'];
const entityForms = ['CO., LTD.', 'LLC', 'S.A.', 'GMBH', 'FZE', 'JSC', 'LIMITED', 'PJSC'];

function syntheticEntries(count: number, next: () => number) {
  const pick = <T,>(items: readonly T[]) => items[next() % items.length]!;
  const word = () => {
    const parts = 2 + (next() % 2);
    const text = Array.from({ length: parts }, () => pick(syllables)).join('');
    return text[0]!.toUpperCase() + text.slice(1);
  };
  const entries: { type: 'individual' | 'entity' | 'vessel'; names: string[] }[] = [];
  for (let index = 0; index < count; index++) {
    const shape = next() % 10;
    if (shape < 6) {
      const surname = next() % 2 === 0 ? pick(surnamePool) : word().toUpperCase();
      const given = `${next() % 2 === 0 ? pick(givenPool) : word()} ${word()}`;
      const aliases = Array.from({ length: next() % 4 }, () => `${surname}, ${word()}`);
      entries.push({ type: 'individual', names: [`${surname}, ${given}`, ...aliases] });
    } else if (shape < 9) {
      const name = `${word().toUpperCase()} ${pick(entityWords)} ${pick(entityForms)}`;
      entries.push({ type: 'entity', names: next() % 3 === 0 ? [name, `${word().toUpperCase()} ${pick(entityWords)}`] : [name] });
    } else {
      entries.push({ type: 'vessel', names: [next() % 2 === 0 ? word().toUpperCase() : `${word().toUpperCase()} ${1 + (next() % 9)}`] });
    }
  }
  return entries;
}

const quoted = (text: string) => `"${text.replaceAll('"', '""')}"`;

/** The dev list plus synthetic entries, as OFAC's legacy sdn.csv / alt.csv bytes. */
function tenThousandEntryFiles(dev: SanctionsList, count: number): { sdn: Uint8Array; alt: Uint8Array } {
  const sdnLines: string[] = [];
  const altLines: string[] = [];
  let entNum = 900_000;
  let altNum = 900_000;
  const add = (type: string, names: readonly string[]) => {
    entNum++;
    sdnLines.push([entNum, quoted(names[0]!), type === 'entity' ? '-0- ' : quoted(type), '"SYNTH"', ...Array.from({ length: 8 }, () => '-0- ')].join(','));
    for (const alias of names.slice(1)) altLines.push([entNum, ++altNum, '"aka"', quoted(alias), '-0- '].join(','));
  };
  for (const entry of dev.entries) add(entry.type, entry.names);
  for (const entry of syntheticEntries(count - dev.entries.length, xorshift(0x5c12))) add(entry.type, entry.names);
  const encoder = new TextEncoder();
  return { sdn: encoder.encode(`${sdnLines.join('\r\n')}\r\n`), alt: encoder.encode(`${altLines.join('\r\n')}\r\n`) };
}

/** CPU time of this process in ms: on a shared machine wall time mostly measures the neighbours. */
function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1_000;
}

function loadAndIndex(files: { sdn: Uint8Array; alt: Uint8Array }) {
  const started = performance.now();
  const startedCpu = cpuMs();
  const loaded = loadOfacCsv({ ...files, loadedAt: new Date().toISOString() });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.reason));
  const parsedCpu = cpuMs();
  const matcher = createSanctionsMatcher(loaded.value, { threshold });
  return { list: loaded.value, matcher, parseCpuMs: parsedCpu - startedCpu, totalCpuMs: cpuMs() - startedCpu, totalWallMs: performance.now() - started };
}

function percentile(sorted: readonly number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))]!;
}

async function speed() {
  const dev = devSanctionsList();
  const files = tenThousandEntryFiles(dev, entryCount);
  const cold = loadAndIndex(files);
  const warm = Array.from({ length: warmLoads }, () => loadAndIndex(files).totalCpuMs);
  const provider = createInProcessProvider(cold.list, { threshold });
  const ordinary = [...ordinaryNames(), ...nearMissNames];
  const disguised = disguisedVariants(dev).map((variant) => variant.name);
  const next = xorshift(0x9a7);
  const signal = new AbortController().signal;
  const timings: number[] = [];
  const cpuTimings: number[] = [];
  let held = 0;
  const scoredBefore = cold.matcher.namesScoredTotal;
  for (let index = 0; index < paymentCount; index++) {
    const debtor = next() % 10 === 0 ? disguised[next() % disguised.length]! : ordinary[next() % ordinary.length]!;
    const creditor = ordinary[next() % ordinary.length]!;
    const started = performance.now();
    const startedCpu = cpuMs();
    const screened = await provider.screen(
      [
        { role: 'debtor', name: debtor },
        { role: 'creditor', name: creditor },
      ],
      signal,
    );
    cpuTimings.push(cpuMs() - startedCpu);
    timings.push(performance.now() - started);
    if (!screened.ok) throw new Error(JSON.stringify(screened.reason));
    if (screened.value.outcome === 'possible-match') held++;
  }
  // The provider wraps its own matcher; count what retrieval scores per name on the cold one.
  for (let index = 0; index < 200; index++) cold.matcher.screen(ordinary[index % ordinary.length]!);
  const sorted = [...timings].sort((a, b) => a - b);
  const sortedCpu = [...cpuTimings].sort((a, b) => a - b);
  return {
    entries: cold.list.entries.length,
    names_indexed: cold.matcher.namesIndexed,
    list_bytes: files.sdn.byteLength + files.alt.byteLength,
    list_load_cold_cpu_ms: round(cold.totalCpuMs),
    list_load_cold_wall_ms: round(cold.totalWallMs),
    list_parse_cold_cpu_ms: round(cold.parseCpuMs),
    list_load_warm_median_cpu_ms: round(median(warm)),
    payments: paymentCount,
    payments_held: held,
    screening_per_payment_cpu_p50_ms: round(percentile(sortedCpu, 0.5), 3),
    screening_per_payment_cpu_p99_ms: round(percentile(sortedCpu, 0.99), 3),
    screening_per_payment_wall_p50_ms: round(percentile(sorted, 0.5), 3),
    screening_per_payment_wall_p99_ms: round(percentile(sorted, 0.99), 3),
    names_scored_per_name_mean: round((cold.matcher.namesScoredTotal - scoredBefore) / 200, 1),
  };
}

const qualityFigures = quality();
const speedFigures = await speed();
const figures = { threshold, algorithm: `${screeningAlgorithm.name}/${screeningAlgorithm.version}`, quality: qualityFigures, speed: speedFigures };
console.log(JSON.stringify(figures, null, 2));
recordResult(new URL('results/screening.jsonl', import.meta.url).pathname, { bench: 'screening', ...figures });
