/**
 * The witness's record of the latest checkpoint it cosigned per origin (table witness_checkpoints,
 * ./schema.ts). Each write is one statement, atomic on its own, so no transaction spans the
 * check and the write and PGlite's single connection is never held:
 *   first checkpoint   INSERT … ON CONFLICT DO NOTHING (a concurrent first insert wins, the other sees 0 rows)
 *   later ones         UPDATE … WHERE tree_size = <old> AND root_hash = <old root> (compare-and-set)
 * A write that matches no row lost a race and reports the size now recorded.
 */
import { and, eq } from 'drizzle-orm';
import { err, ok, type Result } from '../../core/result.ts';
import type { RegionalQueryable } from '../db/client.ts';
import { witnessCheckpoints } from './schema.ts';

export interface WitnessedCheckpoint {
  treeSize: number;
  /** Base64 root hash. */
  rootHash: string;
  checkpoint: string;
  updatedAt: Date;
}

export interface WitnessStore {
  latest(witness: string, origin: string): Promise<WitnessedCheckpoint | undefined>;
  advance(witness: string, origin: string, change: { from: WitnessedCheckpoint | undefined; to: WitnessedCheckpoint }): Promise<Result<true, { kind: 'lost-race'; latestSize: number }>>;
}

export function witnessStore(db: RegionalQueryable): WitnessStore {
  const row = (witness: string, origin: string) => and(eq(witnessCheckpoints.witness, witness), eq(witnessCheckpoints.origin, origin));
  async function latest(witness: string, origin: string): Promise<WitnessedCheckpoint | undefined> {
    const rows = await db
      .select({ treeSize: witnessCheckpoints.treeSize, rootHash: witnessCheckpoints.rootHash, checkpoint: witnessCheckpoints.checkpoint, updatedAt: witnessCheckpoints.updatedAt })
      .from(witnessCheckpoints)
      .where(row(witness, origin))
      .limit(1);
    return rows[0];
  }
  return {
    latest,
    async advance(witness, origin, { from, to }) {
      const written =
        from === undefined
          ? await db.insert(witnessCheckpoints).values({ witness, origin, ...to }).onConflictDoNothing().returning({ treeSize: witnessCheckpoints.treeSize })
          : await db
              .update(witnessCheckpoints)
              .set(to)
              .where(and(row(witness, origin), eq(witnessCheckpoints.treeSize, from.treeSize), eq(witnessCheckpoints.rootHash, from.rootHash)))
              .returning({ treeSize: witnessCheckpoints.treeSize });
      if (written.length === 1) return ok(true);
      return err({ kind: 'lost-race', latestSize: (await latest(witness, origin))?.treeSize ?? 0 });
    },
  };
}
