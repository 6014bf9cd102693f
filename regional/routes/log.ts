/**
 * The auditor's view of this jurisdiction's transparency log (DESIGN, "Regional settlement"):
 *   GET /v1/log/checkpoint                  C2SP signed note: origin, tree size, base64 root, this
 *                                           backend's signature, then the witnesses' cosignatures
 *                                           collected so far for that size (c2sp.org/tlog-cosignature)
 *   GET /v1/log/witnessed-checkpoint        the newest checkpoint with a quorum of cosignatures (404 before one)
 *   GET /v1/log/leaves/{index}              the exact stored leaf bytes (a DSSE envelope)
 *   GET /v1/log/inclusion?index=&size=      {"index", "tree_size", "proof": [base64, ...]}
 *   GET /v1/log/consistency?from=&to=       {"from", "to", "proof": [base64, ...]}
 * Parameters are decimal safe integers, each given once (else 400 invalid-request). A size beyond
 * the committed tree is 404 not-found (it may exist later); a request no tree can answer (index ≥
 * size, from > to, a proof from or into the empty tree: core/merkle.ts's size-0 rule) is 400.
 * Every read is of this backend's jurisdiction's log (the store is per jurisdiction), runs on the
 * auditor read pool behind the read limit, and proofs come through the per-tree-size proof cache.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { base64Encode, utf8 } from '../../core/digest.ts';
import { ProblemError } from '../../core/problem.ts';
import { methodNotAllowed } from '../http/problems.ts';
import { orInvalidRequest, parseDecimal, queryDecimal } from '../http/route-params.ts';
import type { RegionalLogger } from '../logger.ts';
import type { CheckpointSource, SignedCheckpoint } from '../log/checkpoint.ts';
import { rfc6962LeafHash } from '../log/leaf.ts';
import type { LogLeafStore } from '../log/store.ts';
import type { LogTree } from '../log/tree.ts';

/** DSSE's media type for an envelope (secure-systems-lab/dsse envelope.md). */
export const leafMediaType = 'application/vnd.dsse.envelope.v1+json';

export interface LogRoutesConfig {
  store: LogLeafStore;
  tree: LogTree;
  checkpoints: CheckpointSource;
  /** The newest checkpoint with a quorum of witness cosignatures (../witness/cosigning.ts), if any. */
  witnessed?: () => Promise<SignedCheckpoint | undefined>;
  logger: RegionalLogger;
  /** The auditor read limit, in front of every route here. */
  limitReads: MiddlewareHandler;
}

async function requireCommitted(store: LogLeafStore, size: number, name: string): Promise<void> {
  const committed = await store.treeSize();
  if (size > committed) throw new ProblemError('not-found', `${name} ${size} is beyond the log, which has ${committed} leaves`, { tree_size: committed });
}

export function logRoutes(config: LogRoutesConfig): Hono {
  const { store, tree, checkpoints } = config;
  const routes = new Hono();
  routes.use('/v1/log/*', async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return next();
    return config.limitReads(c, next);
  });

  routes.get('/v1/log/checkpoint', async (c) => {
    const { note } = await checkpoints.latest();
    return c.body(note, 200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  });

  // The newest checkpoint that gathered a quorum of witness cosignatures; 404 until one has.
  routes.get('/v1/log/witnessed-checkpoint', async (c) => {
    const witnessed = await config.witnessed?.();
    if (witnessed === undefined) throw new ProblemError('not-found', `no checkpoint of log ${store.jurisdiction} has a quorum of witness cosignatures yet`);
    return c.body(witnessed.note, 200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  });

  routes.get('/v1/log/leaves/:index', async (c) => {
    const index = orInvalidRequest(parseDecimal(c.req.param('index'), 'leaf index'));
    const stored = await store.leaf(index);
    if (stored === undefined) throw new ProblemError('not-found', `no leaf ${index} in log ${store.jurisdiction}`);
    // Served as stored, whatever it is: detecting a tampered leaf is the auditor's job, and the
    // exact bytes are the evidence. The operator hears about it here first.
    if (rfc6962LeafHash(utf8(stored.leaf)) !== stored.leafHash) {
      config.logger.error('log leaf does not match its stored leaf hash', { jurisdiction: store.jurisdiction, leaf_index: index });
    }
    return c.body(stored.leaf, 200, { 'content-type': leafMediaType, 'cache-control': 'public, max-age=31536000, immutable' });
  });

  routes.get('/v1/log/inclusion', async (c) => {
    const index = orInvalidRequest(queryDecimal(c, 'index'));
    const size = orInvalidRequest(queryDecimal(c, 'size'));
    if (index >= size) throw new ProblemError('invalid-request', `leaf index ${index} is not in a tree of ${size} leaves`);
    await requireCommitted(store, size, 'size');
    const proof = await tree.inclusionProof(index, size);
    return c.json({ index, tree_size: size, proof: proof.map(base64Encode) });
  });

  routes.get('/v1/log/consistency', async (c) => {
    const from = orInvalidRequest(queryDecimal(c, 'from'));
    const to = orInvalidRequest(queryDecimal(c, 'to'));
    if (from === 0) throw new ProblemError('invalid-request', 'from must be at least 1: every tree extends the empty tree, so there is nothing to prove');
    if (from > to) throw new ProblemError('invalid-request', `from (${from}) exceeds to (${to})`);
    await requireCommitted(store, to, 'to');
    const proof = await tree.consistencyProof(from, to);
    return c.json({ from, to, proof: proof.map(base64Encode) });
  });

  for (const path of ['/v1/log/checkpoint', '/v1/log/witnessed-checkpoint', '/v1/log/leaves/:index', '/v1/log/inclusion', '/v1/log/consistency']) {
    routes.all(path, methodNotAllowed(['GET', 'HEAD']));
  }
  return routes;
}
