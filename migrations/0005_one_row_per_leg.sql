-- One stored row per settlement leg (issue #14 item 4: a 10,000-leg commit wrote 30,014 rows).
-- settlement_legs becomes the journal in its one-row-two-sides form (the payer's settlement account
-- debited, the payee's credited, by amount_minor in currency), and journal_entries becomes a view
-- that shows each side as its own entry, for every batch, so readers of the journal see the same
-- rows as before. The two-rows-per-leg table written until now is kept, renamed, and no longer
-- written; the view yields the same entries for the batches it holds (regional/ledger/journal.ts
-- built both from the legs).
--
-- settlement_legs loses what it paid for per row without guarding money: the surrogate uuid key
-- (a gen_random_uuid() and a random-order index insertion per leg), the (batch_digest, leg_index)
-- unique constraint that the new primary key replaces, the (instructing_agent, uetr) index (no
-- query uses it) and the foreign key to settlement_batches (an RI trigger lookup per leg; the
-- commit writes the legs in the batch row's transaction and reads them back by aggregate). Kept:
-- one leg per (payment, currency) per batch, the positive-amount and leg-index checks.
--
-- PostgreSQL and CockroachDB: the primary key is swapped by DROP CONSTRAINT and ADD CONSTRAINT in
-- one ALTER TABLE, the form CockroachDB documents for replacing a primary key without keeping the
-- old one as a secondary index (it refuses a table without one in between); RENAME TO and a
-- UNION ALL view are common to both. Not run on CockroachDB here (no server on this machine):
-- CockroachDB versions before the declarative schema changer refused to reuse, in one transaction,
-- a name that a RENAME in it freed (journal_entries); drizzle's migrator runs all pending
-- migrations in one transaction, so on such a version apply the first statement by hand first.
ALTER TABLE "journal_entries" RENAME TO "journal_entries_v1";--> statement-breakpoint
ALTER TABLE "settlement_legs" DROP CONSTRAINT "settlement_legs_batch_digest_settlement_batches_digest_fk";--> statement-breakpoint
DROP INDEX "settlement_legs_instructing_agent_uetr_idx";--> statement-breakpoint
ALTER TABLE "settlement_legs" DROP CONSTRAINT "settlement_legs_batch_digest_leg_index_key";--> statement-breakpoint
ALTER TABLE "settlement_legs" DROP CONSTRAINT "settlement_legs_pkey", ADD CONSTRAINT "settlement_legs_pkey" PRIMARY KEY ("batch_digest", "leg_index");--> statement-breakpoint
ALTER TABLE "settlement_legs" DROP COLUMN "id";--> statement-breakpoint
CREATE VIEW "journal_entries" AS
  SELECT "batch_digest", "leg_index", 0 AS "entry_index", CAST('settlement:' || "payer" || ':' || "currency" AS varchar(64)) AS "account", "currency",
    "amount_minor" AS "debit_minor", CAST(0 AS numeric(38, 0)) AS "credit_minor"
  FROM "settlement_legs"
  UNION ALL
  SELECT "batch_digest", "leg_index", 1 AS "entry_index", CAST('settlement:' || "payee" || ':' || "currency" AS varchar(64)) AS "account", "currency",
    CAST(0 AS numeric(38, 0)) AS "debit_minor", "amount_minor" AS "credit_minor"
  FROM "settlement_legs";
