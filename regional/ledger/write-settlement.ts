/**
 * Writes one settlement into the ledger tables, inside the caller's transaction. Rows go in
 * chunks: a 200,000-leg batch (core's batchLegsMax) would otherwise exceed PostgreSQL's 65,535
 * bind parameters per statement.
 *
 * Table layout (regional/db/schema.ts): settlement_batches (one row, keyed by digest), then
 * settlement_legs (leg_index = position in the canonical leg order), journal_entries (two per
 * leg), net_positions (position_index = canonical position order). All children point at the
 * batch by digest.
 */
import type { SettlementBatch } from '../../core/settlement-batch.ts';
import type { RegionalQueryable } from '../db/client.ts';
import { journalEntries, netPositions, settlementBatches, settlementLegs } from '../db/schema.ts';
import type { JournalEntry } from './journal.ts';

/** Rows per INSERT; 1,000 journal rows × 7 columns stays far below 65,535 parameters. */
export const rowsPerInsertMax = 1_000;

export interface SettlementRecord {
  batch: SettlementBatch;
  canonical: string;
  digest: string;
  region: string;
  logIndex: number;
  receipt: string;
  committedAt: Date;
  journal: readonly JournalEntry[];
}

export async function insertSettlement(tx: RegionalQueryable, record: SettlementRecord): Promise<void> {
  const { batch, digest } = record;
  await tx.insert(settlementBatches).values({
    batchId: batch.batch_id,
    digest,
    corridor: batch.corridor,
    jurisdiction: batch.jurisdiction,
    region: record.region,
    windowStartsAt: batch.window.starts_at,
    windowEndsAt: batch.window.ends_at,
    legCount: batch.legs.length,
    canonicalJson: record.canonical,
    logIndex: record.logIndex,
    receipt: record.receipt,
    committedAt: record.committedAt,
  });
  const legRows = batch.legs.map((leg, legIndex) => ({
    batchDigest: digest,
    legIndex,
    uetr: leg.uetr,
    instructingAgent: leg.instructing_agent,
    payer: leg.payer,
    payee: leg.payee,
    currency: leg.currency,
    amountMinor: BigInt(leg.amount_minor),
  }));
  for (const chunk of chunks(legRows)) await tx.insert(settlementLegs).values(chunk);
  const journalRows = record.journal.map((entry) => ({ batchDigest: digest, ...entry }));
  for (const chunk of chunks(journalRows)) await tx.insert(journalEntries).values(chunk);
  const positionRows = batch.positions.map((position, positionIndex) => ({
    batchDigest: digest,
    positionIndex,
    participant: position.participant,
    currency: position.currency,
    netMinor: BigInt(position.net_minor),
  }));
  for (const chunk of chunks(positionRows)) await tx.insert(netPositions).values(chunk);
}

function* chunks<T>(rows: readonly T[]): Generator<T[]> {
  for (let start = 0; start < rows.length; start += rowsPerInsertMax) yield rows.slice(start, start + rowsPerInsertMax);
}
