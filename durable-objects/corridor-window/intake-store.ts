/**
 * The shard side of a CorridorWindow: the payments this shard took, and its part of each window.
 *
 * Tables (SQLite, in the object's storage):
 *   intake_payments(partner_id, uetr, window_start_ms, instructing_agent, amount_minor, debtor_agent,
 *                   creditor_agent, accepted_at_ms, rejection, debtor_country, residency_exception)
 *                                                                                 PK (partner_id, uetr)
 *   intake_windows(start_ms PK, end_ms, state, shards, payment_count, payments_max, source_currency,
 *                  target_currency, fx_provider, fx_rate_scaled, fx_rate_scale, close_reason, part_digest,
 *                  leg_count, rejected_count, rejections_notified, handoff_attempts, next_handoff_ms,
 *                  last_error, handed_at_ms)
 *
 * A payment is identified by (submitting partner, UETR): gpi chains reuse the UETR at every hop,
 * so two partners' payments with one UETR are two payments (the v1 `payments` table keyed on the
 * UETR alone silently dropped the second; it is left unread by this version, there being no
 * deployment to migrate).
 *
 * States: open → closed (the part is fixed: no payment enters it again; late arrivals go to the next
 * slice) → handed (the coordinator has it stored). A slice is opened only after the coordinator
 * agreed to wait for this shard's part (`join`), so a shard count raised mid-slice can never strand
 * a part behind a window that sealed without it; a slice the coordinator already sealed is
 * recorded here as handed and empty, and the payment goes to the next one. A closed part is
 * re-derived from its payments and the rate fixed in its row whenever it is handed over, and must
 * hash to the `part_digest` written at close: the same payments always give the same part.
 *
 * A payment that cannot settle at its slice's fixed rate is refused at placement (before the edge
 * acknowledges it); should one still fail at close, it is rejected alone (`rejection` set, its
 * partner told by the alarm) and the rest of the part settles.
 *
 * Retention: a part the coordinator holds (handed) is kept `handedPartRetentionMs` after the
 * hand-off — long enough for any repeated collect — then pruned with its payments, and the
 * `intake_retired_before_ms` watermark (meta) refuses any later request for a slice before it.
 *
 * Everything here is synchronous SQLite, so a placement and a close can never interleave: the
 * Durable Object runs one synchronous section at a time.
 *
 * Per placement (the hot path): one SELECT for a repeat, one INSERT and one UPDATE in a
 * transaction. The window rows are read through `windowRows`, an in-memory copy that this class,
 * the only writer of intake_windows, drops on every write but a placement's own count, which it
 * applies to the copy in the same synchronous section: the copy can never differ from the table.
 */
import { canonicalJson } from '../../core/canonical-json.ts';
import { sha256Hex } from '../../core/digest.ts';
import type { CloseReason, WindowCorridor, WindowPart, WindowPayment } from '../../core/corridor-window-contract.ts';
import { assignWindowStartMs, buildNettingWindowPart, type RejectedPayment } from '../../core/netting-window.ts';
import { sortLegs } from '../../core/netting.ts';
import { paymentSettlement, type PaymentLegsRejection } from '../../core/payment-legs.ts';

export type IntakeState = 'open' | 'closed' | 'handed';

/** How long a handed part stays on its shard after the coordinator stored it. */
export const handedPartRetentionMs = 24 * 60 * 60 * 1000;
/** Windows one prune removes, with their payments. */
export const intakePruneWindowsMax = 100;

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
  rejected_count: number;
  rejections_notified: number;
  handoff_attempts: number;
  next_handoff_ms: number | null;
  last_error: string | null;
  handed_at_ms: number | null;
};

export type Placement =
  | { kind: 'placed'; startMs: number; endMs: number; full: boolean; repeat: boolean }
  /** The first payment of this slice here: the coordinator must agree to wait for this shard's part first. */
  | { kind: 'join'; startMs: number; endMs: number }
  | { kind: 'unsettleable'; reason: PaymentLegsRejection };

/** A payment rejected at close, for its partner's PartnerState. */
export type IntakeRejection = {
  partner_id: string;
  uetr: string;
  reason: string;
};

type PaymentRow = {
  uetr: string; partner_id: string; instructing_agent: string; amount_minor: string; debtor_agent: string; creditor_agent: string;
  debtor_country: string; residency_exception: string | null;
};

export class IntakeStore {
  private readonly sql: SqlStorage;
  private readonly storage: DurableObjectStorage;
  /** intake_windows rows as read, by start_ms (an absent row is not cached); see the header. */
  private readonly windowRows = new Map<number, IntakeWindowRow>();

