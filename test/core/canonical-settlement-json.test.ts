import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalSettlementBatchJson } from '../../core/canonical-settlement-json.ts';
import { sealSettlementBatch, type SettlementLeg } from '../../core/settlement-batch.ts';

/*
 * The shape-specific serializer must give canonicalize's bytes for every input: the same string,
 * or the same throw. Strings come from every unit alphabet fast-check has — printable ASCII, the
 * JSON escapes, astral characters (surrogate pairs) and lone surrogates ('binary') — so both the
 * verbatim path and the escaping path are exercised, and the shape is bent in every way the fast
 * path must refuse (missing, extra, undefined and reordered members, numbers for strings, toJSON,
 * class instances).
 */

/** canonicalize's answer as a value to compare: its bytes, or the fact that it threw. */
function reference(value: unknown): string | { threw: true } {
  try {
    return canonicalize(value) ?? { threw: true };
  } catch {
    return { threw: true };
  }
}

function fast(value: unknown): string | { threw: true } {
  try {
    return canonicalSettlementBatchJson(value);
  } catch {
    return { threw: true };
  }
}

const anyText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('"', '\\', '/', '\n', '\t', '\u0000', '\u001f', '\u007f', '\u2028', '€', '😀', '\ud800', '\udfff') }),
  fc.uuid(),
);

const legArbitrary = fc.record({
  uetr: anyText,
  instructing_agent: anyText,
  payer: anyText,
  payee: anyText,
  currency: anyText,
  amount_minor: anyText,
  debtor_country: anyText,
  residency_exception: fc.option(anyText, { nil: null }),
});

const positionArbitrary = fc.record({ participant: anyText, currency: anyText, net_minor: anyText });

const batchArbitrary = fc.record({
  version: fc.oneof(fc.constant(3), fc.double(), fc.integer()),
  batch_id: anyText,
  corridor: anyText,
  jurisdiction: anyText,
  window: fc.record({ starts_at: anyText, ends_at: anyText }),
  legs: fc.array(legArbitrary, { maxLength: 8 }),
  positions: fc.array(positionArbitrary, { maxLength: 6 }),
});

/** The same members inserted in another order: insertion order must not matter to either side. */
function reversedMembers<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).reverse()) as T;
}

type Mutation = (batch: Record<string, unknown>) => void;

/** Ways to bend the shape, each of which the fast path must hand to the generic serializer. */
const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ key: fc.string(), value: fc.jsonValue() }).map(({ key, value }): Mutation => (batch) => {
    batch[key] = value;
  }),
  fc.constantFrom<keyof SettlementLeg>('uetr', 'payer', 'payee', 'amount_minor', 'residency_exception').map((member): Mutation => (batch) => {
    const legs = batch.legs as Record<string, unknown>[];
    if (legs[0] !== undefined) delete legs[0][member];
  }),
  fc.record({ key: fc.string(), value: fc.oneof(fc.jsonValue(), fc.constant(undefined)) }).map(({ key, value }): Mutation => (batch) => {
    const legs = batch.legs as Record<string, unknown>[];
    if (legs[0] !== undefined) legs[0][key] = value;
  }),
  fc.oneof(fc.integer(), fc.double(), fc.constant(undefined), fc.constant(null)).map((value): Mutation => (batch) => {
    const positions = batch.positions;
    if (Array.isArray(positions) && positions[0] !== undefined) (positions[0] as Record<string, unknown>).net_minor = value;
    else batch.corridor = value;
  }),
  fc.constant<Mutation>((batch) => {
    (batch.window as Record<string, unknown>).toJSON = () => 'window';
  }),
  fc.constant<Mutation>((batch) => {
    (batch.legs as unknown as { toJSON: () => string }).toJSON = () => 'legs';
  }),
  fc.constant<Mutation>((batch) => {
    batch.window = Object.assign(new (class Window {})(), batch.window);
  }),
  fc.constant<Mutation>((batch) => {
    batch.legs = [undefined, ...(batch.legs as unknown[])];
  }),
  fc.constant<Mutation>((batch) => {
    batch.positions = { 0: 'not an array' };
  }),
);

