/**
 * GET /ops/api/metrics: the edge's counters and window gauges in Prometheus text
 * (workers/observability/edge-metrics-exposition.ts), behind Access like every /ops path, so a
 * scraper authenticates with an Access service token. Locally it is what `npm start` scrapes;
 * in production Workers Analytics Engine holds the same events for history.
 */
import type { Context } from 'hono';
import { edgeMetricsExposition, prometheusContentType } from '../../observability/edge-metrics-exposition.ts';
import type { Env } from '../../env.ts';

export async function metricsRoute(c: Context<{ Bindings: Env }>): Promise<Response> {
  return c.body(await edgeMetricsExposition(c.env), 200, { 'content-type': prometheusContentType, 'cache-control': 'no-store' });
}
