/**
 * Control: one Durable Object (name "control") holding the corridor configuration and each
 * corridor's live state (open / paused / draining), the partner directory, the residency
 * exceptions (residency-exceptions.ts), the decisions on held payments (hold-decisions.ts), and the ops changes
 * under two-person control with their hash-chained audit log (change-store.ts). Routing reads the
 * configuration from here (cached briefly per isolate); operators change it only through a change
 * one operator proposes and a different one approves (`proposeChange` / `decideChange`).
 * `setCorridorState` is the effect itself: it is reachable by RPC from the Worker's own code only
 * (tests, and the change machinery), never over HTTP.
 *
 * Storage (SQLite):
 *   control_meta(key PK, value)                 'seed_sha256': the CORRIDORS text last seeded; 'fx_rate_scale'
 *   corridors(id PK, config, state, state_changed_at_ms)
 *                                               config: the corridor's JSON without `state`
 *   corridor_state_changes(seq PK, corridor, from_state, to_state, actor, reason, changed_at_ms)
 *                                               append-only history of state changes
 *
 * Seeding (on every start, cheap when the seed is unchanged): the CORRIDORS binding (dev/corridors.json)
 * is the source of a corridor's static configuration, so a new deployment's values replace the
 * stored ones; a corridor's state is Control's own and is taken from the seed only when the
 * corridor is first seen. A corridor dropped from the seed is dropped here (routing stops taking
 * its payments; windows already open still close and settle, as they do not depend on Control).
 */
import { DurableObject } from 'cloudflare:workers';
import { sha256Hex } from '../../core/digest.ts';
import { parseChangeProposal, type AuditEntry, type ChangeProposal, type ChangeRejection, type ChangeStatus, type ChangeView } from '../../core/ops-changes.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { ChangeStore } from './change-store.ts';
import { PartnerDirectory } from './partner-directory.ts';
import { HoldDecisions } from './hold-decisions.ts';
import { ResidencyExceptions, type ResidencyExceptionView } from './residency-exceptions.ts';
import { corridorFile, corridorStateSchema, type CorridorConfig, type CorridorDirectory, type CorridorState } from '../../core/corridor-config.ts';
import type { DurableObjectsEnv as Env } from '../env.ts';
import type { HeldPayment } from '../partner-state/partner-state.ts';

export { controlObjectName } from '../env.ts';
export const stateChangeActorCharsMax = 200;
/** How soon an unconfirmed push (a key revocation, a residency exception, a hold decision) is made to PartnerState again. */
const propagationRetryMs = 5_000;
export const stateChangeReasonCharsMax = 1_000;

export interface CorridorStateChange {
  corridor: string;
  from: CorridorState;
  to: CorridorState;
  actor: string;
  reason: string;
  changed_at: string;
}

export type CorridorStateChangeRejection =
  | { kind: 'unknown-corridor'; detail: string }
  | { kind: 'invalid-state'; detail: string }
  | { kind: 'invalid-note'; detail: string };

type CorridorRow = { id: string; config: string; state: CorridorState };

