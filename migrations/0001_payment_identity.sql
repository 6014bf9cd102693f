-- Payment identity is (instructing_agent, uetr): gpi keeps one UETR along the chain, so two
-- partners may submit the same UETR into one corridor window. Legs of version-1 batches stored
-- before this migration get instructing_agent '' (their canonical JSON does not name one); the
-- column is not backfilled here because CockroachDB cannot write a column inside the transaction
-- that adds it, and drizzle's migrator runs every pending migration in one transaction.
-- Valid on PostgreSQL and CockroachDB (no sequences, no DML on the new column).
DROP INDEX "settlement_legs_uetr_idx";--> statement-breakpoint
ALTER TABLE "settlement_legs" ADD COLUMN "instructing_agent" varchar(11) DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE INDEX "settlement_legs_instructing_agent_uetr_idx" ON "settlement_legs" USING btree ("instructing_agent","uetr");--> statement-breakpoint
ALTER TABLE "settlement_legs" ADD CONSTRAINT "settlement_legs_batch_digest_payment_currency_key" UNIQUE("batch_digest","instructing_agent","uetr","currency");