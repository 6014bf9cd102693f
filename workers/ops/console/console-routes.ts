/** The ops console page. */
import type { Hono } from 'hono';
import type { OpsApp } from '../ops-routes.ts';

export function consoleRoutes(ops: Hono<OpsApp>): void {
  ops.get('/', (c) => c.html('<!doctype html><title>Meridian ops</title><h1>Meridian ops</h1>'));
}
