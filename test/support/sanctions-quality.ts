/**
 * Measuring the sanctions matcher: the labelled sets and the arithmetic, shared by
 * test/core/sanctions/quality.test.ts (floors that must hold) and bench/screening.bench.ts (figures).
 *
 * Three sets:
 *   - nomenklatura's LogicV2 cases (test/conformance/vectors/sanctions/logic_v2_match_cases.json):
 *     labelled pairs; the 3 decided by identifiers (BIC, IMO number, first/last name fields) are
 *     out of a name matcher's scope and reported as such.
 *   - OFAC Sanctions List Search scores (ofac_sls_scores.csv): OFAC's own tool's graded scores for
 *     query/listed pairs. Not ground truth (SLS scores a one-word query found inside a name 100),
 *     so we report agreement: recall on SLS's strong full-name hits and rank correlation.
 *   - A generated set from the dev list: per entry, disguised variants that must match it (natural
 *     order, token order, a typo, diacritics, missing middle names, a legal form added, and the
 *     name written in Cyrillic or Arabic script and screened as such), and ordinary names from
 *     many cultures (Latin and Arabic script) that must match nothing, plus hand-written near misses. Deterministic: a seeded PRNG, no clock, no randomness
 *     from the platform, so the same commit always measures the same set.
 */
import { readFileSync } from 'node:fs';
import { parseCsv } from '../../core/sanctions/csv.ts';
import { loadOfacCsv, type SanctionedPartyType, type SanctionsList } from '../../core/sanctions/lists.ts';
import { createSanctionsMatcher, type SanctionsMatcher } from '../../core/sanctions/matcher.ts';

const vectorsDirectory = new URL('../conformance/vectors/sanctions/', import.meta.url);
const devDirectory = new URL('../../dev/sanctions/', import.meta.url);

export function devSanctionsList(loadedAt = '2026-12-01T00:00:00Z'): SanctionsList {
  const loaded = loadOfacCsv({ sdn: readFileSync(new URL('sdn.csv', devDirectory)), alt: readFileSync(new URL('alt.csv', devDirectory)), loadedAt });
  if (!loaded.ok) throw new Error(`dev list did not load: ${JSON.stringify(loaded.reason)}`);
  return loaded.value;
}

/** The best score of `query` against a one-entry list of `listedNames`, through retrieval as in production (0 if not retrieved). */
export function pairScore(query: string, listedNames: readonly string[]): number {
  const matcher = createSanctionsMatcher({ version: 'pair', loadedAt: '', sources: [], entries: [{ id: 'pair', source: 'ofac-sdn', type: 'entity', names: [...listedNames] }] }, { threshold: 0.0001 });
  return matcher.screen(query).matches[0]?.score ?? 0;
}

// ---------------------------------------------------------------------------------------------
// nomenklatura LogicV2 cases

export interface LabelledPair {
  query: string;
  listed: string;
  matches: boolean;
}

interface LogicV2Case {
  schema: string;
  matches: boolean;
  query: Record<string, string>;
  result: Record<string, string>;
}

/** The name-decidable cases, and how many were left out because identifiers decide them. */
export function logicV2Pairs(): { pairs: LabelledPair[]; outOfScope: number } {
  const cases = JSON.parse(readFileSync(new URL('logic_v2_match_cases.json', vectorsDirectory), 'utf8')) as LogicV2Case[];
  const pairs: LabelledPair[] = [];
  let outOfScope = 0;
  for (const labelled of cases) {
    const onlyNames = Object.keys(labelled.query).every((key) => key === 'name') && Object.keys(labelled.result).every((key) => key === 'name');
    if (!onlyNames || labelled.query.name === undefined || labelled.result.name === undefined) outOfScope++;
    else pairs.push({ query: labelled.query.name, listed: labelled.result.name, matches: labelled.matches });
  }
  return { pairs, outOfScope };
}

// ---------------------------------------------------------------------------------------------
// OFAC SLS scores

export interface SlsRow {
  query: string;
  listed: string;
  /** 0..100, or -1 where SLS returned nothing for the pair. */
  slsScore: number;
}

