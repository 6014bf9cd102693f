/**
 * Double-entry journal for a settlement batch. Each leg becomes two entries in the leg's
 * currency: entry 0 debits the payer's settlement account, entry 1 credits the payee's.
 * Accounts are `settlement:<BIC>:<CCY>`. Stored, a leg row carries both entries (its payer and
 * payee); the journal_entries view spells them out (regional/db/schema.ts, migrations/0005_*).
 *
 * `assertJournalBalanced` runs before anything is written: debits equal credits per currency,
 * and each settlement account's movement (credits − debits) equals the batch's net position for
 * that participant and currency. The batch was verified already, so a failure here is a bug in
 * this code, and it must stop the commit rather than book an unbalanced ledger.
 */
import type { NetPosition, SettlementLeg } from '../../core/settlement-batch.ts';

export interface JournalEntry {
  legIndex: number;
  entryIndex: 0 | 1;
  account: string;
  currency: string;
  debitMinor: bigint;
  creditMinor: bigint;
}

export function settlementAccount(participant: string, currency: string): string {
  return `settlement:${participant}:${currency}`;
}

export function journalEntriesForLegs(legs: readonly SettlementLeg[]): JournalEntry[] {
  const entries: JournalEntry[] = [];
  legs.forEach((leg, legIndex) => {
    const amountMinor = BigInt(leg.amount_minor);
    if (amountMinor <= 0n) throw new Error(`journalEntriesForLegs: leg ${legIndex} (${leg.uetr}) has non-positive amount ${leg.amount_minor}`);
    entries.push({ legIndex, entryIndex: 0, account: settlementAccount(leg.payer, leg.currency), currency: leg.currency, debitMinor: amountMinor, creditMinor: 0n });
    entries.push({ legIndex, entryIndex: 1, account: settlementAccount(leg.payee, leg.currency), currency: leg.currency, debitMinor: 0n, creditMinor: amountMinor });
  });
  return entries;
}

export function assertJournalBalanced(entries: readonly JournalEntry[], positions: readonly NetPosition[], batchId: string): void {
  const debitsByCurrency = new Map<string, bigint>();
  const creditsByCurrency = new Map<string, bigint>();
  const movementByAccount = new Map<string, bigint>();
  for (const entry of entries) {
    debitsByCurrency.set(entry.currency, (debitsByCurrency.get(entry.currency) ?? 0n) + entry.debitMinor);
    creditsByCurrency.set(entry.currency, (creditsByCurrency.get(entry.currency) ?? 0n) + entry.creditMinor);
    movementByAccount.set(entry.account, (movementByAccount.get(entry.account) ?? 0n) + entry.creditMinor - entry.debitMinor);
  }
  for (const [currency, debitsMinor] of debitsByCurrency) {
    const creditsMinor = creditsByCurrency.get(currency) ?? 0n;
    if (debitsMinor !== creditsMinor) {
      throw new Error(`assertJournalBalanced: batch ${batchId}: ${currency} debits ${debitsMinor} ≠ credits ${creditsMinor}`);
    }
  }
  const positionAccounts = new Set<string>();
  for (const position of positions) {
    const account = settlementAccount(position.participant, position.currency);
    positionAccounts.add(account);
    const movementMinor = movementByAccount.get(account) ?? 0n;
    if (movementMinor !== BigInt(position.net_minor)) {
      throw new Error(`assertJournalBalanced: batch ${batchId}: ${account} moves ${movementMinor}, net position says ${position.net_minor}`);
    }
  }
  for (const account of movementByAccount.keys()) {
    if (!positionAccounts.has(account)) throw new Error(`assertJournalBalanced: batch ${batchId}: ${account} is journalled but has no net position`);
  }
}
