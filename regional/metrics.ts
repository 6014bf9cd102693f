/**
 * GET /metrics's registry (Prometheus text exposition, prom-client). One Registry per app, never
 * prom-client's global one: several backends in one process (tests, the local topology) would
 * otherwise register the same metric names twice. Every series, the default process metrics
 * included, carries the backend's `region` and `jurisdiction` as default labels.
 *
 *   meridian_settlements_committed_total       batches this backend wrote (201)
 *   meridian_settlements_replayed_total        idempotent redeliveries of a stored batch (200)
 *   meridian_settlement_commit_retries_total   retried attempts by `sqlstate` (commit.ts's onRetry)
 *   meridian_settlement_commit_seconds         commitSettlement duration, commits and replays
 *   meridian_settlement_rejections_total       POST /v1/settlements failures by problem slug
 *   meridian_signer_sign_seconds               each Sign call of the receipt signer, by `alg` and `outcome`
 *   meridian_log_tree_size                     committed leaves, read from the log store on scrape
 *   meridian_auditor_reads_in_use              auditor read gate: requests running now (bound: _concurrent_max)
 *   meridian_auditor_reads_queued              auditor read gate: requests waiting now (bound: _queued_max)
 *   meridian_auditor_reads_refused_total       auditor reads answered 503 (queue full or waited too long)
 *
 * Label sets are closed, so cardinality is bounded: `reason` is a problem slug of core/problem.ts;
 * `sqlstate` is one of the codes the commit retries on (db/serializable-transaction.ts
 * retrySqlStateLabel) or `other`; `alg` is a SignerAlgorithm; `outcome` is a fixed pair.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { problemSlugOf, type ProblemSlug } from '../core/problem.ts';
import { retrySqlStateLabel } from './db/serializable-transaction.ts';
import type { AuditorReadSaturation } from './http/limit-auditor-reads.ts';
import type { SignOutcome } from './signer/timed-signer.ts';
import type { SignerAlgorithm } from './signer/signer.ts';

/** From a fast PGlite commit to one that backed off through several 40001 retries. */
export const commitSecondsBuckets: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** From the local Ed25519 signer (well under a millisecond) to a KMS call near its timeout. */
export const signSecondsBuckets: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface RegionalMetricsConfig {
  region: string;
  jurisdiction: string;
  /** The log's committed size, read on every scrape. */
  logTreeSize: () => Promise<number>;
  /** The auditor read gate's saturation (http/limit-auditor-reads.ts), read on every scrape. */
  auditorReads?: () => AuditorReadSaturation;
  /** Default process metrics (CPU, memory, event loop, GC); on unless turned off. */
  processMetrics?: boolean;
}

export interface RegionalMetrics {
  readonly registry: Registry;
  settlementCommitted(seconds: number): void;
  settlementReplayed(seconds: number): void;
  /** `sqlstate`: the code commit.ts retried on; anything outside the retried set is counted as `other`. */
  commitRetried(sqlstate?: string): void;
  settlementRejected(reason: ProblemSlug): void;
  signed(seconds: number, outcome: SignOutcome, alg: SignerAlgorithm): void;
}

export function createRegionalMetrics(config: RegionalMetricsConfig): RegionalMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ region: config.region, jurisdiction: config.jurisdiction });
  if (config.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const committed = new Counter({ name: 'meridian_settlements_committed_total', help: 'Settlement batches committed by this backend.', registers });
  const replayed = new Counter({ name: 'meridian_settlements_replayed_total', help: 'Repeat deliveries of an already committed batch (idempotent replays).', registers });
  const retries = new Counter({
    name: 'meridian_settlement_commit_retries_total',
    help: 'Commit attempts retried, by the SQLSTATE (or connection error code) that caused the retry.',
    labelNames: ['sqlstate'],
    registers,
  });
  // The common case exists at 0 from the start, so rate() over it has a series before the first retry.
  retries.inc({ sqlstate: '40001' }, 0);
  const commitSeconds = new Histogram({
    name: 'meridian_settlement_commit_seconds',
    help: 'Time to commit (or replay) a settlement batch, retries included.',
    buckets: [...commitSecondsBuckets],
    registers,
  });
  const signSeconds = new Histogram({
    name: 'meridian_signer_sign_seconds',
    help: 'Time of one Sign call of the receipt signer (local or KMS), by algorithm and outcome.',
    labelNames: ['alg', 'outcome'],
    buckets: [...signSecondsBuckets],
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
  registerAuditorReadGauges(registers, config.auditorReads);
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
    commitRetried: (sqlstate) => retries.inc({ sqlstate: sqlstate === undefined ? 'other' : retrySqlStateLabel(sqlstate) }),
    settlementRejected: (reason) => rejections.inc({ reason }),
    signed: (seconds, outcome, alg) => signSeconds.observe({ alg, outcome }, seconds),
  };
}

/** Without a gate (some tests build the metrics alone) the gauges read 0 and the bounds are omitted. */
function registerAuditorReadGauges(registers: Registry[], saturation: (() => AuditorReadSaturation) | undefined): void {
  const read = saturation ?? (() => undefined);
  const gauge = (name: string, help: string, value: (s: AuditorReadSaturation) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(value(read() ?? { inUse: 0, queued: 0, refusedTotal: 0, concurrentMax: 0, queuedMax: 0 }));
      },
    });
  gauge('meridian_auditor_reads_in_use', 'Auditor API requests running now behind the read gate.', (s) => s.inUse);
  gauge('meridian_auditor_reads_queued', 'Auditor API requests waiting now for a read slot.', (s) => s.queued);
  gauge('meridian_auditor_reads_concurrent_max', 'The read gate bound on requests running at once.', (s) => s.concurrentMax);
  gauge('meridian_auditor_reads_queued_max', 'The read gate bound on requests waiting.', (s) => s.queuedMax);
  // A real counter (rate() works on it), brought up to the gate's own total on each scrape.
  let refusedReported = 0;
  new Counter({
    name: 'meridian_auditor_reads_refused_total',
    help: 'Auditor API requests answered 503 by the read gate (queue full, or waited too long).',
    registers,
    collect() {
      const total = read()?.refusedTotal ?? 0;
      if (total > refusedReported) this.inc(total - refusedReported);
      refusedReported = Math.max(refusedReported, total);
    },
  });
}

/** Where the settlement route imports it from; defined once in core/problem.ts. */
export { problemSlugOf };