export function ofacSlsRows(): SlsRow[] {
  const parsed = parseCsv(readFileSync(new URL('ofac_sls_scores.csv', vectorsDirectory), 'utf8'));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.reason));
  return parsed.value.slice(1).filter((row) => row.length === 3).map(([query, listed, score]) => ({ query: query!, listed: listed!, slsScore: Number(score) }));
}

/** Spearman's rank correlation (average ranks for ties). */
export function spearman(xs: readonly number[], ys: readonly number[]): number {
  const rank = (values: readonly number[]) => {
    const order = values.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value);
    const ranks = new Array<number>(values.length);
    for (let start = 0; start < order.length; ) {
      let end = start;
      while (end + 1 < order.length && order[end + 1]!.value === order[start]!.value) end++;
      for (let at = start; at <= end; at++) ranks[order[at]!.index] = (start + end) / 2;
      start = end + 1;
    }
    return ranks;
  };
  const rx = rank(xs);
  const ry = rank(ys);
  const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const mx = mean(rx);
  const my = mean(ry);
  let covariance = 0;
  let vx = 0;
  let vy = 0;
  for (let index = 0; index < rx.length; index++) {
    covariance += (rx[index]! - mx) * (ry[index]! - my);
    vx += (rx[index]! - mx) ** 2;
    vy += (ry[index]! - my) ** 2;
  }
  return covariance / Math.sqrt(vx * vy);
}

// ---------------------------------------------------------------------------------------------
// The generated set

export type VariantKind = 'natural-order' | 'token-order' | 'typo' | 'diacritics' | 'missing-middle' | 'legal-form' | 'cyrillic' | 'arabic';

export interface DisguisedName {
  name: string;
  entryId: string;
  kind: VariantKind;
}

/** mulberry32: a small, well-known seeded PRNG; the seed fixes the whole set. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export const qualitySeed = 20261201;

/** An individual's "SURNAME, Given Names" → "Given Names SURNAME"; other names as they are. */
function naturalOrder(name: string, type: SanctionedPartyType): string {
  const comma = name.indexOf(',');
  return comma === -1 || type !== 'individual' ? name : `${name.slice(comma + 1).trim()} ${name.slice(0, comma).trim()}`;
}

const words = (name: string) => name.replace(/[,]/g, ' ').split(/\s+/).filter((word) => word.length > 0);

/** One edit in the longest alphabetic token of at least 5 letters; null when there is none. */
function typo(name: string, random: () => number): string | null {
  const tokens = words(name);
  const at = tokens.reduce((longest, token, index) => (/^[A-Za-z]+$/.test(token) && token.length > (tokens[longest]?.length ?? 0) ? index : longest), -1);
  const token = tokens[at];
  if (token === undefined || token.length < 5) return null;
  const position = 1 + Math.floor(random() * (token.length - 2));
  const edit = Math.floor(random() * 3);
  const letters = 'aeioubdgklmnrst';
  const changed =
    edit === 0
      ? token.slice(0, position) + token.slice(position + 1) // deletion
      : edit === 1
        ? token.slice(0, position) + token[position + 1] + token[position] + token.slice(position + 2) // transposition
        : token.slice(0, position) + letters[Math.floor(random() * letters.length)] + token.slice(position + 1); // substitution
  tokens[at] = changed;
  return tokens.join(' ');
}

function withDiacritics(name: string): string {
  const marks: Record<string, string> = { a: 'á', e: 'é', i: 'í', o: 'ö', u: 'ü', A: 'Á', E: 'É', I: 'Í', O: 'Ö', U: 'Ü', n: 'ñ', c: 'ç', s: 'ş' };
  let changed = 0;
  return [...name].map((char) => (changed < 2 && marks[char] !== undefined ? (changed++, marks[char]) : char)).join('');
}

const titles = new Set(['dr.', 'dr', 'mr.', 'haji', 'sheikh', 'shaykh', 'mawlawi']);
const surnameParticles = new Set(['al', 'el', 'abu', 'bin', 'ibn', 'de', 'del', 'van', 'von']);

