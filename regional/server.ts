/**
 * The regional backend process. Configuration (environment):
 *   REGION           this backend, e.g. eu-1 (required)
 *   JURISDICTION     jurisdiction it serves, e.g. eu (required)
 *   PORT             listen port (required; 0 picks a free one)
 *   HOST             listen address (default 127.0.0.1)
 *   DATABASE_URL     postgres:// URL of CockroachDB, PostgreSQL or PGlite-over-socket (required;
 *                    migrate first: node regional/db/migrate.ts)
 *   DATABASE_CONNECTIONS_MAX  commit pool size (default 4; see db/client.ts about PGlite); the
 *                    auditor API has its own pool of readConnectionsMax
 *   MERIDIAN_POSTURE local-dev on a developer machine; unset in production (regional/config.ts):
 *                    outside local-dev the local signer, creating key files and http URLs are refused
 *   EDGE_JWKS_URL    the gateway's settlement-token JWKS, …/.well-known/settlement-token-jwks.json,
 *                    which verifies edge tokens (https; required unless local-dev, whose default
 *                    is http://127.0.0.1:8787/.well-known/settlement-token-jwks.json)
 *   GATEWAY_ID       expected `iss` of edge tokens (default meridian-local)
 *   SIGNER           kms, or local (local-dev only, and its default)
 *   SIGNER_KEY_FILE  local signer key file (default .data/keys/<REGION>.json; created if absent, local-dev only)
 *   SIGNER_ALG       local signer algorithm for a new key file: EdDSA (default) or ML-DSA-65
 *   KMS_KEY_ID       with SIGNER=kms: the KMS key (id, ARN, alias/… or alias ARN); an
 *                    ECC_NIST_EDWARDS25519, ECC_NIST_P256 or ML_DSA_65 SIGN_VERIFY key
 *   AWS_REGION       with SIGNER=kms: the key's region
 *   KMS_ENDPOINT     with SIGNER=kms: endpoint override (VPC endpoint; a local server in tests)
 *                    AWS credentials come from the SDK's default provider chain.
 *   NOTE_KMS_KEY_ID / NOTE_SIGNER_KEY_FILE  the Ed25519 key (KMS, or a local file) that signs log
 *                    checkpoints when the receipt key is not Ed25519 (C2SP notes are Ed25519)
 *   WITNESS_URLS / WITNESSED_LOGS / WITNESS_KMS_KEY_ID / WITNESS_KEY_FILE  witnessed checkpoints
 *                    (regional/witness/witness-config.ts): the witnesses this log asks to cosign, the
 *                    logs this backend cosigns, and its own Ed25519 cosigning key
 *
 * At start the backend registers its keys in the jurisdiction's key registry
 * (regional/keys/key-registry.ts) and retires the keys its region signed with before, which stay
 * published at every sibling's GET /v1/keys. It refuses to start with a key that was retired.
 * Key rotation: a local key file with `npm run meridian -- keys rotate --region <r>` (cli/keys-commands.ts),
 * then a restart. A KMS key: create a new KMS key, point KMS_KEY_ID (or its alias) at it and
 * restart; the old key stays in the registry (not_after = the restart) and keeps verifying what
 * it signed. Never delete or disable the old KMS key's public half from the registry.
 *
 *   REGION=eu-1 JURISDICTION=eu PORT=8701 DATABASE_URL=… EDGE_JWKS_URL=… node regional/server.ts
 */
import { serve } from '@hono/node-server';
import { createRemoteJWKSet } from 'jose';
import { createRegionalApp } from './app.ts';
import { regionalConfigFromEnv, RegionalConfigError, type RegionalProcessConfig } from './config.ts';
import { connectRegionalDatabase, readConnectionsMax, type RegionalDatabase } from './db/client.ts';
import { redactUrl } from './db/migrate.ts';
import { registerBackendKeys } from './keys/backend-keys.ts';
import { consoleLogger } from './logger.ts';
import { createSigner } from './signer/create-signer.ts';

/** Bounds on fetching the edge's JWKS: a slow edge must not hold settlement requests hostage. */
export const jwksFetchTimeoutMs = 5_000;
/** Refetch at most this often when a token names an unknown kid (key rotation at the edge). */
export const jwksCooldownMs = 30_000;
export const jwksCacheMaxAgeMs = 10 * 60_000;
/** In-flight requests get this long to finish on SIGINT/SIGTERM before the process exits anyway. */
export const shutdownGraceMs = 10_000;

export interface RunningRegionalServer {
  url: string;
  stop(): Promise<void>;
}

