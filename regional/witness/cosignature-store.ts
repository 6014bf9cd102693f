/**
 * The cosignatures this jurisdiction's log collected from its witnesses (table
 * checkpoint_cosignatures, ./schema.ts), read back by every backend of the jurisdiction:
 *   record            INSERT … ON CONFLICT DO NOTHING, after the line verified under the witness's key
 *   forCheckpoint     the lines for one (origin, size, root), ordered by witness name
 *   newestWitnessed   the largest (size, root) of the origin with a quorum of distinct witnesses
 *   largestCosigned   the largest size a witness cosigned for the origin (where to prove from next)
 * One statement each, no transaction: PGlite's single connection is never held across a fetch.
 *
 * Threat: before this table the cosignatures lived in the process, so a restarted backend served
 * bare checkpoints and an export right after a deploy carried no witness evidence at all.
 */
import { and, desc, eq, max, sql } from 'drizzle-orm';
import type { RegionalQueryable } from '../db/client.ts';
import { checkpointCosignatures } from './schema.ts';

export interface CosignedCheckpoint {
  origin: string;
  treeSize: number;
  /** Base64 root hash, as the checkpoint's third line spells it. */
  rootHash: string;
  /** The checkpoint note as submitted to the witness (the log's own signature line(s) only). */
  note: string;
}

export interface CollectedCosignature {
  witness: string;
  keyIdHex: string;
  /** The signature line, without its newline. */
  line: string;
}

export interface CosignatureStore {
  record(checkpoint: CosignedCheckpoint, cosignature: CollectedCosignature, at: Date): Promise<void>;
  forCheckpoint(origin: string, treeSize: number, rootHash: string): Promise<CollectedCosignature[]>;
  newestWitnessed(origin: string, quorum: number): Promise<{ checkpoint: CosignedCheckpoint; cosignatures: CollectedCosignature[] } | undefined>;
  largestCosigned(origin: string, witness: string): Promise<number>;
}

export function cosignatureStore(db: RegionalQueryable): CosignatureStore {
  const table = checkpointCosignatures;
  const ofCheckpoint = (origin: string, treeSize: number, rootHash: string) => and(eq(table.origin, origin), eq(table.treeSize, treeSize), eq(table.rootHash, rootHash));

  async function rowsOf(origin: string, treeSize: number, rootHash: string) {
    return db
      .select({ witness: table.witness, keyIdHex: table.keyId, line: table.cosignature, note: table.note })
      .from(table)
      .where(ofCheckpoint(origin, treeSize, rootHash))
      .orderBy(table.witness);
  }

  return {
    async record(checkpoint, cosignature, at) {
      await db
        .insert(table)
        .values({ ...checkpoint, witness: cosignature.witness, keyId: cosignature.keyIdHex, cosignature: cosignature.line, recordedAt: at })
        .onConflictDoNothing();
    },
    async forCheckpoint(origin, treeSize, rootHash) {
      return (await rowsOf(origin, treeSize, rootHash)).map(({ witness, keyIdHex, line }) => ({ witness, keyIdHex, line }));
    },
    async newestWitnessed(origin, quorum) {
      // Grouped in primary-key order, newest first: the scan stops at the first group with a quorum.
      const [newest] = await db
        .select({ treeSize: table.treeSize, rootHash: table.rootHash })
        .from(table)
        .where(eq(table.origin, origin))
        .groupBy(table.treeSize, table.rootHash)
        .having(sql`count(distinct ${table.witness}) >= ${quorum}`)
        .orderBy(desc(table.treeSize), desc(table.rootHash))
        .limit(1);
      if (newest === undefined) return undefined;
      const rows = await rowsOf(origin, newest.treeSize, newest.rootHash);
      if (rows.length === 0) return undefined;
      return {
        checkpoint: { origin, treeSize: newest.treeSize, rootHash: newest.rootHash, note: rows[0]!.note },
        cosignatures: rows.map(({ witness, keyIdHex, line }) => ({ witness, keyIdHex, line })),
      };
    },
    async largestCosigned(origin, witness) {
      const [row] = await db.select({ size: max(table.treeSize) }).from(table).where(and(eq(table.origin, origin), eq(table.witness, witness)));
      return row?.size ?? 0;
    },
  };
}
