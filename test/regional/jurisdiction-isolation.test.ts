/**
 * In production one CockroachDB cluster holds every jurisdiction's rows (REGIONAL BY ROW), so each
 * backend must answer reads for its own jurisdiction only. Two backends of different
 * jurisdictions, eu-1 and us-1, share ONE database here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SealedSettlementBatch } from '../../core/settlement-batch.ts';
import { sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { startTestbed, type Testbed } from './support/testbed.ts';

describe.each(testDatabaseKinds())('jurisdiction isolation on one shared %s database', (kind) => {
  let database: TestDatabase;
  let eu: Testbed;
  let us: Testbed;
  let euBatch: SealedSettlementBatch;
  let usBatch: SealedSettlementBatch;

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'jurisdictions');
    eu = await startTestbed(database, { region: 'eu-1', jurisdiction: 'eu' });
    us = await startTestbed(database, { region: 'us-1', jurisdiction: 'us' });
    euBatch = sampleBatch({ jurisdiction: 'eu' });
    usBatch = sampleBatch({ jurisdiction: 'us' });
    expect((await eu.deliver(euBatch)).status).toBe(201);
    expect((await eu.deliver(sampleBatch({ jurisdiction: 'eu' }))).status).toBe(201);
    expect((await us.deliver(usBatch)).status).toBe(201);
  });
  afterAll(async () => {
    await eu?.close();
    await us?.close();
    await database?.drop();
  });

  it('serves a settlement only from a backend of its jurisdiction', async () => {
    expect((await eu.app.request(`/v1/settlements/${euBatch.batch.batch_id}`)).status).toBe(200);
    const foreign = await us.app.request(`/v1/settlements/${euBatch.batch.batch_id}`);
    expect(foreign.status).toBe(404);
    expect(foreign.headers.get('content-type')).toBe('application/problem+json');
    expect(JSON.stringify(await foreign.json())).not.toContain(euBatch.batch.legs[0]!.uetr);
    expect((await eu.app.request(`/v1/settlements/${usBatch.batch.batch_id}`)).status).toBe(404);
    expect((await us.app.request(`/v1/settlements/${usBatch.batch.batch_id}`)).status).toBe(200);
  });

  it('keeps logs, leaves, proofs and evidence per jurisdiction', async () => {
    // eu's log has two leaves, us's one; us-1 never serves eu's second leaf or proofs over it.
    expect((await us.app.request('/v1/log/leaves/1')).status).toBe(404);
    expect((await us.app.request('/v1/log/inclusion?index=1&size=2')).status).toBe(404);
    expect((await us.app.request('/v1/log/consistency?from=1&to=2')).status).toBe(404);
    expect((await us.app.request('/v1/evidence?from=0&to=2')).status).toBe(404);
    const usLeaf = await (await us.app.request('/v1/log/leaves/0')).text();
    const euLeaf = await (await eu.app.request('/v1/log/leaves/0')).text();
    expect(usLeaf).not.toBe(euLeaf);
    const evidence = (await (await us.app.request('/v1/evidence?from=0&to=1')).json()) as { jurisdiction: string; tree_size: number; entries: Array<{ batch_id: string }> };
    expect(evidence).toMatchObject({ jurisdiction: 'us', tree_size: 1, entries: [{ batch_id: usBatch.batch.batch_id }] });
    const checkpoint = await (await us.app.request('/v1/log/checkpoint')).text();
    expect(checkpoint.split('\n').slice(0, 2)).toEqual(['meridian.example/log/us', '1']);
  });
});
