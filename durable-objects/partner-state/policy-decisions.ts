/**
 * A partner's policy decision records (DESIGN.md "Policies, residency and limits": every admitted or
 * refused payment records the decision and the ids of the policies that determined it). One row per
 * payment that reached the Cedar stage: the allow is written inside `admit`, in the same call that
 * writes the pending payment row (never twice: a retry of a pending admission or a repeat answered
 * by `priorAnswer` writes nothing); a refusal is written by `recordPolicyDecision`.
 *
 * Table:
 *   policy_decisions(id PK autoincrement, at_ms, partner_id, uetr, instruction_sha256, decision, slug,
 *                    policy_ids JSON, facts JSON, policy_set_digest)      index on at_ms
 *
 * Retention: `policyDecisionRetentionMs` (the sweep alarm deletes older rows in batches), and never
 * more than `policyDecisionsMax` rows per partner (the oldest go first), so a partner flooding
 * refusals cannot grow its object without bound. The evidence export reads them within that time.
 */
import type { JsonValue } from './partner-state.ts';
import { capEvidenceRows, pruneEvidenceRows } from './evidence-rows.ts';

/** How long a decision record stays: beyond the idempotency horizon, for the evidence export. */
export const policyDecisionRetentionMs = 90 * 24 * 60 * 60 * 1000;
/** Rows kept per partner; beyond it the oldest are deleted on insert (checked every evidenceRowCapCheckEveryRows inserts, evidence-rows.ts). */
export const policyDecisionsMax = 200_000;
export const policyDecisionsPageMax = 500;
const policyIdsMax = 32;
const policyDecisionFactsBytesMax = 4_096;
const slugCharsMax = 64;

export interface PolicyDecisionInput {
  partner_id: string;
  uetr: string;
  instruction_sha256: string;
  decision: 'allow' | 'deny';
  /** The `@id`s of the policies that determined it (sorted); empty when Cedar itself failed. */
  determining_policy_ids: string[];
  /** The wire slug of a refusal; null for an admission. */
  slug: string | null;
  /** The facts Cedar decided on (small, flat JSON, ≤ 4 KiB). */
  facts: Record<string, JsonValue>;
  /** Hex SHA-256 of the policy set and schema the decision ran under. */
  policy_set_digest: string;
}

export interface PolicyDecision extends PolicyDecisionInput {
  id: number;
  at: string;
}

export interface PolicyDecisionPage {
  decisions: PolicyDecision[];
  /** Pass as `afterId` for the next page; null when this page is the last. */
  next_after_id: number | null;
}

export interface PolicyDecisionQuery {
  fromMs?: number;
  toMs?: number;
  limit?: number;
  afterId?: number;
}

type PolicyDecisionRow = {
  id: number; at_ms: number; partner_id: string; uetr: string; instruction_sha256: string; decision: string; slug: string | null; policy_ids: string; facts: string; policy_set_digest: string;
};

export function createPolicyDecisionsTable(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS policy_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, partner_id TEXT NOT NULL, uetr TEXT NOT NULL, instruction_sha256 TEXT NOT NULL, decision TEXT NOT NULL,
    slug TEXT, policy_ids TEXT NOT NULL, facts TEXT NOT NULL, policy_set_digest TEXT NOT NULL)`);
  sql.exec(`CREATE INDEX IF NOT EXISTS policy_decisions_by_time ON policy_decisions (at_ms)`);
}

/** Programmer error in the edge: thrown, never stored half-formed. */
function assertPolicyDecisionInput(input: PolicyDecisionInput): void {
  if (input.decision !== 'allow' && input.decision !== 'deny') throw new Error(`policy decision: decision must be allow or deny, got ${String(input.decision)}`);
  if ((input.decision === 'allow') !== (input.slug === null)) throw new Error('policy decision: a refusal carries its slug and an admission none');
  if (input.slug !== null && (typeof input.slug !== 'string' || input.slug.length > slugCharsMax)) throw new Error('policy decision: bad slug');
  if (!Array.isArray(input.determining_policy_ids) || input.determining_policy_ids.length > policyIdsMax) throw new Error(`policy decision: 0..${policyIdsMax} policy ids`);
  if (!/^[0-9a-f]{64}$/.test(input.policy_set_digest) || !/^[0-9a-f]{64}$/.test(input.instruction_sha256)) throw new Error('policy decision: digests are hex SHA-256');
}

export function insertPolicyDecision(sql: SqlStorage, input: PolicyDecisionInput, nowMs: number): number {
  assertPolicyDecisionInput(input);
  let facts = JSON.stringify(input.facts);
  if (facts.length > policyDecisionFactsBytesMax) facts = JSON.stringify({ truncated: true, prefix: facts.slice(0, policyDecisionFactsBytesMax - 64) });
  const id = sql
    .exec<{ id: number }>(
      `INSERT INTO policy_decisions (at_ms, partner_id, uetr, instruction_sha256, decision, slug, policy_ids, facts, policy_set_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      nowMs, input.partner_id, input.uetr, input.instruction_sha256, input.decision, input.slug, JSON.stringify(input.determining_policy_ids), facts, input.policy_set_digest,
    )
    .one().id;
  capEvidenceRows(sql, 'policy_decisions', id, policyDecisionsMax);
  return id;
}

/** Oldest first within [fromMs, toMs), paged by id. */
export function selectPolicyDecisions(sql: SqlStorage, query: PolicyDecisionQuery): PolicyDecisionPage {
  const limit = Math.max(1, Math.min(Math.trunc(query.limit ?? 100), policyDecisionsPageMax));
  const rows = sql
    .exec<PolicyDecisionRow>(
      `SELECT id, at_ms, partner_id, uetr, instruction_sha256, decision, slug, policy_ids, facts, policy_set_digest FROM policy_decisions
       WHERE at_ms >= ? AND at_ms < ? AND id > ? ORDER BY id LIMIT ?`,
      query.fromMs ?? 0, query.toMs ?? Number.MAX_SAFE_INTEGER, query.afterId ?? 0, limit + 1,
    )
    .toArray();
  const page = rows.slice(0, limit).map(fromRow);
  return { decisions: page, next_after_id: rows.length > limit ? (page.at(-1)?.id ?? null) : null };
}

/** Deletes up to `batchRowsMax` records older than the retention; returns how many. */
export function pruneOldPolicyDecisions(sql: SqlStorage, nowMs: number, batchRowsMax: number): number {
  return pruneEvidenceRows(sql, 'policy_decisions', nowMs - policyDecisionRetentionMs, batchRowsMax);
}

function fromRow(row: PolicyDecisionRow): PolicyDecision {
  return {
    id: row.id,
    at: new Date(row.at_ms).toISOString(),
    partner_id: row.partner_id,
    uetr: row.uetr,
    instruction_sha256: row.instruction_sha256,
    decision: row.decision as 'allow' | 'deny',
    determining_policy_ids: JSON.parse(row.policy_ids) as string[],
    slug: row.slug,
    facts: JSON.parse(row.facts) as Record<string, JsonValue>,
    policy_set_digest: row.policy_set_digest,
  };
}
