/**
 * GET /metrics: Prometheus text exposition of this backend's registry (../metrics.ts). Scrapes
 * are unauthenticated like /healthz; keep the port off the public listener in deployment.
 */
import { Hono } from 'hono';
import { methodNotAllowed } from '../http/problems.ts';
import type { RegionalMetrics } from '../metrics.ts';

export function metricsRoutes(metrics: RegionalMetrics): Hono {
  const routes = new Hono();
  routes.get('/metrics', async (c) => {
    const exposition = await metrics.registry.metrics();
    return c.body(exposition, 200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
  });
  routes.all('/metrics', methodNotAllowed(['GET', 'HEAD']));
  return routes;
}
