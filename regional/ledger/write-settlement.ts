/**
 * Writes one settlement into the ledger tables, inside the caller's transaction.
 *
 * Table layout (regional/db/schema.ts): settlement_batches (one row, keyed by digest), then
 * settlement_legs (leg_index = position in the canonical leg order; each leg row is also the
 * journal's two-sided entry, shown as two entries by the journal_entries view), net_positions
 * (position_index = canonical position order). All children point at the batch by digest. A
 * 10,000-leg batch is 10,000 leg rows and a few position rows (30,014 rows before
 * migrations/0005_*, when the journal stored two more rows per leg).
 *
 * The child rows bypass drizzle's query builder. A 10,000-leg batch was 30,000 child rows, and
 * building them as multi-row INSERTs through the builder (an entity check, a param mapping and a
 * typing pass per value: about 210,000 values) was half of the whole commit, more than the
 * database spent storing them (bench/settlement.bench.ts). Instead each table gets one statement
 * per chunk whose columns arrive as arrays — `insert … select … from unnest($1::t[], $2::u[], …)` —
 * through drizzle's `sql` template on the same transaction, so SERIALIZABLE, the retry guard and
 * the read-back assertions are the same as before. The statement has a handful of parameters
 * whatever the row count (each an array literal written by `arrayLiteral` below), so neither
 * drizzle nor postgres.js walks the rows.
 *
 * Portability: multi-argument `unnest` in FROM with a column alias list, `::type[]` casts of text
 * parameters and INSERT … SELECT are PostgreSQL syntax that CockroachDB documents as well; the
 * regional suites run it on PGlite and PostgreSQL (test/regional/commit-bulk.test.ts), but no
 * CockroachDB was at hand, so its first run there is still owed. COPY is not faster here: 10,000
 * legs into the 0005 layout through postgres.js `copy … from stdin` took a median 398 ms against
 * 297 ms for this statement, 8 rounds each, same table, PostgreSQL 15, load average 13 (noisy,
 * but no gain to chase). It is also not the same thing on CockroachDB (atomic inside an explicit transaction;
 * outside one it was split into 100-row commits before v22.2, and COPY after a rollback to a
 * savepoint hit an internal error until a 2025 fix), drizzle has no COPY, and the dev PGlite
 * bridge (cli/dev/pglite-server.ts) holds the backend per extended-protocol conversation, which
 * COPY's sub-protocol is not.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { SettlementBatch } from '../../core/settlement-batch.ts';
import type { RegionalQueryable } from '../db/client.ts';
import { netPositions, settlementBatches, settlementLegs } from '../db/schema.ts';

/**
 * Rows per statement. Not a parameter limit any more (a statement has at most eight parameters):
 * it bounds one statement's size — about 1 MB of array text for 10,000 legs — well below
 * CockroachDB's 16 MiB default for one wire message (sql.conn.max_read_buffer_message_size), for
 * a batch up to core's batchLegsMax (200,000 legs).
 */
export const rowsPerInsertMax = 10_000;

export interface SettlementRecord {
  batch: SettlementBatch;
  canonical: string;
  digest: string;
  region: string;
  logIndex: number;
  receipt: string;
  committedAt: Date;
}

export async function insertSettlement(tx: RegionalQueryable, record: SettlementRecord): Promise<void> {
  const { batch, digest } = record;
  await tx.insert(settlementBatches).values({
    batchId: batch.batch_id,
    digest,
    corridor: batch.corridor,
    jurisdiction: batch.jurisdiction,
    region: record.region,
    windowStartsAt: batch.window.starts_at,
    windowEndsAt: batch.window.ends_at,
    legCount: batch.legs.length,
    canonicalJson: record.canonical,
    logIndex: record.logIndex,
    receipt: record.receipt,
    committedAt: record.committedAt,
  });
  for (let start = 0; start < batch.legs.length; start += rowsPerInsertMax) {
    await tx.execute(insertLegs(digest, batch, start, Math.min(batch.legs.length, start + rowsPerInsertMax)));
  }
  for (let start = 0; start < batch.positions.length; start += rowsPerInsertMax) {
    await tx.execute(insertNetPositions(digest, batch, start, Math.min(batch.positions.length, start + rowsPerInsertMax)));
  }
}

/** Legs [start, end) of the batch; leg_index is the position in the canonical order. */
function insertLegs(digest: string, batch: SettlementBatch, start: number, end: number): SQL {
  const legs = batch.legs.slice(start, end);
  return sql`insert into ${settlementLegs} (batch_digest, leg_index, uetr, instructing_agent, payer, payee, currency, amount_minor)
    select ${digest}::text, r.leg_index, r.uetr, r.instructing_agent, r.payer, r.payee, r.currency, r.amount_minor::numeric
    from unnest(${column(legs.map((_, offset) => start + offset))}::int4[], ${column(legs.map((leg) => leg.uetr))}::uuid[],
      ${column(legs.map((leg) => leg.instructing_agent))}::text[], ${column(legs.map((leg) => leg.payer))}::text[],
      ${column(legs.map((leg) => leg.payee))}::text[], ${column(legs.map((leg) => leg.currency))}::text[],
      ${column(legs.map((leg) => leg.amount_minor))}::text[])
      as r (leg_index, uetr, instructing_agent, payer, payee, currency, amount_minor)`;
}

/** Positions [start, end) of the batch; position_index is the position in the canonical order. */
function insertNetPositions(digest: string, batch: SettlementBatch, start: number, end: number): SQL {
  const positions = batch.positions.slice(start, end);
  return sql`insert into ${netPositions} (batch_digest, position_index, participant, currency, net_minor)
    select ${digest}::text, r.position_index, r.participant, r.currency, r.net_minor::numeric
    from unnest(${column(positions.map((_, offset) => start + offset))}::int4[], ${column(positions.map((position) => position.participant))}::text[],
      ${column(positions.map((position) => position.currency))}::text[], ${column(positions.map((position) => position.net_minor))}::text[])
      as r (position_index, participant, currency, net_minor)`;
}

/**
 * One column's values as a single bound parameter: a PostgreSQL array literal, cast in the statement
 * (`::text[]`, `::int4[]`, …). Interpolated bare, drizzle would expand an array into one parameter
 * per element, which is the cost this module exists to avoid. The literal is written here rather
 * than by postgres.js, whose array serializer runs two regex replaces per element (a tenth of the
 * commit's JavaScript on a 10,000-leg batch): ledger values are UUIDs, BICs, ISO codes, digits and
 * `settlement:<BIC>:<CCY>`, so one scan of the joined text for `"` and `\` usually proves that
 * quoting alone is enough, and the escaping path is taken only when it is not.
 *
 * Amounts travel as text and are cast per row (`::numeric`): drizzle's postgres-js driver replaces
 * postgres.js's serializer for numeric[] (oid 1231) with a pass-through, and text keeps every
 * column on the same path.
 */
function column(values: readonly (string | number)[]): SQL {
  return sql`${sql.param(arrayLiteral(values))}`;
}

const needsEscape = /["\\]/;

/** Every element quoted, so no value can read as NULL or split on a comma, brace or space. */
export function arrayLiteral(values: readonly (string | number)[]): string {
  if (values.length === 0) return '{}';
  if (!needsEscape.test(values.join(''))) return `{"${values.join('","')}"}`;
  return `{${values.map((value) => `"${String(value).replace(/[\\"]/g, (character) => `\\${character}`)}"`).join(',')}}`;
}
