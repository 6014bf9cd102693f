/**
 * POST /v1/settlements — the edge delivers a closed window's batch. The pipeline, top to bottom:
 *   edge token (401) → JSON body ≤ bodyBytesMax (415/413/400) → verifySettlementBatchNative against the
 *   token's batch_digest (422 batch-rejected) → residency: the batch's jurisdiction must be ours and
 *   every leg's debtor country must map to it unless the leg names a residency exception
 *   (403 residency-denied, ../residency/batch-residency.ts) → commitSettlement → 201 on first commit, 200 with the identical body
 *   on a repeat delivery (the edge treats both as settled). Every answer is counted in
 *   ../metrics.ts: commits, replays and retries, the commit's duration, and problems by slug.
 * GET /v1/settlements/:batch_id — the committed settlement in the DESIGN shape, for auditors:
 *   batch id pattern (404: no such resource can exist) → a batch of our jurisdiction (404 otherwise: one database may hold
 *   every jurisdiction's rows, and a backend answers for its own only) → legs and positions.
 *   Runs on the auditor read pool behind the read limit (../app.ts).
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { ProblemError } from '../../core/problem.ts';
import { verifySettlementBatchNative, type BatchRejection } from '../../core/settlement-batch.ts';
import { commitSettlement, type CommitOptions } from '../commit.ts';
import type { RegionalDatabase, RegionalQueryable } from '../db/client.ts';
import type { EdgeTokenVerifier } from '../edge-token.ts';
import { limitJsonBody, readJsonBody } from '../http/read-json-body.ts';
import { methodNotAllowed } from '../http/problems.ts';
import { parseBatchId } from '../http/route-params.ts';
import { requireEdgeToken, type EdgeTokenVariables } from '../http/require-edge-token.ts';
import { findSettlementByBatchId, readStoredLegs, readStoredPositions } from '../ledger/read-settlement.ts';
import type { RegionalLogger } from '../logger.ts';
import { problemSlugOf, type RegionalMetrics } from '../metrics.ts';
import { batchResidencyDetail, batchResidencyViolation, loadCountryJurisdictions } from '../residency/batch-residency.ts';
import type { Signer } from '../signer/signer.ts';

export interface SettlementRoutesConfig {
  region: string;
  jurisdiction: string;
  database: RegionalDatabase;
  /** The auditor API's pool, for GET. */
  readDb: RegionalQueryable;
  /** The auditor read limit, in front of GET. */
  limitReads: MiddlewareHandler;
  signer: Signer;
  /** Resolves once the signer's key is in the jurisdiction's key registry (keys/backend-keys.ts). */
  requireSigningKeys: () => Promise<void>;
  verifyEdgeToken: EdgeTokenVerifier;
  logger: RegionalLogger;
  commitOptions: CommitOptions;
  metrics: RegionalMetrics;
}

export function settlementRoutes(config: SettlementRoutesConfig): Hono<EdgeTokenVariables> {
  const routes = new Hono<EdgeTokenVariables>();
  const { metrics } = config;
  const countries = loadCountryJurisdictions();
  const commitOptions: CommitOptions = {
    ...config.commitOptions,
    onRetry: (event) => {
      metrics.commitRetried(event.code);
      config.commitOptions.onRetry?.(event);
    },
  };

  // First in the chain, so it sees every problem below it: thrown ones (already turned into a
  // response by onError) and those a middleware answers itself (413 from the body limit).
  routes.post('/v1/settlements', async (c, next) => {
    await next();
    if (c.res.status < 400) return;
    const problem = (await c.res.clone().json().catch(() => undefined)) as { type?: unknown } | undefined;
    metrics.settlementRejected(problemSlugOf(problem?.type));
  });
  routes.post('/v1/settlements', requireEdgeToken(config.verifyEdgeToken, config.logger), ...limitJsonBody(), async (c) => {
    const verified = await verifySettlementBatchNative(await readJsonBody(c), c.get('edgeToken').batchDigest);
    if (!verified.ok) throw batchRejected(verified.reason);
    const { batch, canonical, digest } = verified.value;
    const violation = batchResidencyViolation(batch, config.jurisdiction, countries);
    if (violation !== null) {
      // Recorded: this log line, and rejections{reason="residency-denied"} by the counter above.
      config.logger.error('settlement refused: residency', { batch_id: batch.batch_id, digest, ...violation });
      throw new ProblemError('residency-denied', batchResidencyDetail(batch.batch_id, config.jurisdiction, violation), { reason: violation.kind });
    }
    // Before the transaction, never inside it: a key signs only once every sibling publishes it.
    await config.requireSigningKeys();
    const startedAtMs = performance.now();
    const outcome = await commitSettlement(config.database.orm, batch, canonical, digest, config.region, config.signer, commitOptions);
    const commitSeconds = (performance.now() - startedAtMs) / 1000;
    if (outcome.kind === 'committed') metrics.settlementCommitted(commitSeconds);
    else metrics.settlementReplayed(commitSeconds);
    config.logger.info(`settlement ${outcome.kind}`, { batch_id: batch.batch_id, digest, log_index: outcome.response.log_index });
    return c.json(outcome.response, outcome.kind === 'committed' ? 201 : 200);
  });
  routes.all('/v1/settlements', methodNotAllowed(['POST']));

  routes.get('/v1/settlements/:batch_id', config.limitReads, async (c) => {
    // A path segment that is no batch id names a settlement that cannot exist: 404, as before.
    const parsed = parseBatchId(c.req.param('batch_id'));
    if (!parsed.ok) throw new ProblemError('not-found', `no settlement: ${parsed.reason.detail}`);
    const { batchId, jurisdiction } = parsed.value;
    const stored = jurisdiction === config.jurisdiction ? await findSettlementByBatchId(config.readDb, config.jurisdiction, batchId) : undefined;
    if (stored === undefined) throw new ProblemError('not-found', `no settlement with batch_id ${JSON.stringify(batchId)} in jurisdiction ${config.jurisdiction}`);
    const [legs, positions] = await Promise.all([readStoredLegs(config.readDb, stored.digest), readStoredPositions(config.readDb, stored.digest)]);
    return c.json({
      batch_id: stored.batchId,
      digest: stored.digest,
      corridor: stored.corridor,
      jurisdiction: stored.jurisdiction,
      legs,
      positions,
      log_index: stored.logIndex,
      receipt: stored.receipt,
    });
  });
  routes.all('/v1/settlements/:batch_id', methodNotAllowed(['GET', 'HEAD']));

  return routes;
}

function batchRejected(reason: BatchRejection): ProblemError {
  switch (reason.kind) {
    case 'malformed-batch':
    case 'digest-mismatch':
    case 'positions-mismatch':
    case 'not-canonical-order':
    case 'not-zero-sum':
      return new ProblemError('batch-rejected', reason.detail, { reason: reason.kind });
  }
}
