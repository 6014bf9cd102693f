/**
 * GET /ops/api/policy-decisions?partner_id=&from=&to=&limit=&after_id=: one partner's Cedar
 * decision records (durable-objects/partner-state/policy-decisions.ts), oldest first within
 * [from, to), paged by `after_id` (the answer's `next_after_id`). For operators and the evidence
 * export: who submitted what, allow or deny, which policies determined it, under which policy set.
 *
 * The query and its refusals: partner-range-query.ts. The partner's records live in its
 * PartnerState shards; shard-pages.ts pages across them (oldest first within each shard).
 */
import type { Context } from 'hono';
import { policyDecisionsPageMax } from '../../../durable-objects/partner-state/policy-decisions.ts';
import type { OpsApp } from '../ops-routes.ts';
import { partnerRangeQuery, partnerRangeQueryProblem } from './partner-range-query.ts';
import { partnerStateShardsOf, registeredPartnerIds } from './security-events-view.ts';
import { pageAcrossShards } from './shard-pages.ts';

export async function policyDecisionsRoute(c: Context<OpsApp>): Promise<Response> {
  const query = partnerRangeQuery(c.req.query(), registeredPartnerIds(c.env), policyDecisionsPageMax);
  if (!query.ok) throw partnerRangeQueryProblem(query.reason);
  const { partnerId, fromMs, toMs, limit, afterId } = query.value;
  const page = await pageAcrossShards(partnerStateShardsOf(c.env, partnerId), afterId, limit, async (stub, afterLocalId, shardLimit) => {
    const shardPage = await stub.listPolicyDecisions({ fromMs, toMs, limit: shardLimit, afterId: afterLocalId });
    return { records: shardPage.decisions, next_after_id: shardPage.next_after_id };
  }, (decision) => decision.at);
  return c.json({
    generated_at: new Date().toISOString(),
    partner_id: partnerId,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    decisions: page.records,
    next_after_id: page.next_after_id,
    limits: { page_max: policyDecisionsPageMax },
  });
}
