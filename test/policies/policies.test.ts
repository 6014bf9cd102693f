import { describe, expect, it } from 'vitest';
import { checkParseSchema, isAuthorized, validate } from '@cedar-policy/cedar-wasm/nodejs';
import { isPolicyForbidId, policyForbidSlugs, policyPermitId } from '../../core/policy-request.ts';
import { allPolicies, policiesById, policyCases, policyFile, policyFileNames, policySchema } from './cedar-policies.ts';

function validationErrors(policies: Record<string, string>): string[] {
  const answer = validate({ schema: policySchema, policies: { staticPolicies: policies }, validationSettings: { mode: 'strict' } });
  if (answer.type === 'failure') return answer.errors.map((error) => error.message);
  return [...answer.validationErrors, ...answer.validationWarnings].map((issue) => `${issue.policyId}: ${issue.error.message}`).concat(answer.otherWarnings.map((warning) => warning.message));
}

describe('policies/ schema and validation', () => {
  it('parses the schema', () => {
    expect(checkParseSchema(policySchema)).toEqual({ type: 'success' });
  });

  it('holds the policy files the gateway expects', () => {
    expect(policyFileNames).toEqual(['amount-limits.cedar', 'base.cedar', 'corridor.cedar', 'instruction.cedar', 'residency.cedar', 'transport.cedar']);
  });

  it.each(policyFileNames)('%s validates against the schema (strict) with no errors or warnings', (fileName) => {
    expect(validationErrors(policyFile(fileName))).toEqual([]);
  });

  it('validates as one set with ids unique across files', () => {
    expect(validationErrors(allPolicies())).toEqual([]);
  });

  it('the validator refuses a policy the schema does not support (the check can fail)', () => {
    const broken = policiesById('@id("broken.unknown-attribute")\nforbid (principal, action == Action::"SubmitPayment", resource) when { context.amount_major > 1 };', 'broken');
    expect(validationErrors(broken)).not.toEqual([]);
  });

  it('refuses a policy without an @id annotation', () => {
    expect(() => policiesById('forbid (principal, action, resource);', 'anonymous.cedar')).toThrow(/no @id/);
  });

  it('has exactly one permit, the base permit; every other policy is a forbid', () => {
    const permits = Object.entries(allPolicies()).filter(([, text]) => /^\s*(@[^\n]*\n\s*)*permit\b/m.test(text.replace(/^\s*\/\/.*$/gm, '')));
    expect(permits.map(([id]) => id)).toEqual([policyPermitId]);
  });
});

describe('determining policy id → wire slug', () => {
  const ids = Object.keys(allPolicies());
  const forbidIds = ids.filter((id) => id !== policyPermitId);

  it('maps every forbid policy id to a slug', () => {
    expect(forbidIds.filter((id) => !isPolicyForbidId(id))).toEqual([]);
  });

  it('names no policy id that does not exist', () => {
    expect(Object.keys(policyForbidSlugs).filter((id) => !ids.includes(id))).toEqual([]);
  });

  it('gives each rule its own slug, except the business rules, which share invalid-instruction and are told apart by `rule`', () => {
    const idsBySlug = new Map<string, string[]>();
    for (const [id, slug] of Object.entries(policyForbidSlugs)) idsBySlug.set(slug, [...(idsBySlug.get(slug) ?? []), id]);
    expect([...idsBySlug.keys()].sort()).toEqual(['corridor-closed', 'downgrade-detected', 'invalid-instruction', 'limit-exceeded', 'residency-denied']);
    for (const [slug, ids] of idsBySlug) {
      if (slug === 'invalid-instruction') expect(ids.every((id) => id.startsWith('instruction.'))).toBe(true);
      else expect(ids).toHaveLength(1);
    }
  });
});

describe.each(policyFileNames)('%s cases', (fileName) => {
  const { policy_file, cases } = policyCases(fileName);
  const ownIds = Object.keys(policyFile(fileName));

  it('belong to this file and cover both outcomes and this file\'s rule', () => {
    expect(policy_file).toBe(fileName);
    expect(cases.length).toBeGreaterThanOrEqual(4);
    expect(new Set(cases.map((c) => c.expected.decision))).toEqual(new Set(['allow', 'deny']));
    expect(cases.some((c) => /lapsed/.test(c.name))).toBe(true);
    for (const id of ownIds) {
      expect(cases.some((c) => c.expected.determining_policy_ids.includes(id)), `${id} determines some case`).toBe(true);
    }
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, policyCase) => {
    const answer = isAuthorized({
      ...policyCase.request,
      schema: policySchema,
      validateRequest: true,
      policies: { staticPolicies: allPolicies() },
      entities: policyCase.entities,
    });
    if (answer.type === 'failure') throw new Error(answer.errors.map((error) => error.message).join('; '));
    expect(answer.response.diagnostics.errors).toEqual([]);
    expect({ decision: answer.response.decision, determining_policy_ids: [...answer.response.diagnostics.reason].sort() }).toEqual({
      decision: policyCase.expected.decision,
      determining_policy_ids: [...policyCase.expected.determining_policy_ids].sort(),
    });
  });
});
