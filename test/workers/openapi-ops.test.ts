/// <reference types="vite/client" />
/**
 * The ops OpenAPI document (GET /ops/api/openapi.json, behind Access) cannot drift from the ops
 * routes: it is the generated one and served only to operators; every /ops route is documented
 * and every documented operation served; every slug the ops code can answer is documented under
 * its status; its response schemas parse real answers.
 */
import { describe, expect, it } from 'vitest';
import { changeListSchema, changeViewSchema, auditListSchema, corridorDirectorySchema, residencyExceptionListSchema } from '../../core/ops-api-responses.ts';
import { problemSchemaFor } from '../../core/api-problems.ts';
import { problemStatus, type ProblemSlug } from '../../core/problem.ts';
import { createGatewayApp } from '../../workers/app.ts';
import { generateOpsDocument, opsProblems } from '../../workers/ops/openapi/ops-document.ts';
import { documentedOperations, documentedSlugsByStatus, problemComponentsOf, servedRoutesOf, slugLiteralsIn, unresolvedRefs } from '../support/openapi-document-checks.ts';
import { ana, ben, opsFetch, opsJson } from './ops-support.ts';

const document = generateOpsDocument();

/** The ops API's own sources (and the Access gate, the Control Durable Object behind it). */
const opsSources = import.meta.glob(['../../workers/ops/**/*.ts', '../../durable-objects/control/**/*.ts', '!../../workers/ops/openapi/**'], { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

/** Literals that name a slug but are reason kinds the ops code maps to another slug. */
const reasonKindsOnly: Partial<Record<ProblemSlug, string>> = {
  'unknown-partner': 'workers/ops/views/partner-range-query.ts: a query refusal, answered 404 not-found',
};

/** Slugs the gateway answers on every path, /ops included (workers/problem/, the deployment posture). */
const everywhere: ProblemSlug[] = ['misconfigured', 'internal', 'not-found'];

describe('GET /ops/api/openapi.json', () => {
  it('is served to operators only, as the generated document', async () => {
    expect((await opsFetch(null, '/api/openapi.json')).status).toBe(401);
    const response = await opsFetch(ana, '/api/openapi.json');
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('private, max-age=300');
    expect(await response.json()).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it('matches its committed snapshot, which the node project validates with Redocly', async () => {
    await expect(`${JSON.stringify(document, null, 2)}\n`).toMatchFileSnapshot('../../workers/ops/openapi/ops-openapi.snapshot.json');
  });

  it('documents every /ops route the app serves, and serves every documented operation', () => {
    const documented = new Set(documentedOperations(document).map(({ method, path }) => `${method} ${path}`));
    const served = servedRoutesOf(createGatewayApp(), (path) => !(path === '/ops' || path.startsWith('/ops/')));
    expect([...served].filter((route) => !documented.has(route)), 'served but not documented').toEqual([]);
    expect([...documented].filter((route) => !served.has(route)), 'documented but not served').toEqual([]);
  });

  it('documents every slug the ops code can answer, each under its own status', () => {
    const used = new Set([...Object.values(opsSources).flatMap((source) => [...slugLiteralsIn(source)]), ...everywhere]);
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((slug) => !Object.hasOwn(opsProblems, slug) && reasonKindsOnly[slug] === undefined), 'answered on /ops but not documented').toEqual([]);
    const components = problemComponentsOf(document);
    expect(Object.keys(components).sort()).toEqual(Object.keys(opsProblems).sort());
    const listed = documentedSlugsByStatus(document);
    for (const slug of Object.keys(opsProblems)) expect([...(listed.get(slug) ?? [])], slug).toEqual([problemStatus[slug as ProblemSlug]]);
  });

  it('resolves every $ref', () => {
    expect(unresolvedRefs(document)).toEqual([]);
  });

  it("its schemas parse the ops API's real answers", async () => {
    const corridors = await opsJson(ana, '/api/corridors');
    expect(corridorDirectorySchema.safeParse(corridors.body).success, JSON.stringify(corridors.body).slice(0, 500)).toBe(true);
    const proposed = await opsJson(ana, '/api/changes', { method: 'POST', json: { kind: 'corridor-state', corridor: 'DKK-DKK', state: 'open', reason: 'openapi drift test: no-op state change' } });
    expect(proposed.status, JSON.stringify(proposed.body)).toBe(201);
    expect(changeViewSchema.safeParse(proposed.body).success, JSON.stringify(changeViewSchema.safeParse(proposed.body).error)).toBe(true);
    const rejected = await opsJson(ben, `/api/changes/${String(proposed.body.id)}/reject`, { method: 'POST' });
    expect(changeViewSchema.safeParse(rejected.body).success, JSON.stringify(rejected.body)).toBe(true);
    expect(changeListSchema.safeParse((await opsJson(ana, '/api/changes')).body).success).toBe(true);
    expect(auditListSchema.safeParse((await opsJson(ana, '/api/audit')).body).success).toBe(true);
    expect(residencyExceptionListSchema.safeParse((await opsJson(ana, '/api/residency-exceptions')).body).success).toBe(true);
    const again = await opsJson(ben, `/api/changes/${String(proposed.body.id)}/reject`, { method: 'POST' });
    expect(problemSchemaFor('change-not-pending').safeParse(again.body).success, JSON.stringify(again.body)).toBe(true);
    expect(problemSchemaFor('unauthenticated').safeParse(await (await opsFetch(null, '/api/changes')).json()).success).toBe(true);
  });
});
