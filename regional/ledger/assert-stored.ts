/**
 * Read-back assertions: what the ledger holds for a digest is exactly the batch we were given.
 * A mismatch means corrupted storage or a bug (the digest is a SHA-256 of the canonical bytes), so
 * these throw and the delivery fails loudly rather than returning a receipt for different legs.
 * The legs and positions are compared by aggregate (./ledger-summary.ts), not row by row.
 */
import type { SettlementBatch } from '../../core/settlement-batch.ts';
import { assertLedgerSummaryMatches, type LedgerSummary } from './ledger-summary.ts';
import type { StoredSettlement } from './read-settlement.ts';

export function assertStoredSettlementMatches(stored: StoredSettlement, storedSummary: LedgerSummary, batch: SettlementBatch, canonical: string, expectedSummary: LedgerSummary): void {
  const context = `batch ${batch.batch_id} digest ${stored.digest}`;
  if (stored.canonicalJson !== canonical) throw new Error(`assertStoredSettlementMatches: ${context}: stored canonical JSON differs from the delivered batch`);
  if (stored.legCount !== batch.legs.length) throw new Error(`assertStoredSettlementMatches: ${context}: leg_count ${stored.legCount}, batch has ${batch.legs.length} legs`);
  assertLedgerSummaryMatches(storedSummary, expectedSummary, context);
}
