/**
 * Fault tests for the settlement commit, on PGlite and (with DATABASE_URL) PostgreSQL. Each fault
 * ends with the same check: every batch committed exactly once — one row, all its legs, journal
 * entries and positions, one receipt that verifies — and the jurisdiction's log dense from 0 with
 * no gap and no duplicate.
 *
 * Where the fault is real it is produced for real: serialization conflicts between backends on
 * PostgreSQL, connections cut at an exact statement by a wire-protocol proxy on both databases
 * (test/support/pg-wire-proxy.ts), pg_terminate_backend on PostgreSQL, and SIGKILL of a real
 * `node regional/server.ts`. What a single PGlite session cannot produce (40001 storms) or no
 * PostgreSQL produces (40003 is CockroachDB's) is injected at the driver boundary.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compactVerify, decodeProtectedHeader, exportJWK, importJWK } from 'jose';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SealedSettlementBatch, SettlementResponse } from '../../core/settlement-batch.ts';
import { connectRegionalDatabase, type RegionalOrm } from '../../regional/db/client.ts';
import { journalEntriesForLegs } from '../../regional/ledger/journal.ts';
import { loadOrCreateLocalSigner } from '../../regional/signer/local-signer.ts';
import type { Signer } from '../../regional/signer/signer.ts';
import { startPgWireProxy, type PgWireProxy } from '../support/pg-wire-proxy.ts';
import { freshJurisdiction, sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { createTestEdge, mintEdgeToken, testGatewayId, type TestEdge } from './support/edge.ts';
import { injectedDriverError, withTransactionFaults, type TransactionFault } from './support/faults.ts';
import { verifyReceipt } from './support/receipts.ts';
import { startTestbed, type Testbed, type TestbedOptions } from './support/testbed.ts';

const redeliveryRoundsMax = 12;
const node24 = resolve('node_modules/.bin/node');
const serverEntry = resolve('regional/server.ts');

describe.each(testDatabaseKinds())('settlement faults on %s', (kind) => {
  let database: TestDatabase;
  let proxy: PgWireProxy;
  /** The same database reached through the proxy, so connections can be cut at a statement. */
  let proxied: TestDatabase;
  const testbeds: Testbed[] = [];

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'faults');
    proxy = await startPgWireProxy(database.url);
    proxied = { ...database, url: proxy.url, connect: (applicationName) => connectRegionalDatabase(proxy.url, { applicationName }) };
  });
  // PGlite's server takes 16 connections and every backend pools up to 4: close them per test.
  afterEach(async () => {
    for (const testbed of testbeds.splice(0)) {
      // postgres.js 3.4.9 keeps a connection lost mid-query as busy, so a graceful end() would
      // wait out its whole timeout; these pools are done, so end them at once.
      await testbed.database.sql.end({ timeout: 0 });
      await testbed.close();
    }
  });
  afterAll(async () => {
    await proxy?.close();
    await database?.drop();
  });

  async function backends(count: number, options: TestbedOptions & { via?: TestDatabase; wrapOrms?: Array<(orm: RegionalOrm) => RegionalOrm> } = {}): Promise<Testbed[]> {
    const edge = await createTestEdge();
    const jurisdiction = freshJurisdiction();
    const started: Testbed[] = [];
    for (let index = 0; index < count; index++) {
      const wrapOrm = options.wrapOrms?.[index] ?? options.wrapOrm;
      const testbed = await startTestbed(options.via ?? database, { ...options, edge, jurisdiction, region: `eu-${index + 1}`, ...(wrapOrm === undefined ? {} : { wrapOrm }) });
      started.push(testbed);
      testbeds.push(testbed);
    }
    return started;
  }

  it('a storm of serialization failures: every batch commits exactly once, the log stays dense', async () => {
    // PostgreSQL: four backends race real SERIALIZABLE appends to one log tail. PGlite serializes
    // transactions, so there the 40001s are injected at COMMIT (the body ran, then it aborts).
    const stormFaults = (): TransactionFault[] => Array.from({ length: 30 }, () => ({ code: '40001', outcome: 'rolled-back' as const }));
    const storm = await backends(kind === 'postgresql' ? 4 : 2, kind === 'postgresql' ? {} : { wrapOrms: [withTransactionFaults(stormFaults()), withTransactionFaults(stormFaults())] });
    const batches = Array.from({ length: 24 }, () => sampleBatch({ jurisdiction: storm[0]!.jurisdiction, payments: 4 }));
    // Every batch goes to two backends at once (the edge's outbox retrying against eu-1 and eu-2),
    // and anything answered 503 is delivered again, as the outbox would.
    const statuses = new Map<string, number[]>(batches.map((sealed) => [sealed.digest, []]));
    let pending = batches;
    for (let round = 0; pending.length > 0 && round < redeliveryRoundsMax; round++) {
      const deliveries = pending.flatMap((sealed, index) => [0, 1].map((copy) => ({ sealed, backend: storm[(index + copy) % storm.length]! })));
      const answers = await Promise.all(deliveries.map(async ({ sealed, backend }) => ({ sealed, status: (await backend.deliver(sealed)).status })));
      for (const { sealed, status } of answers) statuses.get(sealed.digest)!.push(status);
      pending = batches.filter((sealed) => !statuses.get(sealed.digest)!.some((status) => status === 200 || status === 201));
    }
    expect(pending).toEqual([]);
    for (const [digest, answered] of statuses) {
      expect(answered.every((status) => [200, 201, 503].includes(status)), `${digest}: ${answered}`).toBe(true);
      // Exactly one delivery wrote the batch; every other one got the stored receipt back.
      expect(answered.filter((status) => status === 201), `${digest}: ${answered}`).toHaveLength(1);
    }
    const retryCodes = new Set(storm.flatMap((backend) => backend.retries.map((retry) => retry.code)));
    expect(retryCodes.has('40001')).toBe(true);
    await expectCommittedExactlyOnce(storm, batches);
  });

  it('an ambiguous commit (40003) that did commit, with the read back failing too: the retry finds it and never commits twice', async () => {
    const [testbed, other] = await backends(2, { wrapOrms: [ambiguousCommitThenLostReadBack()] });
    const sealed = sampleBatch({ jurisdiction: testbed!.jurisdiction });
    const response = await testbed!.deliver(sealed);
    expect(response.status).toBe(201);
    // The read back failed, so the loop ran the transaction again, which found the batch stored
    // with a receipt this call signed: committed by this delivery (201), written once.
    expect(testbed!.retries.map((retry) => retry.code)).toEqual(['40003']);
    const body = (await response.json()) as SettlementResponse;
    const replay = await other!.deliver(sealed);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual(body);
    await expectCommittedExactlyOnce([testbed!], [sealed]);
  });

  for (const { action, committed } of [
    { action: 'lose-answer' as const, committed: true },
    { action: 'drop' as const, committed: false },
  ]) {
    it(`connection lost during COMMIT (${committed ? 'after' : 'before'} the server got it): read back ${committed ? 'finds the commit' : 'finds nothing and the retry commits'}, once`, async () => {
      const [testbed] = await backends(1, { via: proxied });
      const sealed = sampleBatch({ jurisdiction: testbed!.jurisdiction });
      const fault = proxy.arm(/^commit$/i, action);
      const response = await testbed!.deliver(sealed);
      await fault.fired;
      expect(response.status).toBe(201);
      expect(testbed!.retries.length).toBe(committed ? 0 : 1);
      await expectCommittedExactlyOnce([testbed!], [sealed]);
    });
  }

  it('connection dropped mid-transaction (at the legs INSERT): the server rolls back, the retry commits once', async () => {
    const [testbed] = await backends(1, { via: proxied });
    const sealed = sampleBatch({ jurisdiction: testbed!.jurisdiction, payments: 600 });
    const fault = proxy.arm(/^insert into "settlement_legs"/, 'drop');
    const response = await testbed!.deliver(sealed);
    await fault.fired;
    expect(response.status).toBe(201);
    expect(testbed!.retries).toHaveLength(1);
    await expectCommittedExactlyOnce([testbed!], [sealed]);
  });

  it('connection dropped while the transaction waits for the signer: the abandoned attempt writes nothing, the retry commits once', async () => {
    const held = heldSigner(await temporarySigner());
    const [testbed] = await backends(1, { via: proxied, signer: held.signer });
    const sealed = sampleBatch({ jurisdiction: testbed!.jurisdiction, payments: 50 });
    const response = testbed!.deliver(sealed);
    await held.waiting;
    if (kind === 'postgresql') await terminateBackends(testbed!.applicationName, 'idle in transaction');
    else proxy.disconnectAll();
    // The commit loop has moved on to a retry (which signs without waiting); now the first
    // attempt's Sign returns and its transaction body would carry on writing.
    await expect.poll(() => testbed!.retries.length, { timeout: 10_000 }).toBeGreaterThan(0);
    held.release();
    expect((await response).status).toBe(201);
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 200));
    await expectCommittedExactlyOnce([testbed!], [sealed]);
  });

  it.runIf(kind === 'postgresql')('backend terminated (pg_terminate_backend) while a statement of the transaction runs: the retry commits once', async () => {
    const [testbed] = await backends(1);
    const sealed = sampleBatch({ jurisdiction: testbed!.jurisdiction });
    // Another session locks the log, so the commit's read of the log tail waits (state active,
    // waiting on a lock) until its backend is terminated under it.
    const locker = postgres(database.url, { max: 1, onnotice: () => {} });
    const lockTaken = deferred();
    const unlock = deferred();
    const lockHeld = locker.begin(async (lockTx) => {
      await lockTx`lock table log_leaves in access exclusive mode`;
      lockTaken.resolve();
      await unlock.promise;
    });
    try {
      await lockTaken.promise;
      const response = testbed!.deliver(sealed);
      await terminateBackends(testbed!.applicationName, 'waiting on a lock');
      await expect.poll(() => testbed!.retries.length, { timeout: 10_000 }).toBeGreaterThan(0);
      unlock.resolve();
      await lockHeld;
      expect((await response).status).toBe(201);
      expect(testbed!.retries[0]!.code).toMatch(/^(57P01|CONNECTION_CLOSED)$/);
    } finally {
      unlock.resolve();
      await locker.end();
    }
    await expectCommittedExactlyOnce([testbed!], [sealed]);
  });

  it('the process killed (SIGKILL) mid-transaction, and again during COMMIT: after each restart the redelivered batch is committed exactly once', async () => {
    const edge = await createTestEdge();
    const jwks = await serveJwks(edge);
    const keyDirectory = await mkdtemp(join(tmpdir(), 'meridian-faults-kill-'));
    const jurisdiction = freshJurisdiction();
    const observer = connectRegionalDatabase(database.url, { applicationName: 'faults-observer' });
    const env = { REGION: 'eu-1', JURISDICTION: jurisdiction, PORT: '0', DATABASE_URL: proxy.url, EDGE_JWKS_URL: jwks.url, GATEWAY_ID: testGatewayId, SIGNER_KEY_FILE: join(keyDirectory, 'eu-1.json') };
    const batches = [sampleBatch({ jurisdiction }), sampleBatch({ jurisdiction, payments: 600 }), sampleBatch({ jurisdiction, payments: 600 })];
    const storedCount = async (sealed: SealedSettlementBatch) => (await observer.sql`select count(*)::int as batches from settlement_batches where digest = ${sealed.digest}`)[0]!.batches as number;
    let running = await startServerProcess(env);
    try {
      expect((await deliverOverHttp(running.url, edge, batches[0]!)).status).toBe(201);
      for (const [victimIndex, killAt] of [[1, /^insert into "settlement_legs"/], [2, /^commit$/i]] as const) {
        const victim = batches[victimIndex]!;
        const victimProcess = running;
        // The proxy sees the statement go by and the process dies right there: mid-transaction
        // (the legs are being written), or with its COMMIT on the wire and no answer read.
        void proxy.arm(killAt, 'observe').fired.then(() => victimProcess.child.kill('SIGKILL'));
        const cut = await deliverOverHttp(victimProcess.url, edge, victim).then(
          () => 'answered',
          () => 'connection lost',
        );
        expect(cut).toBe('connection lost');
        expect(await victimProcess.exited).toBe('SIGKILL');
        // Whatever the kill left is all or nothing (a COMMIT on the wire may or may not have
        // landed); the edge then redelivers to the restarted process. Look only once the server
        // has closed the dead process's sessions, i.e. has finished with what it was sent.
        await expect.poll(() => proxy.openSockets(), { timeout: 10_000 }).toBe(0);
        const committedBeforeRestart = await storedCount(victim);
        if (killAt.source.startsWith('^insert')) expect(committedBeforeRestart).toBe(0);
        await expectLedgerExactlyOnce(observer.sql, jurisdiction, batches.slice(0, victimIndex + committedBeforeRestart));
        running = await startServerProcess(env);
        const redelivered = await deliverOverHttp(running.url, edge, victim);
        expect(redelivered.status).toBe(committedBeforeRestart === 1 ? 200 : 201);
        expect((await redelivered.json()) as SettlementResponse).toMatchObject({ digest: victim.digest, log_index: victimIndex });
      }
      expect((await deliverOverHttp(running.url, edge, batches[0]!)).status).toBe(200);
      await expectLedgerExactlyOnce(observer.sql, jurisdiction, batches);
      // The restarted processes kept the key, so every receipt verifies under today's /v1/keys.
      const keys = (await (await fetch(`${running.url}/v1/keys`)).json()) as { keys: Array<{ kid: string; public_key: string }> };
      for (const row of await observer.sql`select receipt from settlement_batches where jurisdiction = ${jurisdiction}`) {
        const { kid } = decodeProtectedHeader(row.receipt as string);
        const published = keys.keys.find((key) => key.kid === kid)!;
        await compactVerify(row.receipt as string, await importJWK({ kty: 'OKP', crv: 'Ed25519', x: Buffer.from(published.public_key, 'base64').toString('base64url') }, 'EdDSA'));
      }
    } finally {
      running.child.kill('SIGTERM');
      await running.exited;
      await observer.close();
      await jwks.close();
      await rm(keyDirectory, { recursive: true, force: true });
    }
  });

  /** Terminates the backend's sessions in `state` ('waiting on a lock' = active, blocked on a lock). */
  async function terminateBackends(applicationName: string, state: 'idle in transaction' | 'waiting on a lock'): Promise<void> {
    const admin = postgres(database.url, { max: 1, onnotice: () => {} });
    const sessions = () =>
      state === 'waiting on a lock'
        ? admin`select pid from pg_stat_activity where application_name = ${applicationName} and state = 'active' and wait_event_type = 'Lock'`
        : admin`select pid from pg_stat_activity where application_name = ${applicationName} and state = 'idle in transaction'`;
    try {
      await expect.poll(async () => (await sessions()).length, { timeout: 10_000 }).toBeGreaterThan(0);
      const terminated = await admin`select pg_terminate_backend(pid) as done from pg_stat_activity where pid in ${admin((await sessions()).map((row) => row.pid as number))}`;
      expect(terminated.every((row) => row.done === true)).toBe(true);
    } finally {
      await admin.end();
    }
  }
});

