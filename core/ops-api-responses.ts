/**
 * The ops API's answers (DESIGN.md "Ops console and ops API") as zod schemas, beside the types in
 * core/ops-changes.ts they describe: the ops OpenAPI document (workers/ops/openapi/) is generated
 * from them and test/workers/openapi-ops.test.ts parses real answers with them. Changes and audit
 * entries are strict (the Control Durable Object builds them field by field); the read-only views
 * are described by their envelope and open inside, since each view reports unreachable parts
 * with their own fields rather than failing.
 */
import { z } from 'zod';
import { changeProposalSchema } from './ops-changes.ts';

const timestamp = z.iso.datetime({ offset: true });
const changeKind = z.enum(['corridor-state', 'partner-key', 'residency-exception', 'hold-decision']);

export const changeViewSchema = z.strictObject({
  id: z.uuid(),
  kind: changeKind,
  status: z.enum(['proposed', 'applied', 'rejected', 'expired']),
  proposal: changeProposalSchema,
  proposed_by: z.string(),
  proposed_at: timestamp,
  expires_at: timestamp,
  decided_by: z.string().nullable(),
  decided_at: timestamp.nullable(),
  approved_by: z.string().optional().meta({ description: 'The second operator, once applied.' }),
  effect: z.record(z.string(), z.unknown()).nullable().meta({ description: 'What applying the change did, once applied.' }),
}).meta({ description: 'A change under two-person control.' });

export const changeListSchema = z.strictObject({ changes: z.array(changeViewSchema) });

export const auditEntrySchema = z.strictObject({
  seq: z.number().int().min(1),
  at: timestamp,
  actor: z.string(),
  action: z.enum(['proposed', 'approved', 'rejected', 'expired', 'applied', 'lapsed']),
  change_id: z.uuid(),
  kind: changeKind,
  detail: z.record(z.string(), z.unknown()),
  prev_hash: z.string().regex(/^[0-9a-f]{64}$/),
  hash: z.string().regex(/^[0-9a-f]{64}$/).meta({ description: 'SHA-256(prev_hash + "\\n" + RFC 8785 JSON of the entry without `hash`), hex.' }),
});

export const auditListSchema = z.strictObject({ entries: z.array(auditEntrySchema) });

export const corridorDirectorySchema = z.strictObject({ corridors: z.array(z.looseObject({ id: z.string(), state: z.enum(['open', 'paused', 'draining']) })) });

export const residencyExceptionListSchema = z.strictObject({
  now: timestamp,
  exceptions: z.array(z.strictObject({
    change_id: z.uuid(),
    partner_id: z.string(),
    debtor_country: z.string(),
    owner: z.string(),
    reason: z.string(),
    expires_at: timestamp,
    granted_by: z.string(),
    granted_at: timestamp,
    status: z.enum(['live', 'lapsed']),
    time_left_ms: z.number().int().min(0).meta({ description: 'Until it lapses, at the time of the answer; 0 once lapsed.' }),
    propagated: z.boolean().meta({ description: "False while the partner's PartnerState has not confirmed it (the edge then still refuses)." }),
  })),
});

/** A read-only view: when it was computed, and its sections (each reports its own unreachable parts). */
export function opsViewSchema<Shape extends z.ZodRawShape>(sections: Shape, description: string) {
  return z.looseObject({ generated_at: timestamp, ...sections }).meta({ description });
}
