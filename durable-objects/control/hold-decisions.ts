/**
 * `hold-decision` changes (DESIGN.md "Sanctions screening", "Ops console and ops API"): an operator
 * proposes to release or reject a payment that screening held; a second operator approves; the
 * partner's PartnerState, which holds the payment, applies it (partner-state.ts `decideHold`).
 *
 *   proposal   `resolve`: the UETR must be held by exactly one partner (or by the named `partner_id`),
 *              and undecided; the stored proposal names the partner.
 *   approval   `lookup` (async, before the transaction) re-reads the hold; `apply` (inside the
 *              approval's transaction) checks it is still held and undecided, and for a release routes
 *              it afresh: the corridor must be open now (a paused or draining corridor refuses the
 *              approval `409 corridor-closed`, and the change stays proposed until it is reopened),
 *              and the shard is chosen from the corridor's configuration now. The decision row is
 *              written in that transaction; its unique (partner_id, uetr) makes a second decision on
 *              one hold impossible, whatever races.
 *   effect     `propagatePending` pushes each unconfirmed decision to PartnerState (idempotent on the
 *              change id) and marks it confirmed with PartnerState's outcome; a failed push is retried
 *              from Control's alarm, like key revocations and residency exceptions. A release that
 *              crashed between the decision and the enqueue is finished by that retry, at the shard
 *              stored with the decision, never twice.
 *
 * Table (SQLite):
 *   hold_decisions(change_id PK, partner_id, uetr, decision, reason, decided_by, release JSON,
 *                  applied_at_ms, confirmed_at_ms, attempts, outcome JSON)     UNIQUE (partner_id, uetr)
 *                  release: {windowName, corridorConfig} of a release; outcome: PartnerState's answer
 */
import type { CorridorConfig } from '../../core/corridor-config.ts';
import type { ChangeProposal, ChangeRejection } from '../../core/ops-changes.ts';
import type { PolicyJurisdiction } from '../../core/policy-request.ts';
import { err, ok, type Result } from '../../core/result.ts';
import type { DurableObjectsEnv } from '../env.ts';
import type { HeldPayment, HoldDecisionInput, HoldDecisionOutcome } from '../partner-state/partner-state.ts';
import { corridorRoute } from './corridor-route.ts';
import { pushToPaymentShard } from './propagation.ts';

type HoldDecisionChange = Extract<ChangeProposal, { kind: 'hold-decision' }>;
type DecisionRow = {
  change_id: string; partner_id: string; uetr: string; decision: 'release' | 'reject'; reason: string; decided_by: string; release: string | null; attempts: number;
};

/** Partners asked at once when a proposal does not name the partner. */
const holdLookupConcurrency = 8;
/** Partners asked at most for one proposal; a larger directory must name `partner_id`. */
export const holdLookupPartnersMax = 1_000;
/** Decisions pushed per propagation run; the rest wait for the next alarm. */
export const holdPropagationBatchMax = 16;

/** The audit log's record of an applied hold decision. */
export interface HoldDecisionEffect extends Record<string, unknown> {
  partner_id: string;
  uetr: string;
  decision: 'release' | 'reject';
  corridor: string;
  /** The shard a release was routed to at approval; null for a rejection. */
  window_name: string | null;
}

export interface HoldDecisionsContext {
  partnerIds: () => string[];
  partnerJurisdiction: (partnerId: string) => PolicyJurisdiction | undefined;
  corridor: (id: string) => CorridorConfig | null;
  fxRateScale: () => number;
}

export class HoldDecisions {
  private readonly sql: SqlStorage;
  private readonly env: DurableObjectsEnv;
  private readonly context: HoldDecisionsContext;

