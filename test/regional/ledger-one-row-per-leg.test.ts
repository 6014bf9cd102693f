/**
 * migrations/0005_*: a ledger written under the two-rows-per-leg journal keeps its journal. A
 * database is migrated to 0004, a batch is stored as the commit stored it then (batch row, legs,
 * two journal rows per leg, positions), the remaining migrations run, and the journal_entries view
 * must show exactly the entries that were stored (now in journal_entries_v1), while a batch
 * committed afterwards gets its entries from its legs alone. PGlite, and PostgreSQL with DATABASE_URL.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPgliteServer } from '../../cli/dev/pglite-server.ts';
import { commitSettlement } from '../../regional/commit.ts';
import { connectRegionalDatabase, type RegionalDatabase } from '../../regional/db/client.ts';
import { migrateDatabase, migrationsFolder } from '../../regional/db/migrate.ts';
import { journalEntriesForLegs } from '../../regional/ledger/journal.ts';
import { readStoredLegs, readStoredPositions } from '../../regional/ledger/read-settlement.ts';
import { loadOrCreateLocalSigner } from '../../regional/signer/local-signer.ts';
import { sampleBatch } from './support/batches.ts';
import { testDatabaseKinds } from './support/databases.ts';

const migrationsBeforeOneRowPerLeg = 5;

/** The migrations folder as it was before 0005: its SQL files and drizzle's journal cut at 0004. */
async function migrationsUpTo0004(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'meridian-migrations-0004-'));
  await cp(migrationsFolder, folder, { recursive: true });
  const journalFile = join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(await readFile(journalFile, 'utf8')) as { entries: unknown[] };
  journal.entries = journal.entries.slice(0, migrationsBeforeOneRowPerLeg);
  await writeFile(journalFile, JSON.stringify(journal));
  return folder;
}

interface UnmigratedDatabase {
  url: string;
  drop(): Promise<void>;
}

async function unmigratedDatabase(kind: 'pglite' | 'postgresql'): Promise<UnmigratedDatabase> {
  if (kind === 'pglite') {
    const server = await startPgliteServer({ port: 0 });
    return { url: server.connectionString, drop: () => server.stop() };
  }
  const admin = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
  const name = `meridian_test_one_row_per_leg_${randomBytes(4).toString('hex')}`;
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}

