/**
 * The shard side of a CorridorWindow: the payments this shard took, and its part of each window.
 *
 * Tables (SQLite, in the object's storage):
 *   payments(uetr PK, window_start_ms, partner_id, amount_minor, debtor_agent, creditor_agent, accepted_at_ms)
 *   intake_windows(start_ms PK, end_ms, state, shards, payment_count, payments_max, source_currency,
 *                  target_currency, fx_provider, fx_rate_scaled, fx_rate_scale, close_reason, part_digest,
 *                  leg_count, handoff_attempts, next_handoff_ms, last_error)
 *
 * States: open → closed (the part is fixed: no payment enters it again; late arrivals go to the next
 * slice) → handed (the coordinator has it stored). A closed part is re-derived from `payments` and
 * the rate fixed in its row whenever it is handed over, and must hash to the `part_digest` written
 * at close: the same payments always give the same part.
 *
 * Everything here is synchronous SQLite, so a placement and a close can never interleave: the
 * Durable Object runs one synchronous section at a time.
 */
import { canonicalJson } from '../../core/canonical-json.ts';
import { sha256Hex } from '../../core/digest.ts';
import { assignWindowStartMs, buildNettingWindowPart } from '../../core/netting-window.ts';
import { sortLegs } from '../../core/netting.ts';
import type { CloseReason, WindowCorridor, WindowPart, WindowPayment } from '../../core/corridor-window-contract.ts';

export type IntakeState = 'open' | 'closed' | 'handed';

export type IntakeWindowRow = {
  start_ms: number;
  end_ms: number;
  state: IntakeState;
  shards: number;
  payment_count: number;
  payments_max: number;
  source_currency: string;
  target_currency: string;
  fx_provider: string | null;
  fx_rate_scaled: string | null;
  fx_rate_scale: number;
  close_reason: CloseReason | null;
  part_digest: string | null;
  leg_count: number | null;
  handoff_attempts: number;
  next_handoff_ms: number | null;
  last_error: string | null;
};

export type Placement = { startMs: number; endMs: number; full: boolean; repeat: boolean };

type PaymentRow = { uetr: string; partner_id: string; amount_minor: string; debtor_agent: string; creditor_agent: string };

export class IntakeStore {
  private readonly sql: SqlStorage;
  private readonly storage: DurableObjectStorage;

