/**
 * GET /ops/api/policy-decisions?partner_id=&from=&to=&limit=&after_id=: one partner's Cedar
 * decision records (durable-objects/partner-state/policy-decisions.ts), oldest first within
 * [from, to), paged by `after_id` (the answer's `next_after_id`). For operators and the evidence
 * export: who submitted what, allow or deny, which policies determined it, under which policy set.
 *
 * A bad query is `400 invalid-request` naming the parameter; an unknown partner is `404 not-found`.
 */
import type { Context } from 'hono';
import { ProblemError } from '../../../core/problem.ts';
import { err, ok, type Result } from '../../../core/result.ts';
import { isRfc3339DateTime } from '../../../core/rfc3339.ts';
import { policyDecisionsPageMax } from '../../../durable-objects/partner-state/policy-decisions.ts';
import type { OpsApp } from '../ops-routes.ts';
import { partnerStateOf, registeredPartnerIds } from './security-events-view.ts';

/** Decisions on one page when `limit` is not given. */
export const policyDecisionsPageDefault = 100;

type QueryError = { kind: 'invalid-parameter'; parameter: string; detail: string } | { kind: 'unknown-partner'; partnerId: string };
type DecisionQuery = { partnerId: string; fromMs: number; toMs: number; limit: number; afterId: number };

export async function policyDecisionsRoute(c: Context<OpsApp>): Promise<Response> {
  const query = decisionQuery(c.req.query(), registeredPartnerIds(c.env));
  if (!query.ok) throw queryProblem(query.reason);
  const { partnerId, fromMs, toMs, limit, afterId } = query.value;
  const page = await partnerStateOf(c.env, partnerId).listPolicyDecisions({ fromMs, toMs, limit, afterId });
  return c.json({
    generated_at: new Date().toISOString(),
    partner_id: partnerId,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    decisions: page.decisions,
    next_after_id: page.next_after_id,
    limits: { page_max: policyDecisionsPageMax },
  });
}

function decisionQuery(params: Record<string, string>, partnerIds: readonly string[]): Result<DecisionQuery, QueryError> {
  const partnerId = params.partner_id;
  if (partnerId === undefined || partnerId === '') return err({ kind: 'invalid-parameter', parameter: 'partner_id', detail: 'is required' });
  if (!partnerIds.includes(partnerId)) return err({ kind: 'unknown-partner', partnerId });
  const fromMs = params.from === undefined ? 0 : timeOf(params.from);
  if (fromMs === undefined) return err({ kind: 'invalid-parameter', parameter: 'from', detail: 'must be an RFC 3339 date-time' });
  const toMs = params.to === undefined ? Date.now() + 1 : timeOf(params.to);
  if (toMs === undefined) return err({ kind: 'invalid-parameter', parameter: 'to', detail: 'must be an RFC 3339 date-time' });
  if (toMs <= fromMs) return err({ kind: 'invalid-parameter', parameter: 'to', detail: 'must be after from' });
  const limit = params.limit === undefined ? policyDecisionsPageDefault : wholeNumber(params.limit);
  if (limit === undefined || limit < 1 || limit > policyDecisionsPageMax) return err({ kind: 'invalid-parameter', parameter: 'limit', detail: `must be 1..${policyDecisionsPageMax}` });
  const afterId = params.after_id === undefined ? 0 : wholeNumber(params.after_id);
  if (afterId === undefined) return err({ kind: 'invalid-parameter', parameter: 'after_id', detail: 'must be a whole number' });
  return ok({ partnerId, fromMs, toMs, limit, afterId });
}

function queryProblem(reason: QueryError): ProblemError {
  switch (reason.kind) {
    case 'invalid-parameter':
      return new ProblemError('invalid-request', `${reason.parameter} ${reason.detail}`, { parameter: reason.parameter });
    case 'unknown-partner':
      return new ProblemError('not-found', `no partner ${reason.partnerId}`);
  }
}

function timeOf(text: string): number | undefined {
  return isRfc3339DateTime(text) ? Date.parse(text) : undefined;
}

function wholeNumber(text: string): number | undefined {
  return /^[0-9]{1,15}$/.test(text) ? Number(text) : undefined;
}
