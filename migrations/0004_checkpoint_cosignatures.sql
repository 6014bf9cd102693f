-- The log's collected witness cosignatures (regional/witness/schema.ts, regional/witness/cosigning.ts):
-- one row per (origin, tree size, root, witness), inserted once after the cosignature verified
-- under the witness's key, never updated, so a restart keeps them and the evidence bundle reads them.
-- Valid on PostgreSQL and CockroachDB alike: no sequences, no DML, a composite primary key. On a
-- multi-region cluster it may stay GLOBAL or REGIONAL BY ROW with the log's jurisdiction; it holds
-- only public checkpoints and signatures.
CREATE TABLE "checkpoint_cosignatures" (
	"origin" varchar(256) NOT NULL,
	"tree_size" bigint NOT NULL,
	"root_hash" varchar(44) NOT NULL,
	"witness" varchar(256) NOT NULL,
	"key_id" char(8) NOT NULL,
	"cosignature" varchar(512) NOT NULL,
	"note" varchar(4096) NOT NULL,
	"recorded_at" timestamp with time zone NOT NULL,
	CONSTRAINT "checkpoint_cosignatures_pkey" PRIMARY KEY("origin","tree_size","root_hash","witness"),
	CONSTRAINT "checkpoint_cosignatures_tree_size_nonnegative" CHECK ("checkpoint_cosignatures"."tree_size" >= 0)
);
