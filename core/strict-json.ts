/**
 * JSON.parse keeps the last of duplicate member names; other parsers keep the first or refuse. A
 * signed document with duplicate members therefore means different things to different readers —
 * fatal for non-repudiation evidence — so signed JSON (instruction payloads, JWS JSON, session
 * requests) is parsed here: valid JSON *and* no object with the same member name twice (compared
 * after unescaping, so "a" and "\u0061" collide).
 *
 * The duplicate scan runs after JSON.parse accepted the text, so it can rely on the grammar; it is
 * iterative (no recursion on input) and linear in the text.
 */
import { err, ok, type Result } from './result.ts';

export type StrictJsonFailure = { kind: 'not-json'; detail: string } | { kind: 'duplicate-member'; detail: string };

export function parseStrictJson(text: string): Result<unknown, StrictJsonFailure> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    return err({ kind: 'not-json', detail: (cause as Error).message });
  }
  const duplicate = duplicateMember(text);
  if (duplicate !== null) return err({ kind: 'duplicate-member', detail: `member ${JSON.stringify(duplicate.slice(0, 64))} appears twice in one object` });
  return ok(value);
}

/** The first member name that appears twice in one object of a valid JSON text, or null. */
export function duplicateMember(text: string): string | null {
  // One frame per open object/array: the member names seen so far (objects) and whether a string is a name.
  const frames: Array<{ names: Set<string> | null; expectName: boolean }> = [];
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '{') frames.push({ names: new Set(), expectName: true });
    else if (char === '[') frames.push({ names: null, expectName: false });
    else if (char === '}' || char === ']') frames.pop();
    else if (char === ',') {
      const top = frames.at(-1);
      if (top?.names != null) top.expectName = true;
    } else if (char === '"') {
      const start = index;
      for (index++; text[index] !== '"'; index++) if (text[index] === '\\') index++;
      const top = frames.at(-1);
      if (top?.names != null && top.expectName) {
        const name = JSON.parse(text.slice(start, index + 1)) as string;
        if (top.names.has(name)) return name;
        top.names.add(name);
        top.expectName = false;
      }
    }
  }
  return null;
}
