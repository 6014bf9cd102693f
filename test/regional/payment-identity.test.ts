/**
 * Payment identity is (instructing agent, UETR): gpi keeps one UETR along the whole chain, so two
 * partners may each submit the same UETR into one corridor window, and both must settle.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealSettlementBatch, type SettlementLeg } from '../../core/settlement-batch.ts';
import { fxProviderBic } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { startTestbed, type Testbed } from './support/testbed.ts';

describe.each(testDatabaseKinds())('payment identity on %s', (kind) => {
  let database: TestDatabase;
  let testbed: Testbed;

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'payment_identity');
    testbed = await startTestbed(database);
  });
  afterAll(async () => {
    await testbed?.close();
    await database?.drop();
  });

  it('commits one UETR submitted by two instructing agents in one window, and reads back both leg sets', async () => {
    const uetr = randomUUID();
    const startsAtMs = Date.UTC(2026, 2, 1);
    // Two hops of one gpi chain, each an FX payment through the provider, each with its own submitter.
    const legs: SettlementLeg[] = [
      { uetr, instructing_agent: 'DEUTDEFF', payer: 'DEUTDEFF', payee: fxProviderBic, currency: 'EUR', amount_minor: '10000', debtor_country: 'DE', residency_exception: null },
      { uetr, instructing_agent: 'DEUTDEFF', payer: fxProviderBic, payee: 'CHASUS33', currency: 'USD', amount_minor: '10800', debtor_country: 'DE', residency_exception: null },
      { uetr, instructing_agent: 'BNPAFRPP', payer: 'BNPAFRPP', payee: fxProviderBic, currency: 'EUR', amount_minor: '5000', debtor_country: 'DE', residency_exception: null },
      { uetr, instructing_agent: 'BNPAFRPP', payer: fxProviderBic, payee: 'CITIUS33', currency: 'USD', amount_minor: '5400', debtor_country: 'DE', residency_exception: null },
    ];
    const sealed = sealSettlementBatch({
      batch_id: `EUR-USD.eu.0.${startsAtMs}`,
      corridor: 'EUR-USD',
      jurisdiction: 'eu',
      window: { starts_at: new Date(startsAtMs).toISOString(), ends_at: new Date(startsAtMs + 60_000).toISOString() },
      legs,
    });
    expect(sealed.batch.version).toBe(3);
    expect((await testbed.deliver(sealed)).status).toBe(201);

    const response = await testbed.app.request(`/v1/settlements/${sealed.batch.batch_id}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { legs: SettlementLeg[] };
    // The auditor API's legs carry the payment and money fields; the residency fields stay in the stored canonical batch.
    expect(body.legs).toEqual(sealed.batch.legs.map(({ debtor_country: _country, residency_exception: _exception, ...leg }) => leg));
    expect(body.legs.map((leg) => `${leg.instructing_agent} ${leg.currency}`)).toEqual(['BNPAFRPP EUR', 'BNPAFRPP USD', 'DEUTDEFF EUR', 'DEUTDEFF USD']);

    const stored = await testbed.database.sql`select instructing_agent, count(*)::int as legs from settlement_legs where uetr = ${uetr} group by instructing_agent order by instructing_agent`;
    expect(stored.map((row) => ({ ...row }))).toEqual([
      { instructing_agent: 'BNPAFRPP', legs: 2 },
      { instructing_agent: 'DEUTDEFF', legs: 2 },
    ]);
    // A repeat delivery reads both leg sets back and matches them against the batch.
    expect((await testbed.deliver(sealed)).status).toBe(200);
  });

  it('refuses a second leg for the same (instructing agent, UETR, currency) in one batch at the database too', async () => {
    const sealed = (await import('./support/batches.ts')).sampleBatch({ payments: 1 });
    expect((await testbed.deliver(sealed)).status).toBe(201);
    const [leg] = await testbed.database.sql`select batch_digest, uetr, instructing_agent, payer, payee, currency from settlement_legs where batch_digest = ${sealed.digest} and leg_index = 0`;
    await expect(testbed.database.sql`insert into settlement_legs (batch_digest, leg_index, uetr, instructing_agent, payer, payee, currency, amount_minor)
      values (${leg!.batch_digest}, 99, ${leg!.uetr}, ${leg!.instructing_agent}, ${leg!.payer}, ${leg!.payee}, ${leg!.currency}, 1)`).rejects.toMatchObject({ code: '23505' });
  });

  it('refuses a version-1 batch (legs without instructing_agent) with 422', async () => {
    const sealed = (await import('./support/batches.ts')).sampleBatch({ payments: 1 });
    const versionOne = JSON.parse(sealed.canonical);
    versionOne.version = 1;
    for (const leg of versionOne.legs) delete leg.instructing_agent;
    const response = await testbed.deliver(sealed, {}, JSON.stringify(versionOne));
    expect(response.status).toBe(422);
  });
});
