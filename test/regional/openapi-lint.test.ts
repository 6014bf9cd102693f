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

/** Warnings that stay, each with why; anything else fails. */
const justifiedWarnings: Record<string, Array<{ ruleId: string; where: string; why: string }>> = {
  partner: [],
  ops: [{
    ruleId: 'operation-2xx-response',
    where: '#/paths/~1ops~1dev-sign-in/post/responses',
    why: 'the dev sign-in form POST answers 303 See Other to /ops (post/redirect/get, RFC 9110 §15.4.4); a 2xx would leave the browser on a POST result',
  }],
};

describe('the gateway OpenAPI documents validate', () => {
  for (const [surface, path] of Object.entries(snapshots)) {
    it(`${surface}: no errors, and only the justified warnings, under Redocly recommended`, async () => {
      const document = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { openapi: string };
      expect(document.openapi).toBe('3.1.0');
      const findings = await lintOpenApi(document);
      expect(findings.filter((finding) => finding.severity === 'error'), 'errors').toEqual([]);
      const justified = justifiedWarnings[surface]!;
      expect(findings.map(({ ruleId, where }) => ({ ruleId, where: where[0] })), 'warnings').toEqual(justified.map(({ ruleId, where }) => ({ ruleId, where })));
    });
  }

  it('a broken document does fail the check', async () => {
    const findings = await lintOpenApi({ openapi: '3.1.0', info: { title: 't', version: '1' }, paths: { '/x': { get: { responses: { 200: { $ref: '#/components/responses/missing' } } } } } });
    expect(findings.some((finding) => finding.severity === 'error')).toBe(true);
  });
});
