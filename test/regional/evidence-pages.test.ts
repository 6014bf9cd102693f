/**
 * GET /v1/evidence?include=settlements: pages that carry each leaf's whole settlement, so an
 * exporter reads a period in one request per page instead of one per batch. The settlement must be
 * exactly GET /v1/settlements/{batch_id}'s answer; the page is bounded by legs (legs_max) as well
 * as leaves, says where it ends (next_from), and refuses a bound it cannot honour with a 400 that
 * names the parameter. Clients that do not ask get the page they always got.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evidenceBundleSchema } from '../../core/auditor-api-responses.ts';
import { evidencePageSchema } from '../../regional/openapi/auditor-document.ts';
import { evidenceLeavesMax, evidencePageLegsMax } from '../../regional/routes/evidence.ts';
import { freshJurisdiction, sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { startTestbed, type Testbed } from './support/testbed.ts';

interface EvidencePage {
  tree_size: number;
  entries: Array<{ index: number; batch_id: string; settlement?: { batch_id: string; legs: unknown[] } }>;
  next_from?: number;
}

/** Payments per batch; each payment is an FX pair of legs, so 6, 4 and 8 legs. */
const paymentsPerBatch = [3, 2, 4];

async function page(testbed: Testbed, query: string): Promise<EvidencePage> {
  const response = await testbed.app.request(`/v1/evidence?${query}`);
  const text = await response.text();
  expect(response.status, text.slice(0, 300)).toBe(200);
  const parsed = evidencePageSchema.safeParse(JSON.parse(text));
  expect(parsed.success, JSON.stringify(parsed.error)).toBe(true);
  return JSON.parse(text) as EvidencePage;
}

describe.each(testDatabaseKinds())('evidence pages with settlements on %s', (kind) => {
  let database: TestDatabase;
  let testbed: Testbed;
  const batchIds: string[] = [];

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'evidence_pages');
    testbed = await startTestbed(database, { jurisdiction: freshJurisdiction() });
    for (const payments of paymentsPerBatch) {
      const sealed = sampleBatch({ jurisdiction: testbed.jurisdiction, payments });
      const response = await testbed.deliver(sealed);
      expect(response.status).toBe(201);
      batchIds.push(sealed.batch.batch_id);
    }
  });
  afterAll(async () => {
    await testbed?.close();
    await database?.drop();
  });

  it('carries, per entry, exactly what GET /v1/settlements/{batch_id} answers', async () => {
    const bundle = await page(testbed, 'from=0&to=3&include=settlements');
    expect(bundle.next_from).toBe(3);
    expect(bundle.entries.map((entry) => entry.batch_id)).toEqual(batchIds);
    for (const entry of bundle.entries) {
      const single = await testbed.app.request(`/v1/settlements/${entry.batch_id}`);
      expect(single.status).toBe(200);
      expect(entry.settlement).toEqual(await single.json());
    }
    expect(bundle.entries.map((entry) => entry.settlement!.legs.length)).toEqual(paymentsPerBatch.map((payments) => 2 * payments));
  });

  it('without include, answers the page existing clients parse (no settlement, no next_from)', async () => {
    const response = await testbed.app.request('/v1/evidence?from=0&to=3');
    const body = (await response.json()) as EvidencePage;
    expect(evidenceBundleSchema.safeParse(body).success).toBe(true);
    expect(body.entries.every((entry) => entry.settlement === undefined)).toBe(true);
    expect(body.next_from).toBeUndefined();
  });

  it('ends a page before the batch that would take it over legs_max, at least one batch, and says where', async () => {
    const first = await page(testbed, 'from=0&to=3&include=settlements&legs_max=10');
    expect(first.entries.map((entry) => entry.index)).toEqual([0, 1]);
    expect(first.next_from).toBe(2);
    // The 8-leg batch is larger than legs_max=5: it comes alone, so every batch can be read.
    const alone = await page(testbed, 'from=2&to=3&include=settlements&legs_max=5');
    expect(alone.entries.map((entry) => entry.index)).toEqual([2]);
    expect(alone.next_from).toBe(3);

    const walked: string[] = [];
    for (let from = 0; from < 3; ) {
      const next = await page(testbed, `from=${from}&to=3&include=settlements&legs_max=6`);
      expect(next.entries.length).toBeGreaterThan(0);
      walked.push(...next.entries.map((entry) => entry.batch_id));
      from = next.next_from!;
    }
    expect(walked).toEqual(batchIds);
  });

  it('refuses bounds it cannot honour with 400 problem+json naming the parameter', async () => {
    const refused: Array<[string, string]> = [
      [`from=0&to=${evidenceLeavesMax + 1}&include=settlements`, 'to'],
      ['from=0&to=3&include=legs', 'include'],
      ['from=0&to=3&include=settlements&include=settlements', 'include'],
      ['from=0&to=3&include=settlements&legs_max=0', 'legs_max'],
      [`from=0&to=3&include=settlements&legs_max=${evidencePageLegsMax + 1}`, 'legs_max'],
      ['from=0&to=3&include=settlements&legs_max=1e3', 'legs_max'],
      ['from=0&to=3&legs_max=10', 'legs_max'],
    ];
    for (const [query, parameter] of refused) {
      const response = await testbed.app.request(`/v1/evidence?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      const problem = (await response.json()) as { type: string; detail: string };
      expect(problem.type).toBe('urn:meridian:problem:invalid-request');
      expect(problem.detail, query).toContain(parameter);
    }
  });
});
