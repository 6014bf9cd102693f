import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addExactMinor, convertPayout, exactMinorAtScale, splitExactMinor, sumExactMinor, type ExactMinor } from '../../core/fx.ts';
import { currencyExponent } from '../../core/iso4217.ts';
import {
  assignWindowStartMs,
  buildNettingWindowPart,
  lateSlicesMax,
  nettingWindowBatchId,
  sealNettingWindow,
  windowStartMs,
  type NettingWindowPart,
} from '../../core/netting-window.ts';
import type { PaymentForLegs } from '../../core/payment-legs.ts';
import type { SettlementLeg } from '../../core/settlement-batch.ts';

const bics = ['ALPHDEFFXXX', 'BRAVFRPPXXX', 'DEUTDEFFXXX', 'BNPAFRPPXXX', 'INGBNL2AXXX'] as const;
const provider = 'LQPRDEFFXXX';
const header = { corridor: 'EUR-EUR', jurisdiction: 'eu', startMs: 1_795_000_000_000, endMs: 1_795_000_002_000 };

/** Same-currency payments with distinct UETRs (a UETR is a payment's identity). */
const paymentsArbitrary = (currency: string, maxLength = 40) =>
  fc.uniqueArray(
    fc.record({
      uetr: fc.uuid({ version: 4 }),
      amount_minor: fc.bigInt({ min: 1n, max: 10n ** 15n }),
      debtor_agent_bic: fc.constantFrom(...bics),
      creditor_agent_bic: fc.constantFrom(...bics),
    }),
    { minLength: 1, maxLength, selector: (payment) => payment.uetr },
  ).map((payments) => payments.map((payment): PaymentForLegs => ({ ...payment, instructing_agent: payment.debtor_agent_bic, source_currency: currency, target_currency: currency, debtor_country: 'DE', residency_exception: null })));

/** Splits items over `shards` parts by a per-item choice; every part exists, possibly empty. */
function partition<T>(items: readonly T[], choices: readonly number[], shards: number): T[][] {
  const parts: T[][] = Array.from({ length: shards }, () => []);
  items.forEach((item, index) => parts[(choices[index] ?? 0) % shards]!.push(item));
  return parts;
}

const noFx = { fx_provider: null, fx_rate_scaled: null, fx_rate_scale: 8 };

describe('window assignment', () => {
  it('puts every instant into the slice that contains it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 45 }), fc.integer({ min: 1, max: 3_600_000 }), (instantMs, durationMs) => {
        const startMs = windowStartMs(instantMs, durationMs);
        expect(startMs % durationMs).toBe(0);
        expect(startMs <= instantMs && instantMs < startMs + durationMs).toBe(true);
      }),
    );
  });

  it('one window per payment: arrivals against closing slices each land in exactly one slice that was open, never an earlier one', () => {
    const events = fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('arrive' as const), advanceMs: fc.integer({ min: 0, max: 900 }) }),
        fc.record({ kind: fc.constant('close' as const), slicesAhead: fc.integer({ min: 0, max: lateSlicesMax - 1 }) }),
      ),
      { maxLength: 200 },
    );
    fc.assert(
      fc.property(events, fc.integer({ min: 100, max: 2_000 }), fc.integer({ min: 1, max: 5 }), (script, durationMs, paymentsMax) => {
        const closed = new Set<number>();
        const taken = new Map<number, number>();
        const landed: Array<{ instantMs: number; startMs: number }> = [];
        let nowMs = 1_795_000_000_000;
        for (const event of script) {
          if (event.kind === 'close') {
            closed.add(windowStartMs(nowMs, durationMs) + event.slicesAhead * durationMs);
            continue;
          }
          nowMs += event.advanceMs;
          const accepts = (startMs: number) => !closed.has(startMs) && (taken.get(startMs) ?? 0) < paymentsMax;
          const startMs = assignWindowStartMs(nowMs, durationMs, accepts);
          if (startMs === null) continue; // more than lateSlicesMax closed in a row: the caller refuses loudly
          expect(accepts(startMs)).toBe(true);
          expect(startMs).toBeGreaterThanOrEqual(windowStartMs(nowMs, durationMs));
          expect(nowMs).toBeLessThan(startMs + durationMs); // never into a slice that already ended
          taken.set(startMs, (taken.get(startMs) ?? 0) + 1);
          landed.push({ instantMs: nowMs, startMs });
        }
        // Each slice holds at most its limit, and the slices partition the payments (one slice each).
        for (const count of taken.values()) expect(count).toBeLessThanOrEqual(paymentsMax);
        expect([...taken.values()].reduce((sum, count) => sum + count, 0)).toBe(landed.length);
      }),
    );
  });

  it('is deterministic: the same slice states give the same slice', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 45 }), fc.integer({ min: 1, max: 10_000 }), fc.array(fc.boolean(), { minLength: lateSlicesMax + 1, maxLength: lateSlicesMax + 1 }), (instantMs, durationMs, open) => {
        const firstMs = windowStartMs(instantMs, durationMs);
        const accepts = (startMs: number) => open[(startMs - firstMs) / durationMs] ?? false;
        const startMs = assignWindowStartMs(instantMs, durationMs, accepts);
        expect(assignWindowStartMs(instantMs, durationMs, accepts)).toBe(startMs);
        const firstOpen = open.indexOf(true);
        expect(startMs).toBe(firstOpen === -1 ? null : firstMs + firstOpen * durationMs);
      }),
    );
  });
});

