/**
 * Read-back assertions: what the ledger holds for a digest is exactly the batch we were given.
 * A mismatch means corrupted storage or a bug (the digest is a SHA-256 of the canonical bytes), so
 * these throw and the delivery fails loudly rather than returning a receipt for different legs.
 */
import type { SettlementBatch } from '../../core/settlement-batch.ts';
import type { StoredLeg } from './read-settlement.ts';
import type { StoredSettlement } from './read-settlement.ts';

export function assertStoredSettlementMatches(stored: StoredSettlement, storedLegs: readonly StoredLeg[], batch: SettlementBatch, canonical: string): void {
  const context = `batch ${batch.batch_id} digest ${stored.digest}`;
  if (stored.canonicalJson !== canonical) throw new Error(`assertStoredSettlementMatches: ${context}: stored canonical JSON differs from the delivered batch`);
  if (stored.legCount !== batch.legs.length || storedLegs.length !== batch.legs.length) {
    throw new Error(`assertStoredSettlementMatches: ${context}: ${storedLegs.length} stored legs (leg_count ${stored.legCount}), batch has ${batch.legs.length}`);
  }
  batch.legs.forEach((leg, legIndex) => {
    const storedLeg = storedLegs[legIndex]!;
    const same =
      storedLeg.uetr === leg.uetr &&
      storedLeg.instructing_agent === leg.instructing_agent &&
      storedLeg.payer === leg.payer &&
      storedLeg.payee === leg.payee &&
      storedLeg.currency === leg.currency &&
      storedLeg.amount_minor === leg.amount_minor;
    if (!same) throw new Error(`assertStoredSettlementMatches: ${context}: leg ${legIndex} stored as ${JSON.stringify(storedLeg)}, batch has ${JSON.stringify(leg)}`);
  });
}
