/** GET /openapi.json, and the published path table that tells a wrong method (405) from an unknown path (404). */
import { Hono } from 'hono';
import { openApiPath, partnerOpenApiJson, partnerRoutes } from './partner-document.ts';

export { openApiPath };

/** Partners and tooling may cache it; it changes only with a deployment. */
const documentMaxAgeS = 300;

export function openApiRoutes(): Hono {
  const routes = new Hono();
  routes.get(openApiPath, (c) => {
    c.header('cache-control', `public, max-age=${documentMaxAgeS}`);
    return c.body(partnerOpenApiJson(), 200, { 'content-type': 'application/json' });
  });
  return routes;
}

/** "/v1/payments/{uetr}" → /^\/v1\/payments\/[^/]+$/ : a template parameter is one path segment, as in Hono's ":uetr". */
export function templatePattern(template: string): RegExp {
  const escaped = template.split(/\{[^}/]+\}/).map((literal) => literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('[^/]+')}$`);
}

/** Path templates with the methods documented on them; Hono answers HEAD with the GET handler. */
export function pathTableOf(routes: ReadonlyArray<{ method: string; path: string }>): ReadonlyArray<{ pattern: RegExp; methods: string[] }> {
  const byPath = new Map<string, string[]>();
  for (const { method, path } of routes) byPath.set(path, [...(byPath.get(path) ?? []), method.toUpperCase()]);
  return [...byPath].map(([template, methods]) => {
    if (methods.includes('GET') && !methods.includes('HEAD')) methods.push('HEAD');
    return { pattern: templatePattern(template), methods };
  });
}

let pathTable: ReturnType<typeof pathTableOf> | undefined;

/** The methods the published contract allows on this path, or undefined when the path is not in it. */
export function allowedMethods(pathname: string): string[] | undefined {
  pathTable ??= pathTableOf(partnerRoutes());
  return pathTable.find((entry) => entry.pattern.test(pathname))?.methods;
}
