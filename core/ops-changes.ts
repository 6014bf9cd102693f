/**
 * Ops changes under two-person control (DESIGN.md "Ops console and ops API"): what an operator may
 * propose, and the hash-chained audit entry every step of a change writes. Pure: the Worker
 * validates the request body with it, and the Control Durable Object validates again before storing.
 */
import { z } from 'zod';
import { canonicalJson } from './canonical-json.ts';
import { sha256Hex } from './digest.ts';
import { formatIssues } from './zod-issues.ts';
import { err, ok, type Result } from './result.ts';

export const changeReasonCharsMax = 1_000;
/** A proposal nobody approved within this period expires (`409 change-expired`). */
export const proposalTtlMs = 24 * 60 * 60 * 1000;
export const changeBodyBytesMax = 16 * 1024;
/** A residency exception lives at most this long from its proposal; a longer need is a new decision. */
export const residencyExceptionDurationMaxMs = 90 * 24 * 60 * 60 * 1000;
export const residencyExceptionOwnerCharsMax = 200;
/** The first entry's `prev_hash`. */
export const auditGenesisHash = '0'.repeat(64);

const reason = z.string().trim().min(3).max(changeReasonCharsMax);
const partnerId = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/);

const corridorStateChange = z.strictObject({
  kind: z.literal('corridor-state'),
  corridor: z.string().regex(/^[A-Z]{3}-[A-Z]{3}$/),
  state: z.enum(['open', 'paused', 'draining']),
  reason,
});

const partnerKeyAdd = z.strictObject({
  kind: z.literal('partner-key'),
  partner_id: partnerId,
  action: z.literal('add'),
  /** The key as a partner profile lists it (core/partner-profile.ts validates it against the profile schema). */
  key: z.record(z.string(), z.unknown()),
  reason,
});

const partnerKeyRevoke = z.strictObject({
  kind: z.literal('partner-key'),
  partner_id: partnerId,
  action: z.literal('revoke'),
  keyid: z.string().min(1).max(128),
  reason,
});

const residencyException = z.strictObject({
  kind: z.literal('residency-exception'),
  partner_id: partnerId,
  debtor_country: z.string().regex(/^[A-Z]{2}$/),
  owner: z.string().trim().min(3).max(residencyExceptionOwnerCharsMax),
  reason,
  expires_at: z.iso.datetime({ offset: true }),
});

/**
 * `partner_id` is optional: a payment's identity is (partner, UETR), and gpi chains reuse one UETR
 * at every hop, so two partners can hold the same UETR. Without it Control finds the one partner
 * holding the UETR (and refuses when two do, asking for it); the stored proposal always names it.
 */
const holdDecision = z.strictObject({
  kind: z.literal('hold-decision'),
  uetr: z.uuid(),
  partner_id: partnerId.optional(),
  decision: z.enum(['release', 'reject']),
  reason,
});

export const changeProposalSchema = z.union([corridorStateChange, partnerKeyAdd, partnerKeyRevoke, residencyException, holdDecision]);
export type ChangeProposal = z.infer<typeof changeProposalSchema>;
export type ChangeKind = ChangeProposal['kind'];

/** Kinds whose effect exists in this version. */
export const enabledChangeKinds: readonly ChangeKind[] = ['corridor-state', 'partner-key', 'residency-exception', 'hold-decision'];

export type ChangeStatus = 'proposed' | 'applied' | 'rejected' | 'expired';

export interface ChangeView {
  id: string;
  kind: ChangeKind;
  status: ChangeStatus;
  proposal: ChangeProposal;
  proposed_by: string;
  proposed_at: string;
  expires_at: string;
  decided_by: string | null;
  decided_at: string | null;
  /** Who approved it (DESIGN.md's `approved_by`), once applied. */
  approved_by?: string;
  effect: Record<string, unknown> | null;
}

export type ChangeRejection =
  | { kind: 'invalid-change'; detail: string; issues?: string[] }
  | { kind: 'not-found'; detail: string }
  | { kind: 'four-eyes-required'; detail: string }
  | { kind: 'change-expired'; detail: string }
  | { kind: 'change-not-pending'; detail: string }
  /** A release into a corridor that is not open: reopen it, then approve again (the change stays proposed). */
  | { kind: 'corridor-closed'; detail: string }
  /** A Durable Object the change depends on did not answer (a hold's PartnerState): nothing changed, retry. */
  | { kind: 'dependency-unavailable'; detail: string };

/** Each kind's own schema, so a refusal names the field that is wrong, not just "invalid input" of the union. */
const proposalSchemaByKind: Readonly<Record<ChangeKind, z.ZodType<ChangeProposal>>> = {
  'corridor-state': corridorStateChange,
  'partner-key': z.union([partnerKeyAdd, partnerKeyRevoke]),
  'residency-exception': residencyException,
  'hold-decision': holdDecision,
};

function proposalSchemaFor(input: unknown): z.ZodType<ChangeProposal> {
  const kind = typeof input === 'object' && input !== null && 'kind' in input ? input.kind : undefined;
  return typeof kind === 'string' && Object.hasOwn(proposalSchemaByKind, kind) ? proposalSchemaByKind[kind as ChangeKind] : changeProposalSchema;
}

export function parseChangeProposal(input: unknown): Result<ChangeProposal, ChangeRejection> {
  const parsed = proposalSchemaFor(input).safeParse(input);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error.issues);
    return err({ kind: 'invalid-change', detail: issues.join('; '), issues });
  }
  if (!enabledChangeKinds.includes(parsed.data.kind)) {
    return err({ kind: 'invalid-change', detail: `changes of kind ${parsed.data.kind} are not enabled in this version` });
  }
  return ok(parsed.data);
}

/** `lapsed`: a granted residency exception reached its `expires_at` (written by Control's alarm, actor `system`). */
export type AuditAction = 'proposed' | 'approved' | 'rejected' | 'expired' | 'applied' | 'lapsed';

/** One audit entry as served by `GET /ops/api/audit`. */
export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: AuditAction;
  change_id: string;
  kind: ChangeKind;
  detail: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

/** `hash` = hex SHA-256(prev_hash + "\n" + RFC 8785 canonical JSON of the entry without `hash`). */
export function auditEntryHash(entry: Omit<AuditEntry, 'hash'>): string {
  return sha256Hex(`${entry.prev_hash}\n${canonicalJson(entry)}`);
}

export type AuditChainProblem = { kind: 'audit-chain-broken'; seq: number; detail: string };

/** Recomputes a chain from the outside: sequence, links and every hash. */
export function verifyAuditChain(entries: readonly AuditEntry[]): Result<{ entries: number; head: string }, AuditChainProblem> {
  let previous = auditGenesisHash;
  for (const [index, entry] of entries.entries()) {
    const { hash, ...unhashed } = entry;
    if (entry.seq !== index + 1) return err({ kind: 'audit-chain-broken', seq: entry.seq, detail: `entry ${index} has seq ${entry.seq}, expected ${index + 1}` });
    if (entry.prev_hash !== previous) return err({ kind: 'audit-chain-broken', seq: entry.seq, detail: `prev_hash ${entry.prev_hash} is not the previous entry's hash ${previous}` });
    const recomputed = auditEntryHash(unhashed);
    if (recomputed !== hash) return err({ kind: 'audit-chain-broken', seq: entry.seq, detail: `hash ${hash} recomputes to ${recomputed}` });
    previous = hash;
  }
  return ok({ entries: entries.length, head: previous });
}
