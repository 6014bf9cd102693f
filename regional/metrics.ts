/**
 * GET /metrics's registry (Prometheus text exposition, prom-client). One Registry per app, never
 * prom-client's global one: several backends in one process (tests, the local topology) would
 * otherwise register the same metric names twice. Every series, the default process metrics
 * included, carries the backend's `region` and `jurisdiction` as default labels.
 *
 *   meridian_settlements_committed_total       batches this backend wrote (201)
 *   meridian_settlements_replayed_total        idempotent redeliveries of a stored batch (200)
 *   meridian_settlement_commit_retries_total   40001 / read-back retries (commit.ts's onRetry)
 *   meridian_settlement_commit_seconds         commitSettlement duration, commits and replays
 *   meridian_settlement_rejections_total       POST /v1/settlements failures by problem slug
 *   meridian_log_tree_size                     committed leaves, read from the log store on scrape
 *
 * `reason` is a problem slug from core/problem.ts (a closed set), so label cardinality is bounded.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { problemStatus, problemTypePrefix, type ProblemSlug } from '../core/problem.ts';

/** From a fast PGlite commit to one that backed off through several 40001 retries. */
export const commitSecondsBuckets: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface RegionalMetricsConfig {
  region: string;
  jurisdiction: string;
  /** The log's committed size, read on every scrape. */
  logTreeSize: () => Promise<number>;
  /** Default process metrics (CPU, memory, event loop, GC); on unless turned off. */
  processMetrics?: boolean;
}

export interface RegionalMetrics {
  readonly registry: Registry;
  settlementCommitted(seconds: number): void;
  settlementReplayed(seconds: number): void;
  commitRetried(): void;
  settlementRejected(reason: ProblemSlug): void;
}

export function createRegionalMetrics(config: RegionalMetricsConfig): RegionalMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ region: config.region, jurisdiction: config.jurisdiction });
  if (config.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const committed = new Counter({ name: 'meridian_settlements_committed_total', help: 'Settlement batches committed by this backend.', registers });
  const replayed = new Counter({ name: 'meridian_settlements_replayed_total', help: 'Repeat deliveries of an already committed batch (idempotent replays).', registers });
  const retries = new Counter({ name: 'meridian_settlement_commit_retries_total', help: 'Commit attempts retried after a serialization failure (40001) or an unresolved read-back.', registers });
  const commitSeconds = new Histogram({
    name: 'meridian_settlement_commit_seconds',
    help: 'Time to commit (or replay) a settlement batch, retries included.',
    buckets: [...commitSecondsBuckets],
    registers,
  });
  const rejections = new Counter({ name: 'meridian_settlement_rejections_total', help: 'Settlement deliveries answered with a problem, by problem slug.', labelNames: ['reason'], registers });
  new Gauge({
    name: 'meridian_log_tree_size',
    help: "Leaves committed to this jurisdiction's transparency log.",
    registers,
    // A scrape that cannot read the log fails (503 problem) rather than reporting a stale or zero size.
    async collect() {
      this.set(await config.logTreeSize());
    },
  });
  return {
    registry,
    settlementCommitted(seconds) {
      committed.inc();
      commitSeconds.observe(seconds);
    },
    settlementReplayed(seconds) {
      replayed.inc();
      commitSeconds.observe(seconds);
    },
    commitRetried: () => retries.inc(),
    settlementRejected: (reason) => rejections.inc({ reason }),
  };
}

/** The slug of a problem+json body's `type`, or `internal` for anything that is not one of ours. */
export function problemSlugOf(problemType: unknown): ProblemSlug {
  if (typeof problemType !== 'string' || !problemType.startsWith(problemTypePrefix)) return 'internal';
  const slug = problemType.slice(problemTypePrefix.length);
  return Object.hasOwn(problemStatus, slug) ? (slug as ProblemSlug) : 'internal';
}