describe('canonicalSettlementBatchJson (RFC 8785, shape-specific)', () => {
  it('gives canonicalize’s bytes for sealed batches', () => {
    const legs: SettlementLeg[] = [
      { uetr: '0a000000-0000-4000-8000-000000000001', instructing_agent: 'AAAADEFF', payer: 'AAAADEFF', payee: 'LQPRDEFFXXX', currency: 'EUR', amount_minor: '10000', debtor_country: 'DE', residency_exception: null },
      { uetr: '0a000000-0000-4000-8000-000000000001', instructing_agent: 'AAAADEFF', payer: 'LQPRDEFFXXX', payee: 'BBBBUS33', currency: 'USD', amount_minor: '10842', debtor_country: 'US', residency_exception: '7c1e0000-0000-4000-8000-000000000009' },
    ];
    const sealed = sealSettlementBatch({ batch_id: 'EUR-USD.eu.0.1767225600000', corridor: 'EUR-USD', jurisdiction: 'eu', window: { starts_at: '2026-01-01T00:00:00Z', ends_at: '2026-01-01T00:00:02Z' }, legs });
    expect(sealed.canonical).toBe(canonicalize(sealed.batch));
    expect(canonicalSettlementBatchJson(sealed.batch)).toBe(sealed.canonical);
    expect(sealed.canonical.startsWith('{"batch_id":"EUR-USD.eu.0.1767225600000","corridor":"EUR-USD","jurisdiction":"eu","legs":[{"amount_minor":"10000"')).toBe(true);
  });

  it('gives canonicalize’s bytes, or throws where it throws, for arbitrary strings in the batch shape', () => {
    fc.assert(
      fc.property(batchArbitrary, fc.boolean(), (batch, reorder) => {
        const input = reorder ? reversedMembers({ ...batch, legs: batch.legs.map(reversedMembers), window: reversedMembers(batch.window) }) : batch;
        expect(fast(input)).toEqual(reference(input));
      }),
      { numRuns: 2_000 },
    );
  });

  it('falls back to canonicalize for anything that is not exactly the shape', () => {
    fc.assert(
      fc.property(batchArbitrary, fc.array(mutationArbitrary, { minLength: 1, maxLength: 3 }), (batch, mutations) => {
        const input = structuredClone(batch) as unknown as Record<string, unknown>;
        for (const mutate of mutations) mutate(input);
        expect(fast(input)).toEqual(reference(input));
      }),
      { numRuns: 2_000 },
    );
  });

  it('throws on a lone surrogate like canonicalize, instead of writing it', () => {
    const legs = [{ uetr: 'u', instructing_agent: 'a', payer: 'p', payee: 'q', currency: 'EUR', amount_minor: '1', debtor_country: '\ud800', residency_exception: null }];
    const batch = { version: 3, batch_id: 'b', corridor: 'c', jurisdiction: 'j', window: { starts_at: 's', ends_at: 'e' }, legs, positions: [] };
    expect(() => canonicalize(batch)).toThrow();
    expect(() => canonicalSettlementBatchJson(batch)).toThrow();
  });

  it('escapes like RFC 8785 §3.2.2.2: controls as \\u00xx or short escapes, non-ASCII as is', () => {
    const batch = { version: 3, batch_id: 'é😀', corridor: '"\\', jurisdiction: '\u0001\n\u2028', window: { starts_at: '/', ends_at: '\u007f' }, legs: [], positions: [] };
    expect(canonicalSettlementBatchJson(batch)).toBe('{"batch_id":"é😀","corridor":"\\"\\\\","jurisdiction":"\\u0001\\n\u2028","legs":[],"positions":[],"version":3,"window":{"ends_at":"\u007f","starts_at":"/"}}');
  });
});
