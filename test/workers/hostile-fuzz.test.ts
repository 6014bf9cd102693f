/**
 * Random mutations of honest requests (fast-check, fixed seed so a failure replays): whatever is
 * flipped, cut, duplicated or dropped in the body or the signed headers, the gateway answers a
 * problem+json with a slug it documents: never a 5xx, never a 202. The table-driven suites pin exact
 * slugs; this one looks for the inputs nobody thought of.
 */
import { SELF } from 'cloudflare:test';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signInstruction } from '../../packages/partner-sdk/src/partner-client.ts';
import { problemTypePrefix } from '../../core/problem.ts';
import { partnerProblems } from '../../workers/openapi/partner-problems.ts';
import { craftRequest } from './hostile-support.ts';
import { alpha, eurPayment } from './support.ts';

const fuzzRuns = 300;
const fuzzSeed = 20261122;
const mutableHeaders = ['signature-input', 'signature', 'content-digest', 'content-type'] as const;

type Mutation =
  | { kind: 'flip-body'; at: number; bit: number }
  | { kind: 'cut-body'; at: number }
  | { kind: 'flip-header'; header: (typeof mutableHeaders)[number]; at: number; replacement: string }
  | { kind: 'cut-header'; header: (typeof mutableHeaders)[number]; at: number }
  | { kind: 'drop-header'; header: (typeof mutableHeaders)[number] }
  | { kind: 'double-header'; header: (typeof mutableHeaders)[number] };

const header = fc.constantFrom(...mutableHeaders);
const position = fc.nat({ max: 10_000 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip-body' as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('cut-body' as const), at: position }),
  fc.record({ kind: fc.constant('flip-header' as const), header, at: position, replacement: fc.constantFrom('"', ';', ',', '=', ':', '(', ')', ' ', 'A', '0', '\\', '*', '@') }),
  fc.record({ kind: fc.constant('cut-header' as const), header, at: position }),
  fc.record({ kind: fc.constant('drop-header' as const), header }),
  fc.record({ kind: fc.constant('double-header' as const), header }),
);

function mutate(body: Uint8Array, headers: Headers, change: Mutation): Uint8Array {
  // A header an earlier mutation dropped stays dropped.
  if ('header' in change && headers.get(change.header) === null) return body;
  switch (change.kind) {
    case 'flip-body': {
      const copy = body.slice();
      const at = change.at % copy.length;
      copy[at] = (copy[at] ?? 0) ^ (1 << change.bit);
      return copy;
    }
    case 'cut-body':
      return body.slice(0, change.at % body.length);
    case 'flip-header': {
      const value = headers.get(change.header)!;
      const at = change.at % value.length;
      headers.set(change.header, value.slice(0, at) + change.replacement + value.slice(at + 1));
      return body;
    }
    case 'cut-header': {
      const value = headers.get(change.header)!;
      headers.set(change.header, value.slice(0, change.at % value.length));
      return body;
    }
    case 'drop-header':
      headers.delete(change.header);
      return body;
    case 'double-header':
      headers.append(change.header, headers.get(change.header)!);
      return body;
  }
}

describe('hostile input: random mutations of an honest payment request', () => {
  it(`never answers 5xx or 202, always a documented problem (${fuzzRuns} runs, seed ${fuzzSeed})`, async () => {
    const documented = new Set(Object.keys(partnerProblems).map((slug) => problemTypePrefix + slug));
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (changes) => {
        const honest = await craftRequest({ body: await signInstruction(alpha, eurPayment()) });
        const headers = new Headers(honest.headers);
        let body: Uint8Array = new Uint8Array(await honest.arrayBuffer());
        for (const change of changes) body = mutate(body, headers, change);
        const response = await SELF.fetch(new Request(honest.url, { method: 'POST', headers, body: body.slice() }));
        const text = await response.text();
        expect(response.status, `${JSON.stringify(changes)} → ${text.slice(0, 300)}`).toBeLessThan(500);
        // Every mutation touches signed bytes or the headers that carry the proof: none may be accepted,
        // not even a signature header sent twice (an ambiguous label is refused).
        expect(response.status, `accepted after ${JSON.stringify(changes)}`).not.toBe(202);
        expect(response.headers.get('content-type')).toBe('application/problem+json');
        expect(documented.has((JSON.parse(text) as { type: string }).type), text).toBe(true);
      }),
      { numRuns: fuzzRuns, seed: fuzzSeed },
    );
  });
});
