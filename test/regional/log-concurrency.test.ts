/**
 * eu-1 and eu-2 append to one jurisdiction's log at the same time (two app instances, two pools,
 * one database, as in the local topology) while auditors poll both for checkpoints. The log must
 * not fork: indexes 0..n−1 without gaps or duplicates, one leaf per batch, the same leaf bytes
 * from either backend, and every checkpoint either backend signed consistent with every later one.
 * On PGlite the two backends' transactions are serialized; on PostgreSQL they really overlap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnvelope } from '../../core/dsse.ts';
import { parseSettlementBatchStatement } from '../../core/in-toto.ts';
import { emptyTreeRoot, verifyConsistency } from '../../core/merkle.ts';
import type { SealedSettlementBatch, SettlementResponse } from '../../core/settlement-batch.ts';
import { freshJurisdiction, sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { createTestEdge } from './support/edge.ts';
import { startTestbed, type Testbed } from './support/testbed.ts';
import { fetchCheckpoint, fetchConsistencyProof, fetchLeaf, type FetchedCheckpoint } from './support/transparency-log.ts';

const batchCount = 16;
/** Redeliveries after a 503 (serialization retries exhausted), as the window's outbox would. */
const redeliveriesMax = 10;
/** Auditors poll each backend this often while the batches commit. */
const pollIntervalMs = 25;

/**
 * Sixteen commits racing for one log tail on PostgreSQL can exhaust a commit's retry budget
 * (one winner per round); the backend then answers 503 and the edge's outbox delivers again. That
 * is the production path, so the test takes it too, with a fresh token per delivery.
 */
async function deliverLikeTheOutbox(backend: Testbed, sealed: SealedSettlementBatch): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const response = await backend.deliver(sealed);
    if (response.status !== 503 || attempt >= redeliveriesMax) return response;
    await response.body?.cancel();
  }
}

describe.each(testDatabaseKinds())('one log, two backends appending concurrently, on %s', (kind) => {
  let database: TestDatabase;
  let backends: [Testbed, Testbed];

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'log_concurrency');
    const edge = await createTestEdge();
    const jurisdiction = freshJurisdiction();
    backends = [await startTestbed(database, { edge, jurisdiction, region: 'eu-1' }), await startTestbed(database, { edge, jurisdiction, region: 'eu-2' })];
  });
  afterAll(async () => {
    for (const backend of backends ?? []) await backend.close();
    await database?.drop();
  });

  it('appends without gaps, duplicates or forks, and every checkpoint is consistent with every later one', async () => {
    const [eu1, eu2] = backends;
    const batches = Array.from({ length: batchCount }, () => sampleBatch({ jurisdiction: eu1.jurisdiction, payments: 2 }));
    const checkpoints: Array<FetchedCheckpoint & { backend: Testbed }> = [];
    let delivering = true;
    const poll = async (backend: Testbed) => {
      while (delivering) {
        checkpoints.push({ ...(await fetchCheckpoint(backend.app)), backend });
        await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
      }
    };
    const polling = Promise.all([poll(eu1), poll(eu2)]);
    const responses = await Promise.all(batches.map((sealed, index) => deliverLikeTheOutbox(index % 2 === 0 ? eu1 : eu2, sealed))).finally(() => {
      delivering = false;
    });
    await polling;
    for (const backend of backends) checkpoints.push({ ...(await fetchCheckpoint(backend.app)), backend });

    expect(responses.map((response) => response.status)).toEqual(batches.map(() => 201));
    const bodies = (await Promise.all(responses.map((response) => response.json()))) as SettlementResponse[];
    expect(bodies.map((body) => body.log_index).sort((a, b) => a - b)).toEqual([...Array(batchCount).keys()]);
    const rows = await eu1.database.sql`select leaf_index::int, batch_digest from log_leaves where jurisdiction = ${eu1.jurisdiction} order by leaf_index`;
    expect(rows.map((row) => row.leaf_index)).toEqual([...Array(batchCount).keys()]);
    expect(new Set(rows.map((row) => row.batch_digest)).size).toBe(batchCount);

    // Both backends serve the same leaves; the leaf at a batch's log_index is that batch's statement.
    for (const [position, body] of bodies.entries()) {
      const [fromEu1, fromEu2] = await Promise.all([fetchLeaf(eu1.app, body.log_index), fetchLeaf(eu2.app, body.log_index)]);
      expect(fromEu2).toEqual(fromEu1);
      const envelope = parseEnvelope(new TextDecoder().decode(fromEu1));
      if (!envelope.ok) throw new Error(envelope.reason.detail);
      const statement = parseSettlementBatchStatement(Buffer.from(envelope.value.payload, 'base64'));
      expect(statement.ok && statement.value.subject[0].digest.sha256).toBe(batches[position]!.digest);
      expect(statement.ok && statement.value.predicate.region).toBe(position % 2 === 0 ? 'eu-1' : 'eu-2');
    }

    // Each backend signs with its own key; both sign the same final tree.
    const finals = checkpoints.slice(-2);
    expect(finals.map((checkpoint) => checkpoint.treeSize)).toEqual([batchCount, batchCount]);
    expect(finals[1]!.rootHash).toEqual(finals[0]!.rootHash);
    expect(finals[1]!.signedBy).not.toBe(finals[0]!.signedBy);

    const ordered = [...checkpoints].sort((left, right) => left.treeSize - right.treeSize);
    let proofs = 0;
    for (let earlier = 0; earlier < ordered.length; earlier++) {
      for (let later = earlier + 1; later < ordered.length; later++) {
        const [first, second] = [ordered[earlier]!, ordered[later]!];
        if (first.treeSize === 0) {
          expect(first.rootHash).toEqual(emptyTreeRoot);
          continue;
        }
        // Ask the backend that did not sign the later checkpoint, so each proves the other's view.
        const prover = second.backend === eu1 ? eu2 : eu1;
        const proof = first.treeSize === second.treeSize ? [] : await fetchConsistencyProof(prover.app, first.treeSize, second.treeSize);
        const verdict = verifyConsistency(first.treeSize, second.treeSize, proof, first.rootHash, second.rootHash);
        expect(verdict.ok, `${first.backend.region}@${first.treeSize} → ${second.backend.region}@${second.treeSize}: ${verdict.ok ? '' : verdict.reason.detail}`).toBe(true);
        proofs++;
      }
    }
    expect(proofs).toBeGreaterThan(0);
    // Polling saw the log at more than one size (on PostgreSQL typically most sizes 0..16).
    expect(new Set(ordered.map((checkpoint) => checkpoint.treeSize)).size).toBeGreaterThanOrEqual(2);
    expect(new Set(checkpoints.map((checkpoint) => checkpoint.backend.region))).toEqual(new Set(['eu-1', 'eu-2']));
  });
});
