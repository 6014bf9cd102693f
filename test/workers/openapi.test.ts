/// <reference types="vite/client" />
/**
 * The partner OpenAPI document cannot drift silently from the gateway: it is the generated one;
 * it validates under Redocly's recommended rules; every route the app serves is in it and every
 * documented operation is served; every problem slug the edge code can answer is documented
 * with its status and listed under that status; every $ref resolves; 405 comes from it.
 */
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { problemStatus, problemTypePrefix, type ProblemSlug } from '../../core/problem.ts';
import { createGatewayApp } from '../../workers/app.ts';
import { generatePartnerDocument } from '../../workers/openapi/partner-document.ts';
import { partnerProblems } from '../../workers/openapi/partner-problems.ts';
import { documentedOperations, documentedSlugsByStatus, problemComponentsOf, servedRoutesOf, slugLiteralsIn, unresolvedRefs } from '../support/openapi-document-checks.ts';
import { gatewayUrl } from './support.ts';

/** Slugs in core/problem.ts that only the regional backend answers; the edge must never use them. */
const regionalOnlySlugs: Partial<Record<ProblemSlug, string>> = {
  'unauthorized': 'regional: a settlement call without a valid edge token',
  'batch-rejected': 'regional: a settlement batch that fails verification',
};

/** Slugs only the ops API (/ops, behind Cloudflare Access, its own document) answers. */
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
    // The outbox reads the regional backend's problem answers (a refused settlement batch) to classify
    // them; it never answers a partner with them, so its regional slugs are not the edge's.
    .filter(([path]) => !path.includes('/workers/ops/') && !path.includes('/durable-objects/control/') && !path.includes('/workers/openapi/'))
    .filter(([path]) => !path.endsWith('/durable-objects/corridor-window/deliver-batch.ts') && !path.endsWith('/durable-objects/corridor-window/netting-store.ts')),
);

const document = generatePartnerDocument();

describe('GET /openapi.json', () => {
  it('serves the generated OpenAPI 3.1 document, the same bytes every time, cacheable', async () => {
    const first = await SELF.fetch(`${gatewayUrl}/openapi.json`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^application\/json/);
    expect(first.headers.get('cache-control')).toBe('public, max-age=300');
    const bytes = await first.text();
    expect(JSON.parse(bytes)).toEqual(JSON.parse(JSON.stringify(document)));
    expect(document.openapi).toBe('3.1.0');
    expect(await (await SELF.fetch(`${gatewayUrl}/openapi.json`)).text()).toBe(bytes);
  });

  // Redocly cannot load inside workerd: the generated document is kept as a file snapshot, which
  // test/regional/openapi-lint.test.ts (node) validates. This test fails when the snapshot is stale
  // (refresh it with `npx vitest run --project workers test/workers/openapi.test.ts -u` and review the diff).
  it('matches its committed snapshot, which the node project validates with Redocly', async () => {
    await expect(`${JSON.stringify(document, null, 2)}\n`).toMatchFileSnapshot('../../workers/openapi/partner-openapi.snapshot.json');
  });

  it('documents every route the app serves, and serves every documented operation', () => {
    const documented = new Set(documentedOperations(document).map(({ method, path }) => `${method} ${path}`));
    const served = servedRoutesOf(createGatewayApp(), (path) => path === '/ops' || path.startsWith('/ops/'));
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
      if (!documented) expect(usedByEdge.has(slug), `${slug} is declared regional- or ops-only but the edge uses it`).toBe(false);
    }
    const components = problemComponentsOf(document);
    expect(Object.keys(components).sort()).toEqual(Object.keys(partnerProblems).sort());
    for (const [slug, schema] of Object.entries(components)) {
      expect(schema.properties.type.enum, slug).toEqual([problemTypePrefix + slug]);
      expect(schema.properties.status.enum, slug).toEqual([problemStatus[slug as ProblemSlug]]);
      expect(schema.description, slug).toBe(partnerProblems[slug as keyof typeof partnerProblems]);
    }
  });

  it('lists every documented slug on some operation, under its own status code', () => {
    const listed = documentedSlugsByStatus(document);
    for (const [slug, statuses] of listed) expect([...statuses], slug).toEqual([problemStatus[slug as ProblemSlug]]);
    expect(Object.keys(partnerProblems).filter((slug) => !listed.has(slug))).toEqual([]);
  });

  it('resolves every $ref', () => {
    expect(unresolvedRefs(document)).toEqual([]);
  });

  it('takes its limits from the constants the routes enforce', async () => {
    const { paymentBodyBytesMax } = await import('../../workers/payments/payment-routes.ts');
    const { jwsBytesMax } = await import('../../workers/payments/instruction-jws.ts');
    const { sessionBodyBytesMax } = await import('../../workers/sessions/session-routes.ts');
    const operations = documentedOperations(document);
    const submit = operations.find(({ method, path }) => method === 'POST' && path === '/v1/payments')!.operation;
    const compact = (submit.requestBody.content['application/jose'].schema.anyOf as Array<{ 'x-jws-payload'?: unknown; maxLength: number }>).find((schema) => schema['x-jws-payload'] !== undefined)!;
    expect(compact.maxLength).toBe(jwsBytesMax);
    expect(submit.requestBody.description).toContain(`${paymentBodyBytesMax} bytes of body`);
    const session = operations.find(({ method, path }) => method === 'POST' && path === '/v1/sessions')!.operation;
    expect(session.requestBody.description).toBe(`At most ${sessionBodyBytesMax} bytes.`);
  });

  it('answers a documented path under another method with 405 and the documented methods in Allow', async () => {
    for (const { method, path } of documentedOperations(document)) {
      const concrete = path.replace(/\{[^}]+\}/g, crypto.randomUUID());
      const other = method === 'DELETE' ? 'PUT' : 'DELETE';
      const response = await SELF.fetch(`${gatewayUrl}${concrete}`, { method: other });
      expect(response.status, `${other} ${path}`).toBe(405);
      const documentedMethods = Object.keys(document.paths![path]!).map((name) => name.toUpperCase());
      expect(response.headers.get('allow')?.split(', ')).toEqual(expect.arrayContaining(documentedMethods));
      expect(await response.json()).toMatchObject({ type: `${problemTypePrefix}method-not-allowed`, allow: expect.arrayContaining(documentedMethods) });
    }
  });
});
