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
 * The EdgeMetrics writes are batched per isolate: increments are summed in memory, by metric and
 * labels, and written in one call per `edgeMetricsFlushDelayMs` (or at once when
 * `pendingLabelSetsMax` label sets are waiting), by the request that found the buffer empty, under
 * its waitUntil. One RPC and one transaction per batch instead of one per payment; the price is that
 * a scrape trails the edge by up to that delay, and an isolate evicted inside it loses its counts —
 * counts were already allowed to be lost, payments never are.
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

/** How long increments wait in the isolate before one EdgeMetrics write carries them all. */
export const edgeMetricsFlushDelayMs = 250;
/** Distinct label sets that make a batch go at once; below edgeEventsPerCallMax (64) of one record() call. */
const pendingLabelSetsMax = 32;

/** The increments waiting for the next write, summed, by metric and label values. */
let pending = new Map<string, EdgeCounterIncrement>();

/** `c`: any route's context (their Variables differ); the bindings are the gateway's. */
export function recordEdgeEvents(c: Context, increments: EdgeCounterIncrement[]): void {
  const env = c.env as Env;
  for (const increment of increments) {
    env.EDGE_ANALYTICS?.writeDataPoint({ indexes: [increment.metric], blobs: [increment.metric, ...Object.values(increment.labels)], doubles: [increment.by] });
  }
  const flushes = pending.size === 0;
  for (const increment of increments) {
    const key = JSON.stringify([increment.metric, Object.entries(increment.labels).sort()]);
    const waiting = pending.get(key);
    pending.set(key, waiting === undefined ? { ...increment, labels: { ...increment.labels } } : { ...waiting, by: waiting.by + increment.by });
  }
  const failed = (failure: { shard: number; increments: number; error: string }) => edgeLog(c, 'warn', 'edge-metrics-write-failed', failure);
  if (pending.size >= pendingLabelSetsMax) waitUntil(c, flushEdgeEvents(env, failed));
  else if (flushes) waitUntil(c, new Promise((resolve) => setTimeout(resolve, edgeMetricsFlushDelayMs)).then(() => flushEdgeEvents(env, failed)));
}

/**
 * Writes what this isolate has waiting, in the caller's request context (the stub is made here:
 * workerd ties I/O to the request that makes it). The scrape calls it first, so what this isolate
 * counted is in the answer it serves.
 */
export async function flushEdgeEvents(env: Env, failed: (failure: { shard: number; increments: number; error: string }) => void = (failure) => console.warn(JSON.stringify({ event: 'edge-metrics-write-failed', ...failure }))): Promise<void> {
  if (pending.size === 0) return;
  const increments = [...pending.values()];
  pending = new Map();
  const shard = Math.floor(Math.random() * edgeMetricsShards);
  await env.EDGE_METRICS.get(env.EDGE_METRICS.idFromName(edgeMetricsShardName(shard)))
    .record(increments)
    .catch((cause: unknown) => failed({ shard, increments: increments.length, error: cause instanceof Error ? cause.message : String(cause) }));
}

function waitUntil(c: Context, work: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(work);
  } catch {
    // app.request() in tests has no execution context; the promise still runs to completion.
    void work;
  }
}