  constructor(storage: DurableObjectStorage) {
    this.storage = storage;
    this.sql = storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS intake_payments (
      partner_id TEXT NOT NULL, uetr TEXT NOT NULL, window_start_ms INTEGER NOT NULL, instructing_agent TEXT NOT NULL,
      amount_minor TEXT NOT NULL, debtor_agent TEXT NOT NULL, creditor_agent TEXT NOT NULL, accepted_at_ms INTEGER NOT NULL,
      rejection TEXT, debtor_country TEXT NOT NULL DEFAULT '', residency_exception TEXT, PRIMARY KEY (partner_id, uetr))`);
    addResidencyColumns(this.sql);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS intake_payments_by_window ON intake_payments (window_start_ms)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS intake_windows (
      start_ms INTEGER PRIMARY KEY, end_ms INTEGER NOT NULL, state TEXT NOT NULL, shards INTEGER NOT NULL,
      payment_count INTEGER NOT NULL DEFAULT 0, payments_max INTEGER NOT NULL,
      source_currency TEXT NOT NULL, target_currency TEXT NOT NULL,
      fx_provider TEXT, fx_rate_scaled TEXT, fx_rate_scale INTEGER NOT NULL,
      close_reason TEXT, part_digest TEXT, leg_count INTEGER, rejected_count INTEGER NOT NULL DEFAULT 0,
      rejections_notified INTEGER NOT NULL DEFAULT 1, handoff_attempts INTEGER NOT NULL DEFAULT 0, next_handoff_ms INTEGER,
      last_error TEXT, handed_at_ms INTEGER)`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS intake_windows_by_state ON intake_windows (state, start_ms)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS intake_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
  }

