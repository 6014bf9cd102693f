import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SettlementResponse } from '../../core/settlement-batch.ts';
import { freshJurisdiction, sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { createTestEdge } from './support/edge.ts';
import { gatedTransactions, withTransactionFaults } from './support/faults.ts';
import { verifyReceipt } from './support/receipts.ts';
import { startTestbed, type Testbed, type TestbedOptions } from './support/testbed.ts';

describe.each(testDatabaseKinds())('concurrent and failing commits on %s', (kind) => {
  let database: TestDatabase;
  const testbeds: Testbed[] = [];

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'commit_concurrency');
  });
  afterAll(async () => {
    for (const testbed of testbeds) await testbed.close();
    await database?.drop();
  });

  /** Two backends of one jurisdiction (eu-1, eu-2 style): separate pools, one database, one edge. */
  async function twoBackends(options: TestbedOptions = {}): Promise<[Testbed, Testbed]> {
    const edge = await createTestEdge();
    const jurisdiction = options.jurisdiction ?? freshJurisdiction();
    const first = await startTestbed(database, { ...options, edge, jurisdiction, region: 'eu-1' });
    const second = await startTestbed(database, { edge, jurisdiction, region: 'eu-2' });
    testbeds.push(first, second);
    return [first, second];
  }

  async function leafIndexes(testbed: Testbed): Promise<number[]> {
    const rows = await testbed.database.sql`select leaf_index::int from log_leaves where jurisdiction = ${testbed.jurisdiction} order by leaf_index`;
    return rows.map((row) => row.leaf_index as number);
  }

  it('commits a batch delivered to two backends at once exactly once, with one receipt', async () => {
    const [first, second] = await twoBackends();
    const sealed = sampleBatch({ jurisdiction: first.jurisdiction });
    const responses = await Promise.all([first.deliver(sealed), second.deliver(sealed)]);
    expect(responses.map((response) => response.status).sort()).toEqual([200, 201]);
    const [left, right] = (await Promise.all(responses.map((response) => response.json()))) as SettlementResponse[];
    expect(left).toEqual(right);
    const rows = await first.database.sql`select count(*)::int as batches from settlement_batches where digest = ${sealed.digest}`;
    expect(rows[0]!.batches).toBe(1);
    expect(await leafIndexes(first)).toEqual([0]);
  });

  it('gives concurrently committed batches consecutive log indexes: no fork, no gap', async () => {
    const [first, second] = await twoBackends();
    const batches = Array.from({ length: 6 }, () => sampleBatch({ jurisdiction: first.jurisdiction }));
    const responses = await Promise.all(batches.map((sealed, index) => (index % 2 === 0 ? first : second).deliver(sealed)));
    expect(responses.map((response) => response.status)).toEqual([201, 201, 201, 201, 201, 201]);
    const bodies = (await Promise.all(responses.map((response) => response.json()))) as SettlementResponse[];
    expect(bodies.map((body) => body.log_index).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await leafIndexes(first)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const body of bodies) expect((await verifyReceipt(body.region === 'eu-1' ? first.app : second.app, body.receipt)).log_index).toBe(body.log_index);
  });

  it.runIf(kind === 'postgresql')('retries a real serialization failure: two overlapping appends get indexes 0 and 1', async () => {
    const { gate, wrapOrm } = gatedTransactions();
    const [holder, contender] = await twoBackends({ wrapOrm });
    const held = sampleBatch({ jurisdiction: holder.jurisdiction });
    const contested = sampleBatch({ jurisdiction: holder.jurisdiction });
    // eu-1 writes leaf 0 and holds its transaction open; eu-2 read the same (empty) tail and
    // blocks on the (jurisdiction, log_index) key until eu-1 commits, then fails to serialize.
    const heldResponse = holder.deliver(held);
    await gate.reached;
    const contestedResponse = contender.deliver(contested);
    const observer = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      await expect
        .poll(async () => (await observer`select count(*)::int as waiting from pg_stat_activity where application_name = ${contender.applicationName} and wait_event_type = 'Lock'`)[0]!.waiting, { timeout: 10_000 })
        .toBe(1);
    } finally {
      await observer.end();
    }
    gate.release();
    const [heldBody, contestedBody] = (await Promise.all([(await heldResponse).json(), (await contestedResponse).json()])) as SettlementResponse[];
    expect(heldBody!.log_index).toBe(0);
    expect(contestedBody!.log_index).toBe(1);
    expect(contender.retries.map((retry) => retry.code)).toEqual(['40001']);
    expect(await leafIndexes(holder)).toEqual([0, 1]);
  });

  it('retries an injected 40001 at COMMIT and stores the batch once', async () => {
    const [testbed] = await twoBackends({ wrapOrm: withTransactionFaults([{ code: '40001', outcome: 'rolled-back' }, { code: '40001', outcome: 'rolled-back' }]) });
    const sealed = sampleBatch({ jurisdiction: testbed.jurisdiction });
    const response = await testbed.deliver(sealed);
    expect(response.status).toBe(201);
    expect(testbed.retries.map((retry) => retry.code)).toEqual(['40001', '40001']);
    const body = (await response.json()) as SettlementResponse;
    expect(body.log_index).toBe(0);
    const [stored] = await testbed.database.sql`select receipt from settlement_batches where digest = ${sealed.digest}`;
    expect(stored!.receipt).toBe(body.receipt);
    expect(await leafIndexes(testbed)).toEqual([0]);
  });

  for (const code of ['40003', 'CONNECTION_CLOSED']) {
    it(`reads back after ${code} during a COMMIT that did happen, and returns the stored receipt without retrying`, async () => {
      const [testbed] = await twoBackends({ wrapOrm: withTransactionFaults([{ code, outcome: 'committed' }]) });
      const sealed = sampleBatch({ jurisdiction: testbed.jurisdiction });
      const response = await testbed.deliver(sealed);
      expect(response.status).toBe(201);
      expect(testbed.retries).toEqual([]);
      const body = (await response.json()) as SettlementResponse;
      const [stored] = await testbed.database.sql`select receipt from settlement_batches where digest = ${sealed.digest}`;
      expect(body.receipt).toBe(stored!.receipt);
      expect(await leafIndexes(testbed)).toEqual([0]);
    });

    it(`retries after ${code} during a COMMIT that did not happen`, async () => {
      const [testbed] = await twoBackends({ wrapOrm: withTransactionFaults([{ code, outcome: 'rolled-back' }]) });
      const sealed = sampleBatch({ jurisdiction: testbed.jurisdiction });
      const response = await testbed.deliver(sealed);
      expect(response.status).toBe(201);
      expect(testbed.retries.map((retry) => retry.code)).toEqual([code]);
      expect(await leafIndexes(testbed)).toEqual([0]);
    });
  }

  it('gives up after retriesMax serialization failures with a 503 problem and stores nothing', async () => {
    const faults = Array.from({ length: 4 }, () => ({ code: '40001', outcome: 'rolled-back' as const }));
    const [testbed] = await twoBackends({ wrapOrm: withTransactionFaults(faults), commitOptions: { backoff: { retriesMax: 3, backoffBaseMs: 1, backoffCapMs: 5 } } });
    const sealed = sampleBatch({ jurisdiction: testbed.jurisdiction });
    const response = await testbed.deliver(sealed);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ type: 'urn:meridian:problem:unavailable' });
    expect(testbed.retries).toHaveLength(3);
    expect(await leafIndexes(testbed)).toEqual([]);
  });

  it('does not retry a non-transient failure', async () => {
    const [testbed] = await twoBackends({ wrapOrm: withTransactionFaults([{ code: '23514', outcome: 'rolled-back' }]) });
    const response = await testbed.deliver(sampleBatch({ jurisdiction: testbed.jurisdiction }));
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ type: 'urn:meridian:problem:internal' });
    expect(testbed.retries).toEqual([]);
    expect(testbed.logged.some((line) => line.level === 'error' && line.message === 'unhandled error')).toBe(true);
  });
});
