/**
 * The regional settlement ledger. Valid on CockroachDB and PostgreSQL alike:
 * - primary keys are UUIDs defaulting to gen_random_uuid(), or natural keys (settlement_legs:
 *   batch digest and leg index; the log: jurisdiction and index) — no serial, no sequences, so
 *   inserts spread across CockroachDB ranges instead of piling onto one hot tail (a batch's legs
 *   share a digest prefix, so one batch lands in one range: that is one commit's own write set);
 * - every column type is spelled out; amounts are numeric(38,0) minor units, read and written as
 *   bigint through drizzle's `mode: 'bigint'` and never as a JS number;
 * - a batch's identity is its digest (lowercase hex SHA-256 of its canonical JSON), so child rows
 *   point at `batch_digest` rather than at the surrogate id, which keeps a row readable on its own
 *   in an audit query.
 *
 * Ordering columns (`leg_index`, `position_index`) are stored rather than recomputed with ORDER BY
 * on text, because the database's collation is not the canonical order (UTF-16 code units).
 */
import { sql } from 'drizzle-orm';
import { bigint, char, check, foreignKey, index, integer, numeric, pgTable, pgView, primaryKey, text, timestamp, unique, uuid, varchar } from 'drizzle-orm/pg-core';

/** Longest batch id the core schema admits is 46 characters; leave headroom. */
const batchIdCharsMax = 64;
const digestHexChars = 64;
const jurisdictionCharsMax = 16;
const regionCharsMax = 64;
const corridorChars = 7;
const bicCharsMax = 11;
const currencyChars = 3;
/** `settlement:<BIC11>:<CCY>` is 26 characters; leave room for other account kinds (fees, FX residue). */
const accountCharsMax = 64;
const amountPrecisionDigits = 38;
export const jtiCharsMax = 128;

export const settlementBatches = pgTable(
  'settlement_batches',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    batchId: varchar('batch_id', { length: batchIdCharsMax }).notNull(),
    digest: char('digest', { length: digestHexChars }).notNull(),
    corridor: char('corridor', { length: corridorChars }).notNull(),
    jurisdiction: varchar('jurisdiction', { length: jurisdictionCharsMax }).notNull(),
    /** The regional backend that committed the batch (e.g. eu-1). */
    region: varchar('region', { length: regionCharsMax }).notNull(),
    // Written as the batch's RFC 3339 text; the exact spelling lives on in canonical_json.
    windowStartsAt: timestamp('window_starts_at', { withTimezone: true, mode: 'string' }).notNull(),
    windowEndsAt: timestamp('window_ends_at', { withTimezone: true, mode: 'string' }).notNull(),
    legCount: integer('leg_count').notNull(),
    /** The exact canonical bytes whose SHA-256 is `digest`. */
    canonicalJson: text('canonical_json').notNull(),
    logIndex: bigint('log_index', { mode: 'number' }).notNull(),
    /** Compact JWS over SettlementReceiptClaims; returned verbatim on every repeat delivery. */
    receipt: text('receipt').notNull(),
    committedAt: timestamp('committed_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (table) => [
    unique('settlement_batches_batch_id_key').on(table.batchId),
    unique('settlement_batches_digest_key').on(table.digest),
    // One batch per log position: a second guard against a forked log, besides log_leaves' key.
    unique('settlement_batches_jurisdiction_log_index_key').on(table.jurisdiction, table.logIndex),
    check('settlement_batches_digest_hex', sql`${table.digest} ~ '^[0-9a-f]{64}$'`),
    check('settlement_batches_leg_count_positive', sql`${table.legCount} > 0`),
    check('settlement_batches_log_index_nonnegative', sql`${table.logIndex} >= 0`),
  ],
);

/**
 * One row per leg, and the journal in its one-row-two-sides form: a leg debits the payer's
 * settlement account and credits the payee's by `amount_minor` in `currency`, so a leg cannot be
 * half-booked, and the `journal_entries` view (below) shows each side as its own entry.
 *
 * Since migrations/0005_*: keyed by (batch_digest, leg_index), with no surrogate id, no foreign key
 * to settlement_batches and no (instructing_agent, uetr) index. A 10,000-leg commit spent most of
 * its database time maintaining those per row (EXPLAIN ANALYZE, bench/settlement.bench.ts): 4
 * index insertions, a gen_random_uuid() and an RI trigger lookup per leg. What they guarded is kept:
 * a leg belongs to one batch row because it is written in the batch's transaction and the commit
 * reads back, by aggregate, that the batch row's digest has exactly the legs delivered
 * (ledger/ledger-summary.ts); nothing deletes batches. The keys that guard money stay: one leg
 * per position of a batch (the primary key) and one leg per (payment, currency) in a batch.
 */
