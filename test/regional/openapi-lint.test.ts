/**
 * Redocly's recommended ruleset over the gateway's two documents. @redocly/openapi-core does not
 * load inside workerd, and the gateway's modules (the Cedar wasm build) do not load under Node, so
 * the workerd tests (test/workers/openapi.test.ts, openapi-ops.test.ts) hold each generated
 * document equal to a committed snapshot and this Node test validates the snapshots. The auditor
 * document is generated and validated directly in test/regional/openapi.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lintOpenApi } from '../support/openapi-lint.ts';

const snapshots = {
  partner: '../../workers/openapi/partner-openapi.snapshot.json',
  ops: '../../workers/ops/openapi/ops-openapi.snapshot.json',
};

describe('the gateway OpenAPI documents validate', () => {
  for (const [surface, path] of Object.entries(snapshots)) {
    it(`${surface}: no errors and no warnings under Redocly recommended`, async () => {
      const document = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { openapi: string };
      expect(document.openapi).toBe('3.1.0');
      expect(await lintOpenApi(document)).toEqual([]);
    });
  }

  it('a broken document does fail the check', async () => {
    const findings = await lintOpenApi({ openapi: '3.1.0', info: { title: 't', version: '1' }, paths: { '/x': { get: { responses: { 200: { $ref: '#/components/responses/missing' } } } } } });
    expect(findings.some((finding) => finding.severity === 'error')).toBe(true);
  });
});