  constructor(storage: DurableObjectStorage, env: DurableObjectsEnv, context: HoldDecisionsContext) {
    this.sql = storage.sql;
    this.env = env;
    this.context = context;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS hold_decisions (
      change_id TEXT PRIMARY KEY, partner_id TEXT NOT NULL, uetr TEXT NOT NULL, decision TEXT NOT NULL, reason TEXT NOT NULL, decided_by TEXT NOT NULL,
      release TEXT, applied_at_ms INTEGER NOT NULL, confirmed_at_ms INTEGER, attempts INTEGER NOT NULL DEFAULT 0, outcome TEXT, UNIQUE (partner_id, uetr))`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS hold_decisions_unconfirmed ON hold_decisions (applied_at_ms) WHERE confirmed_at_ms IS NULL`);
  }

  /** At proposal: the partner holding the UETR, written into the proposal; refused when none (or two) hold it. */
  async resolve(proposal: HoldDecisionChange): Promise<Result<HoldDecisionChange, ChangeRejection>> {
    if (proposal.partner_id !== undefined) {
      const held = await this.lookup(proposal);
      return held.ok ? ok(proposal) : held;
    }
    const partnerIds = this.context.partnerIds();
    if (partnerIds.length > holdLookupPartnersMax) return invalid(`more than ${holdLookupPartnersMax} partners: name the partner_id that holds ${proposal.uetr}`);
    const holders: string[] = [];
    const unreachable: string[] = [];
    for (let start = 0; start < partnerIds.length; start += holdLookupConcurrency) {
      await Promise.all(partnerIds.slice(start, start + holdLookupConcurrency).map(async (partnerId) => {
        const held = await this.heldBy(partnerId, proposal.uetr);
        if (held === 'unreachable') unreachable.push(partnerId);
        else if (held !== null && held.status === 'held' && held.decision === null) holders.push(partnerId);
      }));
    }
    if (holders.length > 1) return invalid(`payment ${proposal.uetr} is held by ${holders.sort().join(' and ')}: name the partner_id`);
    if (holders.length === 1) return ok({ ...proposal, partner_id: holders[0]! });
    if (unreachable.length > 0) return unavailable(`the state of ${unreachable.sort().join(', ')} did not answer, so ${proposal.uetr} may be held there: retry, or name the partner_id`);
    return invalid(`no partner holds a payment ${proposal.uetr} awaiting a decision`);
  }

  /** The hold of the named partner, undecided; at approval it is read again, just before the transaction. */
  async lookup(proposal: HoldDecisionChange): Promise<Result<HeldPayment, ChangeRejection>> {
    const partnerId = proposal.partner_id;
    if (partnerId === undefined || this.context.partnerJurisdiction(partnerId) === undefined) return invalid(`no partner ${partnerId ?? '(none named)'}`);
    const held = await this.heldBy(partnerId, proposal.uetr);
    if (held === 'unreachable') return unavailable(`the state of partner ${partnerId} did not answer: nothing changed, retry`);
    if (held === null) return invalid(`partner ${partnerId} holds no payment ${proposal.uetr}`);
    if (held.decision !== null) return invalid(`payment ${proposal.uetr} of ${partnerId} was already decided (${held.decision.decision}) by change ${held.decision.change_id}`);
    if (held.status !== 'held') return invalid(`payment ${proposal.uetr} of ${partnerId} is ${held.status}, not held`);
    return ok(held);
  }

  /** The effect, inside the approval's transaction (ChangeStore.decide). `held`: what `lookup` read just before. */
  apply(changeId: string, proposal: HoldDecisionChange, approver: string, held: HeldPayment, nowMs: number): Result<HoldDecisionEffect, ChangeRejection> {
    const partnerId = proposal.partner_id!;
    const earlier = this.sql.exec<{ change_id: string }>(`SELECT change_id FROM hold_decisions WHERE partner_id = ? AND uetr = ?`, partnerId, proposal.uetr).toArray()[0];
    if (earlier !== undefined) return invalid(`payment ${proposal.uetr} of ${partnerId} was already decided by change ${earlier.change_id}`);
    let release: HoldDecisionInput['release'];
    if (proposal.decision === 'release') {
      const routed = this.releaseRoute(partnerId, held);
      if (!routed.ok) return routed;
      release = routed.value;
    }
    this.sql.exec(
      `INSERT INTO hold_decisions (change_id, partner_id, uetr, decision, reason, decided_by, release, applied_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      changeId, partnerId, proposal.uetr, proposal.decision, proposal.reason, approver, release === undefined ? null : JSON.stringify(release), nowMs,
    );
    return ok({ partner_id: partnerId, uetr: proposal.uetr, decision: proposal.decision, corridor: held.corridor, window_name: release?.windowName ?? null });
  }

  /** Pushes up to `holdPropagationBatchMax` unconfirmed decisions to PartnerState. Returns how many are still pending. */
  async propagatePending(): Promise<number> {
    const pending = this.sql
      .exec<DecisionRow>(`SELECT * FROM hold_decisions WHERE confirmed_at_ms IS NULL ORDER BY applied_at_ms LIMIT ?`, holdPropagationBatchMax)
      .toArray();
    for (const row of pending) await this.push(row);
    return this.sql.exec<{ count: number }>(`SELECT count(*) AS count FROM hold_decisions WHERE confirmed_at_ms IS NULL`).one().count;
  }

  private releaseRoute(partnerId: string, held: HeldPayment): Result<NonNullable<HoldDecisionInput['release']>, ChangeRejection> {
    const corridor = this.context.corridor(held.corridor);
    const jurisdiction = this.context.partnerJurisdiction(partnerId)!;
    if (corridor === null) return invalid(`corridor ${held.corridor} no longer exists: the payment can only be rejected`);
    if (corridor.state !== 'open') {
      return err({ kind: 'corridor-closed', detail: `corridor ${held.corridor} is ${corridor.state}: a released payment enters the corridor's next window, so reopen the corridor first, then approve this release again (it stays proposed)` });
    }
    if (!corridor.jurisdictions.includes(jurisdiction)) return invalid(`corridor ${held.corridor} no longer serves jurisdiction ${jurisdiction}: the payment can only be rejected`);
    const route = corridorRoute(corridor, jurisdiction, held.uetr, this.context.fxRateScale());
    return ok({ windowName: route.windowName, corridorConfig: route.corridor });
  }

  private async heldBy(partnerId: string, uetr: string): Promise<HeldPayment | null | 'unreachable'> {
    const jurisdiction = this.context.partnerJurisdiction(partnerId);
    if (jurisdiction === undefined) return null;
    let held: HeldPayment | null = null;
    const asked = await pushToPaymentShard(this.env, partnerId, jurisdiction, uetr, 'heldPayment', async (partnerState) => {
      held = await partnerState.heldPayment(uetr);
    });
    return asked.ok ? held : 'unreachable';
  }

  private async push(row: DecisionRow): Promise<void> {
    const input: HoldDecisionInput = {
      change_id: row.change_id, uetr: row.uetr, decision: row.decision, reason: row.reason, decided_by: row.decided_by,
      ...(row.release === null ? {} : { release: JSON.parse(row.release) as NonNullable<HoldDecisionInput['release']> }),
    };
    let outcome: HoldDecisionOutcome | undefined;
    const pushed = await pushToPaymentShard(this.env, row.partner_id, this.context.partnerJurisdiction(row.partner_id), row.uetr, 'decideHold', async (partnerState) => {
      outcome = await partnerState.decideHold(input);
    });
    if (pushed.ok && outcome !== undefined) {
      this.sql.exec(`UPDATE hold_decisions SET confirmed_at_ms = ?, outcome = ? WHERE change_id = ?`, Date.now(), JSON.stringify(outcome), row.change_id);
      if (outcome.kind !== 'released' && outcome.kind !== 'rejected') {
        console.error(JSON.stringify({ event: 'hold-decision-not-applied', partner_id: row.partner_id, uetr: row.uetr, change_id: row.change_id, outcome }));
      }
      return;
    }
    const attempts = pushed.ok ? 1 : pushed.reason.attempts;
    this.sql.exec(`UPDATE hold_decisions SET attempts = attempts + ? WHERE change_id = ?`, attempts, row.change_id);
    console.error(JSON.stringify({
      event: 'hold-decision-propagation-failed', partner_id: row.partner_id, change_id: row.change_id, attempts: row.attempts + attempts,
      error: pushed.ok ? 'no outcome' : pushed.reason.error.slice(0, 500),
    }));
  }
}

function invalid(detail: string): { ok: false; reason: ChangeRejection } {
  return err({ kind: 'invalid-change', detail });
}

function unavailable(detail: string): { ok: false; reason: ChangeRejection } {
  return err({ kind: 'dependency-unavailable', detail });
}