  /**
   * Puts a payment into the first window, from now on, that is still open and not full. Idempotent
   * on (partner, UETR): a payment already taken stays where it is. Answers `join` when the slice
   * has no row here yet (the caller asks the coordinator, records the answer with `recordJoin`,
   * and places again), and `unsettleable` when the payment's legs fail at the slice's fixed rate.
   * Throws if `lateSlicesMax` slices in a row refuse it, which means the alarm is not closing windows.
   */
  place(payment: WindowPayment, corridor: WindowCorridor, nowMs: number): Placement {
    const existing = this.sql
      .exec<{ window_start_ms: number }>(`SELECT window_start_ms FROM intake_payments WHERE partner_id = ? AND uetr = ?`, payment.partner_id, payment.uetr)
      .toArray()[0];
    if (existing !== undefined) {
      const row = this.window(existing.window_start_ms)!;
      return { kind: 'placed', startMs: row.start_ms, endMs: row.end_ms, full: false, repeat: true };
    }
    const startMs = assignWindowStartMs(nowMs, corridor.window_duration_ms, (candidateMs) => {
      const row = this.window(candidateMs);
      return row === undefined || (row.state === 'open' && row.payment_count < row.payments_max);
    });
    if (startMs === null) throw new Error(`corridor window ${corridor.id}|${corridor.jurisdiction}|${corridor.shard}: no open window within reach of ${nowMs}`);
    const slice = this.window(startMs);
    if (slice === undefined) return { kind: 'join', startMs, endMs: startMs + corridor.window_duration_ms };
    const settlement = paymentSettlement(legInput(payment, slice), fxOf(slice));
    if (!settlement.ok) return { kind: 'unsettleable', reason: settlement.reason };
    this.storage.transactionSync(() => {
      this.sql.exec(
        `INSERT INTO intake_payments (partner_id, uetr, window_start_ms, instructing_agent, amount_minor, debtor_agent, creditor_agent, accepted_at_ms, debtor_country, residency_exception)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        payment.partner_id, payment.uetr, startMs, payment.instructing_agent, payment.amount_minor, payment.debtor_agent_bic, payment.creditor_agent_bic, nowMs,
        payment.debtor_country, payment.residency_exception,
      );
      const counted = this.sql.exec(`UPDATE intake_windows SET payment_count = payment_count + 1 WHERE start_ms = ? AND state = 'open'`, startMs).rowsWritten;
      // Programmer error (the slice was checked open above, in this synchronous section): roll the payment back.
      if (counted !== 1) throw new Error(`corridor window: payment ${payment.partner_id}/${payment.uetr} placed into a window that is not open`);
    });
    const placed: IntakeWindowRow = { ...slice, payment_count: slice.payment_count + 1 };
    this.windowRows.set(startMs, placed);
    return { kind: 'placed', startMs, endMs: placed.end_ms, full: placed.payment_count >= placed.payments_max, repeat: false };
  }

  /**
   * The coordinator's answer to this shard's `join` of a slice: `joined` opens the slice here (the
   * coordinator will collect this shard's part before it seals); `sealed` records the slice as
   * handed and empty, so placement moves on to the next slice.
   */
  recordJoin(startMs: number, endMs: number, corridor: WindowCorridor, answer: 'joined' | 'sealed'): void {
    this.windowRows.clear();
    if (answer === 'joined') {
      this.openWindow(startMs, corridor, endMs);
      return;
    }
    this.openWindow(startMs, corridor, endMs);
    this.sql.exec(`UPDATE intake_windows SET state = 'handed', close_reason = 'coordinator', handed_at_ms = ? WHERE start_ms = ? AND state = 'open' AND payment_count = 0`, Date.now(), startMs);
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
    this.windowRows.clear();
    if (startMs < this.retiredBeforeMs()) throw new Error(`corridor window: part ${startMs} of shard ${corridor.shard} was pruned (slices before ${this.retiredBeforeMs()} are retired)`);
    let row = this.window(startMs);
    if (row === undefined) {
      this.openWindow(startMs, corridor, endMs);
      row = this.window(startMs)!;
    }
    if (row.state === 'open') this.close(row, 'coordinator', Date.now());
    const part = this.part(startMs, corridor);
    this.sql.exec(`UPDATE intake_windows SET state = 'handed', next_handoff_ms = NULL, handed_at_ms = ? WHERE start_ms = ? AND state = 'closed'`, Date.now(), startMs);
    this.windowRows.clear();
    return part;
  }

  /** Closed parts with payments that are due for a hand-off attempt. Empty parts wait to be collected. */
  handoffsDue(nowMs: number): IntakeWindowRow[] {
    return this.sql
      .exec<IntakeWindowRow>(`SELECT * FROM intake_windows WHERE state = 'closed' AND payment_count > 0 AND coalesce(next_handoff_ms, 0) <= ? ORDER BY start_ms`, nowMs)
      .toArray();
  }

  markHanded(startMs: number): void {
    this.windowRows.clear();
    this.sql.exec(`UPDATE intake_windows SET state = 'handed', next_handoff_ms = NULL, last_error = NULL, handed_at_ms = ? WHERE start_ms = ? AND state = 'closed'`, Date.now(), startMs);
  }

  /** Closed parts whose rejected payments' partners have not been told yet. */
  rejectionsDue(): Array<{ start_ms: number; rejections: IntakeRejection[] }> {
    return this.sql
      .exec<{ start_ms: number }>(`SELECT start_ms FROM intake_windows WHERE state != 'open' AND rejections_notified = 0 ORDER BY start_ms`)
      .toArray()
      .map(({ start_ms: startMs }) => ({
        start_ms: startMs,
        rejections: this.sql
          .exec<IntakeRejection>(`SELECT partner_id, uetr, rejection AS reason FROM intake_payments WHERE window_start_ms = ? AND rejection IS NOT NULL ORDER BY partner_id, uetr`, startMs)
          .toArray(),
      }));
  }

  markRejectionsNotified(startMs: number): void {
    this.windowRows.clear();
    this.sql.exec(`UPDATE intake_windows SET rejections_notified = 1 WHERE start_ms = ?`, startMs);
  }

  markHandoffFailed(startMs: number, error: string, nextAttemptMs: number): void {
    this.windowRows.clear();
    this.sql.exec(
      `UPDATE intake_windows SET handoff_attempts = handoff_attempts + 1, next_handoff_ms = ?, last_error = ? WHERE start_ms = ? AND state = 'closed'`,
      nextAttemptMs, error.slice(0, 2_000), startMs,
    );
  }

  /** This shard's part of a closed window, re-derived from its payments and checked against the digest fixed at close. */
  part(startMs: number, corridor: WindowCorridor): WindowPart {
    const row = this.window(startMs);
    if (row === undefined || row.state === 'open' || row.part_digest === null) throw new Error(`corridor window: part ${startMs} of shard ${corridor.shard} is not closed`);
    const { rejected: _rejected, ...content } = this.partContent(row);
    if (content.part_digest !== row.part_digest) {
      throw new Error(`corridor window: part ${startMs} of shard ${corridor.shard} re-derives to digest ${content.part_digest}, closed as ${row.part_digest}`);
    }
    return { corridor, start_ms: row.start_ms, end_ms: row.end_ms, shard: corridor.shard, close_reason: row.close_reason ?? 'time', fx_rate_scaled: row.fx_rate_scaled, ...content };
  }

  /**
   * Drops handed parts older than the retention, with their payments, and raises the watermark
   * past them. Returns how many windows went. A part still closed (not yet handed) is never pruned.
   */
  prune(nowMs: number): number {
    const due = this.sql
      .exec<{ start_ms: number }>(
        `SELECT start_ms FROM intake_windows WHERE state = 'handed' AND rejections_notified = 1 AND coalesce(handed_at_ms, 0) < ? ORDER BY start_ms LIMIT ?`,
        nowMs - handedPartRetentionMs, intakePruneWindowsMax,
      )
      .toArray();
    if (due.length === 0) return 0;
    this.windowRows.clear();
    this.storage.transactionSync(() => {
      for (const { start_ms: startMs } of due) {
        this.sql.exec(`DELETE FROM intake_payments WHERE window_start_ms = ?`, startMs);
        this.sql.exec(`DELETE FROM intake_windows WHERE start_ms = ?`, startMs);
      }
      // Never past a part still open or closed: it must still be collectable.
      const unfinished = this.sql.exec<{ at: number | null }>(`SELECT min(start_ms) AS at FROM intake_windows WHERE state != 'handed' OR rejections_notified = 0`).one().at;
      const watermark = Math.max(this.retiredBeforeMs(), Math.min(due[due.length - 1]!.start_ms + 1, unfinished ?? Number.MAX_SAFE_INTEGER));
      this.sql.exec(`INSERT INTO intake_meta (key, value) VALUES ('retired_before_ms', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, String(watermark));
    });
    return due.length;
  }

  /** When the oldest handed part becomes due for pruning, or null when none is kept. */
  nextPruneMs(): number | null {
    const oldest = this.sql.exec<{ at: number | null }>(`SELECT min(coalesce(handed_at_ms, 0)) AS at FROM intake_windows WHERE state = 'handed' AND rejections_notified = 1`).one().at;
    return oldest === null ? null : oldest + handedPartRetentionMs;
  }

  private retiredBeforeMs(): number {
    return Number(this.sql.exec<{ value: string }>(`SELECT value FROM intake_meta WHERE key = 'retired_before_ms'`).toArray()[0]?.value ?? 0);
  }

  window(startMs: number): IntakeWindowRow | undefined {
    const cached = this.windowRows.get(startMs);
    if (cached !== undefined) return cached;
    const row = this.sql.exec<IntakeWindowRow>(`SELECT * FROM intake_windows WHERE start_ms = ?`, startMs).toArray()[0];
    if (row !== undefined) this.windowRows.set(startMs, row);
    return row;
  }

  windows(limit: number): IntakeWindowRow[] {
    return this.sql.exec<IntakeWindowRow>(`SELECT * FROM intake_windows ORDER BY start_ms DESC LIMIT ?`, limit).toArray();
  }

  /** The earliest moment this shard has intake work: an open part's end, a failed hand-off's retry, or a rejection to tell. */
  nextWakeMs(notifyRetryAtMs: number): number | null {
    return this.sql
      .exec<{ at: number | null }>(
        `SELECT min(at) AS at FROM (
           SELECT end_ms AS at FROM intake_windows WHERE state = 'open'
           UNION ALL SELECT coalesce(next_handoff_ms, 0) FROM intake_windows WHERE state = 'closed' AND payment_count > 0
           UNION ALL SELECT ? FROM intake_windows WHERE state != 'open' AND rejections_notified = 0)`,
        notifyRetryAtMs,
      )
      .one().at;
  }

  /** Fixes the window's parameters (rate, currencies, size limit) when its first payment, or a collect, opens it. */
  private openWindow(startMs: number, corridor: WindowCorridor, endMs = startMs + corridor.window_duration_ms): void {
    this.windowRows.clear();
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
    this.windowRows.clear();
    const content = this.partContent(row);
    this.storage.transactionSync(() => {
      for (const rejected of content.rejected) {
        this.sql.exec(`UPDATE intake_payments SET rejection = ? WHERE window_start_ms = ? AND instructing_agent = ? AND uetr = ?`, `${rejected.reason.kind}: ${rejected.reason.detail}`, row.start_ms, rejected.instructing_agent, rejected.uetr);
      }
      this.sql.exec(
        `UPDATE intake_windows SET state = 'closed', close_reason = ?, part_digest = ?, leg_count = ?, rejected_count = ?, rejections_notified = ?, next_handoff_ms = ? WHERE start_ms = ? AND state = 'open'`,
        reason, content.part_digest, content.legs.length, content.rejected.length, content.rejected.length === 0 ? 1 : 0, nowMs, row.start_ms,
      );
    });
    if (content.rejected.length > 0) {
      console.error(JSON.stringify({ event: 'payments-rejected-at-close', start_ms: row.start_ms, rejected: content.rejected.map((rejected) => ({ uetr: rejected.uetr, instructing_agent: rejected.instructing_agent, reason: rejected.reason.kind })) }));
    }
  }

  /** Legs, payments, residue and rejections of a part, from its payments and the parameters fixed in its row. */
  private partContent(row: IntakeWindowRow): Pick<WindowPart, 'legs' | 'payments' | 'fx_residue' | 'part_digest'> & { rejected: RejectedPayment[] } {
    const payments = this.sql
      .exec<PaymentRow>(
        `SELECT uetr, partner_id, instructing_agent, amount_minor, debtor_agent, creditor_agent, debtor_country, residency_exception FROM intake_payments WHERE window_start_ms = ? ORDER BY partner_id, uetr`, row.start_ms,
      )
      .toArray();
    const built = buildNettingWindowPart(0, payments.map((payment) => legInput({ ...payment, debtor_agent_bic: payment.debtor_agent, creditor_agent_bic: payment.creditor_agent }, row)), fxOf(row));
    const legs = sortLegs(built.legs);
    const fxResidue = built.fxResidue === null ? null : { numerator: built.fxResidue.numerator.toString(), denominator: built.fxResidue.denominator.toString() };
    const rejected = new Set(built.rejected.map((payment) => `${payment.instructing_agent}/${payment.uetr}`));
    const partners = payments
      .filter((payment) => !rejected.has(`${payment.instructing_agent}/${payment.uetr}`))
      .map((payment) => ({ uetr: payment.uetr, partner_id: payment.partner_id }));
    // The digest covers what the coordinator will book (legs, payments, residue), not who carried it.
    const partDigest = sha256Hex(canonicalJson({ start_ms: row.start_ms, end_ms: row.end_ms, fx_rate_scaled: row.fx_rate_scaled, legs, payments: partners, fx_residue: fxResidue }));
    return { legs, payments: partners, fx_residue: fxResidue, part_digest: partDigest, rejected: built.rejected };
  }
}

type LegPayment = Pick<WindowPayment, 'uetr' | 'instructing_agent' | 'amount_minor' | 'debtor_agent_bic' | 'creditor_agent_bic' | 'debtor_country' | 'residency_exception'>;

function legInput(payment: LegPayment, row: Pick<IntakeWindowRow, 'source_currency' | 'target_currency'>) {
  return {
    uetr: payment.uetr, instructing_agent: payment.instructing_agent, amount_minor: BigInt(payment.amount_minor), source_currency: row.source_currency,
    target_currency: row.target_currency, debtor_agent_bic: payment.debtor_agent_bic, creditor_agent_bic: payment.creditor_agent_bic,
    debtor_country: payment.debtor_country, residency_exception: payment.residency_exception,
  };
}

function fxOf(row: Pick<IntakeWindowRow, 'fx_provider' | 'fx_rate_scaled' | 'fx_rate_scale'>) {
  return { fx_provider: row.fx_provider, fx_rate_scaled: row.fx_rate_scaled === null ? null : BigInt(row.fx_rate_scaled), fx_rate_scale: row.fx_rate_scale };
}

/**
 * Storage created before legs carried residency (batch version 3) gains the two columns once
 * (SQLite has no ADD COLUMN IF NOT EXISTS). A payment taken before then has debtor_country '', which
 * the batch schema refuses: such a window fails to seal loudly rather than settle unchecked.
 */
function addResidencyColumns(sql: SqlStorage): void {
  const columns = new Set(sql.exec<{ name: string }>(`SELECT name FROM pragma_table_info('intake_payments')`).toArray().map((column) => column.name));
  if (!columns.has('debtor_country')) sql.exec(`ALTER TABLE intake_payments ADD COLUMN debtor_country TEXT NOT NULL DEFAULT ''`);
  if (!columns.has('residency_exception')) sql.exec(`ALTER TABLE intake_payments ADD COLUMN residency_exception TEXT`);
}