/** Every batch stored once and complete, the log dense from 0, each receipt verifying. */
async function expectCommittedExactlyOnce(testbeds: readonly Testbed[], batches: readonly SealedSettlementBatch[]): Promise<void> {
  const [first] = testbeds;
  await expectLedgerExactlyOnce(first!.database.sql, first!.jurisdiction, batches);
  const stored = await first!.database.sql`select receipt, region, log_index::int from settlement_batches where jurisdiction = ${first!.jurisdiction}`;
  for (const row of stored) {
    const committer = testbeds.find((testbed) => testbed.region === row.region)!;
    expect((await verifyReceipt(committer.app, row.receipt as string)).log_index).toBe(row.log_index);
  }
}

async function expectLedgerExactlyOnce(sql: postgres.Sql, jurisdiction: string, batches: readonly SealedSettlementBatch[]): Promise<void> {
  const stored = await sql`
    select b.digest, b.log_index::int, b.leg_count,
      (select count(*)::int from settlement_legs l where l.batch_digest = b.digest) as legs,
      (select count(*)::int from journal_entries j where j.batch_digest = b.digest) as journal,
      (select count(*)::int from net_positions p where p.batch_digest = b.digest) as positions
    from settlement_batches b where b.jurisdiction = ${jurisdiction} order by b.log_index`;
  expect(stored.map((row) => row.digest).sort()).toEqual(batches.map((sealed) => sealed.digest).sort());
  for (const sealed of batches) {
    const row = stored.find((candidate) => candidate.digest === sealed.digest)!;
    expect({ legs: row.legs, journal: row.journal, positions: row.positions }).toEqual({
      legs: sealed.batch.legs.length,
      journal: journalEntriesForLegs(sealed.batch.legs).length,
      positions: sealed.batch.positions.length,
    });
  }
  const leaves = await sql`select leaf_index::int, batch_digest from log_leaves where jurisdiction = ${jurisdiction} order by leaf_index`;
  expect(leaves.map((leaf) => leaf.leaf_index)).toEqual(batches.map((_, index) => index));
  expect(leaves.map((leaf) => leaf.batch_digest)).toEqual(stored.map((row) => row.digest));
  expect(stored.map((row) => row.log_index)).toEqual(batches.map((_, index) => index));
}

