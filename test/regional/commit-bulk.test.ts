import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitSettlement } from '../../regional/commit.ts';
import type { RegionalDatabase } from '../../regional/db/client.ts';
import { readStoredLegs, readStoredPositions } from '../../regional/ledger/read-settlement.ts';
import { arrayLiteral, rowsPerInsertMax } from '../../regional/ledger/write-settlement.ts';
import { loadOrCreateLocalSigner } from '../../regional/signer/local-signer.ts';
import type { Signer } from '../../regional/signer/signer.ts';
import { freshJurisdiction, sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';

/*
 * The bulk path of regional/ledger/write-settlement.ts: child rows go in as unnest arrays, in
 * chunks of rowsPerInsertMax. A batch larger than one chunk must come back row for row in the
 * canonical order, its journal complete and balanced, on PGlite and on PostgreSQL; and the array
 * literals must carry any text through unchanged, including what PostgreSQL's array syntax treats
 * specially.
 */
describe.each(testDatabaseKinds())('bulk settlement writes on %s', (kind) => {
  let testDatabase: TestDatabase;
  let database: RegionalDatabase;
  let signer: Signer;
  let keyDirectory: string;

  beforeAll(async () => {
    testDatabase = await openTestDatabase(kind, 'commit-bulk');
    database = testDatabase.connect('meridian-test-commit-bulk');
    keyDirectory = await mkdtemp(join(tmpdir(), 'meridian-commit-bulk-'));
    signer = await loadOrCreateLocalSigner({ keyFile: join(keyDirectory, 'signer.json') });
  });
  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
    if (keyDirectory !== undefined) await rm(keyDirectory, { recursive: true, force: true });
  });

  it('stores a batch of more legs than one statement holds, in canonical order, with a complete balanced journal', async () => {
    // Payments of two legs: legs cross the chunk boundary once, journal entries (two per leg) twice.
    const payments = Math.ceil(rowsPerInsertMax / 2) + 3;
    const sealed = sampleBatch({ jurisdiction: freshJurisdiction(), payments });
    expect(sealed.batch.legs.length).toBeGreaterThan(rowsPerInsertMax);
    const outcome = await commitSettlement(database.orm, sealed.batch, sealed.canonical, sealed.digest, 'eu-1', signer);
    expect(outcome.kind).toBe('committed');

    const storedLegs = await readStoredLegs(database.orm, sealed.digest);
    expect(storedLegs).toEqual(sealed.batch.legs.map(({ debtor_country: _country, residency_exception: _exception, ...leg }) => leg));
    expect(await readStoredPositions(database.orm, sealed.digest)).toEqual(sealed.batch.positions);

    const [journal] = await database.sql`
      select count(*)::int as entries, count(distinct leg_index)::int as legs, min(leg_index)::int as first_leg, max(leg_index)::int as last_leg,
        sum(debit_minor)::text as debits, sum(credit_minor)::text as credits,
        count(*) filter (where entry_index = 0 and debit_minor > 0 and credit_minor = 0)::int as debit_entries,
        count(*) filter (where entry_index = 1 and credit_minor > 0 and debit_minor = 0)::int as credit_entries
      from journal_entries where batch_digest = ${sealed.digest}`;
    const legTotalMinor = sealed.batch.legs.reduce((sum, leg) => sum + BigInt(leg.amount_minor), 0n).toString();
    expect({ ...journal }).toEqual({
      entries: sealed.batch.legs.length * 2,
      legs: sealed.batch.legs.length,
      first_leg: 0,
      last_leg: sealed.batch.legs.length - 1,
      debits: legTotalMinor,
      credits: legTotalMinor,
      debit_entries: sealed.batch.legs.length,
      credit_entries: sealed.batch.legs.length,
    });
    // The journal's accounts are the legs' payers and payees, entry by entry.
    const mismatched = await database.sql`
      select count(*)::int as rows from journal_entries j join settlement_legs l on l.batch_digest = j.batch_digest and l.leg_index = j.leg_index
      where j.batch_digest = ${sealed.digest}
        and (j.currency <> l.currency or j.account <> 'settlement:' || (case when j.entry_index = 0 then l.payer else l.payee end) || ':' || l.currency)`;
    expect(mismatched[0]!.rows).toBe(0);

    // A repeat delivery is a replay: the read-back assertions pass over the bulk-written rows.
    const again = await commitSettlement(database.orm, sealed.batch, sealed.canonical, sealed.digest, 'eu-1', signer);
    expect(again).toEqual({ kind: 'replayed', response: outcome.response });
  }, 180_000);

  it('carries any text through an array literal unchanged, NULL, quotes, backslashes, braces and commas included', async () => {
    const values = ['NULL', 'null', '', ' ', 'a,b', '{x}', '"', '\\', '\\"', 'tab\there', 'line\nbreak', 'é€😀', 'settlement:DEUTDEFFXXX:EUR'];
    const rows = await database.orm.execute<{ value: string | null; position: string }>(
      sql`select value, position::text from unnest(${sql.param(arrayLiteral(values))}::text[]) with ordinality as r (value, position) order by r.position`,
    );
    expect(rows.map((row) => row.value)).toEqual(values);
    const plain = await database.orm.execute<{ value: number }>(sql`select value from unnest(${sql.param(arrayLiteral([0, 1, 10_000]))}::int4[]) as r (value)`);
    expect(plain.map((row) => row.value)).toEqual([0, 1, 10_000]);
    const empty = await database.orm.execute(sql`select value from unnest(${sql.param(arrayLiteral([]))}::text[]) as r (value)`);
    expect(empty).toHaveLength(0);
  });
});
