import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sealSettlementBatch, verifySettlementBatch, verifySettlementBatchNative, type SettlementLeg } from '../../core/settlement-batch.ts';
import { batchLegsMax, settlementBatchSchema } from '../../core/settlement-batch-schema.ts';
import { batchDigestHex } from '../../durable-objects/corridor-window/batch-digest.ts';
import { parseSettlementBatch, settlementBatchShape } from '../../core/settlement-batch-shape.ts';

/*
 * The hand-written batch check must accept exactly what the zod schema accepts, and produce the
 * same value when it does: it is how the settlement path decides, and zod is the source of truth.
 */

const debtorAgents = ['AAAADEFF', 'CCCCFRPP', 'DDDDITMMXXX'] as const;
const creditorAgents = ['BBBBUS33', 'EEEEUS6SXXX', 'FFFFUS44'] as const;
const provider = 'LQPRDEFFXXX';

const legsArbitrary = fc
  .uniqueArray(
    fc.record({
      uetr: fc.uuid({ version: 4 }),
      debtorAgent: fc.constantFrom(...debtorAgents),
      creditorAgent: fc.constantFrom(...creditorAgents),
      sourceMinor: fc.bigInt({ min: 1n, max: 10n ** 17n }),
      payoutMinor: fc.bigInt({ min: 1n, max: 10n ** 17n }),
      exception: fc.option(fc.uuid({ version: 4 }), { nil: null }),
    }),
    { minLength: 1, maxLength: 8, selector: (payment) => payment.uetr },
  )
  .map((payments) =>
    payments.flatMap(({ uetr, debtorAgent, creditorAgent, sourceMinor, payoutMinor, exception }): SettlementLeg[] => [
      { uetr, instructing_agent: debtorAgent, payer: debtorAgent, payee: provider, currency: 'EUR', amount_minor: String(sourceMinor), debtor_country: 'DE', residency_exception: exception },
      { uetr, instructing_agent: debtorAgent, payer: provider, payee: creditorAgent, currency: 'USD', amount_minor: String(payoutMinor), debtor_country: 'FR', residency_exception: exception },
    ]),
  );

/** A sealed batch as the backend receives it: parsed off the wire, so mutable plain JSON. */
const receivedArbitrary = legsArbitrary.map((legs) =>
  JSON.parse(
    sealSettlementBatch({ batch_id: 'EUR-USD.eu.0.1767225600000', corridor: 'EUR-USD', jurisdiction: 'eu', window: { starts_at: '2026-01-01T00:00:00Z', ends_at: '2026-01-01T00:00:02.5-01:00' }, legs }).canonical,
  ),
);

/** Values that are valid for some member and invalid for others, near misses, and other types. */
const nearMisses = [
  '0a000000-0000-4000-8000-000000000001', '0A000000-0000-4000-8000-000000000001', '0a000000-0000-4000-8000-00000000001', '0a000000000040008000000000000001',
  'AAAADEFF', 'AAAADEFFXXX', 'aaaadeff', 'AAAAQQFF', 'AAAAXKFF', 'AAAADEFFX', 'AAAADEF', 'AAAADE1F',
  'EUR', 'USD', 'JPY', 'XAU', 'eur', 'ABC', 'EURO',
  '1', '10000', '0', '010', '-1', '-0', '+1', '1e3', '999999999999999999', '1000000000000000000', '123456789012345678901234', '-123456789012345678901234', '1234567890123456789012345',
  'DE', 'FR', 'ZZ', 'de', 'XK',
  '2026-01-01T00:00:00Z', '2026-01-01T00:00:00', '2026-02-30T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01t00:00:00z', '2026-01-01T00:00:00.123456+23:59', '2026-01-01T00:00:00+24:00',
  'EUR-USD', 'eur-usd', 'EUR-USD.eu.0.1767225600000', 'EUR-USD.eu.01.1767225600000', 'EUR-USD.EU.0.1767225600000',
  'eu', 'e', 'abcdefghijklmnopq', 'eu1',
  '', ' ', '"', '\\', 'é', '\u0000',
];
const memberValueArbitrary: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...nearMisses) },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined, 3, 2, 0, -1, 1.5, Number.NaN, true, 10000n, [], {}, ['EUR'], { value: 'EUR' }) },
  { weight: 1, arbitrary: fc.string() },
  { weight: 1, arbitrary: fc.jsonValue() },
);
const extraKeyArbitrary = fc.constantFrom('fee', 'memo', '__proto__', 'toString', 'constructor', 'hasOwnProperty', 'legs', 'uetr', 'net_minor', '');

