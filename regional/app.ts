/**
 * The regional settlement service (Hono on Node). Routes:
 *   GET  /healthz                    liveness + database check
 *   POST /v1/settlements             commit a batch delivered by the edge (edge token required)
 *   GET  /v1/settlements/:batch_id   a committed settlement, for auditors
 *   GET  /v1/keys                    every key of the jurisdiction that ever signed (siblings', retired), note verifiers
 *   GET  /v1/log/checkpoint          the jurisdiction log's checkpoint, signed by this backend, with its witnesses' cosignatures
 *   GET  /v1/log/witnessed-checkpoint the newest checkpoint that gathered a quorum of cosignatures
 *   POST /v1/witness/add-checkpoint  C2SP tlog-witness: cosign another jurisdiction's checkpoint (when a witness)
 *   GET  /v1/witness                 this witness's name, cosigner key and the logs it witnesses
 *   GET  /v1/log/leaves/:index       a leaf's exact bytes (DSSE envelope of a batch's in-toto statement)
 *   GET  /v1/log/inclusion           inclusion proof ?index=&size=
 *   GET  /v1/log/consistency         consistency proof ?from=&to=
 *   GET  /v1/evidence                evidence bundle ?from=&to=: checkpoint, keys, leaves, proofs, receipts
 *   GET  /metrics                    Prometheus text exposition (per-app registry)
 * Every failure, including unknown routes and methods, is application/problem+json.
 *
 * Two database pools: `database` for commits (and the token claims they need), `readDatabase` for
 * the unauthenticated auditor API, behind one bounded read limit (http/limit-auditor-reads.ts),
 * so a burst of evidence or proof requests cannot take the connections a commit needs. Every
 * read answers for this backend's jurisdiction only: one database may hold them all.
 *
 * Keys: the signer and note key are registered in the jurisdiction's key registry
 * (keys/backend-keys.ts) before this backend's first commit, checkpoint or key listing.
 */
import { Hono } from 'hono';
import type { JWTVerifyGetKey } from 'jose';
import type { CommitOptions } from './commit.ts';
import type { RegionalDatabase } from './db/client.ts';
import { createEdgeTokenVerifier } from './edge-token.ts';
import { createAuditorReadLimiter } from './http/limit-auditor-reads.ts';
import { problemNotFound, problemOnError } from './http/problems.ts';
import { consumedTokenStore } from './ledger/consumed-tokens.ts';
import { createKeyRegistration } from './keys/backend-keys.ts';
import { keyRegistry } from './keys/key-registry.ts';
import { createCheckpointSource, logOrigin, noteSignerFor, type CheckpointSource } from './log/checkpoint.ts';
import { createProofCache } from './log/proof-cache.ts';
import { logLeafStore } from './log/store.ts';
import { createLogTree } from './log/tree.ts';
import { consoleLogger, type RegionalLogger } from './logger.ts';
import { createRegionalMetrics } from './metrics.ts';
import { traceRequests } from './observability/request-context.ts';
import { evidenceRoutes } from './routes/evidence.ts';
import { healthRoutes } from './routes/healthz.ts';
import { publishedKeys } from './routes/keys.ts';
import { logRoutes } from './routes/log.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { auditorOpenApiRoutes } from './openapi/openapi-routes.ts';
import { settlementRoutes } from './routes/settlements.ts';
import type { Signer } from './signer/signer.ts';
import { timedSigner } from './signer/timed-signer.ts';
import { cosignatureStore } from './witness/cosignature-store.ts';
import { createCosigning, type Cosigning } from './witness/cosigning.ts';
import { witnessRoutes } from './witness/witness-routes.ts';
import { setUpWitness, type WitnessOptions } from './witness/witness-setup.ts';

