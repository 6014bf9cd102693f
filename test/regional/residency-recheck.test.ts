/**
 * The regional residency re-check (regional/residency/batch-residency.ts): a backend commits a
 * batch only when it is of its jurisdiction and every leg's debtor country maps there
 * (policies/country-jurisdictions.json) or carries the residency exception the edge admitted it
 * under. A refusal is 403 residency-denied naming the leg, logged, counted, and leaves no trace in
 * the ledger or the log.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealSettlementBatch, type SealedSettlementBatch, type SettlementLeg } from '../../core/settlement-batch.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { startTestbed, type Testbed } from './support/testbed.ts';

let windowCounter = 0;

/** A same-currency EUR-EUR batch with one payment per debtor (country, exception). */
function batchFor(jurisdiction: string, debtors: Array<{ country: string; exception?: string }>): SealedSettlementBatch {
  const startsAtMs = Date.UTC(2026, 5, 1) + (windowCounter++ + Math.floor(Math.random() * 1e6)) * 60_000;
  const legs: SettlementLeg[] = debtors.map((debtor, index) => ({
    uetr: randomUUID(), instructing_agent: 'ALPHDEFFXXX', payer: 'ALPHDEFFXXX', payee: 'BRAVFRPPXXX', currency: 'EUR',
    amount_minor: String(10_000 + index), debtor_country: debtor.country, residency_exception: debtor.exception ?? null,
  }));
  return sealSettlementBatch({
    batch_id: `EUR-EUR.${jurisdiction}.0.${startsAtMs}`, corridor: 'EUR-EUR', jurisdiction,
    window: { starts_at: new Date(startsAtMs).toISOString(), ends_at: new Date(startsAtMs + 60_000).toISOString() }, legs,
  });
}

async function residencyRejections(testbed: Testbed): Promise<number> {
  const exposition = await (await testbed.app.request('/metrics')).text();
  const line = exposition.split('\n').find((text) => text.startsWith('meridian_settlement_rejections_total{') && text.includes('reason="residency-denied"'));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe.each(testDatabaseKinds())('regional residency re-check on %s', (kind) => {
  let database: TestDatabase;
  let eu: Testbed;

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'residency_recheck');
    eu = await startTestbed(database, { region: 'eu-1', jurisdiction: 'eu' });
  });
  afterAll(async () => {
    await eu?.close();
    await database?.drop();
  });

  async function refused(sealed: SealedSettlementBatch): Promise<{ detail: string; reason: string }> {
    const before = await residencyRejections(eu);
    const response = await eu.deliver(sealed);
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await response.json()) as { type: string; detail: string; reason: string };
    expect(problem.type).toBe('urn:meridian:problem:residency-denied');
    expect(await residencyRejections(eu)).toBe(before + 1);
    expect((await eu.app.request(`/v1/settlements/${sealed.batch.batch_id}`)).status, 'nothing was committed').toBe(404);
    const [stored] = await eu.database.sql`select count(*)::int as count from settlement_batches where digest = ${sealed.digest}`;
    expect(stored!.count).toBe(0);
    expect(eu.logged.some((line) => line.level === 'error' && line.message === 'settlement refused: residency' && line.context?.batch_id === sealed.batch.batch_id)).toBe(true);
    return problem;
  }

  it('commits a batch whose debtors all belong to its jurisdiction', async () => {
    const sealed = batchFor('eu', [{ country: 'DE' }, { country: 'FR' }, { country: 'NO' }]);
    expect((await eu.deliver(sealed)).status).toBe(201);
  });

  it('refuses a batch with one leg whose debtor belongs to another jurisdiction, naming the leg', async () => {
    const sealed = batchFor('eu', [{ country: 'DE' }, { country: 'US' }, { country: 'FR' }]);
    const foreign = sealed.batch.legs.find((leg) => leg.debtor_country === 'US')!;
    const problem = await refused(sealed);
    expect(problem.reason).toBe('debtor-country-outside');
    expect(problem.detail).toContain(`ALPHDEFFXXX/${foreign.uetr}`);
    expect(problem.detail).toMatch(/debtor country US belongs to jurisdiction us, not eu, and the leg carries no residency exception/);
  });

  it('refuses a debtor country that maps to no jurisdiction at all', async () => {
    const problem = await refused(batchFor('eu', [{ country: 'BR' }]));
    expect(problem.detail).toMatch(/debtor country BR maps to no jurisdiction, not eu/);
  });

  it('commits a foreign debtor that carries the residency exception the edge admitted it under, and keeps the reference', async () => {
    const exception = randomUUID();
    const sealed = batchFor('eu', [{ country: 'DE' }, { country: 'US', exception }]);
    expect((await eu.deliver(sealed)).status).toBe(201);
    const [stored] = await eu.database.sql`select canonical_json from settlement_batches where digest = ${sealed.digest}`;
    expect(String(stored!.canonical_json)).toContain(`"residency_exception":"${exception}"`);
  });

  it("still refuses a batch of another jurisdiction, whatever its debtors", async () => {
    const problem = await refused(batchFor('us', [{ country: 'US' }]));
    expect(problem.reason).toBe('foreign-jurisdiction');
    expect(problem.detail).toMatch(/belongs to jurisdiction us; this backend serves eu/);
  });
});
