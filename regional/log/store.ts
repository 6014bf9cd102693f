/**
 * Reads of one jurisdiction's log from `log_leaves` (layout: primary key (jurisdiction,
 * leaf_index); leaf_hash = lowercase hex SHA-256(0x00 ‖ leaf); leaf = the exact leaf bytes as
 * text). Every read is a primary-key point or range lookup, outside any transaction: committed
 * leaves never change, and the log is dense, so a snapshot that contains leaf n contains 0..n−1
 * (leaf n's SERIALIZABLE transaction read leaf n−1 before it committed).
 *
 * A range read that comes back with a gap or an unexpected index is a broken invariant (a forked
 * or truncated log), and throws: proofs must never be computed over a log with holes.
 */
import { and, asc, eq, gte, lt } from 'drizzle-orm';
import { hexToBytes } from '@noble/hashes/utils.js';
import type { RegionalQueryable } from '../db/client.ts';
import { logLeaves } from '../db/schema.ts';
import { nextLeafIndex } from './append.ts';

export interface LogLeafStore {
  readonly jurisdiction: string;
  /** Committed leaves: the index of the tail + 1 (indexes are dense from 0). */
  treeSize(): Promise<number>;
  /** Leaf hashes [start, end), exactly end − start of them, in index order. */
  leafHashes(start: number, end: number): Promise<Uint8Array[]>;
  /** The stored leaf and its stored hash, or undefined beyond the tail. */
  leaf(index: number): Promise<{ leaf: string; leafHash: string } | undefined>;
}

export function logLeafStore(db: RegionalQueryable, jurisdiction: string): LogLeafStore {
  return {
    jurisdiction,
    treeSize: () => nextLeafIndex(db, jurisdiction),
    async leafHashes(start, end) {
      const rows = await db
        .select({ leafIndex: logLeaves.leafIndex, leafHash: logLeaves.leafHash })
        .from(logLeaves)
        .where(and(eq(logLeaves.jurisdiction, jurisdiction), gte(logLeaves.leafIndex, start), lt(logLeaves.leafIndex, end)))
        .orderBy(asc(logLeaves.leafIndex));
      if (rows.length !== end - start || rows.some((row, offset) => row.leafIndex !== start + offset)) {
        throw new Error(`log ${jurisdiction}: leaves [${start}, ${end}) read back ${rows.length} rows with gaps or foreign indexes; the log is not dense`);
      }
      return rows.map((row) => hexToBytes(row.leafHash));
    },
    async leaf(index) {
      const rows = await db
        .select({ leaf: logLeaves.leaf, leafHash: logLeaves.leafHash })
        .from(logLeaves)
        .where(and(eq(logLeaves.jurisdiction, jurisdiction), eq(logLeaves.leafIndex, index)))
        .limit(1);
      return rows[0];
    },
  };
}
