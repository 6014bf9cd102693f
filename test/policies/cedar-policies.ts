/**
 * Loads policies/ for the tests: the schema, each `.cedar` file split into its policies keyed by
 * their `@id` annotation (Cedar would otherwise name them policy0, policy1…, and the determining
 * ids recorded as evidence must be stable names), and the `.cases.json` beside each file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { policySetTextToParts, policyToJson, type Entities, type EntityUid, type Context, type Decision } from '@cedar-policy/cedar-wasm/nodejs';
import { policiesById as policiesByIdWith } from '../../core/policy-request.ts';

export const policiesDir = join(import.meta.dirname, '..', '..', 'policies');

export const policySchema = readFileSync(join(policiesDir, 'schema.cedarschema'), 'utf8');

export const policyFileNames: readonly string[] = readdirSync(policiesDir)
  .filter((name) => name.endsWith('.cedar'))
  .sort();

/** One file's policies by `@id` (core/policy-request.ts `policiesById`, with the nodejs build). */
export function policiesById(text: string, fileName: string): Record<string, string> {
  return policiesByIdWith(text, fileName, { policySetTextToParts, policyToJson });
}

export function policyFile(fileName: string): Record<string, string> {
  return policiesById(readFileSync(join(policiesDir, fileName), 'utf8'), fileName);
}

/** The whole policy set, as the gateway will load it: every file, ids unique across files. */
export function allPolicies(): Record<string, string> {
  const all: Record<string, string> = {};
  for (const fileName of policyFileNames) {
    for (const [id, policy] of Object.entries(policyFile(fileName))) {
      if (Object.hasOwn(all, id)) throw new Error(`${fileName}: @id("${id}") is also used by another file`);
      all[id] = policy;
    }
  }
  return all;
}

export type PolicyCase = {
  name: string;
  request: { principal: EntityUid; action: EntityUid; resource: EntityUid; context: Context };
  entities: Entities;
  expected: { decision: Decision; determining_policy_ids: string[] };
};

export function policyCases(fileName: string): { policy_file: string; cases: PolicyCase[] } {
  const casesName = fileName.replace(/\.cedar$/, '.cases.json');
  return JSON.parse(readFileSync(join(policiesDir, casesName), 'utf8')) as { policy_file: string; cases: PolicyCase[] };
}
