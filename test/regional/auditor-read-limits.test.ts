/**
 * The auditor API is unauthenticated, so it must not be able to starve settlement commits: reads
 * run on their own bounded pool behind a bounded queue, excess reads are turned away with 503
 * problem+json and Retry-After, and proofs are cached per tree size.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConnectionsMax } from '../../regional/db/client.ts';
import { auditorReadsConcurrentMax, auditorReadsQueuedMax } from '../../regional/http/limit-auditor-reads.ts';
import { evidenceLeavesMax } from '../../regional/routes/evidence.ts';
import { createProofCache } from '../../regional/log/proof-cache.ts';
import type { LogTree } from '../../regional/log/tree.ts';
import { sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { startTestbed, type Testbed } from './support/testbed.ts';

const burstRequests = 40;

describe.each(testDatabaseKinds())('auditor read limits on %s', (kind) => {
  let database: TestDatabase;
  let testbed: Testbed;

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'read_limits');
    testbed = await startTestbed(database);
    for (let batch = 0; batch < 3; batch++) expect((await testbed.deliver(sampleBatch())).status).toBe(201);
  });
  afterAll(async () => {
    await testbed?.close();
    await database?.drop();
  });

  it('commits while a burst of evidence and proof requests has every read connection busy, and turns the excess away', async () => {
    // Slow auditor queries, as far as the pool can tell: every read connection is taken.
    const reserved = await Promise.all(Array.from({ length: readConnectionsMax }, () => testbed.readDatabase.sql.reserve()));
    const burst = Array.from({ length: burstRequests }, (_, request) =>
      testbed.app.request(request % 2 === 0 ? '/v1/evidence?from=0&to=3' : `/v1/log/inclusion?index=${request % 3}&size=3`),
    );
    let released = false;
    try {
      const settled = await testbed.deliver(sampleBatch());
      expect(settled.status).toBe(201);
      // Reads beyond the concurrent + queued bound were answered already, without waiting for a connection.
      const notYet = new Promise<undefined>((resolve) => setImmediate(() => resolve(undefined)));
      const answeredEarly = await Promise.all(burst.map((pending) => Promise.race([Promise.resolve(pending), notYet])));
      const turnedAway = answeredEarly.filter((response) => response !== undefined);
      expect(turnedAway).toHaveLength(burstRequests - auditorReadsConcurrentMax - auditorReadsQueuedMax);
      for (const response of turnedAway) {
        expect(response!.status).toBe(503);
        expect(response!.headers.get('content-type')).toBe('application/problem+json');
        expect(response!.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
      }
      for (const connection of reserved) connection.release();
      released = true;
      const admitted = (await Promise.all(burst)).filter((response) => response.status !== 503);
      expect(admitted.map((response) => response.status)).toEqual(Array(auditorReadsConcurrentMax + auditorReadsQueuedMax).fill(200));
    } finally {
      if (!released) for (const connection of reserved) connection.release();
      await Promise.allSettled(burst);
    }
  });

  it('caps the leaves of one evidence bundle', async () => {
    const response = await testbed.app.request(`/v1/evidence?from=0&to=${evidenceLeavesMax + 1}`);
    expect(response.status).toBe(400);
  });
});

describe('proof cache', () => {
  function countingTree(): { tree: LogTree; calls: string[] } {
    const calls: string[] = [];
    return {
      calls,
      tree: {
        rootHash: async (size) => (calls.push(`root ${size}`), new Uint8Array([size])),
        inclusionProof: async (index, size) => (calls.push(`inclusion ${index}@${size}`), [new Uint8Array([index, size])]),
        consistencyProof: async (from, to) => (calls.push(`consistency ${from}→${to}`), [new Uint8Array([from, to])]),
      },
    };
  }

  it('computes a proof once per (index, tree size) and again for a new tree size', async () => {
    const { tree, calls } = countingTree();
    const cached = createProofCache(tree, { entriesMax: 8 });
    expect(await cached.inclusionProof(1, 5)).toEqual(await cached.inclusionProof(1, 5));
    await cached.inclusionProof(1, 6);
    await cached.consistencyProof(2, 6);
    await cached.consistencyProof(2, 6);
    expect(calls).toEqual(['inclusion 1@5', 'inclusion 1@6', 'consistency 2→6']);
  });

  it('stays within its bound, dropping the least recently used proof', async () => {
    const { tree, calls } = countingTree();
    const cached = createProofCache(tree, { entriesMax: 2 });
    await cached.inclusionProof(0, 3);
    await cached.inclusionProof(1, 3);
    await cached.inclusionProof(0, 3); // hit: 1@3 is now the oldest
    await cached.inclusionProof(2, 3); // evicts 1@3
    await cached.inclusionProof(1, 3);
    expect(calls).toEqual(['inclusion 0@3', 'inclusion 1@3', 'inclusion 2@3', 'inclusion 1@3']);
  });

  it('does not cache a failed computation', async () => {
    let fail = true;
    const tree: LogTree = {
      rootHash: async () => new Uint8Array(),
      inclusionProof: async () => {
        if (fail) throw new Error('database gone');
        return [];
      },
      consistencyProof: async () => [],
    };
    const cached = createProofCache(tree, { entriesMax: 2 });
    await expect(cached.inclusionProof(0, 1)).rejects.toThrow('database gone');
    fail = false;
    await expect(cached.inclusionProof(0, 1)).resolves.toEqual([]);
  });
});
