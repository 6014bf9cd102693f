import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sealSettlementBatch, verifySettlementBatch, type SettlementLeg } from '../../core/settlement-batch.ts';

const header = {
  batch_id: 'EUR-USD.eu.0.1767225600000',
  corridor: 'EUR-USD',
  jurisdiction: 'eu',
  window: { starts_at: '2026-01-01T00:00:00Z', ends_at: '2026-01-01T00:00:02Z' },
};

const debtorAgents = ['AAAADEFF', 'CCCCFRPP', 'DDDDITMMXXX'] as const;
const creditorAgents = ['BBBBUS33', 'EEEEUS6SXXX', 'FFFFUS44'] as const;
const provider = 'LQPRDEFFXXX';

/** One payment's legs as the edge emits them: same-currency (one leg) or FX (two legs via the provider). */
const paymentLegsArbitrary = fc
  .record({
    uetr: fc.uuid({ version: 4 }),
    debtorAgent: fc.constantFrom(...debtorAgents),
    creditorAgent: fc.constantFrom(...creditorAgents, ...debtorAgents),
    fx: fc.boolean(),
    sourceMinor: fc.bigInt({ min: 1n, max: 10n ** 15n }),
    payoutMinor: fc.bigInt({ min: 1n, max: 10n ** 15n }),
  })
  .map(({ uetr, debtorAgent, creditorAgent, fx, sourceMinor, payoutMinor }): SettlementLeg[] =>
    fx
      ? [
          { uetr, instructing_agent: debtorAgent, payer: debtorAgent, payee: provider, currency: 'EUR', amount_minor: String(sourceMinor), debtor_country: 'DE', residency_exception: null },
          { uetr, instructing_agent: debtorAgent, payer: provider, payee: creditorAgent, currency: 'USD', amount_minor: String(payoutMinor), debtor_country: 'DE', residency_exception: null },
        ]
      : [{ uetr, instructing_agent: debtorAgent, payer: debtorAgent, payee: creditorAgent, currency: 'EUR', amount_minor: String(sourceMinor), debtor_country: 'DE', residency_exception: null }],
  );

const batchLegsArbitrary = fc.uniqueArray(paymentLegsArbitrary, { minLength: 1, maxLength: 25, selector: (legs) => `${legs[0]!.instructing_agent}/${legs[0]!.uetr}` }).map((payments) => payments.flat());

const legA: SettlementLeg = { uetr: '0a000000-0000-4000-8000-000000000001', instructing_agent: 'AAAADEFF', payer: 'AAAADEFF', payee: 'LQPRDEFFXXX', currency: 'EUR', amount_minor: '10000', debtor_country: 'DE', residency_exception: null };
const legB: SettlementLeg = { uetr: '0a000000-0000-4000-8000-000000000001', instructing_agent: 'AAAADEFF', payer: 'LQPRDEFFXXX', payee: 'BBBBUS33', currency: 'USD', amount_minor: '10842', debtor_country: 'DE', residency_exception: null };
const legC: SettlementLeg = { uetr: '0b000000-0000-4000-8000-000000000002', instructing_agent: 'CCCCFRPP', payer: 'CCCCFRPP', payee: 'AAAADEFF', currency: 'EUR', amount_minor: '2500', debtor_country: 'DE', residency_exception: null };

function sealed() {
  return sealSettlementBatch({ ...header, legs: [legC, legB, legA] });
}

/** A mutable deep copy of the sealed batch, as a regional backend would receive it off the wire. */
function received(): any {
  return JSON.parse(sealed().canonical);
}

