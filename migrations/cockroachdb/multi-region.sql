-- Production only: CockroachDB multi-region placement for the settlement ledger.
--
-- Not a drizzle-kit migration (drizzle's journal does not list it, so `node regional/db/migrate.ts`
-- never runs it): apply it by hand, once, with an admin role, AFTER every migrations/000N_* (the statements below name tables as of 0005) and on a
-- cluster whose nodes were started with these --locality regions. PostgreSQL, PGlite and a
-- single-region cluster have no equivalent; the local topology and CI do not use it, and it has
-- NOT been executed here (no CockroachDB server on this machine). Super regions are an enterprise,
-- preview feature (CockroachDB docs: ALTER DATABASE … ADD SUPER REGION).
--
-- What it guarantees: every row of a jurisdiction's batches, legs, journal, positions and log has
-- its leaseholder and all replicas inside that jurisdiction's super region, so settlement data of
-- `eu` is stored only in EU regions even when an EU region fails over to another EU region.
--
--   cockroach sql --url "$ADMIN_URL" --file migrations/cockroachdb/multi-region.sql
--
-- Replace the region names with the cluster's own (SHOW REGIONS FROM CLUSTER); each jurisdiction
-- needs at least three regions for REGION survival inside its super region, otherwise keep ZONE.

ALTER DATABASE meridian SET PRIMARY REGION "europe-west1";
ALTER DATABASE meridian ADD REGION "europe-west3";
ALTER DATABASE meridian ADD REGION "europe-north1";
ALTER DATABASE meridian ADD REGION "us-east1";
ALTER DATABASE meridian ADD REGION "us-west1";
ALTER DATABASE meridian ADD REGION "us-central1";
ALTER DATABASE meridian ADD REGION "asia-southeast1";
ALTER DATABASE meridian ADD REGION "asia-northeast1";
ALTER DATABASE meridian ADD REGION "australia-southeast1";

SET enable_super_regions = 'on';
ALTER DATABASE meridian ADD SUPER REGION "eu" VALUES "europe-west1", "europe-west3", "europe-north1";
ALTER DATABASE meridian ADD SUPER REGION "us" VALUES "us-east1", "us-west1", "us-central1";
ALTER DATABASE meridian ADD SUPER REGION "ap" VALUES "asia-southeast1", "asia-northeast1", "australia-southeast1";
ALTER DATABASE meridian SURVIVE REGION FAILURE;

-- Tables that carry their jurisdiction: the row's home region is derived from it, so a row can
-- never be homed outside its jurisdiction whatever node the backend happens to connect to.
ALTER TABLE settlement_batches ADD COLUMN crdb_region crdb_internal_region NOT VISIBLE NOT NULL
  AS (CASE jurisdiction WHEN 'eu' THEN 'europe-west1' WHEN 'us' THEN 'us-east1' WHEN 'ap' THEN 'asia-southeast1' END) STORED;
ALTER TABLE settlement_batches SET LOCALITY REGIONAL BY ROW AS crdb_region;

ALTER TABLE log_leaves ADD COLUMN crdb_region crdb_internal_region NOT VISIBLE NOT NULL
  AS (CASE jurisdiction WHEN 'eu' THEN 'europe-west1' WHEN 'us' THEN 'us-east1' WHEN 'ap' THEN 'asia-southeast1' END) STORED;
ALTER TABLE log_leaves SET LOCALITY REGIONAL BY ROW AS crdb_region;

-- After migrations/0002_*: the key registry is read by jurisdiction, homed like the log it verifies.
ALTER TABLE signing_keys ADD COLUMN crdb_region crdb_internal_region NOT VISIBLE NOT NULL
  AS (CASE jurisdiction WHEN 'eu' THEN 'europe-west1' WHEN 'us' THEN 'us-east1' WHEN 'ap' THEN 'asia-southeast1' END) STORED;
ALTER TABLE signing_keys SET LOCALITY REGIONAL BY ROW AS crdb_region;

-- Tables keyed by batch digest: homed in the region of the gateway node that inserted them (the
-- default crdb_region), which is a node of the committing backend's own jurisdiction because each
-- backend connects only to its jurisdiction's nodes; the super region keeps the replicas there.
ALTER TABLE settlement_legs SET LOCALITY REGIONAL BY ROW;
-- After migrations/0005_*: journal_entries is a view (two entries per leg, derived from
-- settlement_legs); the table that held the entries of batches committed before 0005 is journal_entries_v1.
ALTER TABLE journal_entries_v1 SET LOCALITY REGIONAL BY ROW;
ALTER TABLE net_positions SET LOCALITY REGIONAL BY ROW;
ALTER TABLE consumed_tokens SET LOCALITY REGIONAL BY ROW;