type Mutation =
  | { kind: 'set'; where: number; pick: number; value: unknown }
  | { kind: 'delete'; where: number; pick: number }
  | { kind: 'add'; where: number; pick: number; key: string; value: unknown }
  | { kind: 'replace-container'; where: number; pick: number; value: unknown };

const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), where: fc.nat(3), pick: fc.nat(), value: memberValueArbitrary }),
  fc.record({ kind: fc.constant('delete' as const), where: fc.nat(3), pick: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), where: fc.nat(3), pick: fc.nat(), key: extraKeyArbitrary, value: memberValueArbitrary }),
  fc.record({ kind: fc.constant('replace-container' as const), where: fc.nat(3), pick: fc.nat(), value: memberValueArbitrary }),
);

/** Applies a mutation to the top level (0), the window (1), a leg (2) or a position (3). */
function mutate(batch: any, mutation: Mutation): void {
  // An earlier mutation may have removed or replaced a container: mutate what is still there.
  const legs: any[] = Array.isArray(batch.legs) && batch.legs.length > 0 ? batch.legs : [undefined];
  const positions: any[] = Array.isArray(batch.positions) && batch.positions.length > 0 ? batch.positions : [undefined];
  const legIndex = mutation.pick % legs.length;
  const positionIndex = mutation.pick % positions.length;
  if (mutation.kind === 'replace-container') {
    if (mutation.where === 0) batch.legs = mutation.value;
    else if (mutation.where === 1) batch.window = mutation.value;
    else if (mutation.where === 2) legs[legIndex] = mutation.value;
    else batch.positions = mutation.pick % 2 === 0 ? mutation.value : [...positions, mutation.value];
    return;
  }
  const target = [batch, batch.window, legs[legIndex], positions[positionIndex]][mutation.where];
  if (typeof target !== 'object' || target === null) return;
  const keys = Object.keys(target);
  if (keys.length === 0 && mutation.kind !== 'add') return;
  const key = keys[mutation.pick % Math.max(1, keys.length)]!;
  if (mutation.kind === 'set') target[key] = mutation.value;
  else if (mutation.kind === 'delete') delete target[key];
  // Defined, not assigned, so '__proto__' becomes an own member as JSON.parse makes it off the wire.
  else Object.defineProperty(target, mutation.key, { value: mutation.value, enumerable: true, writable: true, configurable: true });
}

function expectSameVerdict(value: unknown): boolean {
  const zodVerdict = settlementBatchSchema.safeParse(value);
  const shaped = settlementBatchShape(value);
  expect(shaped !== undefined).toBe(zodVerdict.success);
  if (zodVerdict.success) expect(shaped).toStrictEqual(zodVerdict.data);
  return zodVerdict.success;
}

