/**
 * Reads committed settlements back out of the ledger, by digest (idempotency, read-back after an
 * ambiguous COMMIT) or by batch id (the auditor API). Amounts leave as integer strings.
 *
 * Every read names the jurisdiction: in production one CockroachDB cluster holds every
 * jurisdiction's rows (REGIONAL BY ROW, migrations/cockroachdb/multi-region.sql), so a read that
 * filtered by batch id or digest alone would let us-1 serve eu's settlements. Children (legs,
 * positions) are read only by the digest of a batch row found under the jurisdiction.
 */
import { and, asc, eq } from 'drizzle-orm';
import type { NetPosition, SettlementLeg } from '../../core/settlement-batch.ts';
import type { RegionalQueryable } from '../db/client.ts';
import { netPositions, settlementBatches, settlementLegs } from '../db/schema.ts';

export interface StoredSettlement {
  batchId: string;
  digest: string;
  corridor: string;
  jurisdiction: string;
  region: string;
  legCount: number;
  canonicalJson: string;
  logIndex: number;
  receipt: string;
  committedAt: Date;
}

const storedSettlementColumns = {
  batchId: settlementBatches.batchId,
  digest: settlementBatches.digest,
  corridor: settlementBatches.corridor,
  jurisdiction: settlementBatches.jurisdiction,
  region: settlementBatches.region,
  legCount: settlementBatches.legCount,
  canonicalJson: settlementBatches.canonicalJson,
  logIndex: settlementBatches.logIndex,
  receipt: settlementBatches.receipt,
  committedAt: settlementBatches.committedAt,
};

export async function findSettlementByDigest(db: RegionalQueryable, jurisdiction: string, digest: string): Promise<StoredSettlement | undefined> {
  const rows = await db
    .select(storedSettlementColumns)
    .from(settlementBatches)
    .where(and(eq(settlementBatches.jurisdiction, jurisdiction), eq(settlementBatches.digest, digest)))
    .limit(1);
  return rows[0];
}

export async function findSettlementByBatchId(db: RegionalQueryable, jurisdiction: string, batchId: string): Promise<StoredSettlement | undefined> {
  const rows = await db
    .select(storedSettlementColumns)
    .from(settlementBatches)
    .where(and(eq(settlementBatches.jurisdiction, jurisdiction), eq(settlementBatches.batchId, batchId)))
    .limit(1);
  return rows[0];
}

/** Legs of a batch row already found under its jurisdiction (callers pass `stored.digest`). */
/**
 * A leg as the settlement_legs table holds it: the payment and money fields. The leg's residency
 * fields (debtor_country, residency_exception) live in the stored canonical JSON, which the commit
 * compares byte for byte with the delivered batch (assert-stored.ts).
 */
export type StoredLeg = Omit<SettlementLeg, 'debtor_country' | 'residency_exception'>;

export async function readStoredLegs(db: RegionalQueryable, digest: string): Promise<StoredLeg[]> {
  const rows = await db
    .select({
      uetr: settlementLegs.uetr,
      instructingAgent: settlementLegs.instructingAgent,
      payer: settlementLegs.payer,
      payee: settlementLegs.payee,
      currency: settlementLegs.currency,
      amountMinor: settlementLegs.amountMinor,
    })
    .from(settlementLegs)
    .where(eq(settlementLegs.batchDigest, digest))
    .orderBy(asc(settlementLegs.legIndex));
  return rows.map((row) => ({
    uetr: row.uetr,
    instructing_agent: row.instructingAgent,
    payer: row.payer,
    payee: row.payee,
    currency: row.currency,
    amount_minor: row.amountMinor.toString(),
  }));
}

/** Positions of a batch row already found under its jurisdiction. */
export async function readStoredPositions(db: RegionalQueryable, digest: string): Promise<NetPosition[]> {
  const rows = await db
    .select({ participant: netPositions.participant, currency: netPositions.currency, netMinor: netPositions.netMinor })
    .from(netPositions)
    .where(eq(netPositions.batchDigest, digest))
    .orderBy(asc(netPositions.positionIndex));
  return rows.map((row) => ({ participant: row.participant, currency: row.currency, net_minor: row.netMinor.toString() }));
}
