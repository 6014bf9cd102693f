import anyAscii from 'any-ascii';

/*
 * Name normalisation for sanctions screening. Both sides of a comparison — the list's names when
 * the index is built and the payment's debtor/creditor name when it is screened — go through this
 * one function, so a difference in spelling conventions cannot become a difference in score.
 *
 * Steps, in order: transliterate to ASCII (any-ascii: Cyrillic, Arabic, Greek, CJK, diacritics),
 * lowercase, delete apostrophes and dots (so "O'Brien" is one token and "S.A." is "sa"), turn every
 * other non-alphanumeric character into a space, split on whitespace, drop honorifics wherever they
 * stand, drop legal forms at the end of the name (and the Russian-style ones at its start), and
 * fold the spellings a change of script scrambles (`foldSpelling`). A name that would be left with no token is
 * kept as it was split: "Ltd" alone is still a name to screen, not an empty string.
 *
 * The trade-off: dropping legal forms at the edges only (not in the middle) keeps "Bank of China
 * Co Ltd" → "bank of china" while leaving a token like "co" inside a name alone. Dropping
 * honorifics anywhere follows OFAC's own list, which writes titles in front of or after names.
 */

/** A name longer than this is cut before normalisation; no listed name comes close. */
export const nameLengthMax = 512;
/** Tokens after this many are ignored; they bound the pairing work in the matcher. */
export const nameTokensMax = 24;

export interface NormalizedName {
  /** The tokens joined by one space. */
  text: string;
  tokens: string[];
}

const honorifics = new Set([
  'mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'prof', 'sir', 'madam', 'mme', 'mlle', 'herr', 'frau',
  'sheikh', 'shaikh', 'sheik', 'shaykh', 'haji', 'hajji', 'hadji', 'sayyid', 'sayed', 'mullah',
  'mulla', 'maulana', 'imam', 'emir', 'amir', 'hon', 'rev', 'gen', 'col', 'capt',
]);

/** Legal forms as token sequences (after dots are deleted), longest first within each length. */
const legalForms: readonly (readonly string[])[] = [
  ['public', 'joint', 'stock', 'company'],
  ['closed', 'joint', 'stock', 'company'],
  ['open', 'joint', 'stock', 'company'],
  ['limited', 'liability', 'company'],
  ['joint', 'stock', 'company'],
  ['public', 'limited', 'company'],
  ['sp', 'z', 'oo'],
  ['co', 'ltd'],
  ['s', 'a'],
  ['s', 'p', 'a'],
  ['b', 'v'],
  ['n', 'v'],
  ['ltd'], ['limited'], ['llc'], ['llp'], ['lp'], ['plc'], ['inc'], ['incorporated'], ['corp'],
  ['corporation'], ['co'], ['company'], ['gmbh'], ['ag'], ['kg'], ['sa'], ['sarl'], ['sas'],
  ['srl'], ['spa'], ['bv'], ['nv'], ['oy'], ['ab'], ['as'], ['aps'], ['kk'], ['pte'], ['pty'],
  ['bhd'], ['sdn'], ['jsc'], ['ojsc'], ['cjsc'], ['pjsc'], ['pao'], ['oao'], ['zao'], ['ooo'],
  ['ao'], ['tov'], ['fze'], ['fzco'], ['fzc'], ['fzllc'], ['sal'], ['wll'], ['spzoo'], ['sro'], ['mbh'],
];

/**
 * The forms written in front of the name (Russian and Ukrainian usage: "OOO Rosneft"). Only these
 * are dropped at the start: a trailing-only form such as "as" would otherwise eat the Arabic
 * article of "As Sahab".
 */
const leadingLegalForms: readonly (readonly string[])[] = [
  ['public', 'joint', 'stock', 'company'], ['closed', 'joint', 'stock', 'company'],
  ['open', 'joint', 'stock', 'company'], ['joint', 'stock', 'company'], ['limited', 'liability', 'company'],
  ['jsc'], ['ojsc'], ['cjsc'], ['pjsc'], ['pao'], ['oao'], ['zao'], ['ooo'], ['ao'], ['tov'],
];