export const settlementLegs = pgTable(
  'settlement_legs',
  {
    batchDigest: char('batch_digest', { length: digestHexChars }).notNull(),
    legIndex: integer('leg_index').notNull(),
    uetr: uuid('uetr').notNull(),
    /**
     * BIC of the submitting partner; with `uetr`, the payment's identity (gpi reuses one UETR at
     * every hop). The '' default exists only for legs of version-1 batches that were stored before
     * this column (migrations/0001_*: CockroachDB cannot backfill a column in the transaction that
     * adds it); every insert names the agent, and the read-back assertion compares it.
     */
    instructingAgent: varchar('instructing_agent', { length: bicCharsMax }).notNull().default(''),
    /** Debited: the payer's settlement account `settlement:<payer>:<currency>`. */
    payer: varchar('payer', { length: bicCharsMax }).notNull(),
    /** Credited: the payee's settlement account `settlement:<payee>:<currency>`. */
    payee: varchar('payee', { length: bicCharsMax }).notNull(),
    currency: char('currency', { length: currencyChars }).notNull(),
    amountMinor: numeric('amount_minor', { precision: amountPrecisionDigits, scale: 0, mode: 'bigint' }).notNull(),
  },
  (table) => [
    primaryKey({ name: 'settlement_legs_pkey', columns: [table.batchDigest, table.legIndex] }),
    // One leg per (payment, currency) in a batch, a payment being (instructing agent, UETR).
    unique('settlement_legs_batch_digest_payment_currency_key').on(table.batchDigest, table.instructingAgent, table.uetr, table.currency),
    check('settlement_legs_amount_positive', sql`${table.amountMinor} > 0`),
    check('settlement_legs_leg_index_nonnegative', sql`${table.legIndex} >= 0`),
  ],
);

/** One journal entry's columns, shared by the view and the pre-0005 table (fresh builders per call: drizzle binds each to its table). */
function journalEntryColumns() {
  return {
    batchDigest: char('batch_digest', { length: digestHexChars }).notNull(),
    legIndex: integer('leg_index').notNull(),
    entryIndex: integer('entry_index').notNull(),
    /** `settlement:<BIC>:<CCY>`. */
    account: varchar('account', { length: accountCharsMax }).notNull(),
    currency: char('currency', { length: currencyChars }).notNull(),
    debitMinor: numeric('debit_minor', { precision: amountPrecisionDigits, scale: 0, mode: 'bigint' }).notNull(),
    creditMinor: numeric('credit_minor', { precision: amountPrecisionDigits, scale: 0, mode: 'bigint' }).notNull(),
  };
}

/**
 * The double-entry journal as entries: two per leg, entry 0 debiting the payer's settlement account
 * and entry 1 crediting the payee's, in the leg's currency — derived from settlement_legs by a view
 * (migrations/0005_*), so it holds every batch, before and after 0005, and can never disagree with
 * the legs. Read-only; nothing inserts into it.
 */
export const journalEntries = pgView('journal_entries', journalEntryColumns()).existing();

/**
 * The journal rows written before migrations/0005_* (two stored rows per leg), kept as they were
 * under their old constraints and renamed out of the way of the view; no longer written. For every
 * batch they cover, the view above yields the same entries (regional/ledger/journal.ts built both).
 */
export const journalEntriesV1 = pgTable(
  'journal_entries_v1',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ...journalEntryColumns(),
  },
  (table) => [
    // The constraint and index names of the table before its rename (PostgreSQL and CockroachDB keep them).
    foreignKey({ name: 'journal_entries_batch_digest_settlement_batches_digest_fk', columns: [table.batchDigest], foreignColumns: [settlementBatches.digest] }),
    unique('journal_entries_batch_digest_leg_index_entry_index_key').on(table.batchDigest, table.legIndex, table.entryIndex),
    index('journal_entries_account_idx').on(table.account),
    check(
      'journal_entries_one_side',
      sql`(${table.debitMinor} > 0 and ${table.creditMinor} = 0) or (${table.debitMinor} = 0 and ${table.creditMinor} > 0)`,
    ),
  ],
);

export const netPositions = pgTable(
  'net_positions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    batchDigest: char('batch_digest', { length: digestHexChars })
      .notNull()
      .references(() => settlementBatches.digest),
    positionIndex: integer('position_index').notNull(),
    participant: varchar('participant', { length: bicCharsMax }).notNull(),
    currency: char('currency', { length: currencyChars }).notNull(),
    /** Signed: positive = participant receives. */
    netMinor: numeric('net_minor', { precision: amountPrecisionDigits, scale: 0, mode: 'bigint' }).notNull(),
  },
  (table) => [
    unique('net_positions_batch_digest_position_index_key').on(table.batchDigest, table.positionIndex),
    unique('net_positions_batch_digest_currency_participant_key').on(table.batchDigest, table.currency, table.participant),
  ],
);

