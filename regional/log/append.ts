/**
 * Appends to a jurisdiction's log inside the settlement transaction. The next index is the
 * current tail + 1 (indexes are dense from 0, so that equals the leaf count). Two concurrent
 * SERIALIZABLE transactions both read the same tail; the first to commit wins and the other gets
 * 40001 (or, racing on the (jurisdiction, leaf_index) key, 23505) and retries with the new tail —
 * so the log never forks. Under READ COMMITTED this read-then-insert would not be safe.
 */
import { desc, eq } from 'drizzle-orm';
import type { RegionalQueryable } from '../db/client.ts';
import { logLeaves } from '../db/schema.ts';
import type { LogLeaf } from './leaf.ts';

export async function nextLeafIndex(tx: RegionalQueryable, jurisdiction: string): Promise<number> {
  const tail = await tx
    .select({ leafIndex: logLeaves.leafIndex })
    .from(logLeaves)
    .where(eq(logLeaves.jurisdiction, jurisdiction))
    .orderBy(desc(logLeaves.leafIndex))
    .limit(1);
  const nextIndex = tail[0] === undefined ? 0 : tail[0].leafIndex + 1;
  if (!Number.isSafeInteger(nextIndex)) throw new Error(`nextLeafIndex: ${jurisdiction} log index ${nextIndex} is not a safe integer`);
  return nextIndex;
}

export async function appendLogLeaf(tx: RegionalQueryable, entry: { jurisdiction: string; leafIndex: number; batchDigest: string; logLeaf: LogLeaf }): Promise<void> {
  await tx.insert(logLeaves).values({
    jurisdiction: entry.jurisdiction,
    leafIndex: entry.leafIndex,
    leafHash: entry.logLeaf.leafHash,
    batchDigest: entry.batchDigest,
    leaf: entry.logLeaf.leaf,
  });
}