export function normalizeName(raw: string): NormalizedName {
  const ascii = anyAscii(raw.slice(0, nameLengthMax).normalize('NFC')).toLowerCase();
  const split = ascii
    .replace(/['`.]/g, '')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
    .split(' ')
    .filter((token) => token.length > 0)
    .slice(0, nameTokensMax);
  const withoutTitles = split.filter((token) => !honorifics.has(token));
  const tokens = stripLegalForms(withoutTitles.length > 0 ? withoutTitles : split).map(foldSpelling);
  return { text: tokens.join(' '), tokens };
}

/**
 * Spellings that one script change turns into another, folded to one on both sides: Cyrillic
 * "х" stands for Latin h and kh and comes back from any-ascii as "kh" ("Хамас" → "khamas" for
 * HAMAS); "дж" comes back as "dzh" where the list writes j ("Джонг" → "dzhong" for JONG); "ph" and
 * "f" are one sound. After legal forms are stripped, so "kh" inside a form cannot hide it.
 */
function foldSpelling(token: string): string {
  return token.includes('h') ? token.replaceAll('dzh', 'j').replaceAll('kh', 'h').replaceAll('ph', 'f') : token;
}

/** The last words of the trailing forms and the first words of the leading ones: most names end in neither. */
const legalFormEnds = new Set(legalForms.map((form) => form.at(-1)!));
const leadingLegalFormStarts = new Set(leadingLegalForms.map((form) => form[0]!));

/** Removes legal forms from the end and the start until none is left there; never empties the name. */
function stripLegalForms(tokens: string[]): string[] {
  let start = 0;
  let end = tokens.length;
  // Each pass removes at least one token or stops, so this ends within tokens.length passes.
  for (let pass = 0; pass < tokens.length; pass++) {
    if (!legalFormEnds.has(tokens[end - 1]!) && !leadingLegalFormStarts.has(tokens[start]!)) break;
    const tail = legalForms.find((form) => form.length < end - start && matchesAt(tokens, end - form.length, form));
    if (tail !== undefined) {
      end -= tail.length;
      continue;
    }
    const head = leadingLegalForms.find((form) => form.length < end - start && matchesAt(tokens, start, form));
    if (head !== undefined) {
      start += head.length;
      continue;
    }
    break;
  }
  return tokens.slice(start, end);
}

function matchesAt(tokens: readonly string[], at: number, form: readonly string[]): boolean {
  if (at < 0) return false;
  return form.every((word, offset) => tokens[at + offset] === word);
}

/** Letters of the Arabic script blocks (Arabic, Supplement, Extended-A, presentation forms). */
const arabicScript = /[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]/;

export function hasArabicScript(raw: string): boolean {
  return arabicScript.test(raw);
}

/**
 * A normalised token reduced to what Arabic script writes of it: th/dh/gh/q folded (ث ذ ظ غ ق
 * come back as th, dh, gh, q where Latin lists write t, d, g, k), the letters Arabic lacks
 * written as the ones it uses for them (c → k, p → b, v → f, x → ks, and j/g as one), vowels and the long-vowel
 * letters w and y dropped, doubled letters written once, a final h (ة) dropped. "usama" → "sm",
 * "laden" → "ldn", "hizballah" → "hzbl". Digits are kept as they are.
 */
export function consonantSkeleton(token: string): string {
  if (/^\d+$/.test(token)) return token;
  const folded = token
    .replaceAll('th', 't')
    .replaceAll('dh', 'd')
    .replaceAll('gh', 'g')
    .replaceAll('x', 'ks')
    .replace(/[qc]/g, 'k')
    .replaceAll('j', 'g')
    .replaceAll('p', 'b')
    .replaceAll('v', 'f')
    .replace(/[aeiouwy]/g, '');
  const single = folded.replace(/(.)\1+/g, '$1');
  return single.length > 2 && single.endsWith('h') ? single.slice(0, -1) : single;
}
