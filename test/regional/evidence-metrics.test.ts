/**
 * The auditor's bulk endpoints: GET /metrics (Prometheus text, per-app registry) and
 * GET /v1/evidence (one bundle that verifies offline: checkpoint, keys, leaves, proofs, receipts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64Decode } from '../../core/digest.ts';
import { merkleLeafHash, verifyInclusion } from '../../core/merkle.ts';
import type { SealedSettlementBatch, SettlementResponse } from '../../core/settlement-batch.ts';
import { openNote, parseCheckpoint, parseNoteVerifier } from '../../core/signed-note.ts';
import { evidenceLeavesMax } from '../../regional/routes/evidence.ts';
import { freshJurisdiction, sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { withTransactionFaults } from './support/faults.ts';
import { verifyReceipt } from './support/receipts.ts';
import { startTestbed, type Testbed } from './support/testbed.ts';
import { fetchLeaf } from './support/transparency-log.ts';

interface EvidenceEntry {
  index: number;
  leaf: string;
  inclusion_proof: string[];
  batch_id: string;
  digest: string;
  receipt: string;
}

interface EvidenceBundle {
  format: string;
  jurisdiction: string;
  region: string;
  generated_at: string;
  checkpoint: string;
  tree_size: number;
  keys: { keys: unknown[]; note_verifiers: string[] };
  entries: EvidenceEntry[];
}

/** The value of the one sample `name{labels}` whose labels include `labels`; undefined if none. */
function sample(exposition: string, name: string, labels: Record<string, string>): number | undefined {
  const found: number[] = [];
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((pair) => [pair[1], pair[2]]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) found.push(Number(match[3]));
  }
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0];
}

