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
 * Optional `include=settlements`: each entry also carries `settlement`, exactly the body of
 * GET /v1/settlements/{batch_id} (legs, positions, receipt), so an exporter reads a period in one
 * request per page instead of one per batch. Such a page is bounded by legs, not only by leaves: a
 * batch holds 1 to batchLegsMax legs, so a leaf count alone bounds nothing (two 200,000-leg batches
 * are ~70 MB). The page takes the batches of [from, to) in order while their legs stay within
 * `legs_max` (default and ceiling evidencePageLegsMax = batchLegsMax, the largest batch there can
 * be), and always at least the first, so a page never costs more than one maximal
 * GET /v1/settlements answer plus its leaves and proofs. `next_from` is the first index the page
 * does not cover: `to` when complete, else where to ask again.
 *
 * `from` and `to` are decimal safe integers given once, from < to (else 400 invalid-request); a
 * range beyond the checkpoint's tree is 404 (it may exist later); more than evidenceLeavesMax
 * leaves is 400 naming `to`, an `include` other than `settlements` or a `legs_max` outside
 * 1..evidencePageLegsMax is 400 naming that parameter — a bigger audit asks for several pages.
 *
 * Cost bound: the route runs behind the auditor read limit on the read pool, with at most
 * evidenceLeavesMax proofs per bundle, computed one after another (never all at once) and cached
 * per tree size (../log/proof-cache.ts), so a repeated bundle costs one range read.
 */
import { and, asc, eq, gte, lt } from 'drizzle-orm';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { base64Encode, utf8 } from '../../core/digest.ts';
import { ProblemError } from '../../core/problem.ts';
import type { NetPosition } from '../../core/settlement-batch.ts';
import { batchLegsMax } from '../../core/settlement-batch-schema.ts';
import type { RegionalQueryable } from '../db/client.ts';
import { logLeaves, settlementBatches } from '../db/schema.ts';
import { methodNotAllowed } from '../http/problems.ts';
import { orInvalidRequest, queryDecimal } from '../http/route-params.ts';
import { readStoredLegs, readStoredPositions, type StoredLeg } from '../ledger/read-settlement.ts';
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
/**
 * Legs per page with `include=settlements` (default and ceiling of `legs_max`): the largest batch
 * the backend commits, so every batch fits a page and a page's legs and positions cost no more
 * than one maximal GET /v1/settlements/{batch_id} (~35 MB of JSON at 200,000 legs).
 */
export const evidencePageLegsMax = batchLegsMax;
/**
 * Settlement reads in flight while a page is assembled (each is a legs and a positions query):
 * enough to keep the read pool's two connections pipelined, few enough that one page never parks
 * hundreds of queries in front of the other auditors' requests.
 */
export const evidenceSettlementReadsInFlightMax = 8;
export const evidenceIncludeSettlements = 'settlements';

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
  corridor: string;
  batchJurisdiction: string;
  legCount: number;
  logIndex: number;
  receipt: string;
}