/**
 * A shorter form of an individual's name, as payments carry it: the first given name and the
 * surname when there are middle names ("Usama BIN LADIN"), else the first surname of a double
 * surname ("Nicolas MADURO"). Null when the name has nothing to drop.
 */
function missingMiddle(name: string): string | null {
  const comma = name.indexOf(',');
  if (comma === -1) return null;
  const surname = words(name.slice(0, comma));
  const given = words(name.slice(comma + 1)).filter((word) => !titles.has(word.toLowerCase()));
  if (given.length === 0) return null;
  if (given.length >= 2) return `${given[0]} ${surname.join(' ')}`;
  if (surname.length < 2) return null;
  const kept = surnameParticles.has(surname[0]!.toLowerCase()) ? surname.slice(0, 2) : surname.slice(0, 1);
  return kept.length === surname.length ? null : `${given[0]} ${kept.join(' ')}`;
}

interface Script {
  /** Applied first, in order: the Latin digraphs that one letter of the script writes. */
  digraphs: readonly [string, string][];
  letters: Readonly<Record<string, string>>;
}

/**
 * Cyrillic as a Russian-language bank might write the Latin name: common digraphs first, then
 * letter by letter. Deliberately naive (a real clerk writes "Хоакин" for Joaquin, this writes
 * "джоаквин"): it measures how much of the spelling survives a script change.
 */
const cyrillic: Script = {
  digraphs: [
    ['shch', 'щ'], ['kh', 'х'], ['zh', 'ж'], ['ch', 'ч'], ['sh', 'ш'], ['ts', 'ц'], ['yu', 'ю'], ['ya', 'я'], ['yo', 'ё'],
    ['ph', 'ф'], ['th', 'т'], ['ck', 'к'], ['qu', 'кв'], ['oo', 'у'], ['ou', 'у'], ['ee', 'и'],
  ],
  letters: {
    a: 'а', b: 'б', c: 'к', d: 'д', e: 'е', f: 'ф', g: 'г', h: 'х', i: 'и', j: 'дж', k: 'к', l: 'л', m: 'м', n: 'н', o: 'о', p: 'п',
    q: 'к', r: 'р', s: 'с', t: 'т', u: 'у', v: 'в', w: 'в', x: 'кс', y: 'й', z: 'з',
  },
};

/** Arabic script as a writer would spell the name: consonants and long vowels, short 'e' dropped. */
const arabic: Script = {
  digraphs: [['kh', 'خ'], ['sh', 'ش'], ['th', 'ث'], ['dh', 'ذ'], ['gh', 'غ'], ['ou', 'و'], ['oo', 'و'], ['ee', 'ي']],
  letters: {
    a: 'ا', b: 'ب', c: 'ك', d: 'د', e: '', f: 'ف', g: 'ج', h: 'ه', i: 'ي', j: 'ج', k: 'ك', l: 'ل', m: 'م', n: 'ن', o: 'و', p: 'ب',
    q: 'ق', r: 'ر', s: 'س', t: 'ت', u: 'و', v: 'ف', w: 'و', x: 'كس', y: 'ي', z: 'ز',
  },
};

function writeIn(script: Script, name: string, type: SanctionedPartyType): string {
  let text = naturalOrder(name, type).toLowerCase();
  for (const [latin, written] of script.digraphs) text = text.replaceAll(latin, written);
  return [...text].map((char) => script.letters[char] ?? char).join('');
}

export const toCyrillic = (name: string, type: SanctionedPartyType) => writeIn(cyrillic, name, type);
export const toArabic = (name: string, type: SanctionedPartyType) => writeIn(arabic, name, type);

const legalForms = ['Ltd', 'LLC', 'GmbH', 'S.A.', 'PLC'];