/**
 * The jurisdiction's transparency log, one leaf per committed batch, indexes dense from 0.
 * The leaf is the canonical JSON of the batch's DSSE envelope around its in-toto statement
 * (regional/log/leaf.ts) and `leaf_hash` is the RFC 6962 leaf hash SHA-256(0x00 ‖ leaf bytes) in
 * lowercase hex. Checkpoints, inclusion and consistency proofs are computed from `leaf_hash`
 * alone (regional/log/tree.ts), read by primary-key range.
 */
export const logLeaves = pgTable(
  'log_leaves',
  {
    jurisdiction: varchar('jurisdiction', { length: jurisdictionCharsMax }).notNull(),
    leafIndex: bigint('leaf_index', { mode: 'number' }).notNull(),
    leafHash: char('leaf_hash', { length: digestHexChars }).notNull(),
    batchDigest: char('batch_digest', { length: digestHexChars })
      .notNull()
      .references(() => settlementBatches.digest),
    /** The exact leaf bytes (UTF-8 text). */
    leaf: text('leaf').notNull(),
  },
  (table) => [
    primaryKey({ name: 'log_leaves_pkey', columns: [table.jurisdiction, table.leafIndex] }),
    unique('log_leaves_batch_digest_key').on(table.batchDigest),
    check('log_leaves_leaf_index_nonnegative', sql`${table.leafIndex} >= 0`),
    check('log_leaves_leaf_hash_hex', sql`${table.leafHash} ~ '^[0-9a-f]{64}$'`),
  ],
);

/** Single-use edge tokens: a jti is claimed once; rows past `expires_at` are garbage. */
export const consumedTokens = pgTable(
  'consumed_tokens',
  {
    jti: varchar('jti', { length: jtiCharsMax }).primaryKey(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (table) => [index('consumed_tokens_expires_at_idx').on(table.expiresAt)],
);

/** RFC 7638 SHA-256 thumbprints are 43 base64url characters; leave headroom for other kid schemes. */
const kidCharsMax = 128;
const algCharsMax = 16;
const keyPurposeCharsMax = 16;
/** Base64 of the largest raw public key a signer holds (ML-DSA-65, 1,952 bytes → 2,604 characters). */
const publicKeyBase64CharsMax = 4_096;

/**
 * The jurisdiction's key registry (regional/keys/key-registry.ts): every key that ever signed a
 * receipt or log leaf (`purpose` 'receipt') or a checkpoint (`purpose` 'checkpoint') of the
 * jurisdiction's log, registered by the backend that holds it when it starts, never deleted.
 * One key serving both purposes (the default Ed25519 signer) has one row per purpose.
 *   created_at  the key's own creation date (key file, or KMS CreationDate): rotation_overdue
 *   not_before  when it was first registered: no signature of it predates this
 *   not_after   when it was retired (key rotation); null while in use
 * Rows are read by jurisdiction only (the primary key's prefix), like every regional read.
 */
export const signingKeys = pgTable(
  'signing_keys',
  {
    jurisdiction: varchar('jurisdiction', { length: jurisdictionCharsMax }).notNull(),
    purpose: varchar('purpose', { length: keyPurposeCharsMax }).notNull(),
    kid: varchar('kid', { length: kidCharsMax }).notNull(),
    alg: varchar('alg', { length: algCharsMax }).notNull(),
    /** Base64 (RFC 4648, padded) of the raw public key, exactly as GET /v1/keys publishes it. */
    publicKey: varchar('public_key', { length: publicKeyBase64CharsMax }).notNull(),
    /** The backend that registered the key, e.g. eu-1. */
    region: varchar('region', { length: regionCharsMax }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    notBefore: timestamp('not_before', { withTimezone: true, mode: 'date' }).notNull(),
    notAfter: timestamp('not_after', { withTimezone: true, mode: 'date' }),
  },
  (table) => [
    primaryKey({ name: 'signing_keys_pkey', columns: [table.jurisdiction, table.purpose, table.kid] }),
    check('signing_keys_purpose_known', sql`${table.purpose} in ('receipt', 'checkpoint')`),
    check('signing_keys_alg_known', sql`${table.alg} in ('EdDSA', 'ES256', 'ML-DSA-65')`),
    check('signing_keys_retired_after_registered', sql`${table.notAfter} is null or ${table.notAfter} >= ${table.notBefore}`),
  ],
);

export const regionalSchema = { settlementBatches, settlementLegs, journalEntries, journalEntriesV1, netPositions, logLeaves, consumedTokens, signingKeys };

/**
 * The witness's latest cosigned checkpoint per log, and the cosignatures this jurisdiction's log
 * collected (regional/witness/schema.ts).
 */
export { checkpointCosignatures, witnessCheckpoints } from '../witness/schema.ts';
