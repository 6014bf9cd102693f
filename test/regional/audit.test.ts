/**
 * The offline auditor (cli/audit.ts) against real regional backends served over HTTP: an honest
 * log passes; a tampered leaf, a history rewritten by someone holding the signing key, and a
 * forked log (two backends of one jurisdiction on split databases) are each caught, and the
 * command exits non-zero. Runs on PGlite and, with DATABASE_URL, PostgreSQL.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serve } from '@hono/node-server';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditBackend, auditBackends, formatAuditReport, main, type AuditReport } from '../../cli/audit.ts';
import { settlementLogLeaf } from '../../regional/log/leaf.ts';
import { freshJurisdiction, sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { createTestEdge, type TestEdge } from './support/edge.ts';
import { startTestbed, type Testbed, type TestbedOptions } from './support/testbed.ts';

const node24 = resolve('node_modules/.bin/node');
const auditEntry = resolve('cli/audit.ts');
const cliTimeoutMs = 60_000;

interface ServedBackend {
  testbed: Testbed;
  url: string;
}

/** Runs `node cli/audit.ts …` as a real process (asynchronously: the backends live in this process). */
function runAuditCommand(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(node24, [auditEntry, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const output = { stdout: '', stderr: '' };
    child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), cliTimeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, ...output });
    });
  });
}

/** main() in this process, its report captured instead of printed. */
async function runAuditMain(args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  try {
    return { code: await main(args), stdout };
  } finally {
    spy.mockRestore();
  }
}

function failedChecks(report: AuditReport): string[] {
  return [...report.backends, ...report.logs].flatMap((part) => part.checks).filter((entry) => !entry.ok).map((entry) => [entry.summary, ...entry.details].join(' | '));
}