export interface RegionalAppConfig {
  /** This backend, e.g. eu-1: the edge token's `aud` and the receipt's `region`. */
  region: string;
  /** The jurisdiction whose batches this backend may commit, e.g. eu. */
  jurisdiction: string;
  /** The edge token's expected `iss`. */
  gatewayId: string;
  database: RegionalDatabase;
  /**
   * The auditor API's own pool (db/client.ts readConnectionsMax). Default: `database`, which
   * only tests that do not care about read isolation should rely on; the process always passes one.
   */
  readDatabase?: RegionalDatabase;
  signer: Signer;
  /** Signs checkpoints (C2SP notes need Ed25519); default: `signer`. */
  noteSigner?: Signer;
  /** The log's origin line; default meridian.example/log/<jurisdiction>, shared by the jurisdiction's backends. */
  logOrigin?: string;
  /** The edge's published keys: createRemoteJWKSet(EDGE_JWKS_URL), or a local JWKS in tests. */
  edgeKeys: JWTVerifyGetKey;
  logger?: RegionalLogger;
  now?: () => Date;
  commitOptions?: CommitOptions;
  /**
   * The caller registered `signer` and `noteSigner` with registerBackendKeys (keys/backend-keys.ts)
   * before building the app, as regional/server.ts does; otherwise the app registers them itself
   * before its first commit, checkpoint or key listing.
   */
  keysRegisteredAtStart?: boolean;
  /** How stale GET /v1/keys may be (routes/keys.ts publishedKeysCacheMs); tests that rotate use 0. */
  publishedKeysCacheMs?: number;
  /** This backend's log asks these witnesses to cosign its checkpoints (witness/cosigning.ts). */
  witnessing?: {
    witnessUrls: readonly string[];
    /** The collection loop runs until this aborts; without it, only `onCosigning`'s collect() does. */
    signal?: AbortSignal;
    intervalMs?: number;
    fetch?: typeof fetch;
    onCosigning?: (cosigning: Cosigning) => void;
  };
  /** This backend witnesses other jurisdictions' logs (witness/witness.ts). */
  witness?: WitnessOptions;
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
  const readDatabase = config.readDatabase ?? config.database;
  const readLimiter = createAuditorReadLimiter();
  const limitReads = readLimiter.middleware;
  const logStore = logLeafStore(readDatabase.orm, config.jurisdiction);
  const origin = config.logOrigin ?? logOrigin(config.jurisdiction);
  const noteSigningKey = config.noteSigner ?? config.signer;
  const noteSigner = noteSignerFor(noteSigningKey, origin);
  if (noteSigner === undefined) logger.error('no Ed25519 key to sign log checkpoints with; GET /v1/log/checkpoint answers 503', { kid: noteSigningKey.kid, alg: noteSigningKey.alg });
  const backendKeys = { region: config.region, jurisdiction: config.jurisdiction, signer: config.signer, noteSigner: noteSigner === undefined ? undefined : noteSigningKey };
  const registration = createKeyRegistration(config.database.orm, backendKeys, { now, logger, registeredAtStart: config.keysRegisteredAtStart === true, onRegistered: () => keys.invalidate() });
  const witness = config.witness === undefined ? undefined : setUpWitness({ ...config.witness, region: config.region, db: config.database.orm, logger, now });
  const keys = publishedKeys({
    registry: keyRegistry(readDatabase.orm, config.jurisdiction),
    registration,
    origin,
    now,
    ...(witness === undefined ? {} : { witnessVerifiers: [witness.verifier] }),
    ...(config.publishedKeysCacheMs === undefined ? {} : { cacheMs: config.publishedKeysCacheMs }),
  });
  const metrics = createRegionalMetrics({ region: config.region, jurisdiction: config.jurisdiction, logTreeSize: () => logStore.treeSize(), auditorReads: () => readLimiter.saturation() });
  const app = new Hono();
  app.onError(problemOnError(logger));
  app.notFound(problemNotFound);
  // First: every later log line of the request carries its request id and trace (observability/).
  app.use('*', traceRequests());
  app.route('/', healthRoutes({ region: config.region, jurisdiction: config.jurisdiction, sql: config.database.sql, logger }));
  app.route('/', metricsRoutes(metrics));
  app.route('/', auditorOpenApiRoutes());
  app.route('/', settlementRoutes({
    region: config.region,
    jurisdiction: config.jurisdiction,
    database: config.database,
    readDb: readDatabase.orm,
    limitReads,
    // Timed for meridian_signer_sign_seconds; key registration and checkpoints use the signer as given.
    signer: timedSigner(config.signer, (seconds, outcome, signer) => metrics.signed(seconds, outcome, signer.alg)),
    requireSigningKeys: () => registration.require(),
    verifyEdgeToken,
    logger,
    commitOptions: { now, ...config.commitOptions },
    metrics,
  }));
  const logTree = createProofCache(createLogTree(logStore));
  const signedCheckpoints = createCheckpointSource({ origin, store: logStore, tree: logTree, noteSigner });
  // The note key signs only once registered (a no-op after the first time).
  const ownCheckpoints: CheckpointSource = {
    async latest() {
      if (noteSigner !== undefined) await registration.require();
      return signedCheckpoints.latest();
    },
  };
  const cosigning = config.witnessing === undefined || config.witnessing.witnessUrls.length === 0 ? undefined : createCosigning({
    witnessUrls: config.witnessing.witnessUrls,
    origin,
    checkpoints: ownCheckpoints,
    tree: logTree,
    store: cosignatureStore(config.database.orm),
    logger,
    now,
    ...(config.witnessing.fetch === undefined ? {} : { fetch: config.witnessing.fetch }),
  });
  if (cosigning !== undefined) {
    config.witnessing?.onCosigning?.(cosigning);
    if (config.witnessing?.signal !== undefined) cosigning.run(config.witnessing.signal, config.witnessing.intervalMs);
  }
  // Served with the cosignatures recorded so far for its size and root.
  const checkpoints: CheckpointSource = {
    async latest() {
      const signed = await ownCheckpoints.latest();
      return cosigning === undefined ? signed : await cosigning.attach(signed);
    },
  };
  app.route('/', logRoutes({ store: logStore, tree: logTree, checkpoints, witnessed: async () => cosigning?.witnessed(), logger, limitReads }));
  if (witness !== undefined) app.route('/', witnessRoutes(witness));
  app.route('/', keys.routes);
  app.route('/', evidenceRoutes({
    region: config.region,
    jurisdiction: config.jurisdiction,
    db: readDatabase.orm,
    tree: logTree,
    checkpoints,
    // The same body the keys route answers, so the bundle's `keys` is what /v1/keys publishes.
    publishedKeys: () => keys.body(),
    logger,
    now,
    limitReads,
  }));
  return app;
}
