/**
 * GET /v1/evidence?from=&to= — one file an auditor or compliance officer can verify offline:
 * the current signed checkpoint, the keys that verify it and the receipts (the /v1/keys body),
 * and for each log index in [from, to) the leaf's exact bytes (base64), its inclusion proof
 * against the checkpoint's tree size, and the settlement it records (batch_id, digest, receipt).
 *
 * Verification needs nothing else: open the checkpoint with a `note_verifiers` key, then for each
 * entry RFC 6962-hash the leaf, check the proof reproduces the checkpoint's root, and check the
 * receipt (a JWS by one of `keys`) names the same batch, digest and log index.
 *
 * Optional `size`: prove against that tree size instead (from the current checkpoint's down to
 * `to`), so an exporter can tie every leaf to one chosen checkpoint, e.g. the newest one with a
 * quorum of witness cosignatures (GET /v1/log/witnessed-checkpoint); `checkpoint` is then still
 * the current one and `tree_size` is `size`.
 *
 * `from` and `to` are decimal safe integers given once, from < to (else 400 invalid-request); a
 * range beyond the checkpoint's tree is 404 (it may exist later); more than evidenceLeavesMax
 * leaves is 400 — a bigger audit asks for several bundles.
 *
 * Cost bound: the route runs behind the auditor read limit on the read pool, with at most
 * evidenceLeavesMax proofs per bundle, computed one after another (never all at once) and cached
 * per tree size (../log/proof-cache.ts), so a repeated bundle costs one range read.
 */
import { and, asc, eq, gte, lt } from 'drizzle-orm';
import { Hono, type MiddlewareHandler } from 'hono';
import { base64Encode, utf8 } from '../../core/digest.ts';
import { ProblemError } from '../../core/problem.ts';
import type { RegionalQueryable } from '../db/client.ts';
import { logLeaves, settlementBatches } from '../db/schema.ts';
import { methodNotAllowed } from '../http/problems.ts';
import { orInvalidRequest, queryDecimal } from '../http/route-params.ts';
import type { CheckpointSource } from '../log/checkpoint.ts';
import { rfc6962LeafHash } from '../log/leaf.ts';
import type { LogTree } from '../log/tree.ts';
import type { RegionalLogger } from '../logger.ts';

export const evidenceFormat = 'meridian-evidence/v1';
/**
 * Leaves per bundle: each carries its leaf (a few KiB with ML-DSA signatures) and an inclusion
 * proof (up to three 256-leaf block reads when the proof cache is cold), so one unauthenticated
 * request costs at most ~3 × evidenceLeavesMax range reads.
 */
export const evidenceLeavesMax = 256;

export interface EvidenceRoutesConfig {
  region: string;
  jurisdiction: string;
  db: RegionalQueryable;
  tree: LogTree;
  checkpoints: CheckpointSource;
  /** The GET /v1/keys body, so the bundle carries exactly what the live endpoint publishes. */
  publishedKeys: () => Promise<unknown>;
  logger: RegionalLogger;
  now: () => Date;
  /** The auditor read limit, in front of the route. */
  limitReads: MiddlewareHandler;
}

interface EvidenceLeaf {
  leafIndex: number;
  leaf: string;
  leafHash: string;
  batchId: string;
  digest: string;
  receipt: string;
}

/** Leaves [from, to) with the settlement each records; throws unless exactly those, densely. */
async function readEvidenceLeaves(db: RegionalQueryable, jurisdiction: string, from: number, to: number): Promise<EvidenceLeaf[]> {
  const rows = await db
    .select({
      leafIndex: logLeaves.leafIndex,
      leaf: logLeaves.leaf,
      leafHash: logLeaves.leafHash,
      batchId: settlementBatches.batchId,
      digest: settlementBatches.digest,
      receipt: settlementBatches.receipt,
    })
    .from(logLeaves)
    .innerJoin(settlementBatches, and(eq(settlementBatches.digest, logLeaves.batchDigest), eq(settlementBatches.jurisdiction, jurisdiction)))
    .where(and(eq(logLeaves.jurisdiction, jurisdiction), gte(logLeaves.leafIndex, from), lt(logLeaves.leafIndex, to)))
    .orderBy(asc(logLeaves.leafIndex));
  if (rows.length !== to - from || rows.some((row, offset) => row.leafIndex !== from + offset)) {
    throw new Error(`log ${jurisdiction}: evidence leaves [${from}, ${to}) read back ${rows.length} rows with gaps or foreign indexes; the log is not dense`);
  }
  return rows;
}

export function evidenceRoutes(config: EvidenceRoutesConfig): Hono {
  const routes = new Hono();

  routes.get('/v1/evidence', config.limitReads, async (c) => {
    const from = orInvalidRequest(queryDecimal(c, 'from'));
    const to = orInvalidRequest(queryDecimal(c, 'to'));
    if (from >= to) throw new ProblemError('invalid-request', `from (${from}) must be below to (${to}): the range [from, to) is empty`);
    if (to - from > evidenceLeavesMax) throw new ProblemError('invalid-request', `at most ${evidenceLeavesMax} leaves per bundle; [${from}, ${to}) has ${to - from}`);
    // Proofs are against the checkpoint in the bundle, so its size bounds the range (not a fresher
    // tree size read afterwards).
    const checkpoint = await config.checkpoints.latest();
    if (to > checkpoint.treeSize) {
      throw new ProblemError('not-found', `to ${to} is beyond the log's checkpoint, which has ${checkpoint.treeSize} leaves`, { tree_size: checkpoint.treeSize });
    }
    const proofSize = c.req.query('size') === undefined ? checkpoint.treeSize : orInvalidRequest(queryDecimal(c, 'size'));
    if (proofSize < to || proofSize > checkpoint.treeSize) {
      throw new ProblemError('invalid-request', `size ${proofSize} must lie between to (${to}) and the checkpoint's ${checkpoint.treeSize} leaves`);
    }
    const [leaves, keys] = await Promise.all([readEvidenceLeaves(config.db, config.jurisdiction, from, to), config.publishedKeys()]);
    const entries = [];
    for (const stored of leaves) {
      const leafBytes = utf8(stored.leaf);
      // Shipped as stored: a tampered leaf fails the auditor's check, which is the point.
      if (rfc6962LeafHash(leafBytes) !== stored.leafHash) {
        config.logger.error('log leaf does not match its stored leaf hash', { jurisdiction: config.jurisdiction, leaf_index: stored.leafIndex });
      }
      const proof = await config.tree.inclusionProof(stored.leafIndex, proofSize);
      entries.push({
        index: stored.leafIndex,
        leaf: base64Encode(leafBytes),
        inclusion_proof: proof.map(base64Encode),
        batch_id: stored.batchId,
        digest: stored.digest,
        receipt: stored.receipt,
      });
    }
    c.header('cache-control', 'no-store');
    return c.json({
      format: evidenceFormat,
      jurisdiction: config.jurisdiction,
      region: config.region,
      generated_at: config.now().toISOString(),
      checkpoint: checkpoint.note,
      tree_size: proofSize,
      keys,
      entries,
    });
  });
  routes.all('/v1/evidence', methodNotAllowed(['GET', 'HEAD']));
  return routes;
}