describe.each(testDatabaseKinds())('offline auditor on %s', (kind) => {
  let database: TestDatabase;
  let splitDatabase: TestDatabase;
  let edge: TestEdge;
  let scratch: string;
  const served: Array<{ testbed: Testbed; close: () => Promise<void> }> = [];

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'audit');
    splitDatabase = await openTestDatabase(kind, 'audit_split');
    edge = await createTestEdge();
    scratch = await mkdtemp(join(tmpdir(), 'meridian-audit-'));
  });
  // Each backend holds a pool of up to 4 connections and PGlite's server takes 16: close them per test.
  afterEach(async () => {
    for (const backend of served.splice(0)) await backend.close();
  });
  afterAll(async () => {
    await database?.drop();
    await splitDatabase?.drop();
    await rm(scratch, { recursive: true, force: true });
  });

  async function startBackend(on: TestDatabase, options: TestbedOptions): Promise<ServedBackend> {
    const testbed = await startTestbed(on, { edge, ...options });
    const server = await new Promise<ReturnType<typeof serve>>((resolveServer) => {
      const listening = serve({ fetch: testbed.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolveServer(listening));
    });
    const close = async () => {
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      await testbed.close();
    };
    served.push({ testbed, close });
    return { testbed, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  async function settle(backend: ServedBackend, count: number): Promise<void> {
    for (let index = 0; index < count; index++) expect((await backend.testbed.deliver(sampleBatch({ jurisdiction: backend.testbed.jurisdiction, payments: 2 }))).status).toBe(201);
  }

  it('passes an honest log served by eu-1 and eu-2, whose leaves each signed with their own key', async () => {
    const jurisdiction = freshJurisdiction();
    const eu1 = await startBackend(database, { jurisdiction, region: 'eu-1' });
    const eu2 = await startBackend(database, { jurisdiction, region: 'eu-2' });
    await settle(eu1, 3);
    await settle(eu2, 2);
    const report = await auditBackends([eu1.url, eu2.url]);
    expect(failedChecks(report)).toEqual([]);
    expect(report.backends.map((backend) => backend.checkpoint?.treeSize)).toEqual([5, 5]);
    const text = formatAuditReport(report);
    expect(text).toContain(`✓ inclusion proofs: 5 of 5 verify against the checkpoint`);
    expect(text).toContain(`→ ${eu2.url} (5): same tree`);
    expect(text).toMatch(/RESULT: PASS/);

    // Alone, eu-1's keys vouch for the two leaves eu-2 signed too: /v1/keys lists the jurisdiction's keys.
    const alone = await auditBackend(eu1.url);
    expect(alone.checks.filter((entry) => !entry.ok)).toEqual([]);
    expect(alone.checks.find((entry) => entry.summary.startsWith('leaf signatures'))?.summary).toBe('leaf signatures: 5 of 5 DSSE envelopes verify under published keys');

    const command = await runAuditCommand([eu1.url, eu2.url]);
    expect(command.stderr).toBe('');
    expect(command.stdout).toMatch(/RESULT: PASS/);
    expect(command.code).toBe(0);
  });

  it('checks a saved checkpoint against the grown log (--save, then --since)', async () => {
    const solo = await startBackend(database, { jurisdiction: freshJurisdiction(), region: 'eu-1' });
    await settle(solo, 2);
    const saved = join(scratch, 'solo-checkpoint.txt');
    expect((await runAuditMain(['--save', saved, solo.url])).code).toBe(0);
    expect(await readFile(saved, 'utf8')).toMatch(/^meridian\.example\/log\/eu[a-z]+\n2\n/);
    await settle(solo, 3);
    const later = await runAuditMain(['--since', saved, solo.url]);
    expect(later.stdout).toContain(`✓ saved checkpoint (2) → ${solo.url} (5): consistent`);
    expect(later.code).toBe(0);
  });

  it('catches a tampered leaf: its signature, its inclusion proof and the recomputed root all fail', async () => {
    const backend = await startBackend(database, { jurisdiction: freshJurisdiction(), region: 'eu-1' });
    await settle(backend, 4);
    const sql = backend.testbed.database.sql;
    const rows = await sql`select leaf_index::int, leaf from log_leaves where jurisdiction = ${backend.testbed.jurisdiction} order by leaf_index`;
    // Leaf 2 gets leaf 0's statement under leaf 2's signature: well-formed, but not what was signed.
    const [first, third] = [JSON.parse(rows[0]!.leaf as string), JSON.parse(rows[2]!.leaf as string)] as Array<{ payload: string }>;
    const tampered = (rows[2]!.leaf as string).replace(third!.payload, first!.payload);
    await sql`update log_leaves set leaf = ${tampered} where jurisdiction = ${backend.testbed.jurisdiction} and leaf_index = 2`;

    const report = await auditBackends([backend.url]);
    expect(report.ok).toBe(false);
    const failed = failedChecks(report);
    expect(failed.find((line) => line.startsWith('leaf signatures'))).toMatch(/^leaf signatures: 3 of 4 .*\| leaf 2: no signature verifies/);
    expect(failed.find((line) => line.startsWith('inclusion proofs'))).toMatch(/^inclusion proofs: 3 of 4 .*\| leaf 2: /);
    expect(failed.find((line) => line.startsWith('root'))).toMatch(/different root than the signed checkpoint/);
    expect(backend.testbed.logged.some((entry) => entry.level === 'error' && entry.message === 'log leaf does not match its stored leaf hash')).toBe(true);

    const command = await runAuditCommand([backend.url]);
    expect(command.stdout).toMatch(/✗ leaf signatures: 3 of 4/);
    expect(command.stdout).toMatch(/RESULT: FAIL/);
    expect(command.code).toBe(1);
  });

  it('catches history rewritten with the signing key itself, against a saved checkpoint', async () => {
    const jurisdiction = freshJurisdiction();
    const original = await startBackend(database, { jurisdiction, region: 'eu-1' });
    await settle(original, 3);
    const saved = join(scratch, 'rewritten-checkpoint.txt');
    expect((await runAuditMain(['--save', saved, original.url])).code).toBe(0);

    // An insider re-signs leaf 1 with a different leg count, fixes its leaf hash, restarts the backend.
    const sql = original.testbed.database.sql;
    const [row] = await sql`select b.batch_id, b.digest, b.committed_at, b.leg_count from settlement_batches b join log_leaves l on l.batch_digest = b.digest where l.jurisdiction = ${jurisdiction} and l.leaf_index = 1`;
    const forged = await settlementLogLeaf(
      { batch_id: row!.batch_id, digest: row!.digest, corridor: 'EUR-USD', jurisdiction, region: 'eu-1', leg_count: (row!.leg_count as number) + 2, committed_at: new Date(row!.committed_at as string).toISOString() },
      original.testbed.signer,
    );
    await sql`update log_leaves set leaf = ${forged.leaf}, leaf_hash = ${forged.leafHash} where jurisdiction = ${jurisdiction} and leaf_index = 1`;
    const restarted = await startBackend(database, { jurisdiction, region: 'eu-1', signer: original.testbed.signer });

    // Without the saved checkpoint the rewritten log is self-consistent: every signature verifies.
    expect(failedChecks(await auditBackends([restarted.url]))).toEqual([]);
    const withSaved = await runAuditMain(['--since', saved, restarted.url]);
    expect(withSaved.stdout).toContain(`✗ saved checkpoint (3) → ${restarted.url} (3): NOT CONSISTENT`);
    expect(withSaved.stdout).toMatch(/two trees of size 3 with different roots: a fork/);
    expect(withSaved.code).toBe(1);
  });

  it('catches a forked log: eu-1 and eu-2 of one jurisdiction on split databases sign diverging checkpoints', async () => {
    const jurisdiction = freshJurisdiction();
    const left = await startBackend(database, { jurisdiction, region: 'eu-1' });
    const right = await startBackend(splitDatabase, { jurisdiction, region: 'eu-2' });
    await settle(left, 3);
    await settle(right, 4);

    const report = await auditBackends([left.url, right.url]);
    // Each side on its own is a well-formed, fully signed log; only comparing them shows the fork.
    expect(report.backends.every((backend) => backend.ok)).toBe(true);
    expect(report.ok).toBe(false);
    expect(failedChecks(report)).toEqual([expect.stringMatching(new RegExp(`^${left.url} \\(3\\) → ${right.url} \\(4\\): FORK \\| the proof does not lead to the root`))]);

    await settle(left, 1);
    const sameSize = await auditBackends([left.url, right.url]);
    expect(failedChecks(sameSize)).toEqual([expect.stringMatching(/\(4\) → .* \(4\): FORK \| two trees of size 4 with different roots: a fork/)]);

    const command = await runAuditCommand([left.url, right.url]);
    expect(command.stdout).toMatch(/✗ .*FORK/);
    expect(command.code).toBe(1);
  });

  it('exits 2 with usage on bad arguments', async () => {
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main([])).toBe(2);
      expect(await main(['not-a-url'])).toBe(2);
      expect(await main(['--since'])).toBe(2);
    } finally {
      spy.mockRestore();
    }
  });
});
