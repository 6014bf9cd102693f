/**
 * GET /ops/api/screening-results?partner_id=&from=&to=&limit=&after_id=: one partner's sanctions
 * screening results (durable-objects/partner-state/screening-results.ts), clear and held, oldest
 * first within [from, to) of screening time, paged by `after_id`. Each carries the provider, the
 * list version (digest, load time), the algorithm and the threshold: what the evidence export cites.
 *
 * The query and its refusals: partner-range-query.ts. The partner's records live in its
 * PartnerState shards; shard-pages.ts pages across them (oldest first within each shard).
 */
import type { Context } from 'hono';
import { screeningResultsPageMax } from '../../../durable-objects/partner-state/screening-results.ts';
import type { OpsApp } from '../ops-routes.ts';
import { partnerRangeQuery, partnerRangeQueryProblem } from './partner-range-query.ts';
import { partnerStateShardsOf, registeredPartnerIds } from './security-events-view.ts';
import { pageAcrossShards } from './shard-pages.ts';

export async function screeningResultsRoute(c: Context<OpsApp>): Promise<Response> {
  const query = partnerRangeQuery(c.req.query(), registeredPartnerIds(c.env), screeningResultsPageMax);
  if (!query.ok) throw partnerRangeQueryProblem(query.reason);
  const { partnerId, fromMs, toMs, limit, afterId } = query.value;
  const page = await pageAcrossShards(partnerStateShardsOf(c.env, partnerId), afterId, limit, async (stub, afterLocalId, shardLimit) => {
    const shardPage = await stub.listScreeningResults({ fromMs, toMs, limit: shardLimit, afterId: afterLocalId });
    return { records: shardPage.results, next_after_id: shardPage.next_after_id };
  }, (result) => result.screened_at);
  return c.json({
    generated_at: new Date().toISOString(),
    partner_id: partnerId,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    results: page.records,
    next_after_id: page.next_after_id,
    limits: { page_max: screeningResultsPageMax },
  });
}
