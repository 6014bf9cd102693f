/**
 * "did you mean …?" for a mistyped command or option: the closest candidate by optimal string
 * alignment distance (Levenshtein plus adjacent transpositions, so `pya` is one edit from `pay`),
 * or the only candidate the word is a prefix of (`part` → `partner`).
 */

/** Words longer than this get no suggestion: the distance table is length², and argv is input. */
export const suggestionWordCharsMax = 64;

/** Edits a word may be from a candidate and still be suggested: a third of its length, at least 2. */
function editsAllowed(word: string): number {
  return Math.max(2, Math.floor(word.length / 3));
}

/** Optimal string alignment distance between two short strings. */
export function editDistance(left: string, right: string): number {
  const rows = left.length + 1;
  const columns = right.length + 1;
  const table = Array.from({ length: rows }, (_, row) => Array.from({ length: columns }, (_, column) => (row === 0 ? column : column === 0 ? row : 0)));
  for (let row = 1; row < rows; row++) {
    for (let column = 1; column < columns; column++) {
      const substitution = left[row - 1] === right[column - 1] ? 0 : 1;
      let best = Math.min(table[row - 1]![column]! + 1, table[row]![column - 1]! + 1, table[row - 1]![column - 1]! + substitution);
      if (row > 1 && column > 1 && left[row - 1] === right[column - 2] && left[row - 2] === right[column - 1]) best = Math.min(best, table[row - 2]![column - 2]! + 1);
      table[row]![column] = best;
    }
  }
  return table[rows - 1]![columns - 1]!;
}

/** The candidate to suggest for `word`, or undefined when none is close. */
export function closestWord(word: string, candidates: readonly string[]): string | undefined {
  if (word.length === 0 || word.length > suggestionWordCharsMax) return undefined;
  const extending = candidates.filter((candidate) => candidate.startsWith(word));
  if (extending.length === 1) return extending[0];
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance <= editsAllowed(word) && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}
