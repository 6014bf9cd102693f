import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareLegs, netPositions, sortLegs } from '../../core/netting.ts';
import type { SettlementLeg } from '../../core/settlement-batch.ts';

const uetrA = '0a000000-0000-4000-8000-000000000001';
const uetrB = '0b000000-0000-4000-8000-000000000002';

function leg(uetr: string, payer: string, payee: string, currency: string, amount_minor: string, instructing_agent = payer): SettlementLeg {
  return { uetr, instructing_agent, payer, payee, currency, amount_minor, debtor_country: 'DE', residency_exception: null };
}

export const bicPool = ['AAAADEFF', 'BBBBUS33XXX', 'CCCCGB2L', 'DDDDJPJT', 'EEEESGSG', 'LQPRDEFFXXX'] as const;

/** Random legs: any pool BICs (payer may equal payee), any of three currencies, amounts up to 10^18 − 1. */
export const legArbitrary = fc.record({
  uetr: fc.uuid({ version: 4 }),
  instructing_agent: fc.constantFrom(...bicPool),
  payer: fc.constantFrom(...bicPool),
  payee: fc.constantFrom(...bicPool),
  currency: fc.constantFrom('EUR', 'USD', 'JPY'),
  amount_minor: fc.bigInt({ min: 1n, max: 10n ** 18n - 1n }).map(String),
  debtor_country: fc.constant('DE'),
  residency_exception: fc.constant(null),
});

describe('sortLegs', () => {
  it('orders by uetr, currency, payer, payee with code-unit comparison', () => {
    const legs = [
      leg(uetrB, 'AAAADEFF', 'BBBBUS33XXX', 'EUR', '1'),
      leg(uetrA, 'AAAADEFF', 'BBBBUS33XXX', 'USD', '5'),
      leg(uetrA, 'AAAADEFF', 'LQPRDEFFXXX', 'EUR', '5'),
      leg(uetrA, 'AAAADEFF', 'CCCCGB2L', 'EUR', '5'),
    ];
    expect(sortLegs(legs).map((item) => `${item.uetr.slice(0, 2)} ${item.currency} ${item.payer} ${item.payee}`)).toEqual([
      '0a EUR AAAADEFF CCCCGB2L',
      '0a EUR AAAADEFF LQPRDEFFXXX',
      '0a USD AAAADEFF BBBBUS33XXX',
      '0b EUR AAAADEFF BBBBUS33XXX',
    ]);
  });

  it('orders one UETR by instructing agent before currency, payer and payee', () => {
    const legs = [
      leg(uetrA, 'AAAADEFF', 'BBBBUS33XXX', 'EUR', '1', 'CCCCGB2L'),
      leg(uetrA, 'LQPRDEFFXXX', 'BBBBUS33XXX', 'USD', '1', 'AAAADEFF'),
      leg(uetrA, 'AAAADEFF', 'LQPRDEFFXXX', 'EUR', '1', 'AAAADEFF'),
    ];
    expect(sortLegs(legs).map((item) => `${item.instructing_agent} ${item.currency}`)).toEqual(['AAAADEFF EUR', 'AAAADEFF USD', 'CCCCGB2L EUR']);
  });

  it('does not use locale order: uppercase sorts before lowercase', () => {
    expect(compareLegs(leg('B', 'X', 'Y', 'EUR', '1'), leg('a', 'X', 'Y', 'EUR', '1'))).toBeLessThan(0);
  });

  it('breaks full ties on amount numerically, not textually', () => {
    const sorted = sortLegs([leg(uetrA, 'A', 'B', 'EUR', '10'), leg(uetrA, 'A', 'B', 'EUR', '9')]);
    expect(sorted.map((item) => item.amount_minor)).toEqual(['9', '10']);
  });

  it('leaves its input untouched', () => {
    const legs = [leg(uetrB, 'A', 'B', 'EUR', '1'), leg(uetrA, 'A', 'B', 'EUR', '1')];
    sortLegs(legs);
    expect(legs[0]!.uetr).toBe(uetrB);
  });
});

describe('netPositions', () => {
  it('debits payers, credits payees, per currency, sorted by (currency, participant)', () => {
    const positions = netPositions([
      leg(uetrA, 'AAAADEFF', 'LQPRDEFFXXX', 'EUR', '10000'),
      leg(uetrA, 'LQPRDEFFXXX', 'BBBBUS33XXX', 'USD', '10842'),
      leg(uetrB, 'CCCCGB2L', 'AAAADEFF', 'EUR', '2500'),
    ]);
    expect(positions).toEqual([
      { participant: 'AAAADEFF', currency: 'EUR', net_minor: '-7500' },
      { participant: 'CCCCGB2L', currency: 'EUR', net_minor: '-2500' },
      { participant: 'LQPRDEFFXXX', currency: 'EUR', net_minor: '10000' },
      { participant: 'BBBBUS33XXX', currency: 'USD', net_minor: '10842' },
      { participant: 'LQPRDEFFXXX', currency: 'USD', net_minor: '-10842' },
    ]);
  });

  it('keeps a participant whose position nets to zero', () => {
    const positions = netPositions([leg(uetrA, 'AAAADEFF', 'BBBBUS33XXX', 'EUR', '700'), leg(uetrB, 'BBBBUS33XXX', 'AAAADEFF', 'EUR', '700')]);
    expect(positions).toEqual([
      { participant: 'AAAADEFF', currency: 'EUR', net_minor: '0' },
      { participant: 'BBBBUS33XXX', currency: 'EUR', net_minor: '0' },
    ]);
  });

  it('is exact beyond 2^53', () => {
    const positions = netPositions([
      leg(uetrA, 'AAAADEFF', 'BBBBUS33XXX', 'EUR', '999999999999999999'),
      leg(uetrB, 'AAAADEFF', 'BBBBUS33XXX', 'EUR', '999999999999999999'),
    ]);
    expect(positions[0]!.net_minor).toBe('-1999999999999999998');
  });

  it('crashes on a non-canonical amount instead of letting BigInt read hex or spaces', () => {
    for (const amount of ['0x10', ' 5', '05', '0', '-5', '1.5', '']) {
      expect(() => netPositions([leg(uetrA, 'A', 'B', 'EUR', amount)]), amount).toThrow(/non-canonical amount_minor/);
    }
  });

  it('property: every currency sums to exactly zero and every leg participant has a row', () => {
    fc.assert(
      fc.property(fc.array(legArbitrary, { maxLength: 60 }), (legs) => {
        const positions = netPositions(legs);
        const sums = new Map<string, bigint>();
        for (const position of positions) sums.set(position.currency, (sums.get(position.currency) ?? 0n) + BigInt(position.net_minor));
        for (const sum of sums.values()) expect(sum).toBe(0n);
        const rows = new Set(positions.map((position) => `${position.currency}/${position.participant}`));
        for (const item of legs) {
          expect(rows.has(`${item.currency}/${item.payer}`)).toBe(true);
          expect(rows.has(`${item.currency}/${item.payee}`)).toBe(true);
        }
        expect(rows.size).toBe(positions.length);
      }),
    );
  });

  it('property: the order of legs does not change the positions', () => {
    fc.assert(
      fc.property(fc.array(legArbitrary, { maxLength: 40 }).chain((legs) => fc.tuple(fc.constant(legs), fc.shuffledSubarray(legs, { minLength: legs.length, maxLength: legs.length }))), ([legs, shuffled]) => {
        expect(netPositions(shuffled)).toEqual(netPositions(legs));
      }),
    );
  });
});
