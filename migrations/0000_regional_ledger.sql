CREATE TABLE "consumed_tokens" (
	"jti" varchar(128) PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "journal_entries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"batch_digest" char(64) NOT NULL,
	"leg_index" integer NOT NULL,
	"entry_index" integer NOT NULL,
	"account" varchar(64) NOT NULL,
	"currency" char(3) NOT NULL,
	"debit_minor" numeric(38, 0) NOT NULL,
	"credit_minor" numeric(38, 0) NOT NULL,
	CONSTRAINT "journal_entries_batch_digest_leg_index_entry_index_key" UNIQUE("batch_digest","leg_index","entry_index"),
	CONSTRAINT "journal_entries_one_side" CHECK (("journal_entries"."debit_minor" > 0 and "journal_entries"."credit_minor" = 0) or ("journal_entries"."debit_minor" = 0 and "journal_entries"."credit_minor" > 0))
);
--> statement-breakpoint
CREATE TABLE "log_leaves" (
	"jurisdiction" varchar(16) NOT NULL,
	"leaf_index" bigint NOT NULL,
	"leaf_hash" char(64) NOT NULL,
	"batch_digest" char(64) NOT NULL,
	"leaf" text NOT NULL,
	CONSTRAINT "log_leaves_pkey" PRIMARY KEY("jurisdiction","leaf_index"),
	CONSTRAINT "log_leaves_batch_digest_key" UNIQUE("batch_digest"),
	CONSTRAINT "log_leaves_leaf_index_nonnegative" CHECK ("log_leaves"."leaf_index" >= 0),
	CONSTRAINT "log_leaves_leaf_hash_hex" CHECK ("log_leaves"."leaf_hash" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "net_positions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"batch_digest" char(64) NOT NULL,
	"position_index" integer NOT NULL,
	"participant" varchar(11) NOT NULL,
	"currency" char(3) NOT NULL,
	"net_minor" numeric(38, 0) NOT NULL,
	CONSTRAINT "net_positions_batch_digest_position_index_key" UNIQUE("batch_digest","position_index"),
	CONSTRAINT "net_positions_batch_digest_currency_participant_key" UNIQUE("batch_digest","currency","participant")
);
--> statement-breakpoint
CREATE TABLE "settlement_batches" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"batch_id" varchar(64) NOT NULL,
	"digest" char(64) NOT NULL,
	"corridor" char(7) NOT NULL,
	"jurisdiction" varchar(16) NOT NULL,
	"region" varchar(64) NOT NULL,
	"window_starts_at" timestamp with time zone NOT NULL,
	"window_ends_at" timestamp with time zone NOT NULL,
	"leg_count" integer NOT NULL,
	"canonical_json" text NOT NULL,
	"log_index" bigint NOT NULL,
	"receipt" text NOT NULL,
	"committed_at" timestamp with time zone NOT NULL,
	CONSTRAINT "settlement_batches_batch_id_key" UNIQUE("batch_id"),
	CONSTRAINT "settlement_batches_digest_key" UNIQUE("digest"),
	CONSTRAINT "settlement_batches_jurisdiction_log_index_key" UNIQUE("jurisdiction","log_index"),
	CONSTRAINT "settlement_batches_digest_hex" CHECK ("settlement_batches"."digest" ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "settlement_batches_leg_count_positive" CHECK ("settlement_batches"."leg_count" > 0),
	CONSTRAINT "settlement_batches_log_index_nonnegative" CHECK ("settlement_batches"."log_index" >= 0)
);
--> statement-breakpoint
CREATE TABLE "settlement_legs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"batch_digest" char(64) NOT NULL,
	"leg_index" integer NOT NULL,
	"uetr" uuid NOT NULL,
	"payer" varchar(11) NOT NULL,
	"payee" varchar(11) NOT NULL,
	"currency" char(3) NOT NULL,
	"amount_minor" numeric(38, 0) NOT NULL,
	CONSTRAINT "settlement_legs_batch_digest_leg_index_key" UNIQUE("batch_digest","leg_index"),
	CONSTRAINT "settlement_legs_amount_positive" CHECK ("settlement_legs"."amount_minor" > 0),
	CONSTRAINT "settlement_legs_leg_index_nonnegative" CHECK ("settlement_legs"."leg_index" >= 0)
);
--> statement-breakpoint
ALTER TABLE "journal_entries" ADD CONSTRAINT "journal_entries_batch_digest_settlement_batches_digest_fk" FOREIGN KEY ("batch_digest") REFERENCES "public"."settlement_batches"("digest") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "log_leaves" ADD CONSTRAINT "log_leaves_batch_digest_settlement_batches_digest_fk" FOREIGN KEY ("batch_digest") REFERENCES "public"."settlement_batches"("digest") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "net_positions" ADD CONSTRAINT "net_positions_batch_digest_settlement_batches_digest_fk" FOREIGN KEY ("batch_digest") REFERENCES "public"."settlement_batches"("digest") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "settlement_legs" ADD CONSTRAINT "settlement_legs_batch_digest_settlement_batches_digest_fk" FOREIGN KEY ("batch_digest") REFERENCES "public"."settlement_batches"("digest") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "consumed_tokens_expires_at_idx" ON "consumed_tokens" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "journal_entries_account_idx" ON "journal_entries" USING btree ("account");--> statement-breakpoint
CREATE INDEX "settlement_legs_uetr_idx" ON "settlement_legs" USING btree ("uetr");