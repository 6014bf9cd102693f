/**
 * RFC 9457 problem details as a zod schema, for the OpenAPI documents of every surface (partner,
 * ops, auditor) and for the tests that parse real answers with it, so the documented shape cannot
 * lie about what `ProblemError.toBody()` sends. Pure: no generator here; each surface's document
 * registers these schemas in its own registry (workers/openapi/, workers/ops/openapi/, regional/openapi/).
 */
import { z } from 'zod';
import { problemStatus, problemTypePrefix, type ProblemSlug } from './problem.ts';

/**
 * The members every problem carries, and the extensions some slugs add. Extensions are open (a
 * slug may carry context such as `setting`, `tree_size` or `retry_after_seconds`): a client must
 * ignore members it does not know, as RFC 9457 §3.2 says.
 */
export const problemBodySchema = z.looseObject({
  type: z.string().startsWith(problemTypePrefix).meta({ description: '`urn:meridian:problem:<slug>`: the stable, machine-readable reason.' }),
  title: z.string().meta({ description: 'The slug in words; not for parsing.' }),
  status: z.number().int().min(400).max(599),
  detail: z.string().optional().meta({ description: 'Human-readable detail; not stable, do not parse.' }),
  instance: z.string().optional().meta({ description: 'The request path.' }),
  issues: z.array(z.string()).optional().meta({ description: 'Validation failures: "<field path>: <problem>" lines.' }),
  allow: z.array(z.string()).optional().meta({ description: 'method-not-allowed only: the methods this path accepts.' }),
  reason: z.string().optional().meta({ description: 'A finer, stable reason code within the slug, where one exists.' }),
}).meta({ description: 'RFC 9457 problem details (application/problem+json).' });

export type ProblemBodyShape = z.infer<typeof problemBodySchema>;

/** One slug's problem: `type` and `status` fixed to that slug's values from core/problem.ts. */
export function problemSchemaFor(slug: ProblemSlug) {
  return problemBodySchema.extend({ type: z.literal(problemTypePrefix + slug), status: z.literal(problemStatus[slug]) });
}

/**
 * A copy of a schema carrying its metadata and `extra`. zod copies methods onto each instance when
 * it is built, so a schema built before @hono/zod-openapi extended zod (any schema of a module that
 * loaded first) lacks `.openapi()`, which the generator's registry calls; a copy made now has it,
 * over the same definition and checks.
 */
export function freshSchema<T extends z.ZodType>(schema: T, extra: Record<string, unknown> = {}): T {
  return schema.meta({ ...(schema.meta() ?? {}), ...extra }) as T;
}

/** What the documents need from a registry: zod-to-openapi's OpenAPIRegistry.register, typed structurally. */
export interface SchemaRegistry {
  register<T extends z.ZodType>(refId: string, schema: T): T;
}

export interface ProblemResponse {
  description: string;
  headers?: z.ZodObject;
  content: { 'application/problem+json': { schema: z.ZodType } };
}

/**
 * Registers one component per slug (`problem-<slug>`, described for this surface) and returns the
 * responses that group them by HTTP status, as zod-to-openapi's route `responses` take them. The
 * slugs' statuses come from `problemStatus`, so a document cannot put a slug under a wrong code.
 */
export function problemResponses<Slug extends ProblemSlug>(
  registry: SchemaRegistry,
  descriptions: Readonly<Record<Slug, string>>,
  slugs: readonly Slug[],
  headersByStatus: Readonly<Partial<Record<number, z.ZodObject>>> = {},
): Record<string, ProblemResponse> {
  const byStatus = new Map<number, Slug[]>();
  for (const slug of slugs) byStatus.set(problemStatus[slug], [...(byStatus.get(problemStatus[slug]) ?? []), slug]);
  const responses: Record<string, ProblemResponse> = {};
  for (const [status, group] of [...byStatus].sort(([left], [right]) => left - right)) {
    const schemas = group.map((slug) => registeredProblem(registry, slug, descriptions[slug]));
    const headers = headersByStatus[status];
    responses[String(status)] = {
      description: group.join(' | '),
      ...(headers === undefined ? {} : { headers }),
      content: { 'application/problem+json': { schema: schemas.length === 1 ? schemas[0]! : z.union(schemas) } },
    };
  }
  return responses;
}

/** Registry → slug → schema: registering the same component twice in one registry would emit it twice. */
const registered = new WeakMap<SchemaRegistry, Map<ProblemSlug, z.ZodType>>();

function registeredProblem(registry: SchemaRegistry, slug: ProblemSlug, description: string): z.ZodType {
  let bySlug = registered.get(registry);
  if (bySlug === undefined) registered.set(registry, (bySlug = new Map()));
  let schema = bySlug.get(slug);
  if (schema === undefined) {
    schema = registry.register(`problem-${slug}`, problemSchemaFor(slug).meta({ description }));
    bySlug.set(slug, schema);
  }
  return schema;
}

/** The headers a 405 carries (RFC 9110 §15.5.6). */
export const allowHeader = z.object({ Allow: z.string().meta({ description: 'The methods this path accepts, comma-separated.' }) });
/** The header a 429 or a 503 that says when to come back carries (RFC 9110 §10.2.3). */
export const retryAfterHeader = z.object({ 'Retry-After': z.string().regex(/^[0-9]+$/).meta({ description: 'Seconds to wait before retrying.' }) });
