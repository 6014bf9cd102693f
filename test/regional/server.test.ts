/**
 * The process entry, run as a real process: `node regional/server.ts` with its environment.
 * Uses Node 24 from node_modules/.bin (type stripping runs the .ts sources directly).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { regionalConfigFromEnv } from '../../regional/config.ts';
import type { SettlementResponse } from '../../core/settlement-batch.ts';
import { sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { createTestEdge, mintEdgeToken, testGatewayId, type TestEdge } from './support/edge.ts';

const node24 = resolve('node_modules/.bin/node');
const serverEntry = resolve('regional/server.ts');
const processTimeoutMs = 30_000;

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function launch(env: Record<string, string>): { child: ChildProcess; output: { stdout: string; stderr: string }; finished: Promise<Finished> } {
  // Local signer, fresh key files and http JWKS: the developer-machine posture (regional/config.ts).
  const child = spawn(node24, [serverEntry], { env: { PATH: process.env.PATH ?? '', MERIDIAN_POSTURE: 'local-dev', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  const finished = new Promise<Finished>((resolvePromise) => child.on('exit', (code) => resolvePromise({ code, ...output })));
  setTimeout(() => child.kill('SIGKILL'), processTimeoutMs).unref();
  return { child, output, finished };
}

describe('regional server configuration', () => {
  it('names every missing setting at once', () => {
    expect(() => regionalConfigFromEnv({})).toThrow(/REGION is not set[\s\S]*JURISDICTION is not set[\s\S]*PORT is not set[\s\S]*DATABASE_URL is not set[\s\S]*EDGE_JWKS_URL is not set/);
  });

  it('applies the documented defaults', () => {
    const config = regionalConfigFromEnv({ MERIDIAN_POSTURE: 'local-dev', REGION: 'eu-2', JURISDICTION: 'eu', PORT: '8702', DATABASE_URL: 'postgres://h/db', EDGE_JWKS_URL: 'http://127.0.0.1:8787/.well-known/settlement-token-jwks.json' });
    expect(config).toMatchObject({ gatewayId: 'meridian-local', signerKeyFile: '.data/keys/eu-2.json', host: '127.0.0.1', port: 8702, databaseConnectionsMax: undefined });
  });

  it('rejects malformed values', () => {
    expect(() => regionalConfigFromEnv({ REGION: 'EU 1', JURISDICTION: 'eu', PORT: '99999', DATABASE_URL: 'mysql://x', EDGE_JWKS_URL: 'nope', DATABASE_CONNECTIONS_MAX: '0' })).toThrow(
      /REGION[\s\S]*PORT[\s\S]*DATABASE_URL[\s\S]*DATABASE_CONNECTIONS_MAX[\s\S]*EDGE_JWKS_URL/,
    );
  });

  it('exits with a readable message when the database has not been migrated', async () => {
    const { startPgliteServer } = await import('../../cli/dev/pglite-server.ts');
    const bare = await startPgliteServer({ port: 0 });
    const keyDirectory = await mkdtemp(join(tmpdir(), 'meridian-regional-bare-'));
    try {
      const { finished } = launch({
        REGION: 'eu-1',
        JURISDICTION: 'eu',
        PORT: '0',
        DATABASE_URL: bare.connectionString,
        EDGE_JWKS_URL: 'http://127.0.0.1:1/.well-known/settlement-token-jwks.json',
        SIGNER_KEY_FILE: join(keyDirectory, 'eu-1.json'),
      });
      const result = await finished;
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/the ledger tables are missing; run `node regional\/db\/migrate.ts`/);
    } finally {
      await bare.stop();
      await rm(keyDirectory, { recursive: true, force: true });
    }
  });

  it('exits with a readable message when started without configuration', async () => {
    const { finished } = launch({});
    const result = await finished;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/regional: invalid configuration:\n  - REGION is not set/);
  });
});

// The PGlite server needs no outside service; with DATABASE_URL the process also runs on PostgreSQL.
describe.each(testDatabaseKinds())('regional server process on %s', (kind) => {
  let database: TestDatabase;
  let keyDirectory: string;
  let edge: TestEdge;
  let jwksServer: Server;
  let jwksUrl: string;

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'server');
    keyDirectory = await mkdtemp(join(tmpdir(), 'meridian-regional-server-'));
    // The edge's published JWKS, fetched over HTTP by the server's createRemoteJWKSet.
    edge = await createTestEdge();
    const { exportJWK } = await import('jose');
    const publicJwk = { ...(await exportJWK(edge.publicKey)), kid: edge.kid, alg: 'EdDSA', use: 'sig' };
    jwksServer = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolvePromise) => jwksServer.listen(0, '127.0.0.1', resolvePromise));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/.well-known/settlement-token-jwks.json`;
  });
  afterAll(async () => {
    await new Promise((resolvePromise) => jwksServer?.close(resolvePromise));
    await database?.drop();
    await rm(keyDirectory, { recursive: true, force: true });
  });

  it('listens, settles a batch with a token checked against the remote JWKS, and shuts down on SIGTERM', async () => {
    const { child, output, finished } = launch({
      REGION: 'eu-1',
      JURISDICTION: 'eu',
      PORT: '0',
      DATABASE_URL: database.url,
      EDGE_JWKS_URL: jwksUrl,
      GATEWAY_ID: testGatewayId,
      SIGNER_KEY_FILE: join(keyDirectory, 'eu-1.json'),
    });
    await expect.poll(() => output.stdout, { timeout: 20_000 }).toMatch(/regional eu-1: listening on http:\/\/127\.0\.0\.1:\d+\n/);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output.stdout)![1]!;
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', region: 'eu-1', jurisdiction: 'eu', database: 'ok' });
    const keys = (await (await fetch(`${url}/v1/keys`)).json()) as { keys: Array<{ kid: string }> };
    expect(keys.keys).toHaveLength(1);

    const sealed = sampleBatch();
    const token = await mintEdgeToken(edge, { audience: 'eu-1', batchDigest: sealed.digest });
    const settled = await fetch(`${url}/v1/settlements`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: sealed.canonical,
    });
    expect(settled.status).toBe(201);
    const body = (await settled.json()) as SettlementResponse;
    expect(body).toMatchObject({ batch_id: sealed.batch.batch_id, digest: sealed.digest, region: 'eu-1' });
    const { decodeProtectedHeader } = await import('jose');
    expect(decodeProtectedHeader(body.receipt).kid).toBe(keys.keys[0]!.kid);

    child.kill('SIGTERM');
    const result = await finished;
    expect(result.code).toBe(0);
  });
});
