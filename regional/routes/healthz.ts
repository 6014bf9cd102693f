/**
 * GET /healthz: the load balancer's probe. 200 only if the database answers `select 1` within
 * healthCheckTimeoutMs; otherwise a 503 problem, so traffic fails over to the jurisdiction's
 * other backend.
 */
import { Hono } from 'hono';
import type postgres from 'postgres';
import { ProblemError } from '../../core/problem.ts';
import { methodNotAllowed } from '../http/problems.ts';
import { describeError, type RegionalLogger } from '../logger.ts';

export const healthCheckTimeoutMs = 2_000;

export interface HealthRoutesConfig {
  region: string;
  jurisdiction: string;
  sql: postgres.Sql;
  logger: RegionalLogger;
}

export function healthRoutes(config: HealthRoutesConfig): Hono {
  const routes = new Hono();
  routes.get('/healthz', async (c) => {
    try {
      await withTimeout(config.sql`select 1`, healthCheckTimeoutMs);
    } catch (error) {
      config.logger.error('health check: database did not answer', { error: describeError(error) });
      throw new ProblemError('unavailable', 'database check failed', { region: config.region, jurisdiction: config.jurisdiction, database: 'unavailable' }, { cause: error });
    }
    return c.json({ status: 'ok', region: config.region, jurisdiction: config.jurisdiction, database: 'ok' });
  });
  routes.all('/healthz', methodNotAllowed(['GET', 'HEAD']));
  return routes;
}

async function withTimeout<T>(promise: PromiseLike<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
