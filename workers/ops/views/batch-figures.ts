/**
 * What an operator reads off a sealed settlement batch: how many payments and legs it carries, and
 * per currency the gross (every leg's amount), the net (what actually moves: the sum of the positive
 * net positions) and the netting efficiency 1 − net / gross. Pure; money stays bigint minor units and
 * leaves as integer strings; the ratio is a decimal string, never a float.
 *
 * Per currency because an FX corridor's batch holds two currencies and minor units of different
 * currencies do not add.
 */
import type { SettlementBatch } from '../../../core/settlement-batch.ts';

/** Fraction digits of the efficiency string, rounded half-even once. */
export const efficiencyFractionDigits = 6;

export interface CurrencyFigures {
  currency: string;
  gross_minor: string;
  net_minor: string;
  /** `1 − net / gross` with `efficiencyFractionDigits` digits, or null when gross is 0. */
  netting_efficiency: string | null;
}

export interface BatchFigures {
  payment_count: number;
  leg_count: number;
  currencies: CurrencyFigures[];
}

/** The batch's figures; throws on a batch that breaks an invariant (positions not summing to zero: a corrupted batch, not input). */
export function batchFigures(batch: Pick<SettlementBatch, 'legs' | 'positions'>): BatchFigures {
  const gross = new Map<string, bigint>();
  const payments = new Set<string>();
  for (const leg of batch.legs) {
    gross.set(leg.currency, (gross.get(leg.currency) ?? 0n) + BigInt(leg.amount_minor));
    payments.add(`${leg.instructing_agent} ${leg.uetr}`);
  }
  const net = new Map<string, bigint>();
  const sums = new Map<string, bigint>();
  for (const position of batch.positions) {
    const amount = BigInt(position.net_minor);
    sums.set(position.currency, (sums.get(position.currency) ?? 0n) + amount);
    if (amount > 0n) net.set(position.currency, (net.get(position.currency) ?? 0n) + amount);
  }
  for (const [currency, sum] of sums) {
    if (sum !== 0n) throw new Error(`batch positions in ${currency} sum to ${sum}, not zero`);
  }
  const currencies = [...new Set([...gross.keys(), ...sums.keys()])].sort();
  return {
    payment_count: payments.size,
    leg_count: batch.legs.length,
    currencies: currencies.map((currency) => {
      const grossMinor = gross.get(currency) ?? 0n;
      const netMinor = net.get(currency) ?? 0n;
      return { currency, gross_minor: String(grossMinor), net_minor: String(netMinor), netting_efficiency: nettingEfficiency(grossMinor, netMinor) };
    }),
  };
}

/** `1 − net / gross` as a decimal string rounded half-even to `efficiencyFractionDigits`; null when gross is 0. */
export function nettingEfficiency(grossMinor: bigint, netMinor: bigint): string | null {
  if (grossMinor === 0n) return null;
  if (grossMinor < 0n || netMinor < 0n || netMinor > grossMinor) throw new Error(`netting efficiency: net ${netMinor} must lie within 0 … gross ${grossMinor}`);
  const scale = 10n ** BigInt(efficiencyFractionDigits);
  const numerator = (grossMinor - netMinor) * scale;
  let scaled = numerator / grossMinor;
  const twiceRemainder = (numerator % grossMinor) * 2n;
  if (twiceRemainder > grossMinor || (twiceRemainder === grossMinor && scaled % 2n === 1n)) scaled += 1n;
  const whole = scaled / scale;
  const fraction = String(scaled % scale).padStart(efficiencyFractionDigits, '0');
  return `${whole}.${fraction}`;
}
