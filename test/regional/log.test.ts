/**
 * The auditor endpoints of the transparency log (DESIGN, "Regional settlement"), driven through
 * the app: checkpoint, leaves, inclusion and consistency proofs, /v1/keys note verifiers, and
 * every way a parameter can be wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64Decode } from '../../core/digest.ts';
import { dsseVerifierForKey, parseEnvelope, verifyEnvelope } from '../../core/dsse.ts';
import { inTotoPayloadType, parseSettlementBatchStatement, settlementBatchPredicateType } from '../../core/in-toto.ts';
import { emptyTreeRoot, merkleLeafHash, treeRootFromLeafHashes, verifyConsistency, verifyInclusion } from '../../core/merkle.ts';
import type { SealedSettlementBatch, SettlementResponse } from '../../core/settlement-batch.ts';
import { formatNoteVerifier, noteKeyId } from '../../core/signed-note.ts';
import type { Signer } from '../../regional/signer/signer.ts';
import { freshJurisdiction, sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { publishedKeys } from './support/receipts.ts';
import { startTestbed, type Testbed } from './support/testbed.ts';
import { fetchCheckpoint, fetchConsistencyProof, fetchInclusionProof, fetchLeaf } from './support/transparency-log.ts';

describe.each(testDatabaseKinds())('transparency log API on %s', (kind) => {
  let database: TestDatabase;
  let testbed: Testbed;
  const committed: Array<{ sealed: SealedSettlementBatch; response: SettlementResponse }> = [];
  const signCalls: Uint8Array[] = [];

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'transparency_log');
    const plain = await startTestbed(database);
    await plain.close();
    // Counts what the signer is asked to sign (receipts, leaves, checkpoints).
    const countingSigner: Signer = { ...plain.signer, sign: async (bytes) => (signCalls.push(bytes), plain.signer.sign(bytes)) };
    testbed = await startTestbed(database, { jurisdiction: freshJurisdiction(), signer: countingSigner });
  });
  afterAll(async () => {
    await testbed?.close();
    await database?.drop();
  });

  const origin = () => `meridian.example/log/${testbed.jurisdiction}`;

  async function commit(count: number): Promise<void> {
    for (let index = 0; index < count; index++) {
      const sealed = sampleBatch({ jurisdiction: testbed.jurisdiction, payments: 1 + (index % 3) });
      const response = await testbed.deliver(sealed);
      expect(response.status).toBe(201);
      committed.push({ sealed, response: (await response.json()) as SettlementResponse });
    }
  }

  it('signs a checkpoint of the empty log: size 0, the empty-tree root, under the verifier key from /v1/keys', async () => {
    const checkpoint = await fetchCheckpoint(testbed.app);
    expect(checkpoint).toMatchObject({ origin: origin(), treeSize: 0, rootHash: emptyTreeRoot, extensions: [] });
    const keyId = Buffer.from(noteKeyId(origin(), testbed.signer.publicKey)).toString('hex');
    expect(checkpoint.signedBy).toBe(`${origin()}+${keyId}`);
    expect(checkpoint.note).toMatch(new RegExp(`^${origin()}\\n0\\n47DEQpj8HBSa\\+/TImW\\+5JCeuQeRkm5NMpJWZG3hSuFU=\\n\\n\u2014 ${origin()} [A-Za-z0-9+/]+=*\\n$`));
    const keys = (await (await testbed.app.request('/v1/keys')).json()) as { note_verifiers: string[] };
    expect(keys.note_verifiers).toEqual([formatNoteVerifier(origin(), testbed.signer.publicKey)]);
  });

  it('serves every leaf as its exact stored bytes: a DSSE envelope of the batch in-toto statement, signed by a key in /v1/keys', async () => {
    await commit(7);
    const keys = await publishedKeys(testbed.app);
    const verifiers = await Promise.all(keys.map((key) => dsseVerifierForKey({ kid: key.kid, alg: key.alg, publicKey: base64Decode(key.public_key) })));
    for (const { sealed, response } of committed) {
      const bytes = await fetchLeaf(testbed.app, response.log_index);
      const [stored] = await testbed.database.sql`select leaf, leaf_hash from log_leaves where jurisdiction = ${testbed.jurisdiction} and leaf_index = ${response.log_index}`;
      expect(new TextDecoder().decode(bytes)).toBe(stored!.leaf);
      expect(Buffer.from(merkleLeafHash(bytes)).toString('hex')).toBe(stored!.leaf_hash);
      const envelope = parseEnvelope(new TextDecoder().decode(bytes));
      if (!envelope.ok) throw new Error(envelope.reason.detail);
      expect(envelope.value.payloadType).toBe(inTotoPayloadType);
      const verified = await verifyEnvelope(envelope.value, verifiers.filter((verifier) => verifier !== undefined));
      if (!verified.ok) throw new Error(verified.reason.detail);
      const statement = parseSettlementBatchStatement(verified.value.payload);
      if (!statement.ok) throw new Error(statement.reason.detail);
      expect(statement.value.subject).toEqual([{ name: sealed.batch.batch_id, digest: { sha256: sealed.digest } }]);
      expect(statement.value.predicateType).toBe(settlementBatchPredicateType);
      expect(statement.value.predicate).toMatchObject({ corridor: 'EUR-USD', jurisdiction: testbed.jurisdiction, region: 'eu-1', leg_count: sealed.batch.legs.length, receipt_kid: testbed.signer.kid });
    }
  });

  it('proves every leaf included in the checkpoint, and the checkpoint root is the tree over all leaf hashes', async () => {
    const checkpoint = await fetchCheckpoint(testbed.app);
    expect(checkpoint.treeSize).toBe(committed.length);
    const leafHashes: Uint8Array[] = [];
    for (let index = 0; index < checkpoint.treeSize; index++) {
      const leafHash = merkleLeafHash(await fetchLeaf(testbed.app, index));
      leafHashes.push(leafHash);
      const proof = await fetchInclusionProof(testbed.app, index, checkpoint.treeSize);
      expect(verifyInclusion(leafHash, index, checkpoint.treeSize, proof, checkpoint.rootHash)).toEqual({ ok: true, value: undefined });
      // A proof for a smaller tree verifies against that tree's root, not the checkpoint's.
      if (index < checkpoint.treeSize - 1) expect(verifyInclusion(leafHash, index, checkpoint.treeSize, await fetchInclusionProof(testbed.app, index, index + 1), checkpoint.rootHash).ok).toBe(false);
    }
    expect(treeRootFromLeafHashes(leafHashes)).toEqual(checkpoint.rootHash);
    const body = (await (await testbed.app.request(`/v1/log/inclusion?index=3&size=${checkpoint.treeSize}`)).json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['index', 'proof', 'tree_size']);
    expect(body).toMatchObject({ index: 3, tree_size: checkpoint.treeSize });
  });

  it('proves every earlier tree consistent with every later one', async () => {
    const size = (await fetchCheckpoint(testbed.app)).treeSize;
    const leafHashes = await Promise.all(Array.from({ length: size }, async (_, index) => merkleLeafHash(await fetchLeaf(testbed.app, index))));
    for (let to = 1; to <= size; to++) {
      for (let from = 1; from <= to; from++) {
        const proof = await fetchConsistencyProof(testbed.app, from, to);
        const verdict = verifyConsistency(from, to, proof, treeRootFromLeafHashes(leafHashes.slice(0, from)), treeRootFromLeafHashes(leafHashes.slice(0, to)));
        expect(verdict.ok, `${from} → ${to}`).toBe(true);
      }
    }
    const body = (await (await testbed.app.request(`/v1/log/consistency?from=2&to=${size}`)).json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['from', 'proof', 'to']);
  });

  it('signs each tree size once, and the checkpoint grows with the log', async () => {
    const before = await fetchCheckpoint(testbed.app);
    const signedBefore = signCalls.length;
    expect((await fetchCheckpoint(testbed.app)).note).toBe(before.note);
    expect(signCalls.length).toBe(signedBefore);
    await commit(1);
    const after = await fetchCheckpoint(testbed.app);
    expect(after.treeSize).toBe(before.treeSize + 1);
    const proof = await fetchConsistencyProof(testbed.app, before.treeSize, after.treeSize);
    expect(verifyConsistency(before.treeSize, after.treeSize, proof, before.rootHash, after.rootHash).ok).toBe(true);
  });

  it.each([
    ['/v1/log/inclusion', 400, 'invalid-request'],
    ['/v1/log/inclusion?index=0', 400, 'invalid-request'],
    ['/v1/log/inclusion?index=a&size=2', 400, 'invalid-request'],
    ['/v1/log/inclusion?index=-1&size=2', 400, 'invalid-request'],
    ['/v1/log/inclusion?index=01&size=2', 400, 'invalid-request'],
    ['/v1/log/inclusion?index=1.0&size=2', 400, 'invalid-request'],
    ['/v1/log/inclusion?index=0&index=1&size=2', 400, 'invalid-request'],
    ['/v1/log/inclusion?index=0&size=99999999999999999999', 400, 'invalid-request'],
    ['/v1/log/inclusion?index=2&size=2', 400, 'invalid-request'],
    ['/v1/log/inclusion?index=0&size=0', 400, 'invalid-request'],
    ['/v1/log/inclusion?index=0&size=1000', 404, 'not-found'],
    ['/v1/log/consistency?from=1', 400, 'invalid-request'],
    ['/v1/log/consistency?from=0&to=2', 400, 'invalid-request'],
    ['/v1/log/consistency?from=3&to=2', 400, 'invalid-request'],
    ['/v1/log/consistency?from=%20&to=2', 400, 'invalid-request'],
    ['/v1/log/consistency?from=1&to=1000', 404, 'not-found'],
    ['/v1/log/leaves/1000', 404, 'not-found'],
    ['/v1/log/leaves/abc', 400, 'invalid-request'],
    ['/v1/log/leaves/-1', 400, 'invalid-request'],
    ['/v1/log/leaves/9007199254740993', 400, 'invalid-request'],
  ])('GET %s is a %i %s problem', async (path, status, slug) => {
    const response = await testbed.app.request(path);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ type: `urn:meridian:problem:${slug}`, status });
  });

  it('refuses to sign a checkpoint of a log that shrank below one it already signed (runs last: it truncates the log)', async () => {
    const before = await fetchCheckpoint(testbed.app);
    await testbed.database.sql`delete from log_leaves where jurisdiction = ${testbed.jurisdiction} and leaf_index = ${before.treeSize - 1}`;
    const response = await testbed.app.request('/v1/log/checkpoint');
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(JSON.stringify(testbed.logged.filter((entry) => entry.level === 'error'))).toContain(`already signed a checkpoint of ${before.treeSize}; refusing to sign a shrunken log`);
  });

  it('answers other methods with 405 and an Allow header', async () => {
    for (const path of ['/v1/log/checkpoint', '/v1/log/leaves/0', '/v1/log/inclusion?index=0&size=1', '/v1/log/consistency?from=1&to=1']) {
      const response = await testbed.app.request(path, { method: 'POST' });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
    }
  });
});
