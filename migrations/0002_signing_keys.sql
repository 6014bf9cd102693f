-- The jurisdiction's key registry (regional/db/schema.ts signingKeys, regional/keys/key-registry.ts):
-- every receipt/leaf key and checkpoint key that ever signed for a jurisdiction's log, so any
-- backend's GET /v1/keys verifies the whole shared log, retired keys included.
-- Valid on PostgreSQL and CockroachDB alike: no sequences, no DML, a composite primary key with
-- the jurisdiction first. CockroachDB differs only in placement, which this file does not set: on
-- a multi-region cluster give the table the same REGIONAL BY ROW locality as log_leaves (a
-- crdb_region computed from jurisdiction; see migrations/cockroachdb/multi-region.sql).
CREATE TABLE "signing_keys" (
	"jurisdiction" varchar(16) NOT NULL,
	"purpose" varchar(16) NOT NULL,
	"kid" varchar(128) NOT NULL,
	"alg" varchar(16) NOT NULL,
	"public_key" varchar(4096) NOT NULL,
	"region" varchar(64) NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"not_before" timestamp with time zone NOT NULL,
	"not_after" timestamp with time zone,
	CONSTRAINT "signing_keys_pkey" PRIMARY KEY("jurisdiction","purpose","kid"),
	CONSTRAINT "signing_keys_purpose_known" CHECK ("signing_keys"."purpose" in ('receipt', 'checkpoint')),
	CONSTRAINT "signing_keys_alg_known" CHECK ("signing_keys"."alg" in ('EdDSA', 'ES256', 'ML-DSA-65')),
	CONSTRAINT "signing_keys_retired_after_registered" CHECK ("signing_keys"."not_after" is null or "signing_keys"."not_after" >= "signing_keys"."not_before")
);