/** GET /v1/settlements/{batch_id}'s body (./settlements.ts), field for field and in its order. */
interface SettlementBody {
  batch_id: string;
  digest: string;
  corridor: string;
  jurisdiction: string;
  legs: StoredLeg[];
  positions: NetPosition[];
  log_index: number;
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
      corridor: settlementBatches.corridor,
      batchJurisdiction: settlementBatches.jurisdiction,
      legCount: settlementBatches.legCount,
      logIndex: settlementBatches.logIndex,
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

/** The leading leaves whose batches' legs stay within legsMax; always at least the first. */
function leavesWithinLegs(leaves: readonly EvidenceLeaf[], legsMax: number): EvidenceLeaf[] {
  let legs = 0;
  let count = 0;
  while (count < leaves.length && (count === 0 || legs + leaves[count]!.legCount <= legsMax)) legs += leaves[count++]!.legCount;
  return leaves.slice(0, count);
}

/**
 * The settlements of the page's leaves, read with the ledger's own reads (the same as GET
 * /v1/settlements/{batch_id}), evidenceSettlementReadsInFlightMax at a time. Two queries per batch
 * for now: read-settlement.ts reads one digest at a time (a many-digest read is the next step).
 */
async function readPageSettlements(db: RegionalQueryable, leaves: readonly EvidenceLeaf[]): Promise<SettlementBody[]> {
  const settlements: SettlementBody[] = [];
  for (let start = 0; start < leaves.length; start += evidenceSettlementReadsInFlightMax) {
    const chunk = leaves.slice(start, start + evidenceSettlementReadsInFlightMax);
    settlements.push(...(await Promise.all(chunk.map(async (stored) => {
      const [legs, positions] = await Promise.all([readStoredLegs(db, stored.digest), readStoredPositions(db, stored.digest)]);
      // Money leaves only as committed: a batch row whose legs are not all there is a broken ledger.
      if (legs.length !== stored.legCount) throw new Error(`settlement ${stored.batchId} (${stored.digest}): ${legs.length} legs read back, the batch row says ${stored.legCount}`);
      return { batch_id: stored.batchId, digest: stored.digest, corridor: stored.corridor, jurisdiction: stored.batchJurisdiction, legs, positions, log_index: stored.logIndex, receipt: stored.receipt };
    }))));
  }
  return settlements;
}

interface EvidenceQuery {
  from: number;
  to: number;
  settlements: boolean;
  legsMax: number;
}

function parseEvidenceQuery(c: Context): EvidenceQuery {
  const from = orInvalidRequest(queryDecimal(c, 'from'));
  const to = orInvalidRequest(queryDecimal(c, 'to'));
  if (from >= to) throw new ProblemError('invalid-request', `from (${from}) must be below to (${to}): the range [from, to) is empty`);
  if (to - from > evidenceLeavesMax) throw new ProblemError('invalid-request', `query parameter to: at most ${evidenceLeavesMax} leaves per bundle; [${from}, ${to}) has ${to - from}`);
  const include = c.req.queries('include');
  if (include !== undefined && (include.length !== 1 || include[0] !== evidenceIncludeSettlements)) {
    throw new ProblemError('invalid-request', `query parameter include: the only value is ${evidenceIncludeSettlements}, given once`);
  }
  const legsMax = c.req.query('legs_max') === undefined ? evidencePageLegsMax : orInvalidRequest(queryDecimal(c, 'legs_max'));
  if (legsMax < 1 || legsMax > evidencePageLegsMax) throw new ProblemError('invalid-request', `query parameter legs_max: between 1 and ${evidencePageLegsMax} legs per page, got ${legsMax}`);
  if (legsMax !== evidencePageLegsMax && include === undefined) throw new ProblemError('invalid-request', `query parameter legs_max: bounds the legs of include=${evidenceIncludeSettlements} pages only`);
  return { from, to, settlements: include !== undefined, legsMax };
}

export function evidenceRoutes(config: EvidenceRoutesConfig): Hono {
  const routes = new Hono();

  routes.get('/v1/evidence', config.limitReads, async (c) => {
    const query = parseEvidenceQuery(c);
    const { from, to } = query;
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
    const [ranged, keys] = await Promise.all([readEvidenceLeaves(config.db, config.jurisdiction, from, to), config.publishedKeys()]);
    const leaves = query.settlements ? leavesWithinLegs(ranged, query.legsMax) : ranged;
    const settlements = query.settlements ? await readPageSettlements(config.db, leaves) : undefined;
    const entries = [];
    for (const [position, stored] of leaves.entries()) {
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
        ...(settlements === undefined ? {} : { settlement: settlements[position]! }),
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
      ...(query.settlements ? { next_from: from + leaves.length } : {}),
    });
  });
  routes.all('/v1/evidence', methodNotAllowed(['GET', 'HEAD']));
  return routes;
}
