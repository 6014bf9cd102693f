/**
 * The witness's memory (./witness.ts): per (witness, origin), the latest checkpoint this witness
 * cosigned. One row per pair, updated only by compare-and-set on (tree_size, root_hash), so two
 * add-checkpoint requests racing for one origin cannot roll the recorded size back (the race that
 * c2sp.org/tlog-witness warns about): the loser's UPDATE matches no row and it answers 409.
 *
 * Keyed by the witness name as well as the origin: eu-1 and eu-2 share the eu database and are two
 * witnesses, each with its own key and its own view. Valid on PostgreSQL and CockroachDB: a
 * composite primary key, no sequences; rows are never deleted.
 */
import { sql } from 'drizzle-orm';
import { bigint, check, pgTable, primaryKey, text, timestamp, varchar } from 'drizzle-orm/pg-core';

/** A note key name (e.g. meridian.example/witness/eu-1) and a log origin line. */
const noteNameCharsMax = 256;
/** Base64 of a 32-byte SHA-256 root. */
const rootHashBase64Chars = 44;

export const witnessCheckpoints = pgTable(
  'witness_checkpoints',
  {
    witness: varchar('witness', { length: noteNameCharsMax }).notNull(),
    origin: varchar('origin', { length: noteNameCharsMax }).notNull(),
    treeSize: bigint('tree_size', { mode: 'number' }).notNull(),
    rootHash: varchar('root_hash', { length: rootHashBase64Chars }).notNull(),
    /** The checkpoint note as submitted (log signature included): evidence if the log ever forks. */
    checkpoint: text('checkpoint').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (table) => [
    primaryKey({ name: 'witness_checkpoints_pkey', columns: [table.witness, table.origin] }),
    check('witness_checkpoints_tree_size_nonnegative', sql`${table.treeSize} >= 0`),
  ],
);