async function scrape(testbed: Testbed): Promise<string> {
  const response = await testbed.app.request('/metrics');
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

async function commit(testbed: Testbed, sealed: SealedSettlementBatch): Promise<SettlementResponse> {
  const response = await testbed.deliver(sealed);
  expect(response.status).toBe(201);
  return (await response.json()) as SettlementResponse;
}

describe.each(testDatabaseKinds())('metrics and evidence on %s', (kind) => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'evidence_metrics');
  });
  afterAll(async () => {
    await database?.drop();
  });

  async function withTestbed(run: (testbed: Testbed) => Promise<void>, options: Parameters<typeof startTestbed>[1] = {}): Promise<void> {
    const testbed = await startTestbed(database, { jurisdiction: freshJurisdiction(), ...options });
    try {
      await run(testbed);
    } finally {
      await testbed.close();
    }
  }

  it('GET /metrics counts commits, replays and rejections, and reads the tree size from the log', () =>
    withTestbed(async (testbed) => {
      const labels = { region: testbed.region, jurisdiction: testbed.jurisdiction };
      const before = await scrape(testbed);
      expect(sample(before, 'meridian_settlements_committed_total', labels)).toBe(0);
      expect(sample(before, 'meridian_log_tree_size', labels)).toBe(0);

      const first = sampleBatch({ jurisdiction: testbed.jurisdiction });
      await commit(testbed, first);
      await commit(testbed, sampleBatch({ jurisdiction: testbed.jurisdiction }));
      const afterCommits = await scrape(testbed);
      expect(sample(afterCommits, 'meridian_settlements_committed_total', labels)).toBe(2);
      expect(sample(afterCommits, 'meridian_settlements_replayed_total', labels)).toBe(0);
      expect(sample(afterCommits, 'meridian_log_tree_size', labels)).toBe(2);
      expect(sample(afterCommits, 'meridian_settlement_commit_seconds_count', labels)).toBe(2);
      expect(sample(afterCommits, 'meridian_settlement_commit_retries_total', labels)).toBe(0);

      expect((await testbed.deliver(first)).status).toBe(200);
      expect((await testbed.deliver(first, { audience: 'us-1' })).status).toBe(401);
      const after = await scrape(testbed);
      expect(sample(after, 'meridian_settlements_replayed_total', labels)).toBe(1);
      expect(sample(after, 'meridian_settlements_committed_total', labels)).toBe(2);
      expect(sample(after, 'meridian_log_tree_size', labels)).toBe(2);
      expect(sample(after, 'meridian_settlement_commit_seconds_count', labels)).toBe(3);
      expect(sample(after, 'meridian_settlement_rejections_total', { ...labels, reason: 'unauthorized' })).toBe(1);
      // Default process metrics, in this app's registry and under its labels.
      expect(sample(after, 'process_cpu_user_seconds_total', labels)).toBeGreaterThan(0);
      expect(after).toContain('# TYPE meridian_settlement_commit_seconds histogram');
    }));

  it('GET /metrics keeps each app its own registry and counts serialization retries', () =>
    withTestbed(
      async (testbed) => {
        const labels = { region: testbed.region, jurisdiction: testbed.jurisdiction };
        await withTestbed(async (other) => {
          await commit(testbed, sampleBatch({ jurisdiction: testbed.jurisdiction }));
          expect(testbed.retries).toHaveLength(1);
          expect(sample(await scrape(testbed), 'meridian_settlement_commit_retries_total', labels)).toBe(1);
          expect(sample(await scrape(testbed), 'meridian_settlements_committed_total', labels)).toBe(1);
          const otherLabels = { region: other.region, jurisdiction: other.jurisdiction };
          expect(sample(await scrape(other), 'meridian_settlements_committed_total', otherLabels)).toBe(0);
          expect(sample(await scrape(other), 'meridian_settlements_committed_total', labels)).toBeUndefined();
        });
      },
      { wrapOrm: withTransactionFaults([{ code: '40001', outcome: 'rolled-back' }]) },
    ));

  it('GET /v1/evidence bundles leaves whose inclusion proofs reproduce the signed checkpoint', () =>
    withTestbed(async (testbed) => {
      const sealed = [sampleBatch({ jurisdiction: testbed.jurisdiction }), sampleBatch({ jurisdiction: testbed.jurisdiction })];
      const committed = [await commit(testbed, sealed[0]!), await commit(testbed, sealed[1]!)];

      const response = await testbed.app.request('/v1/evidence?from=0&to=2');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const bundle = (await response.json()) as EvidenceBundle;
      expect(bundle).toMatchObject({ format: 'meridian-evidence/v1', jurisdiction: testbed.jurisdiction, region: testbed.region, tree_size: 2 });
      expect(Number.isNaN(Date.parse(bundle.generated_at))).toBe(false);
      expect(bundle.keys).toEqual(await (await testbed.app.request('/v1/keys')).json());

      // Offline: only the bundle from here on.
      const verifiers = bundle.keys.note_verifiers.map((text) => {
        const parsed = parseNoteVerifier(text);
        if (!parsed.ok) throw new Error(parsed.reason.detail);
        return parsed.value;
      });
      const opened = openNote(bundle.checkpoint, verifiers);
      if (!opened.ok) throw new Error(opened.reason.detail);
      const checkpoint = parseCheckpoint(opened.value.text);
      if (!checkpoint.ok) throw new Error(checkpoint.reason.detail);
      expect(checkpoint.value.treeSize).toBe(bundle.tree_size);

      expect(bundle.entries.map((entry) => entry.index)).toEqual([0, 1]);
      for (const [position, entry] of bundle.entries.entries()) {
        const leaf = base64Decode(entry.leaf);
        const proof = entry.inclusion_proof.map(base64Decode);
        expect(verifyInclusion(merkleLeafHash(leaf), entry.index, checkpoint.value.treeSize, proof, checkpoint.value.rootHash).ok).toBe(true);
        // A flipped byte must not verify: the check above can fail.
        const tampered = leaf.slice();
        tampered[0]! ^= 1;
        expect(verifyInclusion(merkleLeafHash(tampered), entry.index, checkpoint.value.treeSize, proof, checkpoint.value.rootHash).ok).toBe(false);
        expect(leaf).toEqual(await fetchLeaf(testbed.app, entry.index));
        expect(entry).toMatchObject({ batch_id: sealed[position]!.batch.batch_id, digest: sealed[position]!.digest, receipt: committed[position]!.receipt });
        expect(await verifyReceipt(testbed.app, entry.receipt)).toMatchObject({ batch_id: entry.batch_id, digest: entry.digest, log_index: entry.index });
      }

      const tail = (await (await testbed.app.request('/v1/evidence?from=1&to=2')).json()) as EvidenceBundle;
      expect(tail.entries.map((entry) => entry.index)).toEqual([1]);
      expect(tail.entries[0]!.inclusion_proof).toEqual(bundle.entries[1]!.inclusion_proof);
    }));

  it('GET /v1/evidence answers bad or oversized ranges with 400 and ranges beyond the tree with 404', () =>
    withTestbed(async (testbed) => {
      await commit(testbed, sampleBatch({ jurisdiction: testbed.jurisdiction }));
      await commit(testbed, sampleBatch({ jurisdiction: testbed.jurisdiction }));
      const invalid = [
        '',
        '?from=0',
        '?to=2',
        '?from=a&to=2',
        '?from=-1&to=2',
        '?from=01&to=2',
        '?from=0&to=2.0',
        '?from=0&from=0&to=2',
        '?from=1&to=1',
        '?from=2&to=1',
        '?from=0&to=99999999999999999999',
        `?from=0&to=${evidenceLeavesMax + 1}`,
      ];
      for (const query of invalid) {
        const response = await testbed.app.request(`/v1/evidence${query}`);
        expect(response.status, query).toBe(400);
        expect(response.headers.get('content-type')).toBe('application/problem+json');
        expect(await response.json()).toMatchObject({ type: 'urn:meridian:problem:invalid-request', status: 400 });
      }
      for (const query of ['?from=0&to=3', '?from=2&to=3', `?from=0&to=${evidenceLeavesMax}`]) {
        const response = await testbed.app.request(`/v1/evidence${query}`);
        expect(response.status, query).toBe(404);
        expect(await response.json()).toMatchObject({ type: 'urn:meridian:problem:not-found', tree_size: 2 });
      }
      expect((await testbed.app.request('/v1/evidence?from=0&to=2')).status).toBe(200);
      expect((await testbed.app.request('/v1/evidence?from=0&to=2', { method: 'POST' })).status).toBe(405);
    }));
});
