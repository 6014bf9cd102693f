/**
 * The query of the per-partner evidence views (policy decisions, screening results):
 * `partner_id` (required, registered), `from` / `to` (RFC 3339, [from, to)), `limit`, `after_id`.
 * A bad query is `400 invalid-request` naming the parameter; an unknown partner is `404 not-found`.
 */
import { ProblemError } from '../../../core/problem.ts';
import { err, ok, type Result } from '../../../core/result.ts';
import { isRfc3339DateTime } from '../../../core/rfc3339.ts';

/** Records on one page when `limit` is not given. */
export const partnerRangePageDefault = 100;

export type PartnerRangeQueryError = { kind: 'invalid-parameter'; parameter: string; detail: string } | { kind: 'unknown-partner'; partnerId: string };
export type PartnerRangeQuery = { partnerId: string; fromMs: number; toMs: number; limit: number; afterId: number };

export function partnerRangeQuery(params: Record<string, string>, partnerIds: readonly string[], pageMax: number): Result<PartnerRangeQuery, PartnerRangeQueryError> {
  const partnerId = params.partner_id;
  if (partnerId === undefined || partnerId === '') return err({ kind: 'invalid-parameter', parameter: 'partner_id', detail: 'is required' });
  if (!partnerIds.includes(partnerId)) return err({ kind: 'unknown-partner', partnerId });
  const fromMs = params.from === undefined ? 0 : timeOf(params.from);
  if (fromMs === undefined) return err({ kind: 'invalid-parameter', parameter: 'from', detail: 'must be an RFC 3339 date-time' });
  const toMs = params.to === undefined ? Date.now() + 1 : timeOf(params.to);
  if (toMs === undefined) return err({ kind: 'invalid-parameter', parameter: 'to', detail: 'must be an RFC 3339 date-time' });
  if (toMs <= fromMs) return err({ kind: 'invalid-parameter', parameter: 'to', detail: 'must be after from' });
  const limit = params.limit === undefined ? partnerRangePageDefault : wholeNumber(params.limit);
  if (limit === undefined || limit < 1 || limit > pageMax) return err({ kind: 'invalid-parameter', parameter: 'limit', detail: `must be 1..${pageMax}` });
  const afterId = params.after_id === undefined ? 0 : wholeNumber(params.after_id);
  if (afterId === undefined) return err({ kind: 'invalid-parameter', parameter: 'after_id', detail: 'must be a whole number' });
  return ok({ partnerId, fromMs, toMs, limit, afterId });
}

export function partnerRangeQueryProblem(reason: PartnerRangeQueryError): ProblemError {
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
