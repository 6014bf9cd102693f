/**
 * The auditor API's OpenAPI document (GET /v1/openapi.json on every regional backend) cannot drift
 * from the backend: it validates under Redocly's recommended rules; every route a backend serves
 * (a witness's included) is documented and every documented operation served; every slug the
 * regional code can answer is documented under its status; its schemas parse a real backend's
 * answers, a committed settlement included.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemSchemaFor } from '../../core/api-problems.ts';
import { consistencyProofSchema, evidenceBundleSchema, inclusionProofSchema, publishedKeysSchema, regionalHealthSchema, settlementReceiptSchema, storedSettlementSchema } from '../../core/auditor-api-responses.ts';
import { problemStatus, type ProblemSlug } from '../../core/problem.ts';
import { auditorProblems, generateAuditorDocument, inconsistentCheckpointSlug } from '../../regional/openapi/auditor-document.ts';
import { witnessRoutes } from '../../regional/witness/witness-routes.ts';
import type { Witness } from '../../regional/witness/witness.ts';
import { documentedOperations, documentedSlugsByStatus, handWrittenSlugsIn, problemComponentsOf, servedRoutesOf, slugLiteralsIn, unresolvedRefs } from '../support/openapi-document-checks.ts';
import { lintOpenApi } from '../support/openapi-lint.ts';
import { sampleBatch } from './support/batches.ts';
import { openTestDatabase, type TestDatabase } from './support/databases.ts';
import { startTestbed, type Testbed } from './support/testbed.ts';

const document = generateAuditorDocument();

function regionalSources(directory = new URL('../../regional/', import.meta.url).pathname): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return path.endsWith('/openapi') ? [] : regionalSources(path);
    return path.endsWith('.ts') ? [readFileSync(path, 'utf8')] : [];
  });
}

async function parsed(response: Response, schema: { safeParse(value: unknown): { success: boolean; error?: unknown } }, status: number) {
  const text = await response.text();
  expect(response.status, text.slice(0, 500)).toBe(status);
  const result = schema.safeParse(JSON.parse(text));
  expect(result.success, `${text.slice(0, 500)}\n${JSON.stringify(result.error)}`).toBe(true);
}

describe('auditor API OpenAPI document', () => {
  let database: TestDatabase;
  let testbed: Testbed;

  beforeAll(async () => {
    database = await openTestDatabase('pglite', 'auditor_openapi');
    testbed = await startTestbed(database);
  });
  afterAll(async () => {
    await testbed?.close();
    await database?.drop();
  });

  it('is served at GET /v1/openapi.json, the same bytes every time, cacheable', async () => {
    const response = await testbed.app.request('/v1/openapi.json');
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=300');
    const bytes = await response.text();
    expect(JSON.parse(bytes)).toEqual(JSON.parse(JSON.stringify(document)));
    expect(await (await testbed.app.request('/v1/openapi.json')).text()).toBe(bytes);
    expect((await testbed.app.request('/v1/openapi.json', { method: 'POST' })).status).toBe(405);
  });

  it('validates under Redocly recommended with no errors and no warnings', async () => {
    expect(await lintOpenApi(document)).toEqual([]);
  });

  it('documents every route a backend serves (a witness too), and serves every documented operation', () => {
    const witness = witnessRoutes({ witness: {} as Witness, verifier: '', origins: [] });
    const served = new Set([...servedRoutesOf(testbed.app), ...servedRoutesOf(witness)]);
    const documented = new Set(documentedOperations(document).map(({ method, path }) => `${method} ${path}`));
    expect([...served].filter((route) => !documented.has(route)), 'served but not documented').toEqual([]);
    expect([...documented].filter((route) => !served.has(route)), 'documented but not served').toEqual([]);
  });

  it('documents every slug the regional code can answer, each under its own status', () => {
    const sources = regionalSources();
    const used = new Set<string>(sources.flatMap((source) => [...slugLiteralsIn(source), ...handWrittenSlugsIn(source)]));
    expect(used.size).toBeGreaterThan(5);
    const documented = new Set([...Object.keys(auditorProblems), inconsistentCheckpointSlug]);
    expect([...used].filter((slug) => !documented.has(slug)), 'answered by a backend but not documented').toEqual([]);
    expect(Object.keys(problemComponentsOf(document)).sort()).toEqual([...documented].sort());
    const listed = documentedSlugsByStatus(document);
    for (const slug of Object.keys(auditorProblems)) expect([...(listed.get(slug) ?? [])], slug).toEqual([problemStatus[slug as ProblemSlug]]);
    expect([...(listed.get(inconsistentCheckpointSlug) ?? [])]).toEqual([422]);
  });

  it('resolves every $ref', () => {
    expect(unresolvedRefs(document)).toEqual([]);
  });

  it("its schemas parse a real backend's answers", async () => {
    await parsed(await testbed.app.request('/healthz'), regionalHealthSchema, 200);
    const sealed = sampleBatch({ payments: 2 });
    await parsed(await testbed.deliver(sealed), settlementReceiptSchema, 201);
    await parsed(await testbed.deliver(sealed), settlementReceiptSchema, 200);
    await parsed(await testbed.app.request(`/v1/settlements/${sealed.batch.batch_id}`), storedSettlementSchema, 200);
    await parsed(await testbed.app.request('/v1/keys'), publishedKeysSchema, 200);
    await parsed(await testbed.app.request('/v1/log/inclusion?index=0&size=1'), inclusionProofSchema, 200);
    await parsed(await testbed.app.request('/v1/log/consistency?from=1&to=1'), consistencyProofSchema, 200);
    await parsed(await testbed.app.request('/v1/evidence?from=0&to=1'), evidenceBundleSchema, 200);
    await parsed(await testbed.app.request('/v1/log/inclusion?index=x&size=1'), problemSchemaFor('invalid-request'), 400);
    await parsed(await testbed.app.request('/v1/log/leaves/99999'), problemSchemaFor('not-found'), 404);
    await parsed(await testbed.app.request('/v1/keys', { method: 'DELETE' }), problemSchemaFor('method-not-allowed'), 405);
    await parsed(await testbed.app.request('/v1/settlements', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }), problemSchemaFor('unauthorized'), 401);
  });
});