export function disguisedVariants(list: SanctionsList, seed = qualitySeed): DisguisedName[] {
  const random = seededRandom(seed);
  const variants: DisguisedName[] = [];
  for (const entry of list.entries) {
    const primary = entry.names[0]!;
    const alias = entry.names[1 + Math.floor(random() * Math.max(entry.names.length - 1, 1))] ?? primary;
    const add = (name: string | null, kind: VariantKind) => {
      if (name !== null && name.trim() !== '') variants.push({ name, entryId: entry.id, kind });
    };
    const natural = (name: string) => naturalOrder(name, entry.type);
    add(natural(primary), 'natural-order');
    // Token order is how people's names get reordered (surname first or last); entity names are not.
    if (entry.type === 'individual') add(words(natural(alias)).reverse().join(' '), 'token-order');
    add(typo(natural(primary), random), 'typo');
    add(withDiacritics(natural(alias)), 'diacritics');
    if (entry.type === 'individual') add(missingMiddle(primary), 'missing-middle');
    if (entry.type === 'entity') add(`${primary} ${legalForms[Math.floor(random() * legalForms.length)]}`, 'legal-form');
    if (entry.type === 'individual' || entry.type === 'entity') {
      add(toCyrillic(primary, entry.type), 'cyrillic');
      add(toArabic(primary, entry.type), 'arabic');
    }
  }
  return variants;
}

/**
 * Common names that must match nothing on the dev list: frequent given names and surnames of
 * many countries, paired by the seeded PRNG, plus ordinary company names. Cultures whose names
 * the dev list also carries (Arabic, Korean, Chinese, Russian, Spanish) are here on purpose:
 * that is where a matcher's false positives come from.
 */
