/**
 * GET /ops/api/instructions?from=&to=&cursor=: every payment accepted in [from, to) across the
 * registered partners, with the partner's instruction JWS (the non-repudiable commitment, kept in
 * PartnerState within the 30-day idempotency horizon), its SHA-256, the gateway's acceptance
 * receipt, status and batch; plus `partner_keys`, the partners' public profiles that verify the
 * JWSs. For the evidence export (cli/evidence/gateway-export.ts).
 *
 * Paged: one PartnerState shard of one partner per request (partner-shards.ts), at most instructionsPageRows rows;
 * `next_cursor` (opaque) continues where the page ended, null when every partner is done.
 * A bad query is `400 invalid-request` naming the parameter.
 *
 * Partner keys come from the PARTNERS seed; a key added later through an ops change is in
 * Control's directory and not listed here yet (the registry is moving to Control).
 */
import type { Context } from 'hono';
import { base64urlDecode, base64urlEncode, utf8 } from '../../../core/digest.ts';
import { ProblemError } from '../../../core/problem.ts';
import { err, ok, type Result } from '../../../core/result.ts';
import { isRfc3339DateTime } from '../../../core/rfc3339.ts';
import { partnerRegistry } from '../../config/partners.ts';
import type { OpsApp } from '../ops-routes.ts';
import { partnerStateShardsMax } from '../../../durable-objects/partner-state/partner-shards.ts';
import { partnerStateShardsOf, registeredPartnerIds } from './security-events-view.ts';

export const instructionsPageRows = 200;
const cursorCharsMax = 512;

interface Cursor {
  /** Index into the sorted partner ids. */
  partner: number;
  /** Index into that partner's PartnerState shards (absent: the first). */
  shard?: number;
  afterMs?: number;
  afterUetr?: string;
}

type QueryError = { kind: 'invalid-parameter'; parameter: string; detail: string };

function timeOf(text: string | undefined): number | undefined {
  return text !== undefined && isRfc3339DateTime(text) ? Date.parse(text) : undefined;
}

function instructionQuery(params: Record<string, string>): Result<{ fromMs: number; toMs: number; cursor: Cursor }, QueryError> {
  const fromMs = timeOf(params.from);
  if (fromMs === undefined) return err({ kind: 'invalid-parameter', parameter: 'from', detail: 'must be an RFC 3339 date-time' });
  const toMs = timeOf(params.to);
  if (toMs === undefined) return err({ kind: 'invalid-parameter', parameter: 'to', detail: 'must be an RFC 3339 date-time' });
  if (toMs <= fromMs) return err({ kind: 'invalid-parameter', parameter: 'to', detail: 'must be after from' });
  if (params.cursor === undefined) return ok({ fromMs, toMs, cursor: { partner: 0 } });
  try {
    if (params.cursor.length > cursorCharsMax) throw new RangeError('too long');
    const cursor = JSON.parse(new TextDecoder().decode(base64urlDecode(params.cursor))) as Cursor;
    if (!Number.isSafeInteger(cursor.partner) || cursor.partner < 0) throw new RangeError('partner');
    if (cursor.shard !== undefined && (!Number.isSafeInteger(cursor.shard) || cursor.shard < 0 || cursor.shard >= partnerStateShardsMax)) throw new RangeError('shard');
    if (cursor.afterMs !== undefined && (!Number.isSafeInteger(cursor.afterMs) || typeof cursor.afterUetr !== 'string')) throw new RangeError('after');
    return ok({ fromMs, toMs, cursor });
  } catch {
    return err({ kind: 'invalid-parameter', parameter: 'cursor', detail: 'is not a cursor this view issued' });
  }
}

function queryProblem(reason: QueryError): ProblemError {
  switch (reason.kind) {
    case 'invalid-parameter':
      return new ProblemError('invalid-request', `${reason.parameter} ${reason.detail}`, { parameter: reason.parameter });
  }
}

/** Partner by partner, and within a partner shard by shard; a full page continues after its last row. */
function nextCursor(cursor: Cursor, rows: ReadonlyArray<{ uetr: string; accepted_at: string }>, shardCount: number, partnerCount: number): Cursor | undefined {
  if (cursor.partner >= partnerCount) return undefined;
  const last = rows[rows.length - 1];
  const shard = cursor.shard ?? 0;
  if (rows.length === instructionsPageRows && last !== undefined) return { partner: cursor.partner, shard, afterMs: Date.parse(last.accepted_at), afterUetr: last.uetr };
  if (shard + 1 < shardCount) return { partner: cursor.partner, shard: shard + 1 };
  return cursor.partner + 1 < partnerCount ? { partner: cursor.partner + 1 } : undefined;
}

function encodeCursor(cursor: Cursor): string {
  return base64urlEncode(utf8(JSON.stringify(cursor)));
}

export async function instructionsRoute(c: Context<OpsApp>): Promise<Response> {
  const query = instructionQuery(c.req.query());
  if (!query.ok) throw queryProblem(query.reason);
  const { fromMs, toMs, cursor } = query.value;
  const partnerIds = registeredPartnerIds(c.env);
  const profiles = [...new Map([...partnerRegistry(c.env.PARTNERS).entries()].map(({ partner }) => [partner.partner_id, partner])).values()];
  const partnerId = partnerIds[cursor.partner];
  const shards = partnerId === undefined ? [] : partnerStateShardsOf(c.env, partnerId);
  const shard = shards[cursor.shard ?? 0];
  const rows =
    shard === undefined
      ? []
      : await shard.stub.listInstructions({ fromMs, toMs, limit: instructionsPageRows, ...(cursor.afterMs === undefined ? {} : { afterMs: cursor.afterMs, afterUetr: cursor.afterUetr }) });
  const next = nextCursor(cursor, rows, shards.length, partnerIds.length);
  return c.json({
    generated_at: new Date().toISOString(),
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    instructions: rows.map((row) => ({ partner_id: partnerId, ...row })),
    partner_keys: profiles.map((profile) => ({ partner_id: profile.partner_id, bic: profile.bic, keys: profile.keys })),
    next_cursor: next === undefined ? null : encodeCursor(next),
    limits: { page_rows: instructionsPageRows },
  });
}
