/** GET /ops/api/openapi.json, registered on the ops app after its Access gate (ops-routes.ts). */
import type { Hono } from 'hono';
import type { OpsApp } from '../ops-routes.ts';
import { opsOpenApiJson, opsOpenApiPath } from './ops-document.ts';

const documentMaxAgeS = 300;

export function opsOpenApiRoutes(ops: Hono<OpsApp>): void {
  ops.get(opsOpenApiPath.slice('/ops'.length), (c) => {
    // Private: behind Access, so no shared cache may keep it.
    c.header('cache-control', `private, max-age=${documentMaxAgeS}`);
    return c.body(opsOpenApiJson(), 200, { 'content-type': 'application/json' });
  });
}
