/// <reference types="vite/client" />
/**
 * The OpenAPI document cannot drift silently from the gateway: every route the app serves is in
 * it and every documented operation is served; every problem slug the edge code can answer is
 * documented with its status; every $ref resolves; the served document is the typed one.
 */
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { problemStatus, problemTypePrefix, type ProblemSlug } from '../../core/problem.ts';
import { createGatewayApp } from '../../workers/app.ts';
import { openApiDocument, partnerProblems } from '../../workers/openapi/openapi.ts';
import type { HttpMethod, OperationObject } from '../../workers/openapi/openapi-types.ts';
import { gatewayUrl } from './support.ts';

/** Slugs in core/problem.ts that only the regional backend answers; the edge must never use them. */
const regionalOnlySlugs: Partial<Record<ProblemSlug, string>> = {
  'unauthorized': 'regional: a settlement call without a valid edge token',
  'batch-rejected': 'regional: a settlement batch that fails verification',
  'unavailable': 'regional: the settlement database is unreachable',
};

/**
 * Slugs only the ops API (/ops, behind Cloudflare Access) answers. The ops API is its own contract
 * (DESIGN.md: its document belongs at /ops/api/openapi.json, not in the partner document); the
 * partner surface must never answer them.
 */
const opsOnlySlugs: Partial<Record<ProblemSlug, string>> = {
  'unauthenticated': 'ops: no valid Access token',
  'forbidden': 'ops: a valid token of someone who is not an operator',
  'four-eyes-required': 'ops: the proposer tried to approve its own change',
  'change-expired': 'ops: the proposal expired',
  'change-not-pending': 'ops: the change was already decided',
  'invalid-change': 'ops: a malformed or inapplicable proposal',
};

/** The partner-facing edge's sources, as text, to find every slug literal they can answer with (the ops API is its own contract). */
const edgeSources = Object.fromEntries(
  Object.entries(import.meta.glob(['../../workers/**/*.ts', '../../durable-objects/**/*.ts'], { query: '?raw', import: 'default', eager: true }) as Record<string, string>)
    .filter(([path]) => !path.includes('/workers/ops/') && !path.includes('/durable-objects/control/')),
);

function slugLiteralsIn(source: string): Set<ProblemSlug> {
  const found = new Set<ProblemSlug>();
  for (const match of source.matchAll(/'([a-z][a-z-]*)'/g)) {
    if (Object.hasOwn(problemStatus, match[1]!)) found.add(match[1] as ProblemSlug);
  }
  return found;
}

const httpMethods: readonly HttpMethod[] = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];

function documentedOperations(): Array<{ method: string; path: string; operation: OperationObject }> {
  return Object.entries(openApiDocument.paths).flatMap(([path, item]) =>
    httpMethods.flatMap((method) => (item[method] === undefined ? [] : [{ method: method.toUpperCase(), path, operation: item[method]! }])));
}

/** Hono route paths (":uetr") in OpenAPI form ("{uetr}"). */
function servedRoutes(): Set<string> {
  const routes = new Set<string>();
  for (const route of createGatewayApp().routes) {
    if (route.method === 'ALL') continue; // middleware registered with use()
    if (route.path === '/ops' || route.path.startsWith('/ops/')) continue; // the ops API: its own contract, behind Access
    routes.add(`${route.method} ${route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
  }
  return routes;
}

function refsIn(value: unknown, refs: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) refsIn(item, refs);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string') refs.push(item);
      else refsIn(item, refs);
    }
  }
  return refs;
}

function resolve(pointer: string): unknown {
  expect(pointer.startsWith('#/')).toBe(true);
  let node: unknown = openApiDocument;
  for (const part of pointer.slice(2).split('/')) node = (node as Record<string, unknown> | undefined)?.[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  return node;
}

describe('GET /openapi.json', () => {
  it('serves the typed OpenAPI 3.1 document as JSON', async () => {
    const response = await SELF.fetch(`${gatewayUrl}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const served = await response.json();
    expect(served).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
    expect(served).toMatchObject({ openapi: expect.stringMatching(/^3\.1\./) });
  });

  it('documents every route the app serves, and serves every documented operation', () => {
    const documented = new Set(documentedOperations().map(({ method, path }) => `${method} ${path}`));
    const served = servedRoutes();
    expect([...served].filter((route) => !documented.has(route)), 'served but not documented').toEqual([]);
    expect([...documented].filter((route) => !served.has(route)), 'documented but not served').toEqual([]);
  });

  it('documents every problem slug the edge code can answer, with its status', () => {
    const usedByEdge = new Set(Object.values(edgeSources).flatMap((source) => [...slugLiteralsIn(source)]));
    expect(usedByEdge.size).toBeGreaterThan(5);
    expect([...usedByEdge].filter((slug) => !Object.hasOwn(partnerProblems, slug)), 'answered by the edge but not documented').toEqual([]);
    for (const slug of Object.keys(problemStatus) as ProblemSlug[]) {
      const documented = Object.hasOwn(partnerProblems, slug);
      expect(documented || regionalOnlySlugs[slug] !== undefined || opsOnlySlugs[slug] !== undefined, `${slug}: neither documented nor declared regional-only or ops-only`).toBe(true);
      if (!documented) expect(usedByEdge.has(slug), `${slug} is declared regional-only but the edge uses it`).toBe(false);
    }
    for (const slug of Object.keys(partnerProblems) as Array<keyof typeof partnerProblems>) {
      const schema = openApiDocument.components.schemas[`problem-${slug}`] as { allOf: [unknown, { properties: { type: { const: string }; status: { const: number } } }] };
      expect(schema.allOf[1].properties).toEqual({ type: { const: problemTypePrefix + slug }, status: { const: problemStatus[slug] } });
    }
  });

  it('lists every documented slug on some operation, under its own status code', () => {
    const listed = new Set<string>();
    for (const { operation } of documentedOperations()) {
      for (const [status, response] of Object.entries(operation.responses)) {
        for (const pointer of refsIn(response).filter((ref) => ref.startsWith('#/components/schemas/problem-'))) {
          const slug = pointer.slice('#/components/schemas/problem-'.length) as ProblemSlug;
          listed.add(slug);
          if (status !== 'default') expect(Number(status), `${slug} under ${status}`).toBe(problemStatus[slug]);
        }
        if (typeof response === 'object' && '$ref' in response) {
          for (const pointer of refsIn(resolve(response.$ref))) listed.add(pointer.slice('#/components/schemas/problem-'.length));
        }
      }
    }
    expect(Object.keys(partnerProblems).filter((slug) => !listed.has(slug))).toEqual([]);
  });

  it('resolves every $ref', () => {
    const unresolved = refsIn(openApiDocument).filter((pointer) => resolve(pointer) === undefined);
    expect(unresolved).toEqual([]);
  });

  it('answers a documented path under another method with 405 and the documented methods in Allow', async () => {
    for (const { method, path } of documentedOperations()) {
      const concrete = path.replace(/\{[^}]+\}/g, crypto.randomUUID());
      const other = method === 'DELETE' ? 'PUT' : 'DELETE';
      const response = await SELF.fetch(`${gatewayUrl}${concrete}`, { method: other });
      expect(response.status, `${other} ${path}`).toBe(405);
      const documentedMethods = Object.keys(openApiDocument.paths[path]!).map((name) => name.toUpperCase());
      expect(response.headers.get('allow')?.split(', ')).toEqual(expect.arrayContaining(documentedMethods));
      expect(await response.json()).toMatchObject({ type: `${problemTypePrefix}method-not-allowed`, allow: expect.arrayContaining(documentedMethods) });
    }
  });
});
