/**
 * Residency exceptions, in the Control object's storage (DESIGN.md "Policies, residency and limits"):
 * a live exception for (partner, debtor country) lets that partner's payments for a debtor of a
 * country outside its jurisdiction through the Cedar residency policy. They are created only by an
 * approved `residency-exception` change (two-person control, change-store.ts) and lapse by
 * themselves: Cedar compares `expires_at` with the payment's clock, and Control's alarm writes one
 * `lapsed` audit entry when the time comes, so the chain shows when each grant ended.
 *
 * Tables (SQLite):
 *   residency_exceptions(change_id PK, partner_id, debtor_country, owner, reason, expires_at_ms,
 *                        granted_by, granted_at_ms, lapse_recorded 0|1)
 *                                              written in the approval's transaction; never deleted
 *                                              (lapsed rows stay: the console shows them, evidence needs them)
 *   residency_exception_propagations(change_id PK, partner_id, attempts)
 *                                              outbox: exceptions the partner's PartnerState has not
 *                                              confirmed yet; written in the approval's transaction
 *
 * Propagation, like key revocations (partner-directory.ts): the edge's policy stage reads the
 * exceptions from the partner's PartnerState, so after the approval committed Control pushes the
 * exception there with `recordResidencyException` (idempotent on change_id) and deletes the outbox
 * row only once PartnerState confirmed. A failed push is retried from Control's alarm. Until it
 * lands the payment is refused `residency-denied`: a lost push fails closed, never open.
 */
import { countryJurisdictions, type PolicyJurisdiction } from '../../core/policy-request.ts';
import { isCountryCode } from '../../core/iso3166.ts';
import { residencyExceptionDurationMaxMs, type ChangeProposal, type ChangeRejection } from '../../core/ops-changes.ts';
import { err, ok, type Result } from '../../core/result.ts';
import countryJurisdictionsFile from '../../policies/country-jurisdictions.json';
import type { DurableObjectsEnv } from '../env.ts';
import type { ResidencyExceptionInput } from '../partner-state/partner-state.ts';
import { pushToPartnerState } from './propagation.ts';

type ResidencyExceptionChange = Extract<ChangeProposal, { kind: 'residency-exception' }>;

/** One exception as `GET /ops/api/residency-exceptions` serves it. */
export interface ResidencyExceptionView {
  change_id: string;
  partner_id: string;
  debtor_country: string;
  owner: string;
  reason: string;
  expires_at: string;
  granted_by: string;
  granted_at: string;
  status: 'live' | 'lapsed';
  /** Milliseconds until it lapses at the time of the answer; 0 once lapsed. */
  time_left_ms: number;
  /** False while the partner's PartnerState has not confirmed it (the edge then still refuses). */
  propagated: boolean;
}

/** The audit log's record of an applied residency exception (its `applied` entry's effect). */
export type ResidencyExceptionEffect = Pick<ResidencyExceptionView, 'partner_id' | 'debtor_country' | 'owner' | 'reason' | 'expires_at' | 'granted_by'> & Record<string, unknown>;

type ExceptionRow = {
  change_id: string; partner_id: string; debtor_country: string; owner: string; reason: string;
  expires_at_ms: number; granted_by: string; granted_at_ms: number; lapse_recorded: number;
};

/** Exceptions listed at once: every live one plus the most recent lapsed ones up to this many in all. */
export const residencyExceptionsListMax = 500;
/** Exceptions pushed per propagation run; the rest wait for the next alarm. */
export const residencyPropagationBatchMax = 16;
/** Lapses recorded per alarm; the alarm comes back at once for the rest. */
export const lapsesPerAlarmMax = 100;

const countryMap: ReadonlyMap<string, PolicyJurisdiction> = countryJurisdictions(JSON.stringify(countryJurisdictionsFile));

export class ResidencyExceptions {
  private readonly sql: SqlStorage;
  private readonly env: DurableObjectsEnv;
  private readonly partnerJurisdiction: (partnerId: string) => PolicyJurisdiction | undefined;

