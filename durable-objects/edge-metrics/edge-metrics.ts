/**
 * EdgeMetrics: the edge's event counters (payments accepted and held, refused by problem slug,
 * downgrade events), kept where every isolate of the gateway can add to them and a scrape of
 * GET /ops/api/metrics can read them all (workers/observability/edge-metrics-exposition.ts).
 *
 * Why a small object of its own, not a counters table in PartnerState (its security_event_counts
 * pattern): many refusals happen before any partner is known (a bad signature, an unknown key id,
 * an unsupported media type), so they have no PartnerState to live in; and one place for every
 * count keeps the scrape to a fixed fan-out instead of one call per registered partner.
 *
 * Why sharded: one object takes roughly 500–1,000 writes/s (DESIGN), less than the edge admits at
 * peak. Writers pick a shard at random (`edgeMetricsShards` of them, names `edge-metrics|<n>`), the
 * scrape sums all shards. Writes are off the payment's critical path (waitUntil): a lost write
 * loses a count, never a payment. In production Workers Analytics Engine receives the same events
 * (workers/observability/record-edge-event.ts) and is the record for dashboards and history.
 *
 * What it stores: counts by metric and label set, no payment data (no UETR, no partner id), so it
 * needs no jurisdiction placement. Labels come from closed sets (problem slugs, two statuses, two
 * routes), so the table is bounded by their product.
 *
 * Table: edge_counters(metric TEXT, labels TEXT (JSON, keys sorted), value INTEGER) PK (metric, labels)
 */
import { DurableObject } from 'cloudflare:workers';
import type { EdgeCounterIncrement, EdgeCounterRow } from './edge-metrics-contract.ts';

export { edgeMetricsShardName, edgeMetricsShards, type EdgeCounterIncrement, type EdgeCounterRow } from './edge-metrics-contract.ts';

/** Events in one record() call (one request records one or two). */
export const edgeEventsPerCallMax = 64;
/** Label sets one shard answers in counts(): the closed label sets make far fewer. */
export const edgeCounterRowsMax = 10_000;

const metricNamePattern = /^meridian_edge_[a-z_]+_total$/;
const labelPattern = /^[a-z_]{1,32}$/;
const labelValuePattern = /^[a-z0-9-]{1,64}$/;

export class EdgeMetrics extends DurableObject<Record<string, never>> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Record<string, never>) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS edge_counters (metric TEXT NOT NULL, labels TEXT NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (metric, labels))`);
  }

  /** Adds the increments; a malformed one is a programmer error upstream and throws before anything is written. */
  async record(increments: EdgeCounterIncrement[]): Promise<void> {
    if (increments.length > edgeEventsPerCallMax) throw new Error(`edge metrics: ${increments.length} increments in one call (max ${edgeEventsPerCallMax})`);
    const rows = increments.map((increment) => [increment.metric, canonicalLabels(increment), increment.by] as const);
    this.ctx.storage.transactionSync(() => {
      for (const [metric, labels, by] of rows) {
        this.sql.exec(`INSERT INTO edge_counters (metric, labels, value) VALUES (?, ?, ?) ON CONFLICT (metric, labels) DO UPDATE SET value = value + excluded.value`, metric, labels, by);
      }
    });
  }

  async counts(): Promise<EdgeCounterRow[]> {
    return this.sql
      .exec<{ metric: string; labels: string; value: number }>(`SELECT metric, labels, value FROM edge_counters ORDER BY metric, labels LIMIT ?`, edgeCounterRowsMax)
      .toArray()
      .map((row) => ({ metric: row.metric, labels: JSON.parse(row.labels) as Record<string, string>, value: row.value }));
  }
}

function canonicalLabels(increment: EdgeCounterIncrement): string {
  if (!metricNamePattern.test(increment.metric)) throw new Error(`edge metrics: bad metric name ${JSON.stringify(increment.metric)}`);
  if (!Number.isSafeInteger(increment.by) || increment.by < 1) throw new Error(`edge metrics: bad increment ${increment.by}`);
  const entries = Object.entries(increment.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [key, value] of entries) {
    if (!labelPattern.test(key) || !labelValuePattern.test(value)) throw new Error(`edge metrics: bad label ${JSON.stringify(key)}=${JSON.stringify(value)}`);
  }
  return JSON.stringify(Object.fromEntries(entries));
}
