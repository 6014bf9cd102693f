/**
 * One regional backend under test: the real Hono app on real postgres.js pools against a test
 * database (one for commits, one for the auditor API, as in production), a local signer in a
 * temporary key file, and an edge that mints valid tokens.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import type { SealedSettlementBatch } from '../../../core/settlement-batch.ts';
import { createRegionalApp, type RegionalAppConfig } from '../../../regional/app.ts';
import { registerBackendKeys } from '../../../regional/keys/backend-keys.ts';
import type { CommitOptions, CommitRetryEvent } from '../../../regional/commit.ts';
import { readConnectionsMax, type RegionalDatabase, type RegionalOrm } from '../../../regional/db/client.ts';
import type { RegionalLogger } from '../../../regional/logger.ts';
import { loadOrCreateLocalSigner } from '../../../regional/signer/local-signer.ts';
import type { Signer } from '../../../regional/signer/signer.ts';
import type { TestDatabase } from './databases.ts';
import { createTestEdge, mintEdgeToken, testGatewayId, type EdgeTokenOptions, type TestEdge } from './edge.ts';

export interface TestbedOptions {
  region?: string;
  jurisdiction?: string;
  edge?: TestEdge;
  signer?: Signer;
  /** A local key file to sign with (created if missing), instead of a fresh one per testbed. */
  keyFile?: string;
  now?: () => Date;
  /** Wraps the drizzle handle the commit uses (fault injection). */
  wrapOrm?: (orm: RegionalOrm) => RegionalOrm;
  commitOptions?: CommitOptions;
  /**
   * Register the keys at start as the process does (regional/server.ts), retiring the region's
   * other keys. Default false: many suites start several `eu-1` testbeds side by side, and each
   * registers its key anyway before it first signs or lists keys.
   */
  retireSuperseded?: boolean;
  /** GET /v1/keys staleness (regional/routes/keys.ts publishedKeysCacheMs, the default); 0 to see every change at once. */
  publishedKeysCacheMs?: number;
  /** Witnessed checkpoints: the log's witnesses and/or this backend as a witness (regional/witness/). */
  witnessing?: RegionalAppConfig['witnessing'];
  witness?: RegionalAppConfig['witness'];
}

export interface Testbed {
  app: Hono;
  region: string;
  jurisdiction: string;
  database: RegionalDatabase;
  /** The auditor API's own pool (regional/db/client.ts readConnectionsMax connections). */
  readDatabase: RegionalDatabase;
  applicationName: string;
  signer: Signer;
  edge: TestEdge;
  retries: CommitRetryEvent[];
  logged: Array<{ level: 'info' | 'error'; message: string; context?: Record<string, unknown> }>;
  deliver(sealed: SealedSettlementBatch, token?: Partial<EdgeTokenOptions>, body?: string): Promise<Response>;
  close(): Promise<void>;
}

export async function startTestbed(testDatabase: TestDatabase, options: TestbedOptions = {}): Promise<Testbed> {
  const region = options.region ?? 'eu-1';
  const jurisdiction = options.jurisdiction ?? 'eu';
  const applicationName = `regional-test-${randomBytes(4).toString('hex')}`;
  const database = testDatabase.connect(applicationName);
  const readDatabase = testDatabase.connect(`${applicationName}-read`, { connectionsMax: readConnectionsMax });
  const keyDirectory = await mkdtemp(join(tmpdir(), 'meridian-regional-keys-'));
  const signer = options.signer ?? (await loadOrCreateLocalSigner({ keyFile: options.keyFile ?? join(keyDirectory, `${region}.json`) }));
  const edge = options.edge ?? (await createTestEdge());
  const retries: CommitRetryEvent[] = [];
  const logged: Testbed['logged'] = [];
  const logger: RegionalLogger = {
    info: (message, context) => logged.push({ level: 'info', message, context }),
    error: (message, context) => logged.push({ level: 'error', message, context }),
  };
  // As at process start: the keys are in the jurisdiction's registry before anything is served.
  const registered = await registerBackendKeys(database.orm, { region, jurisdiction, signer, noteSigner: signer.alg === 'EdDSA' ? signer : undefined }, new Date(), { retireSuperseded: options.retireSuperseded ?? false });
  if (!registered.ok) {
    await database.close();
    await readDatabase.close();
    throw new Error(`testbed ${region}: ${registered.reason.detail}`);
  }
  const app = createRegionalApp({
    region,
    jurisdiction,
    gatewayId: testGatewayId,
    database: options.wrapOrm === undefined ? database : { ...database, orm: options.wrapOrm(database.orm) },
    readDatabase,
    signer,
    edgeKeys: edge.keys,
    logger,
    ...(options.now === undefined ? {} : { now: options.now }),
    commitOptions: { backoff: { retriesMax: 8, backoffBaseMs: 5, backoffCapMs: 50 }, ...options.commitOptions, onRetry: (event) => retries.push(event) },
    ...(options.publishedKeysCacheMs === undefined ? {} : { publishedKeysCacheMs: options.publishedKeysCacheMs }),
    keysRegisteredAtStart: true,
    ...(options.witnessing === undefined ? {} : { witnessing: options.witnessing }),
    ...(options.witness === undefined ? {} : { witness: options.witness }),
  });
  return {
    app,
    region,
    jurisdiction,
    database,
    readDatabase,
    applicationName,
    signer,
    edge,
    retries,
    logged,
    async deliver(sealed, token = {}, body) {
      const bearer = await mintEdgeToken(edge, { audience: region, batchDigest: sealed.digest, ...token });
      return app.request('/v1/settlements', {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: body ?? sealed.canonical,
      });
    },
    async close() {
      await database.close();
      await readDatabase.close();
      await rm(keyDirectory, { recursive: true, force: true });
    },
  };
}
