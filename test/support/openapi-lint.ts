/** Redocly's recommended ruleset over an OpenAPI document (Node only: @redocly/openapi-core does not load in workerd). */
import { createConfig, lintFromString } from '@redocly/openapi-core';

export interface LintFinding {
  ruleId: string;
  severity: string;
  message: string;
  where: string[];
}

/** Redocly's `recommended` ruleset over the document's JSON text: what `redocly lint` would print. */
export async function lintOpenApi(document: unknown): Promise<LintFinding[]> {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source: JSON.stringify(document), absoluteRef: 'openapi.json', config });
  return problems.map((problem) => ({
    ruleId: problem.ruleId,
    severity: problem.severity,
    message: problem.message,
    where: problem.location.map((location) => location.pointer ?? ''),
  }));
}

