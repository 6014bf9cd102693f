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
import { bigint, char, check, pgTable, primaryKey, text, timestamp, varchar } from 'drizzle-orm/pg-core';

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

/** Hex of a cosignature/v1 key id (4 bytes). */
const keyIdHexChars = 8;
/** "— <name> <base64 of 76 bytes>": 2 + 256 + 1 + 104, with headroom. */
const cosignatureLineCharsMax = 512;
/** A checkpoint note with the log's signature lines (eu-1 and eu-2 sign the same text). */
const checkpointNoteCharsMax = 4096;

/**
 * The log's side (./cosigning.ts): every cosignature a witness returned for one of this
 * jurisdiction's checkpoints, verified under that witness's published key before it is written.
 * Keyed by (origin, tree_size, root_hash, witness): the cosignature/v1 message covers the
 * checkpoint text, not the log's signature, so a cosignature collected by eu-1 also cosigns eu-2's
 * checkpoint of the same size and root (one shared database), and a restart loses none of them.
 * `note` is the checkpoint as submitted (the submitting backend's signature line): what
 * GET /v1/log/witnessed-checkpoint serves for an older size, which this backend signs no more.
 * Inserted with ON CONFLICT DO NOTHING (a witness's repeat cosignature of the same checkpoint
 * changes nothing), never updated; rows are kept as evidence.
 */
export const checkpointCosignatures = pgTable(
  'checkpoint_cosignatures',
  {
    origin: varchar('origin', { length: noteNameCharsMax }).notNull(),
    treeSize: bigint('tree_size', { mode: 'number' }).notNull(),
    rootHash: varchar('root_hash', { length: rootHashBase64Chars }).notNull(),
    witness: varchar('witness', { length: noteNameCharsMax }).notNull(),
    keyId: char('key_id', { length: keyIdHexChars }).notNull(),
    /** The signature line without its newline, exactly as the witness returned it. */
    cosignature: varchar('cosignature', { length: cosignatureLineCharsMax }).notNull(),
    note: varchar('note', { length: checkpointNoteCharsMax }).notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (table) => [
    primaryKey({ name: 'checkpoint_cosignatures_pkey', columns: [table.origin, table.treeSize, table.rootHash, table.witness] }),
    check('checkpoint_cosignatures_tree_size_nonnegative', sql`${table.treeSize} >= 0`),
  ],
);
