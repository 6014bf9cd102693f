/**
 * Two-person changes and their audit chain, in the Control object's storage.
 *
 * Tables (SQLite):
 *   ops_changes(id PK, kind, proposal JSON, status, proposed_by, proposed_at_ms, expires_at_ms,
 *               decided_by, decided_at_ms, effect JSON)        status: proposed → applied | rejected | expired
 *   ops_audit(seq PK, entry JSON, hash)                         append-only; entry is the AuditEntry without `hash`
 *                                                               actions: proposed, approved, rejected, expired, applied,
 *                                                               lapsed (an applied effect that ran out: recordLapse)
 *
 * Every step writes its audit entry in the same transaction as the state it records, so the chain
 * and the changes can never disagree. A change is decided once: the status moves away from
 * `proposed` in the transaction that applies it, and the Durable Object runs one synchronous
 * section at a time, so two racing approvals apply it exactly once (the second is
 * `change-not-pending`). The proposer can never decide it (`four-eyes-required`).
 */
import {
  auditEntryHash, auditGenesisHash, proposalTtlMs,
  type AuditAction, type AuditEntry, type ChangeProposal, type ChangeRejection, type ChangeStatus, type ChangeView,
} from '../../core/ops-changes.ts';
import { err, ok, type Result } from '../../core/result.ts';

type ChangeRow = {
  id: string; kind: string; proposal: string; status: ChangeStatus; proposed_by: string; proposed_at_ms: number; expires_at_ms: number;
  decided_by: string | null; decided_at_ms: number | null; effect: string | null;
};

export const auditPageMax = 1_000;
export const changesListMax = 500;

export class ChangeStore {
  private readonly sql: SqlStorage;
  private readonly storage: DurableObjectStorage;

