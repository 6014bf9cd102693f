/**
 * Refusing a downgrade: the evidence is written to the partner's PartnerState (security_events,
 * counted per kind) *before* the partner gets its 403, so every refusal the partner saw is on record
 * for the ops console and evidence bundles. Events are only recorded for requests whose message
 * signature verified: an unauthenticated request cannot write into a partner's evidence.
 */
import { ProblemError, type ProblemSlug } from '../../core/problem.ts';
import type { JsonValue, SecurityEventKind } from '../../durable-objects/partner-state/partner-state.ts';
import type { Env } from '../env.ts';
import type { SignedRequestVariables } from '../message-signature/verify-message-signature.ts';
import { durableObjectFor } from '../../durable-objects/jurisdiction.ts';

/** What a refusal needs of a Hono context whose message signature verified. */
export interface SignedRequestContext {
  env: Env;
  req: { method: string; url: string; header(name: string): string | undefined };
  var: SignedRequestVariables;
}

export async function refuseWithSecurityEvent(
  c: SignedRequestContext,
  kind: SecurityEventKind,
  slug: Extract<ProblemSlug, 'downgrade-detected' | 'pq-required' | 'bad-signature'>,
  detail: string,
  context: Record<string, JsonValue> = {},
): Promise<never> {
  const partner = c.var.partner;
  const partnerState = durableObjectFor(c.env, c.env.PARTNER_STATE, partner.jurisdiction, partner.partner_id);
  const event = await partnerState.recordSecurityEvent({
    kind,
    slug,
    detail,
    context: {
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      keyid: c.var.partnerKey.keyid,
      signature_algorithms: c.var.signatureAlgorithms,
      cf_ray: c.req.header('cf-ray') ?? null,
      ...context,
    },
  });
  console.warn(JSON.stringify({ event: 'security-event', partner_id: partner.partner_id, id: event.id, kind, slug, detail }));
  throw new ProblemError(slug, detail, { security_event: event.id });
}
