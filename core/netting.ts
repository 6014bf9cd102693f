import type { NetPosition, SettlementLeg } from './settlement-leg.ts';

/*
 * Multilateral netting over a window's legs. Pure and deterministic: the same multiset of legs
 * gives the same positions in the same order, whatever order the legs arrived in, because the
 * batch digest is the settlement's identity and two regional backends must agree on it.
 * Ordering is plain UTF-16 code-unit comparison (never localeCompare, whose result depends on
 * the runtime's ICU data and could differ between workerd and Node).
 */

const positiveMinorPattern = /^[1-9][0-9]*$/;

function compareText(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Numeric order of positive integer strings without leading zeros: shorter is smaller. */
function compareMinor(left: string, right: string): number {
  return left.length !== right.length ? left.length - right.length : compareText(left, right);
}

/**
 * Canonical leg order: (uetr, instructing_agent, currency, payer, payee), then amount so the order
 * is total. A payment is (instructing_agent, uetr), so its legs stay adjacent.
 */
export function compareLegs(left: SettlementLeg, right: SettlementLeg): number {
  return (
    compareText(left.uetr, right.uetr) ||
    compareText(left.instructing_agent, right.instructing_agent) ||
    compareText(left.currency, right.currency) ||
    compareText(left.payer, right.payer) ||
    compareText(left.payee, right.payee) ||
    compareMinor(left.amount_minor, right.amount_minor)
  );
}

/** A sorted copy; the input is left alone (callers often hold it in DO storage order). */
export function sortLegs(legs: readonly SettlementLeg[]): SettlementLeg[] {
  return [...legs].sort(compareLegs);
}

/** Canonical position order: (currency, participant). */
export function comparePositions(left: NetPosition, right: NetPosition): number {
  return compareText(left.currency, right.currency) || compareText(left.participant, right.participant);
}

function legAmountMinor(leg: SettlementLeg): bigint {
  // BigInt() also accepts " 12", "0x1f" and "1_0"-free forms we never emit; an amount that is not
  // a canonical positive integer here means a bug upstream, not bad input, so crash.
  if (!positiveMinorPattern.test(leg.amount_minor)) {
    throw new Error(`netPositions: leg ${leg.instructing_agent}/${leg.uetr}/${leg.currency} has non-canonical amount_minor ${JSON.stringify(leg.amount_minor)}`);
  }
  return BigInt(leg.amount_minor);
}

/** One participant's running net in one currency; mutated in place so each leg costs no map write. */
interface NetCell {
  netMinor: bigint;
}

function cellOf(byParticipant: Map<string, NetCell>, participant: string): NetCell {
  let cell = byParticipant.get(participant);
  if (cell === undefined) {
    cell = { netMinor: 0n };
    byParticipant.set(participant, cell);
  }
  return cell;
}

/**
 * Net position per participant per currency: payer −amount, payee +amount. Every participant
 * that appears in a leg keeps a row, even at zero, so an auditor can see it took part.
 * Throws if a currency does not sum to exactly zero — impossible by construction, so a failure
 * is a programmer error that must stop the close rather than settle an unbalanced batch.
 *
 * This is the hot loop of a window close (bench/netting.ts: 1M legs): one amount parse, one
 * currency lookup only when the currency changes, and two cell updates per leg.
 */
export function netPositions(legs: readonly SettlementLeg[]): NetPosition[] {
  const book = new Map<string, Map<string, NetCell>>();
  let currentCurrency: string | undefined;
  let byParticipant = new Map<string, NetCell>();
  for (let index = 0; index < legs.length; index++) {
    const leg = legs[index]!;
    const amountMinor = legAmountMinor(leg);
    if (leg.currency !== currentCurrency) {
      currentCurrency = leg.currency;
      const known = book.get(currentCurrency);
      if (known === undefined) book.set(currentCurrency, (byParticipant = new Map()));
      else byParticipant = known;
    }
    cellOf(byParticipant, leg.payer).netMinor -= amountMinor;
    cellOf(byParticipant, leg.payee).netMinor += amountMinor;
  }
  const positions: NetPosition[] = [];
  for (const [currency, cells] of book) {
    let sumMinor = 0n;
    for (const [participant, cell] of cells) {
      sumMinor += cell.netMinor;
      positions.push({ participant, currency, net_minor: cell.netMinor.toString() });
    }
    if (sumMinor !== 0n) throw new Error(`netPositions: ${currency} positions sum to ${sumMinor}, not 0`);
  }
  return positions.sort(comparePositions);
}

/** Sum of net positions per currency; used to check batches received from elsewhere. */
export function positionSums(positions: readonly NetPosition[]): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  for (const position of positions) {
    sums.set(position.currency, (sums.get(position.currency) ?? 0n) + BigInt(position.net_minor));
  }
  return sums;
}