describe('sealNettingWindow', () => {
  it('is independent of how payments were spread over shards and in which order parts and legs arrive', () => {
    fc.assert(
      fc.property(
        paymentsArbitrary('EUR'),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.infiniteStream(fc.nat()),
        (payments, shards, spreadA, spreadB, noise) => {
          const seal = (spread: readonly number[]) => {
            const parts = partition(payments, spread, shards).map((group, shard) => buildNettingWindowPart(shard, group, noFx));
            // Arrival order: parts reversed or rotated, legs within each part reversed.
            const rotation = noise.next().value % shards;
            const arrived = [...parts.slice(rotation), ...parts.slice(0, rotation)].map((part) => ({ ...part, legs: [...part.legs].reverse() }));
            return sealNettingWindow({ ...header, shards }, arrived).sealed;
          };
          const first = seal(spreadA);
          const second = seal(spreadB);
          expect(second.canonical).toBe(first.canonical);
          expect(second.digest).toBe(first.digest);
          // And it is exactly the batch of all legs in one part (no shards at all).
          const single = sealNettingWindow({ ...header, shards: 1 }, [buildNettingWindowPart(0, payments, noFx)]).sealed;
          expect(single.canonical).toBe(first.canonical);
          expect(first.batch.batch_id).toBe(nettingWindowBatchId('EUR-EUR', 'eu', header.startMs));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('keeps every leg exactly once and nets to zero per currency', () => {
    fc.assert(
      fc.property(paymentsArbitrary('EUR'), fc.integer({ min: 1, max: 6 }), fc.array(fc.nat(), { maxLength: 40 }), (payments, shards, spread) => {
        const parts = partition(payments, spread, shards).map((group, shard) => buildNettingWindowPart(shard, group, noFx));
        const { sealed } = sealNettingWindow({ ...header, shards }, parts);
        expect(sealed.batch.legs.map((leg) => leg.uetr).sort()).toEqual(payments.map((payment) => payment.uetr).sort());
        const sum = sealed.batch.positions.reduce((total, position) => total + BigInt(position.net_minor), 0n);
        expect(sum).toBe(0n);
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a window with a part missing or repeated, or a payment in two parts', () => {
    const legFor = (uetr: string): SettlementLeg => ({ uetr, instructing_agent: bics[0], payer: bics[0], payee: bics[1], currency: 'EUR', amount_minor: '100', debtor_country: 'DE', residency_exception: null });
    const uetr = '0a000000-0000-4000-8000-000000000001';
    const part = (shard: number, legs: SettlementLeg[]): NettingWindowPart => ({ shard, legs, fxResidue: null });
    expect(() => sealNettingWindow({ ...header, shards: 2 }, [part(0, [legFor(uetr)])])).toThrow(/needs parts 0..1/);
    expect(() => sealNettingWindow({ ...header, shards: 2 }, [part(0, [legFor(uetr)]), part(0, [])])).toThrow(/needs parts 0..1/);
    expect(() => sealNettingWindow({ ...header, shards: 2 }, [part(0, [legFor(uetr)]), part(1, [legFor(uetr)])])).toThrow(/shards 0 and 1/);
  });
});

describe('exact FX rounding and the window residue', () => {
  const fxCurrencies = ['JPY', 'USD', 'EUR', 'BHD', 'CLF', 'GBP'] as const;

  it('payout + residue reconstructs the exact value, the payout never exceeds it, and the residue is below one minor unit', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 15n }),
        fc.constantFrom(...fxCurrencies),
        fc.constantFrom(...fxCurrencies),
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        fc.integer({ min: 0, max: 12 }),
        (sourceMinor, source, target, rateScaled, scale) => {
          const { payoutMinor, residue } = convertPayout(sourceMinor, source, target, rateScaled, scale);
          const shift = currencyExponent(target)! - currencyExponent(source)!;
          // exact value × 10^(scale + max(−shift, 0)) = source × rate × 10^max(shift, 0)
          const exactNumerator = sourceMinor * rateScaled * 10n ** BigInt(Math.max(shift, 0));
          const denominator = 10n ** BigInt(scale + Math.max(-shift, 0));
          expect(residue.denominator).toBe(denominator);
          expect(payoutMinor * denominator + residue.numerator).toBe(exactNumerator);
          expect(residue.numerator >= 0n && residue.numerator < denominator).toBe(true);
          expect(exactMinorAtScale(residue)).toEqual({ units: residue.numerator.toString(), scale: scale + Math.max(-shift, 0) });
        },
      ),
    );
  });

  it('a window books exactly what its payouts rounded away: Σ exact = Σ payouts + residue, over any split into shards', () => {
    const rateScaled = 15_137_000_123n; // 151.37000123 JPY per USD at scale 8
    const corridor = { fx_provider: provider, fx_rate_scaled: rateScaled, fx_rate_scale: 8 };
    fc.assert(
      fc.property(paymentsArbitrary('USD', 30), fc.integer({ min: 1, max: 5 }), fc.array(fc.nat(), { maxLength: 30 }), (sameCurrency, shards, spread) => {
        const payments = sameCurrency.map((payment) => ({ ...payment, target_currency: 'JPY' }));
        const parts = partition(payments, spread, shards).map((group, shard) => buildNettingWindowPart(shard, group, corridor));
        const { sealed, fxResidue } = sealNettingWindow({ ...header, corridor: 'USD-JPY', shards }, parts);
        const denominator = 10n ** 10n; // 10^(scale 8 + 2): JPY has 2 fewer decimals than USD
        const exactTotal = payments.reduce((sum, payment) => sum + payment.amount_minor * rateScaled, 0n);
        const paidTotal = sealed.batch.legs.filter((leg) => leg.currency === 'JPY').reduce((sum, leg) => sum + BigInt(leg.amount_minor), 0n);
        expect(fxResidue).not.toBeNull();
        const residue = fxResidue!;
        expect(residue.denominator).toBe(denominator);
        expect(paidTotal * denominator + residue.numerator).toBe(exactTotal);
        // Each payment leaves less than one yen, so the window's residue is below one yen per payment.
        expect(residue.numerator < BigInt(payments.length) * denominator).toBe(true);
        expect(sealed.batch.positions.find((position) => position.participant === provider && position.currency === 'JPY')!.net_minor).toBe((-paidTotal).toString());
      }),
      { numRuns: 60 },
    );
  });

  it('adds exact amounts exactly, in any order, over any powers of ten', () => {
    const exact = fc.record({ numerator: fc.bigInt({ min: 0n, max: 10n ** 20n }), denominator: fc.integer({ min: 0, max: 18 }).map((power) => 10n ** BigInt(power)) });
    fc.assert(
      fc.property(fc.array(exact, { maxLength: 20 }), (amounts: ExactMinor[]) => {
        const forward = sumExactMinor(amounts);
        const backward = sumExactMinor([...amounts].reverse());
        expect(forward.numerator * backward.denominator).toBe(backward.numerator * forward.denominator);
        // The common denominator is the largest one (powers of ten divide each other), so the form stays a finite decimal.
        const largest = amounts.reduce((max, amount) => (amount.denominator > max ? amount.denominator : max), 1n);
        expect(forward.denominator).toBe(largest);
        const { wholeMinor, remainder } = splitExactMinor(forward);
        expect(wholeMinor * forward.denominator + remainder.numerator).toBe(forward.numerator);
        expect(addExactMinor(forward, { numerator: 0n, denominator: 1n })).toEqual(forward);
      }),
    );
  });
});