  constructor(storage: DurableObjectStorage) {
    this.storage = storage;
    this.sql = storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ops_changes (
      id TEXT PRIMARY KEY, kind TEXT NOT NULL, proposal TEXT NOT NULL, status TEXT NOT NULL, proposed_by TEXT NOT NULL,
      proposed_at_ms INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL, decided_by TEXT, decided_at_ms INTEGER, effect TEXT)`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS ops_changes_pending ON ops_changes (expires_at_ms) WHERE status = 'proposed'`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ops_audit (seq INTEGER PRIMARY KEY, entry TEXT NOT NULL, hash TEXT NOT NULL)`);
  }

  propose(proposal: ChangeProposal, proposer: string, nowMs: number): ChangeView {
    const id = crypto.randomUUID();
    this.storage.transactionSync(() => {
      this.sql.exec(
        `INSERT INTO ops_changes (id, kind, proposal, status, proposed_by, proposed_at_ms, expires_at_ms) VALUES (?, ?, ?, 'proposed', ?, ?, ?)`,
        id, proposal.kind, JSON.stringify(proposal), proposer, nowMs, nowMs + proposalTtlMs,
      );
      this.append(nowMs, proposer, 'proposed', id, proposal.kind, { proposal });
    });
    return this.view(id)!;
  }

  /**
   * Decides a pending change. `apply` runs inside the same transaction and returns the effect to
   * record (or a rejection, which rolls nothing forward: the change stays proposed).
   */
  decide(
    id: string, actor: string, decision: 'approve' | 'reject', nowMs: number,
    apply: (proposal: ChangeProposal) => Result<Record<string, unknown>, ChangeRejection>,
    reason?: string,
  ): Result<ChangeView, ChangeRejection> {
    const row = this.row(id);
    if (row === undefined) return err({ kind: 'not-found', detail: `no change ${id}` });
    if (row.status === 'proposed' && row.expires_at_ms <= nowMs) {
      this.expire(row, nowMs);
      return err({ kind: 'change-expired', detail: `change ${id} expired at ${new Date(row.expires_at_ms).toISOString()}` });
    }
    if (row.status === 'expired') return err({ kind: 'change-expired', detail: `change ${id} expired at ${new Date(row.expires_at_ms).toISOString()}` });
    if (row.status !== 'proposed') return err({ kind: 'change-not-pending', detail: `change ${id} is already ${row.status}` });
    if (decision === 'approve' && row.proposed_by === actor) {
      return err({ kind: 'four-eyes-required', detail: `change ${id} was proposed by ${actor}: a second operator must approve it` });
    }
    const proposal = JSON.parse(row.proposal) as ChangeProposal;
    let outcome: Result<ChangeView, ChangeRejection> | undefined;
    this.storage.transactionSync(() => {
      if (decision === 'reject') {
        this.sql.exec(`UPDATE ops_changes SET status = 'rejected', decided_by = ?, decided_at_ms = ? WHERE id = ? AND status = 'proposed'`, actor, nowMs, id);
        this.append(nowMs, actor, 'rejected', id, proposal.kind, reason === undefined ? {} : { reason });
        return;
      }
      const effect = apply(proposal);
      if (!effect.ok) {
        outcome = effect;
        return;
      }
      this.sql.exec(`UPDATE ops_changes SET status = 'applied', decided_by = ?, decided_at_ms = ?, effect = ? WHERE id = ? AND status = 'proposed'`, actor, nowMs, JSON.stringify(effect.value), id);
      this.append(nowMs, actor, 'approved', id, proposal.kind, {});
      this.append(nowMs, actor, 'applied', id, proposal.kind, { effect: effect.value });
    });
    return outcome ?? ok(this.view(id)!);
  }

  /** Expires every proposal past its time (the alarm calls this); each expiry is an audit entry. */
  expireDue(nowMs: number): number {
    const due = this.sql.exec<ChangeRow>(`SELECT * FROM ops_changes WHERE status = 'proposed' AND expires_at_ms <= ? ORDER BY expires_at_ms LIMIT 100`, nowMs).toArray();
    for (const row of due) this.expire(row, nowMs);
    return due.length;
  }

  /**
   * Records, in the chain, that an applied change's effect ran out by itself (a residency exception
   * reaching its expiry). `inTransaction` runs in the same transaction, so the mark that the lapse is
   * recorded and the entry itself commit together: the alarm writes each lapse exactly once.
   */
  recordLapse(changeId: string, kind: ChangeProposal['kind'], detail: Record<string, unknown>, nowMs: number, inTransaction: () => void): void {
    this.storage.transactionSync(() => {
      inTransaction();
      this.append(nowMs, 'system', 'lapsed', changeId, kind, detail);
    });
  }

  nextExpiryMs(): number | null {
    return this.sql.exec<{ at: number | null }>(`SELECT min(expires_at_ms) AS at FROM ops_changes WHERE status = 'proposed'`).one().at;
  }

  list(status?: ChangeStatus): ChangeView[] {
    const rows = status === undefined
      ? this.sql.exec<ChangeRow>(`SELECT * FROM ops_changes ORDER BY proposed_at_ms DESC LIMIT ?`, changesListMax).toArray()
      : this.sql.exec<ChangeRow>(`SELECT * FROM ops_changes WHERE status = ? ORDER BY proposed_at_ms DESC LIMIT ?`, status, changesListMax).toArray();
    return rows.map(viewOf);
  }

  view(id: string): ChangeView | undefined {
    const row = this.row(id);
    return row === undefined ? undefined : viewOf(row);
  }

  /** Audit entries in order, from `afterSeq` (exclusive), at most `auditPageMax`. */
  audit(afterSeq = 0, limit = auditPageMax): AuditEntry[] {
    return this.sql
      .exec<{ entry: string; hash: string }>(`SELECT entry, hash FROM ops_audit WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, Math.max(1, Math.min(limit, auditPageMax)))
      .toArray()
      .map((row) => ({ ...(JSON.parse(row.entry) as Omit<AuditEntry, 'hash'>), hash: row.hash }));
  }

  private expire(row: ChangeRow, nowMs: number): void {
    this.storage.transactionSync(() => {
      const updated = this.sql.exec(`UPDATE ops_changes SET status = 'expired', decided_at_ms = ? WHERE id = ? AND status = 'proposed'`, nowMs, row.id).rowsWritten;
      if (updated > 0) this.append(nowMs, 'system', 'expired', row.id, row.kind as ChangeProposal['kind'], { expired_at: new Date(row.expires_at_ms).toISOString() });
    });
  }

  private append(nowMs: number, actor: string, action: AuditAction, changeId: string, kind: ChangeProposal['kind'], detail: Record<string, unknown>): void {
    const last = this.sql.exec<{ seq: number; hash: string }>(`SELECT seq, hash FROM ops_audit ORDER BY seq DESC LIMIT 1`).toArray()[0];
    const entry: Omit<AuditEntry, 'hash'> = {
      seq: (last?.seq ?? 0) + 1, at: new Date(nowMs).toISOString(), actor, action, change_id: changeId, kind, detail, prev_hash: last?.hash ?? auditGenesisHash,
    };
    const hash = auditEntryHash(entry);
    this.sql.exec(`INSERT INTO ops_audit (seq, entry, hash) VALUES (?, ?, ?)`, entry.seq, JSON.stringify(entry), hash);
  }

  private row(id: string): ChangeRow | undefined {
    return this.sql.exec<ChangeRow>(`SELECT * FROM ops_changes WHERE id = ?`, id).toArray()[0];
  }
}

function viewOf(row: ChangeRow): ChangeView {
  const view: ChangeView = {
    id: row.id,
    kind: row.kind as ChangeView['kind'],
    status: row.status,
    proposal: JSON.parse(row.proposal) as ChangeProposal,
    proposed_by: row.proposed_by,
    proposed_at: new Date(row.proposed_at_ms).toISOString(),
    expires_at: new Date(row.expires_at_ms).toISOString(),
    decided_by: row.decided_by,
    decided_at: row.decided_at_ms === null ? null : new Date(row.decided_at_ms).toISOString(),
    effect: row.effect === null ? null : (JSON.parse(row.effect) as Record<string, unknown>),
  };
  if (row.status === 'applied' && row.decided_by !== null) view.approved_by = row.decided_by;
  return view;
}
