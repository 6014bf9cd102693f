/**
 * Reads committed settlements back out of the ledger, by digest (idempotency, read-back after an
 * ambiguous COMMIT) or by batch id (the auditor API). Amounts leave as integer strings.
 */
import { asc, eq } from 'drizzle-orm';
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

export async function findSettlementByDigest(db: RegionalQueryable, digest: string): Promise<StoredSettlement | undefined> {
  const rows = await db.select(storedSettlementColumns).from(settlementBatches).where(eq(settlementBatches.digest, digest)).limit(1);
  return rows[0];
}

export async function findSettlementByBatchId(db: RegionalQueryable, batchId: string): Promise<StoredSettlement | undefined> {
  const rows = await db.select(storedSettlementColumns).from(settlementBatches).where(eq(settlementBatches.batchId, batchId)).limit(1);
  return rows[0];
}

export async function readStoredLegs(db: RegionalQueryable, digest: string): Promise<SettlementLeg[]> {
  const rows = await db
    .select({ uetr: settlementLegs.uetr, payer: settlementLegs.payer, payee: settlementLegs.payee, currency: settlementLegs.currency, amountMinor: settlementLegs.amountMinor })
    .from(settlementLegs)
    .where(eq(settlementLegs.batchDigest, digest))
    .orderBy(asc(settlementLegs.legIndex));
  return rows.map((row) => ({ uetr: row.uetr, payer: row.payer, payee: row.payee, currency: row.currency, amount_minor: row.amountMinor.toString() }));
}

export async function readStoredPositions(db: RegionalQueryable, digest: string): Promise<NetPosition[]> {
  const rows = await db
    .select({ participant: netPositions.participant, currency: netPositions.currency, netMinor: netPositions.netMinor })
    .from(netPositions)
    .where(eq(netPositions.batchDigest, digest))
    .orderBy(asc(netPositions.positionIndex));
  return rows.map((row) => ({ participant: row.participant, currency: row.currency, net_minor: row.netMinor.toString() }));
}
