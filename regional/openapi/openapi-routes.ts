/** GET /v1/openapi.json on every regional backend: the auditor API's document, the same bytes for the life of the process. */
import { Hono } from 'hono';
import { methodNotAllowed } from '../http/problems.ts';
import { auditorOpenApiJson, auditorOpenApiPath } from './auditor-document.ts';

const documentMaxAgeS = 300;

export function auditorOpenApiRoutes(): Hono {
  const routes = new Hono();
  routes.get(auditorOpenApiPath, (c) => {
    c.header('cache-control', `public, max-age=${documentMaxAgeS}`);
    return c.body(auditorOpenApiJson(), 200, { 'content-type': 'application/json' });
  });
  routes.all(auditorOpenApiPath, methodNotAllowed(['GET', 'HEAD']));
  return routes;
}