const commonNames: Record<string, { given: string[]; surnames: string[]; surnameFirst?: boolean }> = {
  english: { given: ['James', 'Mary', 'John', 'Patricia', 'Robert', 'Jennifer', 'Michael', 'Linda', 'David', 'Sarah'], surnames: ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Miller', 'Davis', 'Wilson', 'Taylor', 'Clark'] },
  spanish: { given: ['José', 'María', 'Juan', 'Carmen', 'Luis', 'Ana', 'Carlos', 'Lucía', 'Javier', 'Elena'], surnames: ['García', 'Rodríguez', 'Martínez', 'López', 'Sánchez', 'Pérez', 'Gómez', 'Fernández', 'Díaz', 'Romero'] },
  portuguese: { given: ['João', 'Ana', 'Pedro', 'Mariana', 'Tiago', 'Beatriz'], surnames: ['Silva', 'Santos', 'Ferreira', 'Pereira', 'Oliveira', 'Costa'] },
  german: { given: ['Lukas', 'Anna', 'Jonas', 'Lea', 'Felix', 'Sophie'], surnames: ['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Wagner'] },
  french: { given: ['Jean', 'Marie', 'Pierre', 'Camille', 'Louis', 'Chloé'], surnames: ['Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert', 'Richard'] },
  polish: { given: ['Jakub', 'Zuzanna', 'Kacper', 'Julia'], surnames: ['Nowak', 'Kowalski', 'Wiśniewski', 'Wójcik'] },
  russian: { given: ['Aleksandr', 'Elena', 'Dmitry', 'Olga', 'Sergey', 'Natalia', 'Andrei', 'Irina'], surnames: ['Ivanov', 'Smirnov', 'Kuznetsov', 'Popov', 'Volkova', 'Sokolova', 'Morozov', 'Novikova'] },
  arabic: { given: ['Mohammed', 'Fatima', 'Ahmed', 'Aisha', 'Omar', 'Layla', 'Youssef', 'Mariam', 'Khalid', 'Nour'], surnames: ['Hassan', 'Hussein', 'Khalil', 'Haddad', 'Nasser', 'Saleh', 'Mansour', 'Hamdan', 'Aziz', 'Farouk'] },
  persian: { given: ['Reza', 'Maryam', 'Ali', 'Zahra', 'Hossein', 'Sara'], surnames: ['Mohammadi', 'Hosseini', 'Ahmadi', 'Karimi', 'Rezaei', 'Moradi'] },
  turkish: { given: ['Mehmet', 'Ayşe', 'Mustafa', 'Fatma', 'Emre', 'Zeynep'], surnames: ['Yılmaz', 'Kaya', 'Demir', 'Şahin', 'Çelik', 'Yıldız'] },
  chinese: { given: ['Wei', 'Fang', 'Min', 'Jing', 'Yong', 'Xiu Ying', 'Jun', 'Hui'], surnames: ['Wang', 'Li', 'Liu', 'Chen', 'Yang', 'Huang', 'Zhao', 'Wu'], surnameFirst: true },
  korean: { given: ['Min-jun', 'Seo-yeon', 'Ji-hoon', 'Ha-eun', 'Do-yoon', 'Ji-woo'], surnames: ['Kim', 'Lee', 'Park', 'Choi', 'Jung', 'Kang'], surnameFirst: true },
  japanese: { given: ['Haruto', 'Yui', 'Sota', 'Aoi', 'Ren', 'Hina'], surnames: ['Sato', 'Suzuki', 'Takahashi', 'Tanaka', 'Watanabe', 'Ito'] },
  vietnamese: { given: ['Anh', 'Linh', 'Minh', 'Thao', 'Duc', 'Mai'], surnames: ['Nguyen', 'Tran', 'Le', 'Pham', 'Hoang', 'Vu'], surnameFirst: true },
  indian: { given: ['Aarav', 'Priya', 'Rahul', 'Ananya', 'Vikram', 'Divya'], surnames: ['Sharma', 'Patel', 'Singh', 'Kumar', 'Gupta', 'Reddy'] },
  nigerian: { given: ['Chinedu', 'Ngozi', 'Oluwaseun', 'Funmilayo', 'Emeka', 'Aisha'], surnames: ['Okafor', 'Adeyemi', 'Okonkwo', 'Balogun', 'Eze', 'Bello'] },
  swahili: { given: ['Baraka', 'Neema', 'Juma', 'Amani'], surnames: ['Mwangi', 'Otieno', 'Wanjiku', 'Kamau'] },
};

const companyStems = ['Global Trading', 'Sunrise Logistics', 'Blue River Foods', 'Northern Star Shipping', 'Golden Harvest Agro', 'Pacific Textiles', 'Alpine Machinery', 'Green Valley Farms', 'Silverline Consulting', 'Eastern Pharma', 'Atlas Construction', 'Oceanic Seafood Export', 'Metro Auto Parts', 'Crescent Garments', 'Delta Electronics Supply'];
const companyForms = ['Ltd', 'LLC', 'GmbH', 'S.A.', 'Pte Ltd', 'Sp. z o.o.', 'A.Ş.', 'Co., Ltd.'];

export function ordinaryNames(count = 300, seed = qualitySeed + 1): string[] {
  const random = seededRandom(seed);
  const pick = <T,>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const cultures = Object.values(commonNames);
  const names = new Set<string>();
  // Bounded: at most count × 20 draws even if the pools were small enough to collide often.
  for (let draw = 0; names.size < count && draw < count * 20; draw++) {
    if (draw % 6 === 5) {
      names.add(`${pick(companyStems)} ${pick(companyForms)}`);
      continue;
    }
    const culture = pick(cultures);
    const given = pick(culture.given);
    const surname = pick(culture.surnames);
    names.add(culture.surnameFirst === true ? `${surname} ${given}` : `${given} ${surname}`);
  }
  return [...names];
}

/**
 * Ordinary people and firms who share a given name, a surname or a word with a listed entry but
 * are not it — the hardest negatives, and the false positives users complain about: every
 * "Mohammed Ali", "Daniel Smith" or "Kim Min-jun" held for review is a customer waiting.
 */
export const nearMissNames: readonly string[] = [
  'Osama Khalil', 'Usama Farouk', 'Ayman Hassan', 'Mousa Haddad', 'Ahmad Karimi', 'Mohammed Rabi', 'Ibrahim Saleh',
  'Qasem Rahimi', 'Hasan Yilmaz', 'Jawad Akhtar', 'Abdul Qadir Siddiqui', 'Nasir Uddin Ahmed', 'Sultan Mahmood',
  'Joaquin Phoenix', 'Joaquin Ramirez Soto', 'Rafael Nadal', 'Ismael Rivera', 'Nicolas Martin', 'Diosdado Macapagal',
  'Carlos Flores', 'Simon Delgado', 'Jose Luis Ortega', 'Miguel Ortega Ruiz', 'Gilberto Rodriguez Santos',
  'Igor Petrov', 'Viktor Ivanov', 'Gennady Orlov', 'Arkady Novak', 'Oleg Smirnov', 'Dmitriy Kozlov', 'Yevgeniy Popov',
  'Ramzan Aliyev', 'Alexander Lukas',
  'Kim Min-jun', 'Kim Ji-woo', 'Kim Yong-ho', 'Kim Jong-soo', 'Kim Yoo-jung', 'Zhang Wei', 'Zhang Min', 'Wang Lei', 'Wong Kar Wai',
  'Daniel Smith', 'Daniel Okafor', 'Happiness Mwangi', 'Joseph Kamau', 'Emmerson Silva', 'Hermann Hesse',
  'National Bank of Kenya', 'Melli Foods Ltd', 'Korea Trading Company', 'Blue Gas Supplies Ltd', 'Sand Castle Tours GmbH',
  'Mahan Textiles LLC', 'Basic Elements Design Studio', 'Renova Home Furnishings', 'Islamic Relief Worldwide',
];

/**
 * Ordinary Arabic and Persian names written in Arabic script (through toArabic, as the disguised
 * variants are): what a payment from a bank in the Gulf may carry, and what the consonant view of
 * the index must not hold.
 */
export function arabicScriptOrdinaryNames(): string[] {
  const names: string[] = [];
  for (const culture of [commonNames.arabic!, commonNames.persian!]) {
    for (const given of culture.given) for (const surname of culture.surnames) names.push(toArabic(`${surname}, ${given}`, 'individual'));
  }
  return names;
}

// ---------------------------------------------------------------------------------------------
// Scoring a set

export interface GeneratedSetQuality {
  positives: number;
  truePositives: number;
  recall: number;
  /** Recall per variant kind: [found, total]. */
  recallByKind: Record<VariantKind, [number, number]>;
  negatives: number;
  falsePositives: { name: string; entryId: string; matchedName: string; score: number }[];
  precision: number;
}

export function measureGeneratedSet(matcher: SanctionsMatcher, variants: readonly DisguisedName[], ordinary: readonly string[]): GeneratedSetQuality {
  const recallByKind = {} as Record<VariantKind, [number, number]>;
  let truePositives = 0;
  for (const variant of variants) {
    const found = matcher.screen(variant.name).matches.some((match) => match.entryId === variant.entryId);
    const tally = (recallByKind[variant.kind] ??= [0, 0]);
    tally[1]++;
    if (found) {
      tally[0]++;
      truePositives++;
    }
  }
  const falsePositives: GeneratedSetQuality['falsePositives'] = [];
  for (const name of ordinary) {
    const best = matcher.screen(name).matches[0];
    if (best !== undefined) falsePositives.push({ name, entryId: best.entryId, matchedName: best.matchedName, score: best.score });
  }
  return {
    positives: variants.length,
    truePositives,
    recall: truePositives / variants.length,
    recallByKind,
    negatives: ordinary.length,
    falsePositives,
    precision: truePositives / (truePositives + falsePositives.length),
  };
}

export interface PairQuality {
  truePositives: number;
  falseNegatives: LabelledPair[];
  falsePositives: LabelledPair[];
  trueNegatives: number;
  recall: number;
  precision: number;
}

export function measurePairs(pairs: readonly LabelledPair[], threshold: number): PairQuality {
  const falseNegatives: LabelledPair[] = [];
  const falsePositives: LabelledPair[] = [];
  let truePositives = 0;
  let trueNegatives = 0;
  for (const pair of pairs) {
    const hit = pairScore(pair.query, [pair.listed]) >= threshold;
    if (pair.matches && hit) truePositives++;
    else if (pair.matches) falseNegatives.push(pair);
    else if (hit) falsePositives.push(pair);
    else trueNegatives++;
  }
  return { truePositives, falseNegatives, falsePositives, trueNegatives, recall: truePositives / (truePositives + falseNegatives.length), precision: truePositives / (truePositives + falsePositives.length) };
}

