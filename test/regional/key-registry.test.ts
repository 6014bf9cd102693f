/**
 * The jurisdiction's key registry behind GET /v1/keys (regional/keys/): eu-1 and eu-2 share one
 * log, so each lists the other's keys; a key rotated mid-run (`meridian keys rotate`) stays
 * published, so the whole log — leaves of both backends and both keys, a checkpoint signed by the
 * retired note key — is audited from ONE backend with cli/audit.ts; a backend of another
 * jurisdiction on the same database lists none of them. Runs on PGlite and, with DATABASE_URL,
 * PostgreSQL.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auditBackend, auditBackends, type AuditReport } from '../../cli/audit.ts';
import { runKeysCommand } from '../../cli/keys-commands.ts';
import type { SettlementResponse } from '../../core/settlement-batch.ts';
import { formatNoteVerifier } from '../../core/signed-note.ts';
import { createRegionalApp } from '../../regional/app.ts';
import { silentLogger } from '../../regional/logger.ts';
import { loadOrCreateLocalSigner } from '../../regional/signer/local-signer.ts';
import { freshJurisdiction, sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { createTestEdge, mintEdgeToken, testGatewayId, type TestEdge } from './support/edge.ts';
import { publishedKeys, verifyReceipt, type PublishedKey } from './support/receipts.ts';
import { startTestbed, type Testbed, type TestbedOptions } from './support/testbed.ts';

const dayMs = 24 * 60 * 60 * 1000;

interface ServedBackend {
  testbed: Testbed;
  url: string;
  close(): Promise<void>;
}

interface KeysBody {
  keys: PublishedKey[];
  note_verifiers: string[];
}

function failedChecks(report: AuditReport): string[] {
  return [...report.backends, ...report.logs].flatMap((part) => part.checks).filter((entry) => !entry.ok).map((entry) => [entry.summary, ...entry.details].join(' | '));
}

describe.each(testDatabaseKinds())('key registry on %s', (kind) => {
  let database: TestDatabase;
  let edge: TestEdge;
  let scratch: string;
  const served: ServedBackend[] = [];

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'key_registry');
    edge = await createTestEdge();
    scratch = await mkdtemp(join(tmpdir(), 'meridian-key-registry-'));
  });
  afterEach(async () => {
    for (const backend of served.splice(0)) await backend.close();
  });
  afterAll(async () => {
    await database?.drop();
    await rm(scratch, { recursive: true, force: true });
  });

  async function startBackend(options: TestbedOptions): Promise<ServedBackend> {
    const testbed = await startTestbed(database, { edge, ...options });
    const server = await new Promise<ReturnType<typeof serve>>((resolveServer) => {
      const listening = serve({ fetch: testbed.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolveServer(listening));
    });
    let closed = false;
    const backend: ServedBackend = {
      testbed,
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      async close() {
        if (closed) return;
        closed = true;
        await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
        await testbed.close();
      },
    };
    served.push(backend);
    return backend;
  }

  async function settle(backend: ServedBackend, count: number): Promise<SettlementResponse[]> {
    const responses: SettlementResponse[] = [];
    for (let index = 0; index < count; index++) {
      const response = await backend.testbed.deliver(sampleBatch({ jurisdiction: backend.testbed.jurisdiction, payments: 2 }));
      expect(response.status).toBe(201);
      responses.push((await response.json()) as SettlementResponse);
    }
    return responses;
  }

  async function keysOf(backend: ServedBackend): Promise<KeysBody> {
    const response = await backend.testbed.app.request('/v1/keys');
    expect(response.status).toBe(200);
    return (await response.json()) as KeysBody;
  }

  it('two backends of one jurisdiction on one database each list both keys; another jurisdiction lists neither', async () => {
    const jurisdiction = freshJurisdiction();
    const eu1 = await startBackend({ jurisdiction, region: 'eu-1' });
    const eu2 = await startBackend({ jurisdiction, region: 'eu-2' });
    const other = await startBackend({ jurisdiction: freshJurisdiction(), region: 'us-1' });
    const expectedKey = (testbed: Testbed) => ({
      kid: testbed.signer.kid,
      alg: 'EdDSA',
      public_key: Buffer.from(testbed.signer.publicKey).toString('base64'),
      created_at: testbed.signer.createdAt.toISOString(),
      rotation_overdue: false,
      region: testbed.region,
      not_before: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      not_after: null,
    });
    const origin = `meridian.example/log/${jurisdiction}`;
    for (const backend of [eu1, eu2]) {
      const body = await keysOf(backend);
      expect(body.keys).toHaveLength(2);
      expect(body.keys).toEqual(expect.arrayContaining([expectedKey(eu1.testbed), expectedKey(eu2.testbed)]));
      expect([...body.note_verifiers].sort()).toEqual([formatNoteVerifier(origin, eu1.testbed.signer.publicKey), formatNoteVerifier(origin, eu2.testbed.signer.publicKey)].sort());
    }
    const foreign = await keysOf(other);
    expect(foreign.keys.map((key) => key.kid)).toEqual([other.testbed.signer.kid]);
    expect(foreign.note_verifiers).toHaveLength(1);
    expect(JSON.stringify(foreign)).not.toContain(eu1.testbed.signer.kid);
    expect(JSON.stringify(foreign)).not.toContain(eu2.testbed.signer.kid);

    // The edge's case: eu-1 committed, then went down; eu-2's /v1/keys verifies eu-1's receipt.
    const [receiptOfEu1] = await settle(eu1, 1);
    await eu1.close();
    expect((await verifyReceipt(eu2.testbed.app, receiptOfEu1!.receipt)).region).toBe('eu-1');
    await expect(verifyReceipt(other.testbed.app, receiptOfEu1!.receipt)).rejects.toThrow(/not published/);
  });

  it('rotates a key mid-run (keys rotate) and audits the whole log, both keys and both backends, from ONE backend', async () => {
    const jurisdiction = freshJurisdiction();
    const keyFile = join(scratch, 'rotation', 'eu-1.json');
    const firstEu1 = await startBackend({ jurisdiction, region: 'eu-1', keyFile });
    // eu-2 is asked for its keys right after the rotation: no cached list.
    const eu2 = await startBackend({ jurisdiction, region: 'eu-2', publishedKeysCacheMs: 0 });
    const oldSigner = firstEu1.testbed.signer;
    await settle(firstEu1, 3);
    await settle(eu2, 1);
    // A checkpoint an auditor saved before the rotation: signed by eu-1's old note key.
    const savedCheckpoint = await (await fetch(`${firstEu1.url}/v1/log/checkpoint`)).text();
    expect(savedCheckpoint.split('\n').slice(0, 2)).toEqual([`meridian.example/log/${jurisdiction}`, '4']);

    const lines: string[] = [];
    const output = { out: (line: string) => lines.push(line), err: (line: string) => lines.push(`ERR ${line}`) };
    const code = await runKeysCommand(['rotate', '--region', 'eu-1', '--key-file', keyFile, '--jurisdiction', jurisdiction, '--database-url', database.url], output);
    expect(lines.filter((line) => line.startsWith('ERR'))).toEqual([]);
    expect(code).toBe(0);
    const newKid = (JSON.parse(await readFile(keyFile, 'utf8')) as { kid: string }).kid;
    expect(newKid).not.toBe(oldSigner.kid);
    expect(lines.join('\n')).toContain(`old key ${oldSigner.kid} retired at`);

    // eu-1 restarts with the rotated key file; both backends commit more.
    await firstEu1.close();
    const eu1 = await startBackend({ jurisdiction, region: 'eu-1', keyFile });
    expect(eu1.testbed.signer.kid).toBe(newKid);
    await settle(eu1, 2);
    await settle(eu2, 1);

    const keys = await keysOf(eu2);
    const retired = keys.keys.find((key) => key.kid === oldSigner.kid);
    const active = keys.keys.find((key) => key.kid === newKid);
    expect(retired).toMatchObject({ region: 'eu-1', rotation_overdue: false, not_after: expect.stringMatching(/^\d{4}-/) });
    expect(Date.parse(retired!.not_after!)).toBeGreaterThanOrEqual(Date.parse(retired!.not_before));
    expect(active).toMatchObject({ region: 'eu-1', not_after: null });
    expect(keys.keys).toHaveLength(3);
    expect(keys.note_verifiers).toHaveLength(3);

    // ONE backend at a time: every leaf's DSSE signature (old eu-1 key, new eu-1 key, eu-2) and
    // its checkpoint verify under that backend's /v1/keys alone.
    for (const backend of [eu1, eu2]) {
      const audit = await auditBackend(backend.url);
      expect(audit.checks.filter((entry) => !entry.ok)).toEqual([]);
      expect(audit.checkpoint?.treeSize).toBe(7);
      expect(audit.checks.map((entry) => entry.summary)).toContain('leaf signatures: 7 of 7 DSSE envelopes verify under published keys');
    }
    // The checkpoint the retired note key signed still opens, and today's log extends it.
    const report = await auditBackends([eu1.url], { since: savedCheckpoint });
    expect(failedChecks(report)).toEqual([]);
    expect(report.ok).toBe(true);

    // The retired key never signs again: a backend configured with it refuses to start.
    await expect(startTestbed(database, { edge, jurisdiction, region: 'eu-1', signer: oldSigner })).rejects.toThrow(/retired at .*a retired key never signs again/);
  });

  it('a backend starting with a new key retires its region\'s previous one (the KMS rotation), which stays published and is no longer overdue', async () => {
    const jurisdiction = freshJurisdiction();
    const oldKey = await loadOrCreateLocalSigner({ keyFile: join(scratch, 'superseded', 'eu-1.json'), now: () => new Date(Date.now() - 91 * dayMs) });
    const before = await startBackend({ jurisdiction, region: 'eu-1', signer: oldKey, retireSuperseded: true });
    expect((await publishedKeys(before.testbed.app)).map((key) => key.rotation_overdue)).toEqual([true]);
    const [receipt] = await settle(before, 1);
    await before.close();
    const after = await startBackend({ jurisdiction, region: 'eu-1', retireSuperseded: true });
    const keys = await publishedKeys(after.testbed.app);
    expect(keys.map((key) => [key.kid, key.not_after === null, key.rotation_overdue])).toEqual([
      [oldKey.kid, false, false],
      [after.testbed.signer.kid, true, false],
    ]);
    expect((await verifyReceipt(after.testbed.app, receipt!.receipt)).region).toBe('eu-1');
    expect((await auditBackend(after.url)).ok).toBe(true);
  });

  it('an app built without registering at start registers its key before its first signature', async () => {
    const jurisdiction = freshJurisdiction();
    const sibling = await startBackend({ jurisdiction, region: 'eu-2', publishedKeysCacheMs: 0 });
    const signer = await loadOrCreateLocalSigner({ keyFile: join(scratch, 'lazy', 'eu-1.json') });
    const commitPool = database.connect('key-registry-lazy');
    try {
      const app = createRegionalApp({ region: 'eu-1', jurisdiction, gatewayId: testGatewayId, database: commitPool, signer, edgeKeys: edge.keys, logger: silentLogger });
      expect((await publishedKeys(sibling.testbed.app)).map((key) => key.kid)).toEqual([sibling.testbed.signer.kid]);
      const sealed = sampleBatch({ jurisdiction, payments: 1 });
      const token = await mintEdgeToken(edge, { audience: 'eu-1', batchDigest: sealed.digest });
      const response = await app.request('/v1/settlements', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: sealed.canonical });
      expect(response.status).toBe(201);
      const { receipt } = (await response.json()) as SettlementResponse;
      expect((await verifyReceipt(sibling.testbed.app, receipt)).region).toBe('eu-1');
    } finally {
      await commitPool.close();
    }
  });

  it('keys rotate: --help, and readable errors for bad usage and a missing key file', async () => {
    const lines: string[] = [];
    const output = { out: (line: string) => lines.push(line), err: (line: string) => lines.push(line) };
    expect(await runKeysCommand(['rotate', '--help'], output)).toBe(0);
    expect(lines.join('\n')).toMatch(/usage: meridian keys rotate --region <region>/);
    expect(lines.join('\n')).toMatch(/KMS_KEY_ID/);
    lines.length = 0;
    expect(await runKeysCommand(['rotate'], output)).toBe(2);
    expect(lines[0]).toMatch(/--region is required/);
    lines.length = 0;
    expect(await runKeysCommand(['rotate', '--region', 'xx-9'], output)).toBe(2);
    expect(lines[0]).toMatch(/xx-9 is not a backend of npm start .*pass --jurisdiction and --database-url/);
    lines.length = 0;
    expect(await runKeysCommand(['spin', '--region', 'eu-1'], output)).toBe(2);
    expect(lines[0]).toMatch(/unknown keys command "spin"/);
    lines.length = 0;
    const missing = join(scratch, 'nowhere', 'eu-1.json');
    expect(await runKeysCommand(['rotate', '--region', 'eu-1', '--key-file', missing, '--database-url', database.url], output)).toBe(1);
    expect(lines[0]).toMatch(/no key file .*nowhere\/eu-1\.json: start the backend once/);
    lines.length = 0;
    const keyFile = join(scratch, 'unreachable', 'eu-1.json');
    await loadOrCreateLocalSigner({ keyFile });
    expect(await runKeysCommand(['rotate', '--region', 'eu-1', '--key-file', keyFile, '--database-url', 'postgres://postgres@127.0.0.1:1/none'], output)).toBe(1);
    expect(lines[0]).toMatch(/cannot reach the database postgres:\/\/127\.0\.0\.1:1\/none .*npm start/);
  });
});
