/**
 * Held payments (DESIGN.md "Sanctions screening"): a payment whose screening found a possible match,
 * or whose provider could not answer, is admitted `held` — the partner has its 202 and receipt — and
 * enters no window until an operator's two-person `hold-decision` releases it (it then enters the
 * next window of its corridor) or rejects it (`rejected`, reason `sanctions-hold-rejected`).
 *
 * Table:
 *   holds(uetr PK, held_at_ms, cause, corridor, amount_minor, currency, debtor_name, creditor_name,
 *         payment JSON, change_id, decision, decision_reason, decided_by, decided_at_ms)
 *                                 payment: the WindowPayment to enqueue on release. change_id … decided_at_ms
 *                                 are null until Control pushes the approved decision (decideHold), then
 *                                 fixed: a hold is decided once, by one change.
 *
 * The payment's own row (payments, partner-state.ts) carries the status the partner reads: `held`
 * until the decision; a release writes the shard it chose (window_name, enqueue) before the enqueue,
 * exactly like a first admission, so a retried push finishes at that shard and never enqueues twice;
 * the status becomes `accepted` once the window placed it, then `settled`. Rows are kept as long as
 * the payment row (the retention sweep deletes both).
 */
import type { WindowCorridor, WindowPayment } from '../../core/corridor-window-contract.ts';
import { formatAmount } from '../../core/money.ts';
import type { ScreeningResult } from './screening-results.ts';

export const holdsListMax = 500;
/** The rejection reason a partner reads for a hold an operator rejected. */
export const holdRejectedReason = 'sanctions-hold-rejected';

export type HoldCause = 'possible-match' | 'provider-unavailable';

/** What the edge adds to an admission that screening held. */
export interface HoldInput {
  cause: HoldCause;
  debtor_name: string;
  creditor_name: string;
}

/** Control's push of an approved `hold-decision` (durable-objects/control/hold-decisions.ts). */
export interface HoldDecisionInput {
  change_id: string;
  uetr: string;
  decision: 'release' | 'reject';
  reason: string;
  decided_by: string;
  /** The release's route, chosen by Control at approval from the corridor's state then. */
  release?: { windowName: string; corridorConfig: WindowCorridor };
}

export type HoldDecisionOutcome =
  | { kind: 'released'; window: string }
  | { kind: 'rejected' }
  /** Nothing is held under this UETR (never held, or pruned). */
  | { kind: 'not-held' }
  | { kind: 'decided-by-another-change'; change_id: string }
  /** The window refused it (it cannot settle at that window's rate): the payment reads `rejected` with this reason. */
  | { kind: 'unsettleable'; reason: string };

/** One held payment as the ops views serve it. */
export interface HeldPayment {
  uetr: string;
  status: string;
  corridor: string;
  amount: { value: string; currency: string };
  amount_minor: string;
  debtor_name: string;
  creditor_name: string;
  held_at: string;
  cause: HoldCause;
  decision: { change_id: string; decision: 'release' | 'reject'; decided_by: string; decided_at: string } | null;
  screening: ScreeningResult | null;
}

export type HoldRow = {
  uetr: string; held_at_ms: number; cause: HoldCause; corridor: string; amount_minor: string; currency: string; debtor_name: string; creditor_name: string;
  payment: string; change_id: string | null; decision: 'release' | 'reject' | null; decision_reason: string | null; decided_by: string | null; decided_at_ms: number | null;
};

export function createHoldsTable(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS holds (
    uetr TEXT PRIMARY KEY, held_at_ms INTEGER NOT NULL, cause TEXT NOT NULL, corridor TEXT NOT NULL, amount_minor TEXT NOT NULL, currency TEXT NOT NULL,
    debtor_name TEXT NOT NULL, creditor_name TEXT NOT NULL, payment TEXT NOT NULL,
    change_id TEXT, decision TEXT, decision_reason TEXT, decided_by TEXT, decided_at_ms INTEGER)`);
  sql.exec(`CREATE INDEX IF NOT EXISTS holds_by_time ON holds (held_at_ms)`);
}

export function insertHold(sql: SqlStorage, payment: WindowPayment, corridor: string, hold: HoldInput, nowMs: number): void {
  if (hold.cause !== 'possible-match' && hold.cause !== 'provider-unavailable') throw new Error(`hold: unknown cause ${String(hold.cause)}`);
  sql.exec(
    `INSERT INTO holds (uetr, held_at_ms, cause, corridor, amount_minor, currency, debtor_name, creditor_name, payment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    payment.uetr, nowMs, hold.cause, corridor, payment.amount_minor, payment.source_currency, hold.debtor_name, hold.creditor_name, JSON.stringify(payment),
  );
}

export function holdRow(sql: SqlStorage, uetr: string): HoldRow | undefined {
  return sql.exec<HoldRow>(`SELECT * FROM holds WHERE uetr = ?`, uetr).toArray()[0];
}

/** Fixes the decision on the hold; the caller runs it in the transaction that changes the payment row. */
export function recordHoldDecision(sql: SqlStorage, input: HoldDecisionInput, nowMs: number): void {
  sql.exec(
    `UPDATE holds SET change_id = ?, decision = ?, decision_reason = ?, decided_by = ?, decided_at_ms = ? WHERE uetr = ? AND change_id IS NULL`,
    input.change_id, input.decision, input.reason, input.decided_by, nowMs, input.uetr,
  );
}

/** Payments still reading `held` (undecided, or released and not yet placed), newest first. */
export function heldRows(sql: SqlStorage, limit: number): Array<HoldRow & { status: string }> {
  return sql
    .exec<HoldRow & { status: string }>(
      `SELECT h.*, p.status FROM holds h JOIN payments p ON p.uetr = h.uetr WHERE p.status = 'held' ORDER BY h.held_at_ms DESC, h.uetr LIMIT ?`,
      Math.max(1, Math.min(limit, holdsListMax)),
    )
    .toArray();
}

export function heldPaymentOf(row: HoldRow & { status: string }, screening: ScreeningResult | null): HeldPayment {
  return {
    uetr: row.uetr,
    status: row.status,
    corridor: row.corridor,
    amount: { value: formatAmount(BigInt(row.amount_minor), row.currency), currency: row.currency },
    amount_minor: row.amount_minor,
    debtor_name: row.debtor_name,
    creditor_name: row.creditor_name,
    held_at: new Date(row.held_at_ms).toISOString(),
    cause: row.cause,
    decision: row.change_id === null || row.decision === null
      ? null
      : { change_id: row.change_id, decision: row.decision, decided_by: row.decided_by ?? '', decided_at: new Date(row.decided_at_ms ?? 0).toISOString() },
    screening,
  };
}

export function deleteHold(sql: SqlStorage, uetr: string): void {
  sql.exec(`DELETE FROM holds WHERE uetr = ?`, uetr);
}
