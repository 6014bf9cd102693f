/**
 * GET /ops/api/holds: payments that sanctions screening held and that still read `held`, across
 * partners, newest first, each with its partner, corridor, amount, the parties' names and its
 * screening result (matched entry and alias, score, algorithm, threshold, list version, provider;
 * or the provider failure). What an operator decides a `hold-decision` on.
 *
 * Each shard of each partner (partner-shards.ts) is asked for its newest `holdsShownMax`, which contain every hold of the merged
 * newest `holdsShownMax`, so the merge is exact. A partner whose object does not answer is listed
 * `unreachable`; the others still answer.
 */
import type { Env } from '../../env.ts';
import { holdsListMax } from '../../../durable-objects/partner-state/holds.ts';
import { errorText, mapBounded } from './bounded-work.ts';
import { partnerStateOf, partnerStateShardsOf, registeredPartnerIds, securityEventPartnersMax } from './security-events-view.ts';

/** Holds in the merged list (and asked of each partner). */
export const holdsShownMax = Math.min(200, holdsListMax);
const partnersConcurrencyMax = 16;

type HeldPayment = Awaited<ReturnType<ReturnType<typeof partnerStateOf>['listHolds']>>[number];

export async function holdsView(env: Env) {
  const allIds = registeredPartnerIds(env);
  const partnerIds = allIds.slice(0, securityEventPartnersMax);
  const answers = await mapBounded(partnerIds, partnersConcurrencyMax, async (partnerId) => {
    try {
      // Each shard's newest holdsShownMax contain the partner's newest holdsShownMax, as each partner's do for the merge below.
      const shards = await Promise.all(partnerStateShardsOf(env, partnerId).map(({ stub }) => stub.listHolds(holdsShownMax) as Promise<HeldPayment[]>));
      const holds = shards.flat();
      return { partner: { partner_id: partnerId, status: 'ok' as const, held: holds.length }, holds: holds.map((hold) => ({ partner_id: partnerId, ...hold })) };
    } catch (cause) {
      return { partner: { partner_id: partnerId, status: 'unreachable' as const, error: errorText(cause) }, holds: [] };
    }
  });
  const holds = answers
    .flatMap((answer) => answer.holds)
    .sort((a, b) => (a.held_at === b.held_at ? (a.partner_id + a.uetr < b.partner_id + b.uetr ? -1 : 1) : a.held_at < b.held_at ? 1 : -1))
    .slice(0, holdsShownMax);
  return {
    holds,
    partners: answers.map((answer) => answer.partner),
    partners_truncated: allIds.length > partnerIds.length,
    limits: { holds_shown_max: holdsShownMax, partners_max: securityEventPartnersMax },
  };
}
