/** GET /openapi.json, and the published path table that tells a wrong method (405) from an unknown path (404). */
import { Hono } from 'hono';
import { openApiDocument } from './openapi.ts';
import type { HttpMethod } from './openapi-types.ts';

export const openApiPath = '/openapi.json';

export function openApiRoutes(): Hono {
  const routes = new Hono();
  routes.get(openApiPath, (c) => {
    c.header('cache-control', 'public, max-age=300');
    return c.json(openApiDocument);
  });
  return routes;
}

const httpMethods: readonly HttpMethod[] = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];

/** "/v1/payments/{uetr}" → /^\/v1\/payments\/[^/]+$/ : a template parameter is one path segment, as in Hono's ":uetr". */
function templatePattern(template: string): RegExp {
  const escaped = template.split(/\{[^}/]+\}/).map((literal) => literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('[^/]+')}$`);
}

const pathTable: ReadonlyArray<{ pattern: RegExp; methods: string[] }> = Object.entries(openApiDocument.paths).map(([template, item]) => {
  const methods = httpMethods.filter((method) => item[method] !== undefined).map((method) => method.toUpperCase());
  // Hono answers HEAD with the GET handler.
  if (methods.includes('GET') && !methods.includes('HEAD')) methods.push('HEAD');
  return { pattern: templatePattern(template), methods };
});

/** The methods the published contract allows on this path, or undefined when the path is not in it. */
export function allowedMethods(pathname: string): string[] | undefined {
  return pathTable.find((entry) => entry.pattern.test(pathname))?.methods;
}