  constructor(storage: DurableObjectStorage, env: DurableObjectsEnv, partnerJurisdiction: (partnerId: string) => PolicyJurisdiction | undefined) {
    this.sql = storage.sql;
    this.env = env;
    this.partnerJurisdiction = partnerJurisdiction;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS residency_exceptions (
      change_id TEXT PRIMARY KEY, partner_id TEXT NOT NULL, debtor_country TEXT NOT NULL, owner TEXT NOT NULL, reason TEXT NOT NULL,
      expires_at_ms INTEGER NOT NULL, granted_by TEXT NOT NULL, granted_at_ms INTEGER NOT NULL, lapse_recorded INTEGER NOT NULL DEFAULT 0)`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS residency_exceptions_unlapsed ON residency_exceptions (expires_at_ms) WHERE lapse_recorded = 0`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS residency_exception_propagations (change_id TEXT PRIMARY KEY, partner_id TEXT NOT NULL, attempts INTEGER NOT NULL)`);
  }

  /**
   * Every rule a proposal must pass: a known partner, an ISO 3166 country that does not already map
   * to the partner's jurisdiction (no exception is needed there), an expiry after now and at most
   * `residencyExceptionDurationMaxMs` ahead. Run at proposal and again inside the approval.
   */
  check(proposal: ResidencyExceptionChange, nowMs: number): Result<null, ChangeRejection> {
    const jurisdiction = this.partnerJurisdiction(proposal.partner_id);
    if (jurisdiction === undefined) return invalid(`no partner ${proposal.partner_id}`);
    if (!isCountryCode(proposal.debtor_country)) return invalid(`debtor_country ${proposal.debtor_country} is not an ISO 3166-1 alpha-2 country code`);
    if (countryMap.get(proposal.debtor_country) === jurisdiction) {
      return invalid(`${proposal.debtor_country} already belongs to ${proposal.partner_id}'s jurisdiction ${jurisdiction}: no exception is needed`);
    }
    const expiresAtMs = Date.parse(proposal.expires_at);
    if (expiresAtMs <= nowMs) return invalid(`expires_at ${proposal.expires_at} is not in the future`);
    if (expiresAtMs - nowMs > residencyExceptionDurationMaxMs) {
      return invalid(`expires_at ${proposal.expires_at} is more than ${residencyExceptionDurationMaxMs / 86_400_000} days ahead`);
    }
    return ok(null);
  }

  /** The effect of an approved proposal; runs inside the approval's transaction (ChangeStore.decide). */
  grant(changeId: string, proposal: ResidencyExceptionChange, approver: string, nowMs: number): Result<ResidencyExceptionEffect, ChangeRejection> {
    const checked = this.check(proposal, nowMs);
    if (!checked.ok) return checked;
    const expiresAtMs = Date.parse(proposal.expires_at);
    this.sql.exec(
      `INSERT INTO residency_exceptions (change_id, partner_id, debtor_country, owner, reason, expires_at_ms, granted_by, granted_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      changeId, proposal.partner_id, proposal.debtor_country, proposal.owner, proposal.reason, expiresAtMs, approver, nowMs,
    );
    this.sql.exec(`INSERT INTO residency_exception_propagations (change_id, partner_id, attempts) VALUES (?, ?, 0)`, changeId, proposal.partner_id);
    return ok({
      partner_id: proposal.partner_id, debtor_country: proposal.debtor_country, owner: proposal.owner, reason: proposal.reason,
      expires_at: new Date(expiresAtMs).toISOString(), granted_by: approver,
    });
  }

  /** Exceptions past their expiry whose lapse the audit chain does not record yet, oldest first. */
  dueLapses(nowMs: number): Array<{ change_id: string; partner_id: string; debtor_country: string; expires_at: string }> {
    return this.sql
      .exec<ExceptionRow>(`SELECT * FROM residency_exceptions WHERE lapse_recorded = 0 AND expires_at_ms <= ? ORDER BY expires_at_ms LIMIT ?`, nowMs, lapsesPerAlarmMax)
      .toArray()
      .map((row) => ({ change_id: row.change_id, partner_id: row.partner_id, debtor_country: row.debtor_country, expires_at: new Date(row.expires_at_ms).toISOString() }));
  }

  /** Marks one lapse recorded; ChangeStore.recordLapse calls it inside the audit entry's transaction. */
  markLapseRecorded(changeId: string): void {
    this.sql.exec(`UPDATE residency_exceptions SET lapse_recorded = 1 WHERE change_id = ?`, changeId);
  }

  nextLapseMs(): number | null {
    return this.sql.exec<{ at: number | null }>(`SELECT min(expires_at_ms) AS at FROM residency_exceptions WHERE lapse_recorded = 0`).one().at;
  }

  /** Live ones first (soonest to lapse first), then lapsed ones, most recently lapsed first. */
  list(nowMs: number): ResidencyExceptionView[] {
    const pending = new Set(this.sql.exec<{ change_id: string }>(`SELECT change_id FROM residency_exception_propagations`).toArray().map((row) => row.change_id));
    const live = this.sql.exec<ExceptionRow>(`SELECT * FROM residency_exceptions WHERE expires_at_ms > ? ORDER BY expires_at_ms LIMIT ?`, nowMs, residencyExceptionsListMax).toArray();
    const lapsed = this.sql
      .exec<ExceptionRow>(`SELECT * FROM residency_exceptions WHERE expires_at_ms <= ? ORDER BY expires_at_ms DESC LIMIT ?`, nowMs, Math.max(0, residencyExceptionsListMax - live.length))
      .toArray();
    return [...live, ...lapsed].map((row) => ({
      change_id: row.change_id, partner_id: row.partner_id, debtor_country: row.debtor_country, owner: row.owner, reason: row.reason,
      expires_at: new Date(row.expires_at_ms).toISOString(), granted_by: row.granted_by, granted_at: new Date(row.granted_at_ms).toISOString(),
      status: row.expires_at_ms > nowMs ? 'live' : 'lapsed', time_left_ms: Math.max(0, row.expires_at_ms - nowMs), propagated: !pending.has(row.change_id),
    }));
  }

  /** Pushes up to `residencyPropagationBatchMax` unconfirmed exceptions to PartnerState. Returns how many are still pending. */
  async propagatePending(): Promise<number> {
    const pending = this.sql
      .exec<ExceptionRow & { attempts: number }>(
        `SELECT e.*, p.attempts FROM residency_exception_propagations p JOIN residency_exceptions e ON e.change_id = p.change_id ORDER BY e.granted_at_ms LIMIT ?`,
        residencyPropagationBatchMax,
      )
      .toArray();
    for (const row of pending) await this.push(row);
    return this.sql.exec<{ count: number }>(`SELECT count(*) AS count FROM residency_exception_propagations`).one().count;
  }

  private async push(row: ExceptionRow & { attempts: number }): Promise<void> {
    const record: ResidencyExceptionInput = {
      change_id: row.change_id, partner_id: row.partner_id, debtor_country: row.debtor_country, owner: row.owner, reason: row.reason, expires_at_ms: row.expires_at_ms,
    };
    const jurisdiction = this.partnerJurisdiction(row.partner_id);
    const pushed = await pushToPartnerState(this.env, row.partner_id, jurisdiction, 'recordResidencyException', (partnerState) => partnerState.recordResidencyException(record));
    if (pushed.ok) {
      this.sql.exec(`DELETE FROM residency_exception_propagations WHERE change_id = ?`, row.change_id);
      return;
    }
    this.sql.exec(`UPDATE residency_exception_propagations SET attempts = attempts + ? WHERE change_id = ?`, pushed.reason.attempts, row.change_id);
    console.error(JSON.stringify({
      event: 'residency-exception-propagation-failed', partner_id: row.partner_id, change_id: row.change_id,
      attempts: row.attempts + pushed.reason.attempts, error: pushed.reason.error.slice(0, 500),
    }));
  }
}

function invalid(detail: string): { ok: false; reason: ChangeRejection } {
  return err({ kind: 'invalid-change', detail });
}