describe('settlementBatchShape (hand-written twin of settlementBatchSchema)', () => {
  it('property: accepts every sealed batch, with the value zod produces', () => {
    fc.assert(
      fc.property(receivedArbitrary, (batch) => {
        expect(expectSameVerdict(batch)).toBe(true);
      }),
    );
  });

  it('property: one mutation anywhere — the same verdict as zod', () => {
    let refused = 0;
    fc.assert(
      fc.property(receivedArbitrary, fc.array(mutationArbitrary, { minLength: 1, maxLength: 3 }), (batch, mutations) => {
        for (const mutation of mutations) mutate(batch, mutation);
        if (!expectSameVerdict(batch)) refused++;
      }),
      { numRuns: 2_000 },
    );
    // Most mutations must be refusals, or the property proves little about refusing.
    expect(refused).toBeGreaterThan(1_000);
  });

  it('property: arbitrary JSON values and arbitrary values — the same verdict as zod', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => void expectSameVerdict(value)));
    fc.assert(fc.property(fc.anything(), (value) => void expectSameVerdict(value)));
  });

  it('the same verdict on objects that are not plain: inherited members, no prototype, class instances', () => {
    fc.assert(
      fc.property(receivedArbitrary, (batch) => {
        // An inherited enumerable member is an unknown field to zod's for…in: refused by both.
        const inheriting = Object.assign(Object.create({ fee: '1' }), batch);
        expect(expectSameVerdict(inheriting)).toBe(false);
        // Declared members inherited rather than own: zod reads them by property access, so both accept.
        const leg = batch.legs[0];
        batch.legs[0] = Object.assign(Object.create({ uetr: leg.uetr }), { ...leg, uetr: undefined });
        delete batch.legs[0].uetr;
        expectSameVerdict(batch);
        batch.legs[0] = Object.assign(Object.create(null), leg);
        expect(expectSameVerdict(batch)).toBe(true);
        class Window {
          starts_at: string;
          ends_at: string;
          constructor(startsAt: string, endsAt: string) {
            this.starts_at = startsAt;
            this.ends_at = endsAt;
          }
        }
        batch.window = new Window(batch.window.starts_at, batch.window.ends_at);
        expect(expectSameVerdict(batch)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('reads each member once, so a getter cannot change what was checked', () => {
    const batch = fc.sample(receivedArbitrary, { numRuns: 1, seed: 1 })[0];
    let reads = 0;
    const amount = batch.legs[0].amount_minor;
    Object.defineProperty(batch.legs[0], 'amount_minor', { enumerable: true, get: () => (reads++ === 0 ? amount : '-1') });
    const shaped = settlementBatchShape(batch);
    expect(shaped?.legs[0]!.amount_minor).toBe(amount);
    expect(reads).toBe(1);
  });

  it(`refuses more than ${batchLegsMax} legs, like zod`, () => {
    const batch = fc.sample(receivedArbitrary, { numRuns: 1, seed: 2 })[0];
    batch.legs = new Array(batchLegsMax + 1).fill(batch.legs[0]);
    expect(expectSameVerdict(batch)).toBe(false);
    batch.legs = [];
    expect(expectSameVerdict(batch)).toBe(false);
  });

  it('parseSettlementBatch: a refusal carries zod\'s issues', () => {
    const batch = fc.sample(receivedArbitrary, { numRuns: 1, seed: 3 })[0];
    batch.legs[0].memo = 'x';
    const parsed = parseSettlementBatch(batch);
    expect(parsed.success).toBe(false);
    if (!parsed.success) expect(parsed.issues).toEqual(settlementBatchSchema.safeParse(batch).error!.issues);
  });

  it('property: verifySettlementBatchNative gives verifySettlementBatch\'s verdict, digest included', async () => {
    await fc.assert(
      fc.asyncProperty(receivedArbitrary, fc.option(mutationArbitrary, { nil: undefined }), fc.boolean(), async (batch, mutation, wrongDigest) => {
        const expectedDigest = wrongDigest ? '0'.repeat(64) : verifySettlementBatch(batch).ok ? (verifySettlementBatch(batch) as { value: { digest: string } }).value.digest : undefined;
        if (mutation !== undefined) mutate(batch, mutation);
        expect(await verifySettlementBatchNative(batch, expectedDigest)).toStrictEqual(verifySettlementBatch(batch, expectedDigest));
      }),
      { numRuns: 300 },
    );
  });

  it('property: verifySettlementBatch with node:crypto\'s synchronous SHA-256 (as the edge seals) gives the portable hash\'s verdict, digest included', () => {
    fc.assert(
      fc.property(receivedArbitrary, fc.option(mutationArbitrary, { nil: undefined }), (batch, mutation) => {
        if (mutation !== undefined) mutate(batch, mutation);
        expect(verifySettlementBatch(batch, undefined, batchDigestHex)).toStrictEqual(verifySettlementBatch(batch));
      }),
      { numRuns: 300 },
    );
  });
});
