/**
 * The edge's countable events, written to two places:
 * - the EdgeMetrics Durable Object shards (durable-objects/edge-metrics/), which GET /ops/api/metrics
 *   sums into Prometheus text — what operators scrape, locally and in production;
 * - Workers Analytics Engine (`EDGE_ANALYTICS`, bound in wrangler.toml's production env only) with
 *   `writeDataPoint`: index = metric, blobs = [metric, label values…], doubles = [count], for
 *   dashboards and history over SQL. Locally the binding is absent and nothing is written there.
 * Both writes run after the answer (waitUntil): a failed write loses a count and logs a warning,
 * never delays or fails the partner's request.
 *
 *   meridian_edge_payments_admitted_total{status}      new admissions, accepted | held (repeats are not counted)
 *   meridian_edge_payments_refused_total{slug}         POST /v1/payments answered with a problem, by slug
 *   meridian_edge_downgrade_events_total{slug,route}   downgrade-detected / pq-required on payments | sessions
 */
import type { Context } from 'hono';
import { problemSlugOf } from '../../core/problem.ts';
import { edgeMetricsShardName, edgeMetricsShards, type EdgeCounterIncrement } from '../../durable-objects/edge-metrics/edge-metrics-contract.ts';
import type { Env } from '../env.ts';
import { edgeLog } from './edge-log.ts';
import { downgradeEventsMetric, paymentsAdmittedMetric, paymentsRefusedMetric } from './edge-metric-names.ts';


const downgradeSlugs: ReadonlySet<string> = new Set(['downgrade-detected', 'pq-required']);
const downgradeRoutes: Readonly<Record<string, string>> = { '/v1/payments': 'payments', '/v1/sessions': 'sessions' };

export function admissionEvent(status: 'accepted' | 'held'): EdgeCounterIncrement {
  return { metric: paymentsAdmittedMetric, labels: { status }, by: 1 };
}

/** What a finished partner-API answer counts as: a refused payment by slug, and a downgrade event. */
export async function refusalEvents(method: string, path: string, response: Response): Promise<EdgeCounterIncrement[]> {
  if (method !== 'POST' || response.status < 400) return [];
  const route = downgradeRoutes[path];
  if (route === undefined) return [];
  const body = (await response.clone().json().catch(() => undefined)) as { type?: unknown } | undefined;
  const slug = problemSlugOf(body?.type);
  const events: EdgeCounterIncrement[] = [];
  if (route === 'payments') events.push({ metric: paymentsRefusedMetric, labels: { slug }, by: 1 });
  if (downgradeSlugs.has(slug)) events.push({ metric: downgradeEventsMetric, labels: { slug, route }, by: 1 });
  return events;
}

/** `c`: any route's context (their Variables differ); the bindings are the gateway's. */
export function recordEdgeEvents(c: Context, increments: EdgeCounterIncrement[]): void {
  const env = c.env as Env;
  for (const increment of increments) {
    env.EDGE_ANALYTICS?.writeDataPoint({ indexes: [increment.metric], blobs: [increment.metric, ...Object.values(increment.labels)], doubles: [increment.by] });
  }
  const shard = Math.floor(Math.random() * edgeMetricsShards);
  const write = env.EDGE_METRICS.get(env.EDGE_METRICS.idFromName(edgeMetricsShardName(shard)))
    .record(increments)
    .catch((cause: unknown) => edgeLog(c, 'warn', 'edge-metrics-write-failed', { shard, error: cause instanceof Error ? cause.message : String(cause) }));
  waitUntil(c, write);
}

function waitUntil(c: Context, work: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(work);
  } catch {
    // app.request() in tests has no execution context; the promise still runs to completion.
    void work;
  }
}
