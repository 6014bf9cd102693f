/**
 * Checks shared by the drift tests of the three OpenAPI documents (partner: test/workers/openapi.test.ts,
 * ops: test/workers/openapi-ops.test.ts, auditor: test/regional/openapi.test.ts): Redocly's
 * served-vs-documented routes, problem components and $refs. Runtime-neutral (workerd and Node);
 * the Redocly lint, which loads only under Node, is in openapi-lint.ts.
 */
import { problemStatus, problemTypePrefix, type ProblemSlug } from '../../core/problem.ts';

type Json = Record<string, any>;

const httpMethods = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;

export function documentedOperations(document: Json): Array<{ method: string; path: string; operation: Json }> {
  return Object.entries(document.paths as Json).flatMap(([path, item]) =>
    httpMethods.flatMap((method) => (item[method] === undefined ? [] : [{ method: method.toUpperCase(), path, operation: item[method] as Json }])));
}

/** Hono route paths (":uetr") in OpenAPI form ("{uetr}"), without use() middleware and catch-all 405 handlers. */
export function servedRoutesOf(app: { routes: ReadonlyArray<{ method: string; path: string }> }, skip: (path: string) => boolean = () => false): Set<string> {
  const routes = new Set<string>();
  for (const route of app.routes) {
    if (route.method === 'ALL') continue;
    if (skip(route.path)) continue;
    routes.add(`${route.method} ${route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
  }
  return routes;
}

export function slugLiteralsIn(source: string): Set<ProblemSlug> {
  const found = new Set<ProblemSlug>();
  for (const match of source.matchAll(/'([a-z][a-z-]*)'/g)) {
    if (Object.hasOwn(problemStatus, match[1]!)) found.add(match[1] as ProblemSlug);
  }
  return found;
}

/** Slugs written out as `urn:meridian:problem:<slug>` by hand, outside core/problem.ts. */
export function handWrittenSlugsIn(source: string): Set<string> {
  return new Set([...source.matchAll(/urn:meridian:problem:([a-z][a-z-]*)/g)].map((match) => match[1]!));
}

/** components.schemas["problem-<slug>"] by slug. */
export function problemComponentsOf(document: Json): Record<string, Json> {
  const schemas = (document.components?.schemas ?? {}) as Json;
  return Object.fromEntries(Object.entries(schemas).filter(([name]) => name.startsWith('problem-')).map(([name, schema]) => [name.slice('problem-'.length), schema]));
}

export function refsIn(value: unknown, refs: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) refsIn(item, refs);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string') refs.push(item);
      else refsIn(item, refs);
    }
  }
  return refs;
}

export function resolvePointer(document: unknown, pointer: string): unknown {
  if (!pointer.startsWith('#/')) return undefined;
  let node: unknown = document;
  for (const part of pointer.slice(2).split('/')) node = (node as Record<string, unknown> | undefined)?.[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  return node;
}

export function unresolvedRefs(document: unknown): string[] {
  return refsIn(document).filter((pointer) => resolvePointer(document, pointer) === undefined);
}

/** Every slug referenced under each response status of every operation: slug → statuses. */
export function documentedSlugsByStatus(document: Json): Map<string, Set<number>> {
  const listed = new Map<string, Set<number>>();
  const prefix = '#/components/schemas/problem-';
  for (const { operation } of documentedOperations(document)) {
    for (const [status, response] of Object.entries(operation.responses as Json)) {
      for (const pointer of refsIn(response).filter((ref) => ref.startsWith(prefix))) {
        const slug = pointer.slice(prefix.length);
        listed.set(slug, (listed.get(slug) ?? new Set()).add(Number(status)));
      }
    }
  }
  return listed;
}

/** The `type` a problem component fixes, e.g. urn:meridian:problem:not-found. */
export function problemType(slug: string): string {
  return problemTypePrefix + slug;
}