export async function startRegionalServer(config: RegionalProcessConfig): Promise<RunningRegionalServer> {
  const logger = consoleLogger(config.region);
  // regionalConfigFromEnv refuses these already; a config built by hand must not slip past.
  if (config.posture !== 'local-dev' && (config.signer.kind === 'local' || config.noteSigner?.kind === 'local' || config.edgeJwksUrl.protocol !== 'https:')) {
    throw new RegionalConfigError('regional: the local signer and http JWKS URLs need MERIDIAN_POSTURE=local-dev; set SIGNER=kms and an https EDGE_JWKS_URL');
  }
  const signer = await createSigner(config.signer);
  logger.info('signer ready', { kind: config.signer.kind, kid: signer.kid, alg: signer.alg, created_at: signer.createdAt.toISOString() });
  const noteSigner = config.noteSigner === undefined ? undefined : await createSigner(config.noteSigner);
  if ((noteSigner ?? signer).alg !== 'EdDSA') {
    throw new RegionalConfigError(
      `regional: log checkpoints are C2SP signed notes, signed with Ed25519, but the ${noteSigner === undefined ? 'receipt' : 'note'} signer's key is ${(noteSigner ?? signer).alg}: set NOTE_KMS_KEY_ID to an ECC_NIST_EDWARDS25519 KMS key, or NOTE_SIGNER_KEY_FILE`,
    );
  }
  const database = connectRegionalDatabase(config.databaseUrl, {
    applicationName: `meridian-regional-${config.region}`,
    ...(config.databaseConnectionsMax === undefined ? {} : { connectionsMax: config.databaseConnectionsMax }),
  });
  await assertLedgerMigrated(database, config.databaseUrl);
  const registered = await registerBackendKeys(database.orm, { region: config.region, jurisdiction: config.jurisdiction, signer, noteSigner: noteSigner ?? signer }, new Date());
  if (!registered.ok) {
    await database.close();
    throw new RegionalConfigError(`regional ${config.region}: ${registered.reason.detail}`);
  }
  for (const retired of registered.value.retired) logger.info('key retired: superseded by this start', { kid: retired.kid, purpose: retired.purpose, not_after: retired.notAfter?.toISOString() });
  const readDatabase = connectRegionalDatabase(config.databaseUrl, { applicationName: `meridian-regional-${config.region}-read`, connectionsMax: readConnectionsMax });
  const edgeKeys = createRemoteJWKSet(config.edgeJwksUrl, {
    timeoutDuration: jwksFetchTimeoutMs,
    cooldownDuration: jwksCooldownMs,
    cacheMaxAge: jwksCacheMaxAgeMs,
  });
  // Cosigning runs beside the commits until stop(); a witness that is down never blocks one.
  const cosigningStop = new AbortController();
  const witnessSigner = config.witnessing.witnessSigner === undefined ? undefined : await createSigner(config.witnessing.witnessSigner);
  const app = createRegionalApp({
    region: config.region, jurisdiction: config.jurisdiction, gatewayId: config.gatewayId, database, readDatabase, signer, ...(noteSigner === undefined ? {} : { noteSigner }), edgeKeys, logger, keysRegisteredAtStart: true,
    witnessing: { witnessUrls: config.witnessing.witnessUrls, signal: cosigningStop.signal },
    ...(witnessSigner === undefined ? {} : { witness: { signer: witnessSigner, logs: config.witnessing.witnessedLogs } }),
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const listening = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(listening));
    listening.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const url = `http://${config.host}:${port}`;
  return {
    url,
    async stop() {
      cosigningStop.abort();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets would hold close() open; idle ones go now, busy ones get the grace.
        (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      });
      await Promise.all([database.close(), readDatabase.close()]);
    },
  };
}

async function assertLedgerMigrated(database: RegionalDatabase, databaseUrl: string): Promise<void> {
  try {
    await database.sql`select 1 from settlement_batches limit 0`;
    await database.sql`select 1 from signing_keys limit 0`;
  } catch (error) {
    await database.close();
    const code = (error as { code?: unknown }).code;
    const hint = code === '42P01' ? 'the ledger tables are missing; run `node regional/db/migrate.ts` with the same DATABASE_URL' : (error as Error).message;
    throw new RegionalConfigError(`regional: database ${redactUrl(databaseUrl)} is not usable: ${hint}`, { cause: error });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let config: RegionalProcessConfig;
  let running: RunningRegionalServer;
  try {
    config = regionalConfigFromEnv(process.env);
    running = await startRegionalServer(config);
  } catch (error) {
    console.error(error instanceof RegionalConfigError ? error.message : `regional: failed to start: ${(error as Error).message}`);
    process.exit(1);
  }
  console.log(`regional ${config.region}: listening on ${running.url}`);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`regional ${config.region}: ${signal}, shutting down`);
    setTimeout(() => process.exit(1), shutdownGraceMs).unref();
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`regional ${config.region}: shutdown failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}