/**
 * The first transaction commits and then reports 40003; the next plain read (the commit loop's
 * read back by digest) fails as if the connection were gone.
 */
function ambiguousCommitThenLostReadBack(): (orm: RegionalOrm) => RegionalOrm {
  return (orm) => {
    let committed = false;
    let failuresLeft = 1;
    const transaction = orm.transaction.bind(orm) as RegionalOrm['transaction'];
    return new Proxy(orm, {
      get(target, property, receiver) {
        if (property === 'transaction') {
          return (async (run, config) => {
            if (committed) return transaction(run, config);
            const result = await transaction(run, config);
            committed = true;
            void result;
            throw injectedDriverError('40003');
          }) as RegionalOrm['transaction'];
        }
        if (property === 'select' && committed && failuresLeft > 0) {
          failuresLeft -= 1;
          return () => {
            throw injectedDriverError('CONNECTION_CLOSED');
          };
        }
        return Reflect.get(target, property, receiver);
      },
    });
  };
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((resolvePromise) => (resolve = resolvePromise));
  return { promise, resolve };
}

async function temporarySigner(): Promise<Signer> {
  const keyDirectory = await mkdtemp(join(tmpdir(), 'meridian-faults-signer-'));
  const signer = await loadOrCreateLocalSigner({ keyFile: join(keyDirectory, 'key.json') });
  await rm(keyDirectory, { recursive: true, force: true });
  return signer;
}

