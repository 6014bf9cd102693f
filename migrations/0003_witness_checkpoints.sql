-- The witness's memory (regional/witness/schema.ts, regional/witness/witness.ts): per (witness,
-- origin) the latest checkpoint the witness cosigned, updated by compare-and-set only.
-- Valid on PostgreSQL and CockroachDB alike: no sequences, no DML, a composite primary key. On a
-- multi-region cluster it may stay GLOBAL or REGIONAL BY ROW with its witness's jurisdiction;
-- it holds only public checkpoints.
CREATE TABLE "witness_checkpoints" (
	"witness" varchar(256) NOT NULL,
	"origin" varchar(256) NOT NULL,
	"tree_size" bigint NOT NULL,
	"root_hash" varchar(44) NOT NULL,
	"checkpoint" text NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "witness_checkpoints_pkey" PRIMARY KEY("witness","origin"),
	CONSTRAINT "witness_checkpoints_tree_size_nonnegative" CHECK ("witness_checkpoints"."tree_size" >= 0)
);