  constructor(storage: DurableObjectStorage) {
    this.storage = storage;
    this.sql = storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS payments (
      uetr TEXT PRIMARY KEY, window_start_ms INTEGER NOT NULL, partner_id TEXT NOT NULL, amount_minor TEXT NOT NULL,
      debtor_agent TEXT NOT NULL, creditor_agent TEXT NOT NULL, accepted_at_ms INTEGER NOT NULL)`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS payments_by_window ON payments (window_start_ms)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS intake_windows (
      start_ms INTEGER PRIMARY KEY, end_ms INTEGER NOT NULL, state TEXT NOT NULL, shards INTEGER NOT NULL,
      payment_count INTEGER NOT NULL DEFAULT 0, payments_max INTEGER NOT NULL,
      source_currency TEXT NOT NULL, target_currency TEXT NOT NULL,
      fx_provider TEXT, fx_rate_scaled TEXT, fx_rate_scale INTEGER NOT NULL,
      close_reason TEXT, part_digest TEXT, leg_count INTEGER,
      handoff_attempts INTEGER NOT NULL DEFAULT 0, next_handoff_ms INTEGER, last_error TEXT)`);
  }

  /**
   * Puts a payment into the first window, from now on, that is still open and not full. Idempotent
   * on UETR: a payment already taken stays where it is. Throws if `lateSlicesMax` slices in a row
   * refuse it (closed or full), which means the alarm is not closing windows.
   */
  place(payment: WindowPayment, corridor: WindowCorridor, nowMs: number): Placement {
    const existing = this.sql.exec<{ window_start_ms: number }>(`SELECT window_start_ms FROM payments WHERE uetr = ?`, payment.uetr).toArray()[0];
    if (existing !== undefined) {
      const row = this.window(existing.window_start_ms)!;
      return { startMs: row.start_ms, endMs: row.end_ms, full: false, repeat: true };
    }
    const startMs = assignWindowStartMs(nowMs, corridor.window_duration_ms, (candidateMs) => {
      const row = this.window(candidateMs);
      return row === undefined || (row.state === 'open' && row.payment_count < row.payments_max);
    });
    if (startMs === null) throw new Error(`corridor window ${corridor.id}|${corridor.jurisdiction}|${corridor.shard}: no open window within reach of ${nowMs}`);
    let placed: IntakeWindowRow | undefined;
    this.storage.transactionSync(() => {
      this.openWindow(startMs, corridor);
      this.sql.exec(
        `INSERT INTO payments (uetr, window_start_ms, partner_id, amount_minor, debtor_agent, creditor_agent, accepted_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        payment.uetr, startMs, payment.partner_id, payment.amount_minor, payment.debtor_agent_bic, payment.creditor_agent_bic, nowMs,
      );
      this.sql.exec(`UPDATE intake_windows SET payment_count = payment_count + 1 WHERE start_ms = ? AND state = 'open'`, startMs);
      placed = this.window(startMs);
    });
    if (placed === undefined || placed.state !== 'open') throw new Error(`corridor window: payment ${payment.uetr} placed into a window that is not open`);
    return { startMs, endMs: placed.end_ms, full: placed.payment_count >= placed.payments_max, repeat: false };
  }

  /** Closes every open part whose slice has ended or that is full; returns the rows it closed (as they were open). */
  closeDue(nowMs: number): IntakeWindowRow[] {
    const due = this.sql
      .exec<IntakeWindowRow>(`SELECT * FROM intake_windows WHERE state = 'open' AND (end_ms <= ? OR payment_count >= payments_max) ORDER BY start_ms`, nowMs)
      .toArray();
    for (const row of due) this.close(row, row.payment_count >= row.payments_max ? 'size' : 'time', nowMs);
    return due;
  }

  /**
   * The coordinator asks for this shard's part of a window: close it now if it is still open (an
   * empty part is recorded as closed too, so no payment can enter that slice afterwards), and
   * return it. The coordinator stores it, so the part counts as handed.
   */
  collect(startMs: number, endMs: number, corridor: WindowCorridor): WindowPart {
    let row = this.window(startMs);
    if (row === undefined) {
      this.openWindow(startMs, corridor, endMs);
      row = this.window(startMs)!;
    }
    if (row.state === 'open') this.close(row, 'coordinator', Date.now());
    const part = this.part(startMs, corridor);
    this.sql.exec(`UPDATE intake_windows SET state = 'handed', next_handoff_ms = NULL WHERE start_ms = ? AND state = 'closed'`, startMs);
    return part;
  }

  /** Closed parts with payments that are due for a hand-off attempt. Empty parts wait to be collected. */
  handoffsDue(nowMs: number): IntakeWindowRow[] {
    return this.sql
      .exec<IntakeWindowRow>(`SELECT * FROM intake_windows WHERE state = 'closed' AND payment_count > 0 AND coalesce(next_handoff_ms, 0) <= ? ORDER BY start_ms`, nowMs)
      .toArray();
  }

  markHanded(startMs: number): void {
    this.sql.exec(`UPDATE intake_windows SET state = 'handed', next_handoff_ms = NULL, last_error = NULL WHERE start_ms = ? AND state = 'closed'`, startMs);
  }

  markHandoffFailed(startMs: number, error: string, nextAttemptMs: number): void {
    this.sql.exec(
      `UPDATE intake_windows SET handoff_attempts = handoff_attempts + 1, next_handoff_ms = ?, last_error = ? WHERE start_ms = ? AND state = 'closed'`,
      nextAttemptMs, error.slice(0, 2_000), startMs,
    );
  }

  /** This shard's part of a closed window, re-derived from its payments and checked against the digest fixed at close. */
  part(startMs: number, corridor: WindowCorridor): WindowPart {
    const row = this.window(startMs);
    if (row === undefined || row.state === 'open' || row.part_digest === null) throw new Error(`corridor window: part ${startMs} of shard ${corridor.shard} is not closed`);
    const content = this.partContent(row);
    if (content.part_digest !== row.part_digest) {
      throw new Error(`corridor window: part ${startMs} of shard ${corridor.shard} re-derives to digest ${content.part_digest}, closed as ${row.part_digest}`);
    }
    return { corridor, start_ms: row.start_ms, end_ms: row.end_ms, shard: corridor.shard, close_reason: row.close_reason ?? 'time', fx_rate_scaled: row.fx_rate_scaled, ...content };
  }

  window(startMs: number): IntakeWindowRow | undefined {
    return this.sql.exec<IntakeWindowRow>(`SELECT * FROM intake_windows WHERE start_ms = ?`, startMs).toArray()[0];
  }

  windows(): IntakeWindowRow[] {
    return this.sql.exec<IntakeWindowRow>(`SELECT * FROM intake_windows ORDER BY start_ms DESC`).toArray();
  }

  /** The earliest moment this shard has intake work: an open part's end, or a failed hand-off's retry. */
  nextWakeMs(): number | null {
    return this.sql
      .exec<{ at: number | null }>(
        `SELECT min(at) AS at FROM (
           SELECT end_ms AS at FROM intake_windows WHERE state = 'open'
           UNION ALL SELECT coalesce(next_handoff_ms, 0) FROM intake_windows WHERE state = 'closed' AND payment_count > 0)`,
      )
      .one().at;
  }

  /** Fixes the window's parameters (rate, currencies, size limit) when its first payment, or a collect, opens it. */
  private openWindow(startMs: number, corridor: WindowCorridor, endMs = startMs + corridor.window_duration_ms): void {
    const [sourceCurrency, targetCurrency] = corridor.id.split('-') as [string, string];
    const legsPerPayment = sourceCurrency === targetCurrency ? 1 : 2;
    this.sql.exec(
      `INSERT INTO intake_windows (start_ms, end_ms, state, shards, payments_max, source_currency, target_currency, fx_provider, fx_rate_scaled, fx_rate_scale)
       VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      startMs, endMs, corridor.shards, Math.max(1, Math.floor(corridor.legs_max / legsPerPayment)), sourceCurrency, targetCurrency,
      corridor.fx_provider, corridor.fx_rate_scaled, corridor.fx_rate_scale,
    );
  }

  private close(row: IntakeWindowRow, reason: CloseReason, nowMs: number): void {
    const content = this.partContent(row);
    this.sql.exec(
      `UPDATE intake_windows SET state = 'closed', close_reason = ?, part_digest = ?, leg_count = ?, next_handoff_ms = ? WHERE start_ms = ? AND state = 'open'`,
      reason, content.part_digest, content.legs.length, nowMs, row.start_ms,
    );
  }

  /** Legs, payments and residue of a part, from its payments and the parameters fixed in its row. */
  private partContent(row: IntakeWindowRow): Pick<WindowPart, 'legs' | 'payments' | 'fx_residue' | 'part_digest'> {
    const payments = this.sql
      .exec<PaymentRow>(`SELECT uetr, partner_id, amount_minor, debtor_agent, creditor_agent FROM payments WHERE window_start_ms = ? ORDER BY uetr`, row.start_ms)
      .toArray();
    const built = buildNettingWindowPart(
      0,
      payments.map((payment) => ({
        uetr: payment.uetr, amount_minor: BigInt(payment.amount_minor), source_currency: row.source_currency, target_currency: row.target_currency,
        debtor_agent_bic: payment.debtor_agent, creditor_agent_bic: payment.creditor_agent,
      })),
      { fx_provider: row.fx_provider, fx_rate_scaled: row.fx_rate_scaled === null ? null : BigInt(row.fx_rate_scaled), fx_rate_scale: row.fx_rate_scale },
    );
    const legs = sortLegs(built.legs);
    const fxResidue = built.fxResidue === null ? null : { numerator: built.fxResidue.numerator.toString(), denominator: built.fxResidue.denominator.toString() };
    const partners = payments.map((payment) => ({ uetr: payment.uetr, partner_id: payment.partner_id }));
    // The digest covers what the coordinator will book (legs, payments, residue), not who carried it.
    const partDigest = sha256Hex(canonicalJson({ start_ms: row.start_ms, end_ms: row.end_ms, fx_rate_scaled: row.fx_rate_scaled, legs, payments: partners, fx_residue: fxResidue }));
    return { legs, payments: partners, fx_residue: fxResidue, part_digest: partDigest };
  }
}
