/**
 * The Cedar engine inside workerd: `@cedar-policy/cedar-wasm`'s web build, instantiated once per
 * isolate from the `WebAssembly.Module` the bundle hands us (workerd forbids compiling wasm from
 * bytes at run time), with the policy set validated against the schema and pre-parsed once into the engine's cache.
 * Each payment is then one `statefulIsAuthorized` call: no policy text is parsed per request.
 *
 * Validated once, not per request: at load the policy set is validated against the schema
 * (strict mode), and a decision does not re-validate the request or re-type its entities against
 * the schema. What a per-request validation would check is the output of our own builder
 * (core/policy-request.ts), not partner input — every partner value reaching it went through the
 * instruction schema — and test/policies/policy-request.test.ts validates that builder's requests
 * against the schema for every rule's case. Per request it cost about a quarter of the decision
 * (bench/admission.bench.ts, policy stage). The threat a skipped validation leaves — a request of
 * the wrong shape — still cannot admit: a forbid that reads a missing or mistyped value errors, and
 * the stage refuses any decision with evaluation errors (policyRefusal).
 *
 * Policy ids are the `@id` annotations (policies/README.md): the set is split with
 * `policySetTextToParts` and keyed by `@id`, exactly as test/policies/cedar-policies.ts does, so the
 * determining ids recorded as evidence are stable names, not `policy0`, `policy1`….
 *
 * Threat: a policy set that fails to load would leave the stage without rules. Loading throws
 * (the request is answered 500 and logged, never admitted), and `authorizePayment` reports every
 * Cedar failure as a value the stage refuses on.
 */
import { initSync, policySetTextToParts, policyToJson, preparsePolicySet, statefulIsAuthorized, validate } from '@cedar-policy/cedar-wasm/web';
import cedarWasm from '../../node_modules/@cedar-policy/cedar-wasm/web/cedar_wasm_bg.wasm?module';
import { sha256Hex } from '../../core/digest.ts';
import { policiesById, type PolicyRequest } from '../../core/policy-request.ts';
import { bundledPolicyFiles, bundledPolicySchema } from './policy-set.ts';

const policySetId = 'meridian-payments';

export interface LoadedPolicySet {
  /** Every policy by `@id`, across all files. */
  policies: Readonly<Record<string, string>>;
  /** Hex SHA-256 over the schema and every file's name and text: which rules a decision ran under. */
  digest: string;
}

export type PolicyAnswer =
  | { kind: 'decided'; decision: 'allow' | 'deny'; determiningPolicyIds: string[]; errorCount: number; errors: string[] }
  | { kind: 'failed'; errors: string[] };

let loaded: LoadedPolicySet | undefined;

/** Initialises the engine and pre-parses schema and policies, once per isolate. */
export function policySet(): LoadedPolicySet {
  if (loaded !== undefined) return loaded;
  initSync({ module: cedarWasm });
  const policies: Record<string, string> = {};
  for (const file of bundledPolicyFiles) {
    for (const [id, text] of Object.entries(policiesById(file.text, file.name, { policySetTextToParts, policyToJson }))) {
      if (Object.hasOwn(policies, id)) throw new Error(`policy set: @id("${id}") of ${file.name} is also used by another file`);
      policies[id] = text;
    }
  }
  const validation = validate({ schema: bundledPolicySchema, policies: { staticPolicies: policies }, validationSettings: { mode: 'strict' } });
  if (validation.type !== 'success') throw new Error(`policy set: schema or policies do not parse: ${validation.errors.map((error) => error.message).join('; ')}`);
  if (validation.validationErrors.length > 0) {
    throw new Error(`policy set: does not validate against the schema: ${validation.validationErrors.map((error) => `${error.policyId}: ${error.error.message}`).join('; ')}`);
  }
  const parsed = preparsePolicySet(policySetId, { staticPolicies: policies });
  if (parsed.type !== 'success') throw new Error(`policy set: policies do not parse: ${parsed.errors.map((error) => error.message).join('; ')}`);
  const digestInput = [`schema\n${bundledPolicySchema}`, ...bundledPolicyFiles.map((file) => `${file.name}\n${file.text}`)].join('\n\u0000\n');
  loaded = { policies, digest: sha256Hex(digestInput) };
  return loaded;
}

/** One stateful authorization against the pre-parsed set (validated against the schema once, at load). */
export function authorizePayment(request: PolicyRequest): PolicyAnswer {
  policySet();
  let answer: ReturnType<typeof statefulIsAuthorized>;
  try {
    answer = statefulIsAuthorized({
      principal: request.principal,
      action: request.action,
      resource: request.resource,
      context: request.context,
      entities: request.entities,
      preparsedPolicySetId: policySetId,
      validateRequest: false,
    });
  } catch (cause) {
    // A trap inside the engine (a Rust panic surfaces as a thrown RuntimeError): a failure like any other.
    return { kind: 'failed', errors: [String(cause)] };
  }
  if (answer.type === 'failure') return { kind: 'failed', errors: answer.errors.map((error) => error.message) };
  const { decision, diagnostics } = answer.response;
  return {
    kind: 'decided',
    decision,
    determiningPolicyIds: [...diagnostics.reason].sort(),
    errorCount: diagnostics.errors.length,
    errors: diagnostics.errors.map((error) => `${error.policyId}: ${error.error.message}`),
  };
}