/** A signer whose first Sign waits until released (a slow or throttled KMS). */
function heldSigner(inner: Signer): { signer: Signer; waiting: Promise<void>; release(): void } {
  let release!: () => void;
  let reached!: () => void;
  const released = new Promise<void>((resolvePromise) => (release = resolvePromise));
  const waiting = new Promise<void>((resolvePromise) => (reached = resolvePromise));
  let calls = 0;
  return {
    signer: {
      ...inner,
      sign: async (bytes) => {
        if (calls++ === 0) {
          reached();
          await released;
        }
        return inner.sign(bytes);
      },
    },
    waiting,
    release,
  };
}

async function serveJwks(edge: TestEdge): Promise<{ url: string; close(): Promise<void> }> {
  const publicJwk = { ...(await exportJWK(edge.publicKey)), kid: edge.kid, alg: 'EdDSA', use: 'sig' };
  const server: Server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] })));
  await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/.well-known/settlement-token-jwks.json`,
    close: () => new Promise<void>((resolvePromise) => server.close(() => resolvePromise())),
  };
}

interface ServerProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<NodeJS.Signals | number | null>;
}

async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(node24, [serverEntry], { env: { PATH: process.env.PATH ?? '', MERIDIAN_POSTURE: 'local-dev', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolvePromise) => child.on('exit', (code, signal) => resolvePromise(signal ?? code)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  killer.unref();
  void exited.then(() => clearTimeout(killer));
  await expect.poll(() => output, { timeout: 20_000 }).toMatch(/listening on http/);
  return { child, url: /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!, exited };
}

async function deliverOverHttp(url: string, edge: TestEdge, sealed: SealedSettlementBatch): Promise<Response> {
  const token = await mintEdgeToken(edge, { audience: 'eu-1', batchDigest: sealed.digest });
  return fetch(`${url}/v1/settlements`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: sealed.canonical });
}