export class Control extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly changes: ChangeStore;
  private readonly partners: PartnerDirectory;
  private readonly residencyExceptions: ResidencyExceptions;
  private readonly holdDecisions: HoldDecisions;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.changes = new ChangeStore(ctx.storage);
    this.partners = new PartnerDirectory(ctx.storage, env);
    this.residencyExceptions = new ResidencyExceptions(ctx.storage, env, (partnerId) => this.partners.jurisdictionOf(partnerId));
    this.holdDecisions = new HoldDecisions(ctx.storage, env, {
      partnerIds: () => this.partners.profiles().map((profile) => profile.partner_id),
      partnerJurisdiction: (partnerId) => this.partners.jurisdictionOf(partnerId),
      corridor: (id) => this.corridorSync(id),
      fxRateScale: () => Number(this.meta('fx_rate_scale')),
    });
    this.sql.exec(`CREATE TABLE IF NOT EXISTS control_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS corridors (id TEXT PRIMARY KEY, config TEXT NOT NULL, state TEXT NOT NULL, state_changed_at_ms INTEGER NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS corridor_state_changes (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, corridor TEXT NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL,
      actor TEXT NOT NULL, reason TEXT NOT NULL, changed_at_ms INTEGER NOT NULL)`);
    this.seedFrom(env.CORRIDORS);
  }

  /** Every corridor with its live state, in id order, plus the FX rate scale: what routing needs. */
  async corridorDirectory(): Promise<CorridorDirectory> {
    const corridors = this.sql.exec<CorridorRow>(`SELECT id, config, state FROM corridors ORDER BY id`).toArray().map(corridorOf);
    return { fx_rate_scale: Number(this.meta('fx_rate_scale')), corridors };
  }

  /** Every partner profile with its current keys (revoked ones left out): what the edge verifies against. */
  async partnerDirectory(): Promise<ReturnType<PartnerDirectory['profiles']>> {
    return this.partners.profiles();
  }

  async corridor(id: string): Promise<CorridorConfig | null> {
    return this.corridorSync(id);
  }

  private corridorSync(id: string): CorridorConfig | null {
    const row = this.sql.exec<CorridorRow>(`SELECT id, config, state FROM corridors WHERE id = ?`, id).toArray()[0];
    return row === undefined ? null : corridorOf(row);
  }

  /**
   * Opens, pauses or drains a corridor. Paused and draining both refuse new payments at the edge
   * (`409 corridor-closed`) within the routing cache's lifetime; windows already open close and
   * settle either way, because closing never consults this state. Draining says the corridor is
   * on its way out; paused says it will reopen. Values, not throws: the ops console maps them.
   */
  async setCorridorState(corridor: string, state: unknown, note: { actor: string; reason: string }): Promise<Result<CorridorStateChange, CorridorStateChangeRejection>> {
    return this.applyCorridorStateSync(corridor, state, note);
  }

  // -- Two-person changes (DESIGN.md "Ops console and ops API") --------------------------------

  /** One operator proposes; nothing takes effect until a different operator approves. */
  async proposeChange(input: unknown, proposer: string): Promise<Result<ChangeView, ChangeRejection>> {
    const parsed = parseChangeProposal(input);
    if (!parsed.ok) return parsed;
    // A hold decision names the partner holding the UETR, found in the partners' states (not a synchronous check).
    const proposal = parsed.value.kind === 'hold-decision' ? await this.holdDecisions.resolve(parsed.value) : parsed;
    if (!proposal.ok) return proposal;
    const checked = this.checkApplicable(proposal.value);
    if (!checked.ok) return checked;
    const view = this.changes.propose(proposal.value, proposer, Date.now());
    await this.armExpiryAlarm();
    return ok(view);
  }

  /** A second operator approves (the effect applies exactly once, in the same transaction) or either rejects. */
  async decideChange(id: string, actor: string, decision: 'approve' | 'reject', reason?: string): Promise<Result<ChangeView, ChangeRejection>> {
    const hold = decision === 'approve' ? await this.heldPaymentToDecide(id, actor) : undefined;
    if (hold !== undefined && !hold.ok) return hold;
    const decided = this.changes.decide(id, actor, decision, Date.now(), (proposal) => this.applyChange(id, proposal, actor, hold?.value), reason);
    if (decided.ok && decided.value.status === 'applied' && (['partner-key', 'residency-exception', 'hold-decision'] as const).includes(decided.value.kind as 'partner-key')) {
      // The change applied in this object; the partner's own state learns it before the operator is answered.
      await this.armExpiryAlarm(await this.propagatePending());
    }
    return decided;
  }

  async listChanges(status?: ChangeStatus): Promise<ChangeView[]> {
    return this.changes.list(status);
  }

  async auditEntries(afterSeq?: number, limit?: number): Promise<AuditEntry[]> {
    return this.changes.audit(afterSeq, limit);
  }

  /** Every residency exception, live ones first, with its time left (`GET /ops/api/residency-exceptions`). */
  async listResidencyExceptions(): Promise<{ now: string; exceptions: ResidencyExceptionView[] }> {
    const nowMs = Date.now();
    return { now: new Date(nowMs).toISOString(), exceptions: this.residencyExceptions.list(nowMs) };
  }

  override async alarm(): Promise<void> {
    const nowMs = Date.now();
    this.changes.expireDue(nowMs);
    this.recordLapses(nowMs);
    // Pushes PartnerState has not confirmed yet are made again (the directory already refuses a revoked
    // key; an unconfirmed exception leaves the edge refusing, which fails closed).
    await this.armExpiryAlarm(await this.propagatePending());
  }

  /** One `lapsed` audit entry per residency exception that reached its expiry (Cedar already refuses it). */
  private recordLapses(nowMs: number): void {
    for (const lapse of this.residencyExceptions.dueLapses(nowMs)) {
      const { change_id: changeId, ...detail } = lapse;
      this.changes.recordLapse(changeId, 'residency-exception', detail, nowMs, () => this.residencyExceptions.markLapseRecorded(changeId));
    }
  }

  /**
   * A pending `hold-decision` about to be approved by someone other than its proposer: its hold,
   * read from the partner's state now (the approval's transaction cannot wait on another object).
   * Anything else: undefined, and ChangeStore.decide answers as for every change.
   */
  private async heldPaymentToDecide(id: string, actor: string): Promise<Result<HeldPayment, ChangeRejection> | undefined> {
    const change = this.changes.view(id);
    if (change === undefined || change.status !== 'proposed' || change.proposed_by === actor || change.proposal.kind !== 'hold-decision') return undefined;
    if (Date.parse(change.expires_at) <= Date.now()) return undefined;
    return this.holdDecisions.lookup(change.proposal);
  }

  /** Whether any push is still unconfirmed after this attempt. */
  private async propagatePending(): Promise<boolean> {
    const revocations = await this.partners.propagatePending();
    const exceptions = await this.residencyExceptions.propagatePending();
    const holds = await this.holdDecisions.propagatePending();
    return revocations + exceptions + holds > 0;
  }

  private async armExpiryAlarm(retryPropagation = false): Promise<void> {
    const candidates = [
      this.changes.nextExpiryMs(), this.residencyExceptions.nextLapseMs(), retryPropagation ? Date.now() + propagationRetryMs : null,
    ].filter((at): at is number => at !== null);
    if (candidates.length === 0) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(Math.min(...candidates));
  }

  /** Refuses at proposal time what could never be applied (an unknown corridor, a key the partner lacks). */
  private checkApplicable(proposal: ChangeProposal): Result<null, ChangeRejection> {
    switch (proposal.kind) {
      case 'corridor-state': {
        const known = this.sql.exec(`SELECT id FROM corridors WHERE id = ?`, proposal.corridor).toArray().length > 0;
        return known ? ok(null) : err({ kind: 'invalid-change', detail: `no corridor ${proposal.corridor}` });
      }
      case 'partner-key':
        return this.partners.checkKeyChange(proposal);
      case 'residency-exception':
        return this.residencyExceptions.check(proposal, Date.now());
      case 'hold-decision':
        // Resolved against the partner's state before this (HoldDecisions.resolve).
        return ok(null);
    }
  }

  /** The effect of an approved change, synchronous so it commits with the approval or not at all. */
  private applyChange(changeId: string, proposal: ChangeProposal, approver: string, hold: HeldPayment | undefined): Result<Record<string, unknown>, ChangeRejection> {
    switch (proposal.kind) {
      case 'corridor-state': {
        const changed = this.applyCorridorStateSync(proposal.corridor, proposal.state, { actor: approver, reason: proposal.reason });
        if (!changed.ok) return err({ kind: 'invalid-change', detail: changed.reason.detail });
        return ok({ corridor: changed.value.corridor, from: changed.value.from, to: changed.value.to });
      }
      case 'partner-key':
        return this.partners.applyKeyChange(proposal);
      case 'residency-exception':
        return this.residencyExceptions.grant(changeId, proposal, approver, Date.now());
      case 'hold-decision':
        if (hold === undefined) throw new Error(`applyChange: hold-decision ${changeId} approved without reading its hold`);
        return this.holdDecisions.apply(changeId, proposal, approver, hold, Date.now());
    }
  }

  private applyCorridorStateSync(corridor: string, state: unknown, note: { actor: string; reason: string }): Result<CorridorStateChange, CorridorStateChangeRejection> {
    const parsed = corridorStateSchema.safeParse(state);
    if (!parsed.success) return err({ kind: 'invalid-state', detail: `state must be one of open, paused, draining` });
    const { actor, reason } = (note ?? {}) as { actor?: unknown; reason?: unknown };
    if (typeof actor !== 'string' || typeof reason !== 'string' || actor.length === 0 || actor.length > stateChangeActorCharsMax || reason.length > stateChangeReasonCharsMax) {
      return err({ kind: 'invalid-note', detail: `actor must be 1..${stateChangeActorCharsMax} characters and reason at most ${stateChangeReasonCharsMax}` });
    }
    const row = this.sql.exec<{ state: CorridorState }>(`SELECT state FROM corridors WHERE id = ?`, corridor).toArray()[0];
    if (row === undefined) return err({ kind: 'unknown-corridor', detail: `no corridor ${corridor}` });
    const changedAtMs = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(`UPDATE corridors SET state = ?, state_changed_at_ms = ? WHERE id = ?`, parsed.data, changedAtMs, corridor);
      this.sql.exec(
        `INSERT INTO corridor_state_changes (corridor, from_state, to_state, actor, reason, changed_at_ms) VALUES (?, ?, ?, ?, ?, ?)`,
        corridor, row.state, parsed.data, actor, reason, changedAtMs,
      );
    });
    return ok({ corridor, from: row.state, to: parsed.data, actor, reason, changed_at: new Date(changedAtMs).toISOString() });
  }

  /** The state-change history of one corridor, oldest first. */
  async corridorStateChanges(corridor: string): Promise<CorridorStateChange[]> {
    return this.sql
      .exec<{ corridor: string; from_state: CorridorState; to_state: CorridorState; actor: string; reason: string; changed_at_ms: number }>(
        `SELECT corridor, from_state, to_state, actor, reason, changed_at_ms FROM corridor_state_changes WHERE corridor = ? ORDER BY seq`, corridor,
      )
      .toArray()
      .map((row) => ({ corridor: row.corridor, from: row.from_state, to: row.to_state, actor: row.actor, reason: row.reason, changed_at: new Date(row.changed_at_ms).toISOString() }));
  }

  private seedFrom(source: string): void {
    const seedSha256 = sha256Hex(source);
    if (this.meta('seed_sha256') === seedSha256) return;
    const file = corridorFile(source);
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      for (const { state, ...config } of file.corridors) {
        this.sql.exec(
          `INSERT INTO corridors (id, config, state, state_changed_at_ms) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET config = excluded.config`,
          config.id, JSON.stringify(config), state, now,
        );
      }
      const seeded = new Set(file.corridors.map((corridor) => corridor.id));
      for (const { id } of this.sql.exec<{ id: string }>(`SELECT id FROM corridors`).toArray()) {
        if (!seeded.has(id)) this.sql.exec(`DELETE FROM corridors WHERE id = ?`, id);
      }
      this.setMeta('fx_rate_scale', String(file.fx_rate_scale));
      this.setMeta('seed_sha256', seedSha256);
    });
  }

  private meta(key: string): string | undefined {
    return this.sql.exec<{ value: string }>(`SELECT value FROM control_meta WHERE key = ?`, key).toArray()[0]?.value;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec(`INSERT INTO control_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value);
  }
}

function corridorOf(row: CorridorRow): CorridorConfig {
  return { ...(JSON.parse(row.config) as Omit<CorridorConfig, 'state'>), state: row.state };
}
