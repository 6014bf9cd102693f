/**
 * GET /ops/api/security-events: the newest security events across all partners (downgrades and
 * other attacks on a partner's trust, recorded in each partner's PartnerState before the partner was
 * refused), merged newest first, and every partner's per-kind totals.
 *
 * Each partner's newest `securityEventsShownMax` contain every event of the merged newest
 * `securityEventsShownMax`, so asking each for that many is exact. A partner whose object does not
 * answer is listed `unreachable`; the others still answer.
 */
import type { Env } from '../../env.ts';
import { partnerRegistry } from '../../config/partners.ts';
import { allPartnerStateShards, partnerStateHome } from '../../../durable-objects/partner-state/partner-shards.ts';
import { errorText, mapBounded } from './bounded-work.ts';

/** Events in the merged list (and asked of each partner). */
export const securityEventsShownMax = 50;
/** Partners asked in one view; more are reported as `partners_truncated`. */
export const securityEventPartnersMax = 1_000;
const partnersConcurrencyMax = 16;

type PartnerStub = ReturnType<Env['PARTNER_STATE']['get']>;
type SecurityEvent = Awaited<ReturnType<PartnerStub['listSecurityEvents']>>[number];

export interface PartnerSecurityView {
  partner_id: string;
  status: 'ok' | 'unreachable';
  error?: string;
  counts: Record<string, number>;
}

/**
 * The registered partners' ids. The registry is moving to the Control object; this is the one
 * place that knows where it lives.
 */
export function registeredPartnerIds(env: Env): string[] {
  const ids = new Set<string>();
  for (const { partner } of partnerRegistry(env.PARTNERS).entries()) ids.add(partner.partner_id);
  return [...ids].sort();
}

/** A registered partner's home PartnerState (security events live there), in its jurisdiction (durable-objects/jurisdiction.ts). */
export function partnerStateOf(env: Env, partnerId: string): PartnerStub {
  return partnerStateHome(env, jurisdictionOf(env, partnerId), partnerId);
}

/** Every PartnerState shard of a registered partner (partner-shards.ts): the per-payment views read them all. */
export function partnerStateShardsOf(env: Env, partnerId: string): Array<{ shard: number; stub: PartnerStub }> {
  return allPartnerStateShards(env, jurisdictionOf(env, partnerId), partnerId);
}

function jurisdictionOf(env: Env, partnerId: string): string {
  const profile = partnerRegistry(env.PARTNERS).byId(partnerId);
  if (profile === undefined) throw new Error(`no registered partner ${partnerId}`);
  return profile.jurisdiction;
}

export async function securityEventsView(env: Env) {
  const allIds = registeredPartnerIds(env);
  const partnerIds = allIds.slice(0, securityEventPartnersMax);
  const answers = await mapBounded(partnerIds, partnersConcurrencyMax, async (partnerId) => {
    const stub = partnerStateOf(env, partnerId);
    try {
      const [events, counts] = await Promise.all([stub.listSecurityEvents({ limit: securityEventsShownMax }), stub.securityEventCounts()]);
      return { partner: { partner_id: partnerId, status: 'ok', counts: { ...counts } } satisfies PartnerSecurityView, events: events.map((event: SecurityEvent) => ({ partner_id: partnerId, ...event })) };
    } catch (cause) {
      return { partner: { partner_id: partnerId, status: 'unreachable', error: errorText(cause), counts: {} } satisfies PartnerSecurityView, events: [] };
    }
  });
  const events = answers
    .flatMap((answer) => answer.events)
    .sort((a, b) => (a.at === b.at ? (a.partner_id === b.partner_id ? b.id - a.id : a.partner_id < b.partner_id ? -1 : 1) : a.at < b.at ? 1 : -1))
    .slice(0, securityEventsShownMax);
  return {
    events,
    partners: answers.map((answer) => answer.partner),
    partners_truncated: allIds.length > partnerIds.length,
    limits: { events_shown_max: securityEventsShownMax, partners_max: securityEventPartnersMax },
  };
}
