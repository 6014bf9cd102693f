import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../core/canonical-json.ts';
import { sha256Hex } from '../../core/digest.ts';
import type { SettlementBatch, SettlementResponse } from '../../core/settlement-batch.ts';
import { sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { verifyReceipt } from './support/receipts.ts';
import { startTestbed, type Testbed } from './support/testbed.ts';

describe.each(testDatabaseKinds())('POST /v1/settlements on %s', (kind) => {
  let database: TestDatabase;
  let testbed: Testbed;

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'settlements');
    testbed = await startTestbed(database);
  });
  afterAll(async () => {
    await testbed?.close();
    await database?.drop();
  });

  const batchRows = async (digest: string) => testbed.database.sql`select batch_id, receipt, log_index from settlement_batches where digest = ${digest}`;

  it('commits a sealed batch and answers with a receipt verifiable under GET /v1/keys', async () => {
    const sealed = sampleBatch();
    const response = await testbed.deliver(sealed);
    expect(response.status).toBe(201);
    const body = (await response.json()) as SettlementResponse;
    expect(body).toMatchObject({ batch_id: sealed.batch.batch_id, digest: sealed.digest, region: 'eu-1' });
    const claims = await verifyReceipt(testbed.app, body.receipt);
    expect(claims).toEqual({
      batch_id: sealed.batch.batch_id,
      digest: sealed.digest,
      jurisdiction: 'eu',
      region: 'eu-1',
      log_index: body.log_index,
      leg_count: sealed.batch.legs.length,
      committed_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
    });
  });

  it('answers a second delivery with the identical receipt and keeps one row', async () => {
    const sealed = sampleBatch();
    const first = await testbed.deliver(sealed);
    const second = await testbed.deliver(sealed);
    expect([first.status, second.status]).toEqual([201, 200]);
    expect(await second.json()).toEqual(await first.json());
    expect(await batchRows(sealed.digest)).toHaveLength(1);
    const [stored] = await testbed.database.sql`select count(*)::int as legs from settlement_legs where batch_digest = ${sealed.digest}`;
    expect(stored!.legs).toBe(sealed.batch.legs.length);
  });

  it('stores the exact canonical bytes, a balanced journal and the net positions', async () => {
    const sealed = sampleBatch({ payments: 4 });
    expect((await testbed.deliver(sealed)).status).toBe(201);
    const [stored] = await testbed.database.sql`select canonical_json from settlement_batches where digest = ${sealed.digest}`;
    expect(sha256Hex(stored!.canonical_json as string)).toBe(sealed.digest);

    const perCurrency = await testbed.database.sql`
      select currency, sum(debit_minor)::text as debits, sum(credit_minor)::text as credits, count(*)::int as entries
      from journal_entries where batch_digest = ${sealed.digest} group by currency order by currency`;
    expect(perCurrency.map((row) => ({ ...row }))).toEqual([
      { currency: 'EUR', debits: sumLegs(sealed.batch, 'EUR'), credits: sumLegs(sealed.batch, 'EUR'), entries: 8 },
      { currency: 'USD', debits: sumLegs(sealed.batch, 'USD'), credits: sumLegs(sealed.batch, 'USD'), entries: 8 },
    ]);

    const movements = await testbed.database.sql`
      select account, (sum(credit_minor) - sum(debit_minor))::text as movement
      from journal_entries where batch_digest = ${sealed.digest} group by account order by account`;
    const expected = sealed.batch.positions
      .map((position) => ({ account: `settlement:${position.participant}:${position.currency}`, movement: position.net_minor }))
      .sort((left, right) => (left.account < right.account ? -1 : 1));
    expect(movements.map((row) => ({ ...row }))).toEqual(expected);

    const positions = await testbed.database.sql`select participant, currency, net_minor::text from net_positions where batch_digest = ${sealed.digest} order by position_index`;
    expect(positions.map((row) => ({ ...row }))).toEqual(sealed.batch.positions);
  });

  it('appends one log leaf per batch, hashed as SHA-256(0x00 ‖ leaf)', async () => {
    const sealed = sampleBatch();
    const body = (await (await testbed.deliver(sealed)).json()) as SettlementResponse;
    const [leaf] = await testbed.database.sql`select leaf_index::int, leaf_hash, leaf from log_leaves where batch_digest = ${sealed.digest}`;
    expect(leaf!.leaf_index).toBe(body.log_index);
    const claims = await verifyReceipt(testbed.app, body.receipt);
    // The leaf is the DSSE envelope of the batch's in-toto statement (full checks: log.test.ts).
    const envelope = JSON.parse(leaf!.leaf as string) as { payload: string; payloadType: string; signatures: Array<{ keyid: string }> };
    expect(envelope.payloadType).toBe('application/vnd.in-toto+json');
    expect(envelope.signatures.map((signature) => signature.keyid)).toEqual([testbed.signer.kid]);
    expect(JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'))).toMatchObject({
      subject: [{ name: sealed.batch.batch_id, digest: { sha256: sealed.digest } }],
      predicate: { committed_at: claims.committed_at, jurisdiction: 'eu', region: 'eu-1' },
    });
    const leafBytes = new TextEncoder().encode(leaf!.leaf as string);
    expect(leaf!.leaf_hash).toBe(sha256Hex(new Uint8Array([0, ...leafBytes])));
  });

  it('rejects a tampered batch (window changed after sealing) with 422 batch-rejected', async () => {
    const sealed = sampleBatch();
    const tampered = JSON.parse(sealed.canonical) as SettlementBatch;
    tampered.window.ends_at = new Date(Date.parse(tampered.window.ends_at) + 1000).toISOString();
    const response = await testbed.deliver(sealed, {}, JSON.stringify(tampered));
    expect(response.status).toBe(422);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ type: 'urn:meridian:problem:batch-rejected', status: 422, reason: 'digest-mismatch' });
    expect(await batchRows(sealed.digest)).toHaveLength(0);
  });

  it('rejects a batch whose digest is not the one the token was minted for', async () => {
    const sealed = sampleBatch();
    const other = sampleBatch();
    const response = await testbed.deliver(sealed, { batchDigest: other.digest });
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ type: 'urn:meridian:problem:batch-rejected', reason: 'digest-mismatch' });
  });

  it('rejects positions that do not follow from the legs', async () => {
    const sealed = sampleBatch();
    const forged = JSON.parse(sealed.canonical) as SettlementBatch;
    const [first, second] = [forged.positions[0]!, forged.positions[1]!];
    [first.net_minor, second.net_minor] = [String(BigInt(first.net_minor) + 5n), String(BigInt(second.net_minor) - 5n)];
    // The token names the forged batch's own digest, as a compromised window would.
    const response = await testbed.deliver(sealed, { batchDigest: sha256Hex(canonicalJson(forged)) }, JSON.stringify(forged));
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ type: 'urn:meridian:problem:batch-rejected', reason: 'positions-mismatch' });
  });

  it('answers 403 residency-denied for a batch of another jurisdiction', async () => {
    const sealed = sampleBatch({ jurisdiction: 'us' });
    const response = await testbed.deliver(sealed);
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ type: 'urn:meridian:problem:residency-denied', status: 403 });
    expect(await batchRows(sealed.digest)).toHaveLength(0);
  });

  it('rejects a batch_id already committed under a different digest', async () => {
    const sealed = sampleBatch({ amountsMinor: ['1000'] , payments: 1 });
    const startsAtMs = Date.parse(sealed.batch.window.starts_at);
    const rival = sampleBatch({ amountsMinor: ['2000'], payments: 1, startsAtMs });
    expect(rival.batch.batch_id).toBe(sealed.batch.batch_id);
    expect((await testbed.deliver(sealed)).status).toBe(201);
    const response = await testbed.deliver(rival);
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ type: 'urn:meridian:problem:batch-rejected', batch_id: sealed.batch.batch_id });
    expect(await batchRows(rival.digest)).toHaveLength(0);
  });

  it('answers non-JSON bodies, wrong media types and oversized bodies with problems', async () => {
    const sealed = sampleBatch();
    const notJson = await testbed.deliver(sealed, {}, '{"version":');
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ type: 'urn:meridian:problem:invalid-request' });

    const token = await import('./support/edge.ts').then(({ mintEdgeToken }) => mintEdgeToken(testbed.edge, { audience: 'eu-1', batchDigest: sealed.digest }));
    const wrongType = await testbed.app.request('/v1/settlements', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
      body: sealed.canonical,
    });
    expect(wrongType.status).toBe(415);
    expect(await wrongType.json()).toMatchObject({ type: 'urn:meridian:problem:unsupported-media-type' });

    const huge = await testbed.deliver(sealed, {}, `{"pad":"${'x'.repeat(16 * 1024 * 1024)}"}`);
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ type: 'urn:meridian:problem:payload-too-large' });
  });
});

function sumLegs(batch: SettlementBatch, currency: string): string {
  return batch.legs.filter((leg) => leg.currency === currency).reduce((sum, leg) => sum + BigInt(leg.amount_minor), 0n).toString();
}
