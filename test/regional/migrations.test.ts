import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../regional/db/migrate.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';

describe.each(testDatabaseKinds())('migrations on %s', (kind) => {
  let database: TestDatabase;
  let sql: postgres.Sql;

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'migrations'); // migrated once already
    sql = postgres(database.url, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await sql?.end();
    await database?.drop();
  });

  it('can run again without changing anything', async () => {
    await migrateDatabase(database.url);
    const applied = await sql`select count(*)::int as migrations from drizzle.__drizzle_migrations`;
    expect(applied[0]!.migrations).toBe(6);
  });

  it('creates the ledger tables with UUID or natural keys and no sequences, and the journal as a view over the legs', async () => {
    const tables = await sql`select table_name, table_type from information_schema.tables where table_schema = 'public' order by table_name`;
    expect(tables.map((row) => `${row.table_name} ${row.table_type}`)).toEqual(
      ['checkpoint_cosignatures', 'consumed_tokens', 'journal_entries', 'journal_entries_v1', 'log_leaves', 'net_positions', 'settlement_batches', 'settlement_legs', 'signing_keys', 'witness_checkpoints'].map(
        (name) => `${name} ${name === 'journal_entries' ? 'VIEW' : 'BASE TABLE'}`,
      ),
    );
    const ids = await sql`select table_name, data_type, column_default from information_schema.columns where table_schema = 'public' and column_name = 'id' order by table_name`;
    expect(ids.map((row) => ({ ...row }))).toEqual(
      ['journal_entries_v1', 'net_positions', 'settlement_batches'].map((table_name) => ({ table_name, data_type: 'uuid', column_default: 'gen_random_uuid()' })),
    );
    const sequences = await sql`select sequence_name from information_schema.sequences where sequence_schema = 'public'`;
    expect(sequences).toHaveLength(0);
    const amounts = await sql`select table_name, column_name, numeric_precision, numeric_scale from information_schema.columns
      where table_schema = 'public' and data_type = 'numeric' order by table_name, column_name`;
    for (const column of amounts) expect([column.numeric_precision, column.numeric_scale]).toEqual([38, 0]);
    // settlement_legs.amount_minor, net_positions.net_minor, and debit/credit of journal_entries (view) and journal_entries_v1.
    expect(amounts).toHaveLength(6);
  });

  it('refuses a journal entry with both sides or neither side set, any write to the journal view, and a non-positive leg', async () => {
    // Constraints are the last line of defence behind assertJournalBalanced.
    await expect(sql`insert into journal_entries_v1 (batch_digest, leg_index, entry_index, account, currency, debit_minor, credit_minor)
      values (${'a'.repeat(64)}, 0, 0, 'settlement:X:EUR', 'EUR', 1, 1)`).rejects.toMatchObject({ code: expect.stringMatching(/^23(514|503)$/) });
    await expect(sql`insert into journal_entries (batch_digest, leg_index, entry_index, account, currency, debit_minor, credit_minor)
      values (${'a'.repeat(64)}, 0, 0, 'settlement:X:EUR', 'EUR', 1, 0)`).rejects.toMatchObject({ code: '55000' });
    await expect(sql`insert into settlement_legs (batch_digest, leg_index, uetr, instructing_agent, payer, payee, currency, amount_minor)
      values (${'a'.repeat(64)}, 0, gen_random_uuid(), 'DEUTDEFF', 'DEUTDEFF', 'CHASUS33', 'EUR', 0)`).rejects.toMatchObject({ code: expect.stringMatching(/^23(514|503)$/) });
  });

  it('refuses a registry key of an unknown purpose or algorithm, retired before it was registered, or registered twice', async () => {
    const insertKey = (purpose: string, alg: string, notAfter: string | null, kid = 'kid-1') => sql`insert into signing_keys (jurisdiction, purpose, kid, alg, public_key, region, created_at, not_before, not_after)
      values ('eu', ${purpose}, ${kid}, ${alg}, 'AAAA', 'eu-1', now(), '2026-01-02T00:00:00Z', ${notAfter})`;
    await expect(insertKey('witness', 'EdDSA', null)).rejects.toMatchObject({ code: '23514' });
    await expect(insertKey('receipt', 'RS256', null)).rejects.toMatchObject({ code: '23514' });
    await expect(insertKey('receipt', 'EdDSA', '2026-01-01T00:00:00Z')).rejects.toMatchObject({ code: '23514' });
    await insertKey('receipt', 'EdDSA', null, 'kid-twice');
    await expect(insertKey('receipt', 'EdDSA', null, 'kid-twice')).rejects.toMatchObject({ code: '23505' });
  });
});