describe.each(testDatabaseKinds())('one row per leg (migration 0005) on %s', (kind) => {
  let database: UnmigratedDatabase;
  let regional: RegionalDatabase;
  let folder0004: string;
  const before = sampleBatch({ payments: 5 });

  beforeAll(async () => {
    database = await unmigratedDatabase(kind);
    folder0004 = await migrationsUpTo0004();
    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      await migrate(drizzle(sql), { migrationsFolder: folder0004 });
      // Stored as regional/ledger/write-settlement.ts stored a batch under 0004.
      await sql.begin(async (tx) => {
        await tx`insert into settlement_batches (batch_id, digest, corridor, jurisdiction, region, window_starts_at, window_ends_at, leg_count, canonical_json, log_index, receipt, committed_at)
          values (${before.batch.batch_id}, ${before.digest}, ${before.batch.corridor}, 'eu', 'eu-1', ${before.batch.window.starts_at}, ${before.batch.window.ends_at}, ${before.batch.legs.length}, ${before.canonical}, 0, 'receipt-under-0004', now())`;
        // Its log leaf (the content is not under test here), so the next commit appends at index 1.
        await tx`insert into log_leaves (jurisdiction, leaf_index, leaf_hash, batch_digest, leaf) values ('eu', 0, ${'0'.repeat(64)}, ${before.digest}, 'leaf-under-0004')`;
        for (const [legIndex, leg] of before.batch.legs.entries()) {
          await tx`insert into settlement_legs (batch_digest, leg_index, uetr, instructing_agent, payer, payee, currency, amount_minor)
            values (${before.digest}, ${legIndex}, ${leg.uetr}, ${leg.instructing_agent}, ${leg.payer}, ${leg.payee}, ${leg.currency}, ${leg.amount_minor})`;
        }
        for (const entry of journalEntriesForLegs(before.batch.legs)) {
          await tx`insert into journal_entries (batch_digest, leg_index, entry_index, account, currency, debit_minor, credit_minor)
            values (${before.digest}, ${entry.legIndex}, ${entry.entryIndex}, ${entry.account}, ${entry.currency}, ${entry.debitMinor.toString()}, ${entry.creditMinor.toString()})`;
        }
        for (const [positionIndex, position] of before.batch.positions.entries()) {
          await tx`insert into net_positions (batch_digest, position_index, participant, currency, net_minor)
            values (${before.digest}, ${positionIndex}, ${position.participant}, ${position.currency}, ${position.net_minor})`;
        }
      });
    } finally {
      await sql.end();
    }
    await migrateDatabase(database.url);
    regional = connectRegionalDatabase(database.url, { applicationName: 'one-row-per-leg-test' });
  });
  afterAll(async () => {
    await regional?.close();
    await database?.drop();
    if (folder0004 !== undefined) await rm(folder0004, { recursive: true, force: true });
  });

  const journalOf = async (table: 'journal_entries' | 'journal_entries_v1', digest: string) =>
    (
      await regional.sql`select leg_index, entry_index, account, currency, debit_minor::text, credit_minor::text
        from ${regional.sql(table)} where batch_digest = ${digest} order by leg_index, entry_index`
    ).map((row) => ({ ...row }));

  it('shows the journal stored before the migration, entry for entry, through the journal_entries view', async () => {
    const stored = await journalOf('journal_entries_v1', before.digest);
    expect(stored).toHaveLength(2 * before.batch.legs.length);
    expect(await journalOf('journal_entries', before.digest)).toEqual(stored);
  });

  it('reads the legs and positions of that batch back as before', async () => {
    expect(await readStoredLegs(regional.orm, before.digest)).toEqual(before.batch.legs.map(({ debtor_country: _country, residency_exception: _exception, ...leg }) => leg));
    expect(await readStoredPositions(regional.orm, before.digest)).toEqual(before.batch.positions);
  });

  it('books a batch committed afterwards in its legs alone: two journal entries per leg in the view, none stored', async () => {
    const keyDirectory = await mkdtemp(join(tmpdir(), 'meridian-one-row-per-leg-keys-'));
    try {
      const signer = await loadOrCreateLocalSigner({ keyFile: join(keyDirectory, 'eu-1.json') });
      const after = sampleBatch({ payments: 3 });
      expect((await commitSettlement(regional.orm, after.batch, after.canonical, after.digest, 'eu-1', signer)).kind).toBe('committed');
      const expected = journalEntriesForLegs(after.batch.legs).map((entry) => ({
        leg_index: entry.legIndex,
        entry_index: entry.entryIndex,
        account: entry.account,
        currency: entry.currency,
        debit_minor: entry.debitMinor.toString(),
        credit_minor: entry.creditMinor.toString(),
      }));
      expect(await journalOf('journal_entries', after.digest)).toEqual(expected);
      expect(await journalOf('journal_entries_v1', after.digest)).toEqual([]);
    } finally {
      await rm(keyDirectory, { recursive: true, force: true });
    }
  });

  it('keeps refusing a second leg for one payment and currency in a batch, and a non-positive amount', async () => {
    const [leg] = before.batch.legs;
    await expect(regional.sql`insert into settlement_legs (batch_digest, leg_index, uetr, instructing_agent, payer, payee, currency, amount_minor)
      values (${before.digest}, ${before.batch.legs.length}, ${leg!.uetr}, ${leg!.instructing_agent}, ${leg!.payer}, ${leg!.payee}, ${leg!.currency}, 1)`).rejects.toMatchObject({ code: '23505' });
    await expect(regional.sql`insert into settlement_legs (batch_digest, leg_index, uetr, instructing_agent, payer, payee, currency, amount_minor)
      values (${before.digest}, 0, gen_random_uuid(), 'DEUTDEFF', 'DEUTDEFF', 'CHASUS33', 'EUR', 5)`).rejects.toMatchObject({ code: '23505' });
    await expect(regional.sql`insert into settlement_legs (batch_digest, leg_index, uetr, instructing_agent, payer, payee, currency, amount_minor)
      values (${before.digest}, ${before.batch.legs.length + 1}, gen_random_uuid(), 'DEUTDEFF', 'DEUTDEFF', 'CHASUS33', 'EUR', 0)`).rejects.toMatchObject({ code: '23514' });
  });
});