describe('sealSettlementBatch', () => {
  it('emits version 3, sorted legs, positions, RFC 8785 bytes and their SHA-256', () => {
    const { batch, canonical, digest } = sealed();
    expect(batch.version).toBe(3);
    expect(batch.legs).toEqual([legA, legB, legC]);
    expect(batch.positions).toEqual([
      { participant: 'AAAADEFF', currency: 'EUR', net_minor: '-7500' },
      { participant: 'CCCCFRPP', currency: 'EUR', net_minor: '-2500' },
      { participant: 'LQPRDEFFXXX', currency: 'EUR', net_minor: '10000' },
      { participant: 'BBBBUS33', currency: 'USD', net_minor: '10842' },
      { participant: 'LQPRDEFFXXX', currency: 'USD', net_minor: '-10842' },
    ]);
    expect(canonical.startsWith('{"batch_id":"EUR-USD.eu.0.1767225600000","corridor":"EUR-USD","jurisdiction":"eu","legs":[{"amount_minor":"10000","currency":"EUR","debtor_country":"DE","instructing_agent":"AAAADEFF"')).toBe(true);
    expect(canonical).not.toMatch(/\s/);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('drops fields that are not part of a leg', () => {
    const withExtra = { ...legA, note: 'not settled' } as SettlementLeg;
    expect(sealSettlementBatch({ ...header, legs: [withExtra, legB] }).canonical).not.toContain('note');
  });

  it('refuses to seal what it could not verify (a leg outside the corridor)', () => {
    expect(() => sealSettlementBatch({ ...header, legs: [{ ...legA, currency: 'GBP' }] })).toThrow(/fails its own verification: malformed-batch/);
  });

  it('property: the same legs in any order give byte-identical canonical JSON and digest', () => {
    fc.assert(
      fc.property(batchLegsArbitrary.chain((legs) => fc.tuple(fc.constant(legs), fc.shuffledSubarray(legs, { minLength: legs.length, maxLength: legs.length }))), ([legs, shuffled]) => {
        const first = sealSettlementBatch({ ...header, legs });
        const second = sealSettlementBatch({ ...header, legs: shuffled });
        expect(second.canonical).toBe(first.canonical);
        expect(second.digest).toBe(first.digest);
      }),
    );
  });
});

describe('verifySettlementBatch', () => {
  it('accepts a sealed batch received as JSON and re-derives the same bytes and digest', () => {
    const { canonical, digest } = sealed();
    const verified = verifySettlementBatch(JSON.parse(canonical), digest);
    expect(verified).toMatchObject({ ok: true, value: { canonical, digest } });
  });

  it('rejects a digest that does not match', () => {
    const verified = verifySettlementBatch(received(), '0'.repeat(64));
    expect(verified).toMatchObject({ ok: false, reason: { kind: 'digest-mismatch' } });
  });

  it('rejects legs out of canonical order', () => {
    const batch = received();
    batch.legs.reverse();
    expect(verifySettlementBatch(batch)).toMatchObject({ ok: false, reason: { kind: 'not-canonical-order' } });
  });

  it('rejects positions out of canonical order', () => {
    const batch = received();
    batch.positions.reverse();
    expect(verifySettlementBatch(batch)).toMatchObject({ ok: false, reason: { kind: 'not-canonical-order' } });
  });

  it('rejects a duplicated position row as out of order, even when it keeps the sum', () => {
    const batch = received();
    batch.positions.splice(1, 0, { ...batch.positions[0], net_minor: '0' });
    expect(verifySettlementBatch(batch)).toMatchObject({ ok: false, reason: { kind: 'not-canonical-order' } });
  });

  it('rejects positions that do not sum to zero', () => {
    const batch = received();
    batch.positions[0].net_minor = '-7499';
    expect(verifySettlementBatch(batch)).toMatchObject({ ok: false, reason: { kind: 'not-zero-sum', detail: 'EUR positions sum to 1' } });
  });

  it('rejects zero-sum positions that the legs do not produce', () => {
    const batch = received();
    batch.positions[0].net_minor = '-7000';
    batch.positions[1].net_minor = '-3000';
    expect(verifySettlementBatch(batch)).toMatchObject({ ok: false, reason: { kind: 'positions-mismatch' } });
  });

  it('rejects a missing position row and an extra one', () => {
    const missing = received();
    missing.positions = missing.positions.filter((position: { currency: string }) => position.currency === 'USD');
    expect(verifySettlementBatch(missing)).toMatchObject({ ok: false, reason: { kind: 'positions-mismatch' } });
    const extra = received();
    extra.positions.push({ participant: 'ZZZZUS33', currency: 'USD', net_minor: '0' });
    expect(verifySettlementBatch(extra)).toMatchObject({ ok: false, reason: { kind: 'positions-mismatch' } });
  });

  it('seals and verifies one gpi UETR submitted by two instructing agents in one window', () => {
    // gpi keeps the UETR along the chain: the hop AAAADEFF → CCCCFRPP and the next hop
    // CCCCFRPP → BBBBUS33 are two payments with one UETR, told apart by their instructing agent.
    const firstHop: SettlementLeg = { ...legA, payee: 'CCCCFRPP' };
    const secondHop: SettlementLeg = { ...legA, instructing_agent: 'CCCCFRPP', payer: 'CCCCFRPP', payee: 'AAAADEFF', amount_minor: '9990', debtor_country: 'DE', residency_exception: null };
    const { batch, canonical, digest } = sealSettlementBatch({ ...header, legs: [secondHop, firstHop] });
    expect(batch.legs).toEqual([firstHop, secondHop]);
    expect(verifySettlementBatch(JSON.parse(canonical), digest)).toMatchObject({ ok: true });
  });

  it('orders legs by (uetr, instructing_agent, currency, payer, payee)', () => {
    const byOtherAgent: SettlementLeg = { ...legB, instructing_agent: 'AAAADEFFXXX', currency: 'EUR', payer: 'AAAADEFF', payee: 'LQPRDEFFXXX' };
    expect(sealSettlementBatch({ ...header, legs: [byOtherAgent, legB, legA] }).batch.legs).toEqual([legA, legB, byOtherAgent]);
  });

  it('rejects a leg without an instructing agent, and a batch of version 1', () => {
    const withoutAgent = received();
    delete withoutAgent.legs[0].instructing_agent;
    expect(verifySettlementBatch(withoutAgent)).toMatchObject({ ok: false, reason: { kind: 'malformed-batch', detail: expect.stringMatching(/legs\.0\.instructing_agent/) } });
    const versionOne = received();
    versionOne.version = 1;
    expect(verifySettlementBatch(versionOne)).toMatchObject({ ok: false, reason: { kind: 'malformed-batch', detail: expect.stringMatching(/version/) } });
  });

  it('rejects two legs for the same payment in the same currency', () => {
    const batch = sealSettlementBatch({ ...header, legs: [legA] }).batch as any;
    batch.legs = [legA, { ...legA, payee: 'ZZZZDEFF' }];
    expect(verifySettlementBatch(batch)).toMatchObject({ ok: false, reason: { kind: 'malformed-batch', detail: expect.stringContaining('second leg') } });
  });

  const malformed: Array<[string, (batch: any) => void, RegExp]> = [
    ['unknown top-level field', (batch) => { batch.fee = '1'; }, /\(root\): unknown field 'fee'/],
    ['unknown leg field', (batch) => { batch.legs[0].memo = 'x'; }, /legs\.0: unknown field 'memo'/],
    ['unknown position field', (batch) => { batch.positions[0].extra = 1; }, /positions\.0: unknown field 'extra'/],
    ['unknown window field', (batch) => { batch.window.tz = 'UTC'; }, /window: unknown field 'tz'/],
    ['version 2 (legs without debtor_country)', (batch) => { batch.version = 2; }, /version/],
    ['version 4', (batch) => { batch.version = 4; }, /version/],
    ['leg without a debtor country', (batch) => { delete batch.legs[0].debtor_country; }, /legs\.0\.debtor_country/],
    ['debtor country not ISO 3166', (batch) => { batch.legs[0].debtor_country = 'ZZ'; }, /legs\.0\.debtor_country/],
    ['residency exception that is no change id', (batch) => { batch.legs[0].residency_exception = 'ana said so'; }, /legs\.0\.residency_exception/],
    ['lowercase instructing agent', (batch) => { batch.legs[0].instructing_agent = 'aaaadeff'; }, /legs\.0\.instructing_agent/],
    ['amount with a leading zero', (batch) => { batch.legs[0].amount_minor = '010000'; }, /legs\.0\.amount_minor/],
    ['amount as a JSON number', (batch) => { batch.legs[0].amount_minor = 10000; }, /legs\.0\.amount_minor/],
    ['zero amount', (batch) => { batch.legs[0].amount_minor = '0'; }, /legs\.0\.amount_minor/],
    ['negative amount', (batch) => { batch.legs[0].amount_minor = '-10000'; }, /legs\.0\.amount_minor/],
    ['amount of 19 digits', (batch) => { batch.legs[0].amount_minor = '1000000000000000000'; }, /legs\.0\.amount_minor/],
    ['net "-0"', (batch) => { batch.positions[0].net_minor = '-0'; }, /positions\.0\.net_minor/],
    ['net with a plus sign', (batch) => { batch.positions[2].net_minor = '+10000'; }, /positions\.2\.net_minor/],
    ['lowercase currency', (batch) => { batch.legs[0].currency = 'eur'; }, /legs\.0\.currency/],
    ['currency without minor unit', (batch) => { batch.legs[0].currency = 'XAU'; }, /legs\.0\.currency/],
    ['unknown currency', (batch) => { batch.positions[0].currency = 'ABC'; }, /positions\.0\.currency/],
    ['lowercase BIC', (batch) => { batch.legs[0].payer = 'aaaadeff'; }, /legs\.0\.payer/],
    ['BIC with a bad country', (batch) => { batch.legs[0].payee = 'AAAAQQFF'; }, /legs\.0\.payee/],
    ['BIC participant of 9 characters', (batch) => { batch.positions[0].participant = 'AAAADEFFX'; }, /positions\.0\.participant/],
    ['uppercase UETR', (batch) => { batch.legs[0].uetr = batch.legs[0].uetr.toUpperCase(); }, /legs\.0\.uetr/],
    ['no legs', (batch) => { batch.legs = []; batch.positions = []; }, /legs/],
    ['window without offset', (batch) => { batch.window.ends_at = '2026-01-01T00:00:02'; }, /window\.ends_at/],
    ['window ending before it starts', (batch) => { batch.window.ends_at = '2025-12-31T23:59:59Z'; }, /window\.ends_at is not after/],
    ['batch id of another corridor', (batch) => { batch.batch_id = 'USD-JPY.eu.0.1767225600000'; }, /batch_id corridor USD-JPY/],
    ['batch id of another jurisdiction', (batch) => { batch.batch_id = 'EUR-USD.us.0.1767225600000'; }, /batch_id jurisdiction us/],
    ['batch id of another window', (batch) => { batch.batch_id = 'EUR-USD.eu.0.1767225602000'; }, /window start/],
    ['leg in a currency outside the corridor', (batch) => { batch.corridor = 'EUR-JPY'; batch.batch_id = 'EUR-JPY.eu.0.1767225600000'; }, /does not belong to corridor EUR-JPY/],
  ];

  it.each(malformed)('rejects as malformed-batch: %s', (_name, tamper, detail) => {
    const batch = received();
    tamper(batch);
    const verified = verifySettlementBatch(batch);
    expect(verified.ok).toBe(false);
    if (verified.ok) return;
    expect(verified.reason.kind).toBe('malformed-batch');
    expect(verified.reason.detail).toMatch(detail);
  });

  it('reports at most 20 issues however many legs are malformed', () => {
    const batch = received();
    batch.legs = Array.from({ length: 1000 }, () => ({ ...batch.legs[0], amount_minor: '-1' }));
    const verified = verifySettlementBatch(batch);
    expect(verified.ok).toBe(false);
    if (!verified.ok) expect(verified.reason.detail.split('; ')).toHaveLength(20);
  });

  it('rejects non-objects without throwing', () => {
    for (const input of [null, undefined, 'batch', 42, [], { version: 1 }]) {
      expect(verifySettlementBatch(input)).toMatchObject({ ok: false, reason: { kind: 'malformed-batch' } });
    }
  });

  it('property: accepts every batch sealSettlementBatch produced', () => {
    fc.assert(
      fc.property(batchLegsArbitrary, (legs) => {
        const { canonical, digest } = sealSettlementBatch({ ...header, legs });
        const verified = verifySettlementBatch(JSON.parse(canonical), digest);
        expect(verified.ok).toBe(true);
        if (verified.ok) expect(verified.value.canonical).toBe(canonical);
      }),
    );
  });

  type TamperTarget = 'leg-amount' | 'leg-payer' | 'leg-payee' | 'position-net' | 'position-participant';
  const tamperFields: Record<TamperTarget, string> = { 'leg-amount': 'amount_minor', 'leg-payer': 'payer', 'leg-payee': 'payee', 'position-net': 'net_minor', 'position-participant': 'participant' };
  const tamperArbitrary = fc.record({
    target: fc.constantFrom<TamperTarget>('leg-amount', 'leg-payer', 'leg-payee', 'position-net', 'position-participant'),
    pick: fc.nat(),
    delta: fc.bigInt({ min: 1n, max: 10n ** 6n }),
    replacement: fc.constantFrom('QQQQDEFF', 'RRRRUS33XXX', provider, ...debtorAgents, ...creditorAgents),
  });

  /** Applies one change; answers whether it changed anything and whether it hit an on-us leg's amount. */
  function tamper(batch: any, { target, pick, delta, replacement }: { target: TamperTarget; pick: number; delta: bigint; replacement: string }): { changed: boolean; onUsAmount: boolean } {
    const rows = target.startsWith('leg') ? batch.legs : batch.positions;
    const row = rows[pick % rows.length];
    const field = tamperFields[target];
    const before = row[field];
    row[field] = field === 'amount_minor' || field === 'net_minor' ? String(BigInt(before) + delta) : replacement;
    return { changed: row[field] !== before, onUsAmount: target === 'leg-amount' && row.payer === row.payee };
  }

  it('property: rejects any single tampered amount, participant or position when given the digest', () => {
    fc.assert(
      fc.property(batchLegsArbitrary, tamperArbitrary, (legs, change) => {
        const { canonical, digest } = sealSettlementBatch({ ...header, legs });
        const batch = JSON.parse(canonical);
        fc.pre(tamper(batch, change).changed);
        expect(verifySettlementBatch(batch, digest).ok).toBe(false);
      }),
    );
  });

  it('property: without the digest, catches every tamper that changes what anyone owes', () => {
    // An on-us leg (payer = payee, e.g. both customers at one bank) nets to nothing, so its amount
    // is protected by the digest alone; every other single change breaks internal consistency.
    fc.assert(
      fc.property(batchLegsArbitrary, tamperArbitrary, (legs, change) => {
        const batch = JSON.parse(sealSettlementBatch({ ...header, legs }).canonical);
        const { changed, onUsAmount } = tamper(batch, change);
        fc.pre(changed && !onUsAmount);
        expect(verifySettlementBatch(batch).ok).toBe(false);
      }),
    );
  });

  it('an on-us leg\'s amount is internally consistent either way: only the digest catches a change', () => {
    const onUs: SettlementLeg = { uetr: '0c000000-0000-4000-8000-000000000003', instructing_agent: 'AAAADEFF', payer: 'AAAADEFF', payee: 'AAAADEFF', currency: 'EUR', amount_minor: '500', debtor_country: 'DE', residency_exception: null };
    const { canonical, digest } = sealSettlementBatch({ ...header, legs: [legA, legB, onUs] });
    const batch = JSON.parse(canonical);
    batch.legs[2].amount_minor = '501';
    expect(verifySettlementBatch(batch).ok).toBe(true);
    expect(verifySettlementBatch(batch, digest)).toMatchObject({ ok: false, reason: { kind: 'digest-mismatch' } });
  });
});
