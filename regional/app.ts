/**
 * The regional settlement service (Hono on Node). Routes:
 *   GET  /healthz                    liveness + database check
 *   POST /v1/settlements             commit a batch delivered by the edge (edge token required)
 *   GET  /v1/settlements/:batch_id   a committed settlement, for auditors
 *   GET  /v1/keys                    receipt-verification keys, rotation status
 * Every failure, including unknown routes and methods, is application/problem+json.
 */
import { Hono } from 'hono';
import type { JWTVerifyGetKey } from 'jose';
import type { CommitOptions } from './commit.ts';
import type { RegionalDatabase } from './db/client.ts';
import { createEdgeTokenVerifier } from './edge-token.ts';
import { problemNotFound, problemOnError } from './http/problems.ts';
import { consumedTokenStore } from './ledger/consumed-tokens.ts';
import { consoleLogger, type RegionalLogger } from './logger.ts';
import { healthRoutes } from './routes/healthz.ts';
import { keysRoutes } from './routes/keys.ts';
import { settlementRoutes } from './routes/settlements.ts';
import type { Signer } from './signer/signer.ts';

export interface RegionalAppConfig {
  /** This backend, e.g. eu-1: the edge token's `aud` and the receipt's `region`. */
  region: string;
  /** The jurisdiction whose batches this backend may commit, e.g. eu. */
  jurisdiction: string;
  /** The edge token's expected `iss`. */
  gatewayId: string;
  database: RegionalDatabase;
  signer: Signer;
  /** The edge's published keys: createRemoteJWKSet(EDGE_JWKS_URL), or a local JWKS in tests. */
  edgeKeys: JWTVerifyGetKey;
  logger?: RegionalLogger;
  now?: () => Date;
  commitOptions?: CommitOptions;
}

export function createRegionalApp(config: RegionalAppConfig): Hono {
  const logger = config.logger ?? consoleLogger(config.region);
  const now = config.now ?? (() => new Date());
  const verifyEdgeToken = createEdgeTokenVerifier({
    keys: config.edgeKeys,
    region: config.region,
    gatewayId: config.gatewayId,
    consumedTokens: consumedTokenStore(config.database.orm),
    logger,
    now,
  });
  const app = new Hono();
  app.onError(problemOnError(logger));
  app.notFound(problemNotFound);
  app.route('/', healthRoutes({ region: config.region, jurisdiction: config.jurisdiction, sql: config.database.sql, logger }));
  app.route('/', settlementRoutes({
    region: config.region,
    jurisdiction: config.jurisdiction,
    database: config.database,
    signer: config.signer,
    verifyEdgeToken,
    logger,
    commitOptions: { now, ...config.commitOptions },
  }));
  app.route('/', keysRoutes({ signers: [config.signer], now }));
  return app;
}
