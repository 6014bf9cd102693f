/**
 * The coordinator side of a CorridorWindow (shard 0 of a corridor × jurisdiction): every shard's
 * part of a window, the one sealed batch netted over all of them, and its outbox.
 *
 * Tables (SQLite, in the object's storage):
 *   netting_windows(start_ms PK, end_ms, shards, state, close_requested, next_collect_ms, collect_attempts,
 *                   batch_id, digest, leg_count, chunk_count, fx_provider, fx_residue_currency,
 *                   fx_residue_numerator, fx_residue_denominator, attempts, next_attempt_ms, last_error,
 *                   region, log_index, receipt, settled_at_ms, partners_notified,
 *                   refused_at_ms, refusal_slug, refusal_reason, refusal_detail, refused_by,
 *                   unanswered_until_ms)
 *   netting_parts(start_ms, shard, part_digest, leg_count, fx_rate_scaled, fx_residue_numerator,
 *                 fx_residue_denominator, close_reason, received_at_ms)              PK (start_ms, shard)
 *   netting_window_part_legs(start_ms, shard, uetr, instructing_agent, payer, payee, currency, amount_minor,
 *                            debtor_country, residency_exception)
 *                                                                                   until the window seals
 *   netting_window_payments(start_ms, partner_id, uetr, shard)                      PK (start_ms, partner_id, uetr)
 *   netting_batch_chunks(start_ms, chunk_index, text)                               PK (start_ms, chunk_index)
 *
 * States: collecting (shards join it with their shard count before they take its first payment;
 * parts arrive, pushed by shards or pulled from them) → sealed (all `shards` parts stored; the
 * canonical batch bytes are written in chunks before the first delivery) → settled (the regional
 * receipt is recorded) | refused (the jurisdiction's backends refused the batch for its content and
 * a read-back proved it uncommitted: deliver-batch.ts; `partners_notified` then means every payment
 * was marked rejected with the backend's slug). A window whose parts hold no leg at all (every payment rejected at close)
 * goes from collecting to empty: there is nothing to deliver. settled, refused and empty are final:
 * no state leads out of them, so a refused batch is never delivered again (nor settled twice). A payment is (partner, UETR): the
 * v1 `netting_payments` table keyed on the UETR alone is left unread. A part is stored once; a repeated hand-off must
 * carry the same digest.
 *
 * Retention: a window that is settled or refused with its partners told, or empty, is kept
 * `finishedWindowRetentionMs` after it finished (the regional ledger holds the batch for good), then
 * pruned with its parts, payments and batch bytes; the `retired_before_ms` watermark (netting_meta)
 * then refuses a part or a join for any slice before it, so a pruned window can never be rebuilt
 * and settled a second time. The batch bytes are kept in chunks because one SQLite value holds at
 * most 2 MB and a window may hold up to 200,000 legs.
 */
import type { ExactMinor } from '../../core/fx.ts';
import { fxResidueBooking, refusalDetailCharsMax, sealNettingWindow, type FxResidueBooking, type NettingWindowPart, type NettingWindowState } from '../../core/netting-window.ts';
import type { SettlementLeg, SettlementResponse } from '../../core/settlement-batch.ts';
import type { WindowCorridor, WindowPart } from '../../core/corridor-window-contract.ts';
import { batchDigestHex } from './batch-digest.ts';

export type NettingState = NettingWindowState;

/** Why the backends refused a window's batch (deliver-batch.ts decides that a refusal is final). */
export interface SettlementRefusal {
  /** The backend's problem slug: residency-denied or batch-rejected. */
  slug: string;
  /** The problem's `reason` extension (e.g. debtor-country-outside), when it has one. */
  reason: string | null;
  /** The first refusing backend's answer, bounded: for operators only (it names other partners' legs). */
  detail: string;
  /** The regions that refused it, in the order they answered. */
  regions: string[];
}

export type NettingWindowRow = {
  start_ms: number;
  end_ms: number;
  shards: number;
  state: NettingState;
  close_requested: number;
  next_collect_ms: number | null;
  collect_attempts: number;
  batch_id: string | null;
  digest: string | null;
  leg_count: number | null;
  chunk_count: number | null;
  fx_provider: string | null;
  fx_residue_currency: string | null;
  fx_residue_numerator: string | null;
  fx_residue_denominator: string | null;
  attempts: number;
  next_attempt_ms: number | null;
  last_error: string | null;
  region: string | null;
  log_index: number | null;
  receipt: string | null;
  settled_at_ms: number | null;
  partners_notified: number;
  refused_at_ms: number | null;
  refusal_slug: string | null;
  refusal_reason: string | null;
  refusal_detail: string | null;
  /** JSON array of the regions that refused the batch. */
  refused_by: string | null;
  /**
   * Until when (ms, edge clock) a delivery call of this batch that went unanswered may still
   * commit at its backend (deliver-batch.ts, "Unanswered calls"); null when none did.
   */
  unanswered_until_ms: number | null;
};

export interface NettingWindowSummary extends Omit<NettingWindowRow, 'receipt' | 'fx_residue_numerator' | 'fx_residue_denominator' | 'fx_residue_currency' | 'refused_by' | 'unanswered_until_ms'> {
  /** The regions that refused the batch (state refused), else null. */
  refused_by: string[] | null;
  parts_received: number;
  /** The window's FX rounding residue booked to the provider's explicit account, or null (same currency, or not sealed yet). */
  fx_residue: (FxResidueBooking & { numerator: string; denominator: string }) | null;
}

/** How long a finished (settled or refused and notified, or empty) window stays with its coordinator. */
export const finishedWindowRetentionMs = 24 * 60 * 60 * 1000;
/** Older windows in the outbox or refused that a summary lists beyond the newest ones. */
export const attentionWindowsMax = 200;
/** Windows one prune removes. */
export const nettingPruneWindowsMax = 50;

/** Characters per stored chunk of batch bytes: ASCII JSON here, and far below SQLite's 2 MB value limit even at 3 bytes a character. */
export const batchChunkCharsMax = 512 * 1024;

export class NettingStore {
  private readonly sql: SqlStorage;
  private readonly storage: DurableObjectStorage;

  constructor(storage: DurableObjectStorage) {
    this.storage = storage;
    this.sql = storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS netting_windows (
      start_ms INTEGER PRIMARY KEY, end_ms INTEGER NOT NULL, shards INTEGER NOT NULL, state TEXT NOT NULL,
      close_requested INTEGER NOT NULL DEFAULT 0, next_collect_ms INTEGER, collect_attempts INTEGER NOT NULL DEFAULT 0,
      batch_id TEXT, digest TEXT, leg_count INTEGER, chunk_count INTEGER, fx_provider TEXT, fx_residue_currency TEXT,
      fx_residue_numerator TEXT, fx_residue_denominator TEXT, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ms INTEGER,
      last_error TEXT, region TEXT, log_index INTEGER, receipt TEXT, settled_at_ms INTEGER, partners_notified INTEGER NOT NULL DEFAULT 0)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS netting_parts (
      start_ms INTEGER NOT NULL, shard INTEGER NOT NULL, part_digest TEXT NOT NULL, leg_count INTEGER NOT NULL, fx_rate_scaled TEXT,
      fx_residue_numerator TEXT, fx_residue_denominator TEXT, close_reason TEXT NOT NULL, received_at_ms INTEGER NOT NULL,
      PRIMARY KEY (start_ms, shard))`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS netting_window_part_legs (
      start_ms INTEGER NOT NULL, shard INTEGER NOT NULL, uetr TEXT NOT NULL, instructing_agent TEXT NOT NULL, payer TEXT NOT NULL, payee TEXT NOT NULL,
      currency TEXT NOT NULL, amount_minor TEXT NOT NULL, debtor_country TEXT NOT NULL DEFAULT '', residency_exception TEXT)`);
    addPartLegResidencyColumns(this.sql);
    addLaterWindowColumns(this.sql);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS netting_window_part_legs_by_window ON netting_window_part_legs (start_ms, shard)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS netting_window_payments (
      start_ms INTEGER NOT NULL, partner_id TEXT NOT NULL, uetr TEXT NOT NULL, shard INTEGER NOT NULL, PRIMARY KEY (start_ms, partner_id, uetr))`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS netting_windows_by_state ON netting_windows (state, start_ms)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS netting_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS netting_batch_chunks (
      start_ms INTEGER NOT NULL, chunk_index INTEGER NOT NULL, text TEXT NOT NULL, PRIMARY KEY (start_ms, chunk_index))`);
  }

  /**
   * Stores one shard's part (idempotent: the same part again is a no-op). A part closed on size
   * asks for the whole window to close now. Throws — a bug or an unsafe reconfiguration, never
   * input — if a different part arrives for the same shard, or any part for a window that is
   * already sealed without it; the sender keeps the part and retries, and the error is in its log.
   */
  acceptPart(part: WindowPart, nowMs: number): 'stored' | 'repeat' {
    if (part.start_ms < this.retiredBeforeMs()) throw new Error(`netting window ${part.start_ms}: part of shard ${part.shard} arrived for a retired slice (before ${this.retiredBeforeMs()})`);
    const stored = this.sql.exec<{ part_digest: string }>(`SELECT part_digest FROM netting_parts WHERE start_ms = ? AND shard = ?`, part.start_ms, part.shard).toArray()[0];
    if (stored !== undefined) {
      if (stored.part_digest !== part.part_digest) {
        throw new Error(`netting window ${part.start_ms}: shard ${part.shard} handed over digest ${part.part_digest}, stored ${stored.part_digest}`);
      }
      return 'repeat';
    }
    this.storage.transactionSync(() => {
      this.sql.exec(
        `INSERT INTO netting_windows (start_ms, end_ms, shards, state, next_collect_ms, fx_provider) VALUES (?, ?, ?, 'collecting', ?, ?) ON CONFLICT DO NOTHING`,
        part.start_ms, part.end_ms, part.corridor.shards, part.end_ms, part.corridor.fx_provider,
      );
      const window = this.window(part.start_ms)!;
      if (window.state !== 'collecting') {
        throw new Error(`netting window ${part.start_ms}: part of shard ${part.shard} arrived after the window sealed with ${window.shards} shards (was the shard count changed while the corridor was open?)`);
      }
      // A shard count raised mid-window widens the window before it seals; the new shards are collected too.
      this.sql.exec(`UPDATE netting_windows SET shards = max(shards, ?), end_ms = max(end_ms, ?) WHERE start_ms = ?`, part.corridor.shards, part.end_ms, part.start_ms);
      if (part.close_reason === 'size') this.sql.exec(`UPDATE netting_windows SET close_requested = 1, next_collect_ms = ? WHERE start_ms = ?`, nowMs, part.start_ms);
      this.sql.exec(
        `INSERT INTO netting_parts (start_ms, shard, part_digest, leg_count, fx_rate_scaled, fx_residue_numerator, fx_residue_denominator, close_reason, received_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        part.start_ms, part.shard, part.part_digest, part.legs.length, part.fx_rate_scaled, part.fx_residue?.numerator ?? null, part.fx_residue?.denominator ?? null, part.close_reason, nowMs,
      );
      for (const leg of part.legs) {
        this.sql.exec(
          `INSERT INTO netting_window_part_legs (start_ms, shard, uetr, instructing_agent, payer, payee, currency, amount_minor, debtor_country, residency_exception)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          part.start_ms, part.shard, leg.uetr, leg.instructing_agent, leg.payer, leg.payee, leg.currency, leg.amount_minor, leg.debtor_country, leg.residency_exception,
        );
      }
      for (const payment of part.payments) {
        // The primary key makes a payment in two parts of one window fail the whole hand-off, loudly.
        this.sql.exec(`INSERT INTO netting_window_payments (start_ms, partner_id, uetr, shard) VALUES (?, ?, ?, ?)`, part.start_ms, payment.partner_id, payment.uetr, part.shard);
      }
    });
    return 'stored';
  }

  /**
   * A shard asks to take payments into a window: `joined` means the window is still collecting and
   * will not seal before it holds that shard's part (its shard count is widened to the shard's);
   * `sealed` means it is past taking parts, and the shard must use a later slice. This is what
   * lets a corridor's shard count be raised while a slice is open without stranding a part.
   */
  join(startMs: number, endMs: number, shards: number, fxProvider: string | null): 'joined' | 'sealed' {
    if (startMs < this.retiredBeforeMs()) return 'sealed';
    this.sql.exec(
      `INSERT INTO netting_windows (start_ms, end_ms, shards, state, next_collect_ms, fx_provider) VALUES (?, ?, ?, 'collecting', ?, ?) ON CONFLICT DO NOTHING`,
      startMs, endMs, shards, endMs, fxProvider,
    );
    const window = this.window(startMs)!;
    if (window.state !== 'collecting') return 'sealed';
    this.sql.exec(`UPDATE netting_windows SET shards = max(shards, ?), end_ms = max(end_ms, ?) WHERE start_ms = ?`, shards, endMs, startMs);
    return 'joined';
  }

  /** Collecting windows whose collection is due: their slice ended, a part closed on size, or a retry is due. */
  collectionsDue(nowMs: number): NettingWindowRow[] {
    return this.sql.exec<NettingWindowRow>(`SELECT * FROM netting_windows WHERE state = 'collecting' AND coalesce(next_collect_ms, 0) <= ? ORDER BY start_ms`, nowMs).toArray();
  }

  missingShards(startMs: number): number[] {
    const window = this.window(startMs);
    if (window === undefined) return [];
    const present = new Set(this.sql.exec<{ shard: number }>(`SELECT shard FROM netting_parts WHERE start_ms = ?`, startMs).toArray().map((row) => row.shard));
    return Array.from({ length: window.shards }, (_, shard) => shard).filter((shard) => !present.has(shard));
  }

  markCollectFailed(startMs: number, error: string, nextAttemptMs: number): void {
    this.sql.exec(
      `UPDATE netting_windows SET collect_attempts = collect_attempts + 1, next_collect_ms = ?, last_error = ? WHERE start_ms = ? AND state = 'collecting'`,
      nextAttemptMs, error.slice(0, 2_000), startMs,
    );
  }

  /**
   * Seals a whole window: merges all parts into one batch (core `sealNettingWindow`), books the
   * summed FX residue, writes the canonical bytes in chunks, and drops the per-part legs (the
   * batch holds them now). All in one transaction: the window is either collecting or sealed
   * with its bytes, never in between.
   */
  seal(startMs: number, corridor: WindowCorridor): NettingWindowRow {
    const window = this.window(startMs);
    if (window === undefined || window.state !== 'collecting') throw new Error(`netting window ${startMs}: cannot seal from state ${window?.state ?? 'missing'}`);
    const parts = this.parts(startMs);
    const rates = new Set(this.sql.exec<{ fx_rate_scaled: string | null }>(`SELECT DISTINCT fx_rate_scaled FROM netting_parts WHERE start_ms = ? AND leg_count > 0`, startMs).toArray().map((row) => row.fx_rate_scaled));
    if (rates.size > 1) {
      // Each payment was converted once, at the rate its window part fixed; the batch is still exact and zero-sum.
      console.warn(JSON.stringify({ event: 'netting-window-fx-rate-split', corridor: corridor.id, jurisdiction: corridor.jurisdiction, start_ms: startMs, rates: [...rates] }));
    }
    if (parts.every((part) => part.legs.length === 0)) {
      this.sql.exec(`UPDATE netting_windows SET state = 'empty', leg_count = 0, next_collect_ms = NULL, last_error = NULL WHERE start_ms = ? AND state = 'collecting'`, startMs);
      this.sql.exec(`DELETE FROM netting_window_part_legs WHERE start_ms = ?`, startMs);
      return this.window(startMs)!;
    }
    const { sealed, fxResidue } = sealNettingWindow({ corridor: corridor.id, jurisdiction: corridor.jurisdiction, startMs, endMs: window.end_ms, shards: window.shards }, parts, batchDigestHex);
    const [, targetCurrency] = corridor.id.split('-') as [string, string];
    this.storage.transactionSync(() => {
      const chunkCount = Math.ceil(sealed.canonical.length / batchChunkCharsMax);
      for (let index = 0; index < chunkCount; index++) {
        this.sql.exec(`INSERT INTO netting_batch_chunks (start_ms, chunk_index, text) VALUES (?, ?, ?)`, startMs, index, sealed.canonical.slice(index * batchChunkCharsMax, (index + 1) * batchChunkCharsMax));
      }
      this.sql.exec(
        `UPDATE netting_windows SET state = 'sealed', batch_id = ?, digest = ?, leg_count = ?, chunk_count = ?, fx_residue_currency = ?, fx_residue_numerator = ?, fx_residue_denominator = ?,
           next_collect_ms = NULL, next_attempt_ms = 0, last_error = NULL WHERE start_ms = ? AND state = 'collecting'`,
        sealed.batch.batch_id, sealed.digest, sealed.batch.legs.length, chunkCount, fxResidue === null ? null : targetCurrency,
        fxResidue?.numerator.toString() ?? null, fxResidue?.denominator.toString() ?? null, startMs,
      );
      this.sql.exec(`DELETE FROM netting_window_part_legs WHERE start_ms = ?`, startMs);
    });
    const stored = this.window(startMs)!;
    if (this.sealedBatch(startMs) !== sealed.canonical) throw new Error(`netting window ${startMs}: stored batch bytes differ from the sealed ones`);
    return stored;
  }

  /** The exact bytes that were sealed, or null before sealing. */
  sealedBatch(startMs: number): string | null {
    const window = this.window(startMs);
    if (window?.chunk_count == null) return null;
    const chunks = this.sql.exec<{ text: string }>(`SELECT text FROM netting_batch_chunks WHERE start_ms = ? ORDER BY chunk_index`, startMs).toArray();
    if (chunks.length !== window.chunk_count) throw new Error(`netting window ${startMs}: ${chunks.length} of ${window.chunk_count} batch chunks stored`);
    return chunks.map((chunk) => chunk.text).join('');
  }

  deliveriesDue(nowMs: number): NettingWindowRow[] {
    return this.sql.exec<NettingWindowRow>(`SELECT * FROM netting_windows WHERE state = 'sealed' AND coalesce(next_attempt_ms, 0) <= ? ORDER BY start_ms`, nowMs).toArray();
  }

  markSettled(startMs: number, response: SettlementResponse, nowMs: number): void {
    this.sql.exec(
      `UPDATE netting_windows SET state = 'settled', region = ?, log_index = ?, receipt = ?, settled_at_ms = ?, next_attempt_ms = NULL, last_error = NULL WHERE start_ms = ? AND state = 'sealed'`,
      response.region, response.log_index, response.receipt, nowMs, startMs,
    );
  }

  /** `unansweredUntilMs`: the delivery's deadline for its unanswered calls (null: none); the window keeps the latest. */
  markDeliveryFailed(startMs: number, error: string, nextAttemptMs: number, unansweredUntilMs: number | null = null): number {
    this.sql.exec(
      `UPDATE netting_windows SET attempts = attempts + 1, next_attempt_ms = ?, last_error = ?,
         unanswered_until_ms = nullif(max(coalesce(unanswered_until_ms, 0), coalesce(?, 0)), 0) WHERE start_ms = ? AND state = 'sealed'`,
      nextAttemptMs, error.slice(0, 2_000), unansweredUntilMs, startMs,
    );
    return this.window(startMs)?.attempts ?? 0;
  }

  /**
   * The backends refused the batch for good (deliver-batch.ts): the window leaves the outbox and
   * its payments are to be rejected. Only from sealed: a settled window is never refused after.
   */
  markRefused(startMs: number, refusal: SettlementRefusal, nowMs: number): void {
    this.sql.exec(
      `UPDATE netting_windows SET state = 'refused', refused_at_ms = ?, refusal_slug = ?, refusal_reason = ?, refusal_detail = ?, refused_by = ?, attempts = attempts + 1,
         next_attempt_ms = NULL, last_error = NULL WHERE start_ms = ? AND state = 'sealed'`,
      nowMs, refusal.slug, refusal.reason, refusal.detail.slice(0, refusalDetailCharsMax), JSON.stringify(refusal.regions), startMs,
    );
  }

  /** Final windows whose partners are still to be told: settled (markSettled) or refused (markRejected). */
  notificationsDue(): NettingWindowRow[] {
    return this.sql.exec<NettingWindowRow>(`SELECT * FROM netting_windows WHERE state IN ('settled', 'refused') AND partners_notified = 0 ORDER BY start_ms`).toArray();
  }

  paymentCount(startMs: number): number {
    return this.sql.exec<{ count: number }>(`SELECT count(*) AS count FROM netting_window_payments WHERE start_ms = ?`, startMs).one().count;
  }

  /** UETRs of a window by the partner that submitted them. */
  paymentsByPartner(startMs: number): Map<string, string[]> {
    const byPartner = new Map<string, string[]>();
    for (const row of this.sql.exec<{ partner_id: string; uetr: string }>(`SELECT partner_id, uetr FROM netting_window_payments WHERE start_ms = ? ORDER BY partner_id, uetr`, startMs)) {
      const uetrs = byPartner.get(row.partner_id);
      if (uetrs === undefined) byPartner.set(row.partner_id, [row.uetr]);
      else uetrs.push(row.uetr);
    }
    return byPartner;
  }

  markPartnersNotified(startMs: number): void {
    this.sql.exec(`UPDATE netting_windows SET partners_notified = 1 WHERE start_ms = ?`, startMs);
  }

  /** Drops finished windows older than the retention with everything they hold, and raises the watermark past them. */
  prune(nowMs: number): number {
    const due = this.sql
      .exec<{ start_ms: number }>(
        `SELECT start_ms FROM netting_windows WHERE ((state = 'settled' AND partners_notified = 1 AND settled_at_ms < ?) OR (state = 'refused' AND partners_notified = 1 AND refused_at_ms < ?)
           OR (state = 'empty' AND end_ms < ?)) ORDER BY start_ms LIMIT ?`,
        nowMs - finishedWindowRetentionMs, nowMs - finishedWindowRetentionMs, nowMs - finishedWindowRetentionMs, nettingPruneWindowsMax,
      )
      .toArray();
    if (due.length === 0) return 0;
    this.storage.transactionSync(() => {
      for (const { start_ms: startMs } of due) {
        for (const table of ['netting_batch_chunks', 'netting_window_payments', 'netting_window_part_legs', 'netting_parts', 'netting_windows']) {
          this.sql.exec(`DELETE FROM ${table} WHERE start_ms = ?`, startMs);
        }
      }
      // Never past a window still in flight: its missing parts must still be accepted.
      const unfinished = this.sql.exec<{ at: number | null }>(`SELECT min(start_ms) AS at FROM netting_windows WHERE state IN ('collecting', 'sealed') OR (state IN ('settled', 'refused') AND partners_notified = 0)`).one().at;
      const watermark = Math.max(this.retiredBeforeMs(), Math.min(due[due.length - 1]!.start_ms + 1, unfinished ?? Number.MAX_SAFE_INTEGER));
      this.sql.exec(`INSERT INTO netting_meta (key, value) VALUES ('retired_before_ms', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, String(watermark));
    });
    return due.length;
  }

  /** When the oldest finished window becomes due for pruning, or null when none is kept. */
  nextPruneMs(): number | null {
    const oldest = this.sql
      .exec<{ at: number | null }>(`SELECT min(coalesce(settled_at_ms, refused_at_ms, end_ms)) AS at FROM netting_windows WHERE (state IN ('settled', 'refused') AND partners_notified = 1) OR state = 'empty'`)
      .one().at;
    return oldest === null ? null : oldest + finishedWindowRetentionMs;
  }

  private retiredBeforeMs(): number {
    return Number(this.sql.exec<{ value: string }>(`SELECT value FROM netting_meta WHERE key = 'retired_before_ms'`).toArray()[0]?.value ?? 0);
  }

  window(startMs: number): NettingWindowRow | undefined {
    return this.sql.exec<NettingWindowRow>(`SELECT * FROM netting_windows WHERE start_ms = ?`, startMs).toArray()[0];
  }

  /**
   * The newest `limit` windows, and besides them up to `attentionWindowsMax` older ones an operator
   * must see — still in the outbox, or refused — newest first: in a corridor closing a window every
   * two seconds, a refused window would otherwise leave every view within minutes.
   */
  summaries(limit: number): NettingWindowSummary[] {
    const rows = this.sql
      .exec<NettingWindowRow>(
        `SELECT * FROM netting_windows WHERE start_ms IN (SELECT start_ms FROM netting_windows ORDER BY start_ms DESC LIMIT ?)
           OR start_ms IN (SELECT start_ms FROM netting_windows WHERE state IN ('sealed', 'refused') ORDER BY start_ms DESC LIMIT ?) ORDER BY start_ms DESC`,
        limit, attentionWindowsMax,
      )
      .toArray();
    return rows.map((row) => {
      const { receipt: _receipt, fx_residue_numerator, fx_residue_denominator, fx_residue_currency, refused_by, unanswered_until_ms: _unansweredUntilMs, ...summary } = row;
      const partsReceived = this.sql.exec<{ count: number }>(`SELECT count(*) AS count FROM netting_parts WHERE start_ms = ?`, row.start_ms).one().count;
      let fxResidue: NettingWindowSummary['fx_residue'] = null;
      if (fx_residue_numerator !== null && fx_residue_denominator !== null && fx_residue_currency !== null && row.fx_provider !== null) {
        const exact: ExactMinor = { numerator: BigInt(fx_residue_numerator), denominator: BigInt(fx_residue_denominator) };
        fxResidue = { ...fxResidueBooking(row.fx_provider, fx_residue_currency, exact), numerator: fx_residue_numerator, denominator: fx_residue_denominator };
      }
      return { ...summary, refused_by: refused_by === null ? null : (JSON.parse(refused_by) as string[]), parts_received: partsReceived, fx_residue: fxResidue };
    });
  }

  /** The earliest moment the coordinator has work: a collection, a delivery, or a partner notification. */
  nextWakeMs(nowMs: number, notifyRetryMs: number): number | null {
    return this.sql
      .exec<{ at: number | null }>(
        `SELECT min(at) AS at FROM (
           SELECT coalesce(next_collect_ms, 0) AS at FROM netting_windows WHERE state = 'collecting'
           UNION ALL SELECT coalesce(next_attempt_ms, 0) FROM netting_windows WHERE state = 'sealed'
           UNION ALL SELECT ? FROM netting_windows WHERE state IN ('settled', 'refused') AND partners_notified = 0)`,
        nowMs + notifyRetryMs,
      )
      .one().at;
  }

  private parts(startMs: number): NettingWindowPart[] {
    const headers = this.sql
      .exec<{ shard: number; leg_count: number; fx_residue_numerator: string | null; fx_residue_denominator: string | null }>(
        `SELECT shard, leg_count, fx_residue_numerator, fx_residue_denominator FROM netting_parts WHERE start_ms = ? ORDER BY shard`, startMs,
      )
      .toArray();
    return headers.map((header) => {
      const legs = this.sql
        .exec<{ uetr: string; instructing_agent: string; payer: string; payee: string; currency: string; amount_minor: string; debtor_country: string; residency_exception: string | null }>(
          `SELECT uetr, instructing_agent, payer, payee, currency, amount_minor, debtor_country, residency_exception FROM netting_window_part_legs WHERE start_ms = ? AND shard = ?`, startMs, header.shard,
        )
        .toArray()
        .map((row) => ({
          uetr: row.uetr, instructing_agent: row.instructing_agent, payer: row.payer, payee: row.payee, currency: row.currency, amount_minor: row.amount_minor,
          debtor_country: row.debtor_country, residency_exception: row.residency_exception,
        }));
      if (legs.length !== header.leg_count) throw new Error(`netting window ${startMs}: shard ${header.shard} stored ${legs.length} of ${header.leg_count} legs`);
      const fxResidue = header.fx_residue_numerator === null || header.fx_residue_denominator === null
        ? null
        : { numerator: BigInt(header.fx_residue_numerator), denominator: BigInt(header.fx_residue_denominator) };
      return { shard: header.shard, legs, fxResidue };
    });
  }
}

/** Storage from before windows could be refused (or tracked unanswered calls) gains those columns once. */
function addLaterWindowColumns(sql: SqlStorage): void {
  const columns = new Set(sql.exec<{ name: string }>(`SELECT name FROM pragma_table_info('netting_windows')`).toArray().map((column) => column.name));
  for (const column of ['refused_at_ms INTEGER', 'refusal_slug TEXT', 'refusal_reason TEXT', 'refusal_detail TEXT', 'refused_by TEXT', 'unanswered_until_ms INTEGER']) {
    if (!columns.has(column.split(' ')[0]!)) sql.exec(`ALTER TABLE netting_windows ADD COLUMN ${column}`);
  }
}

/** Storage from before legs carried residency (batch version 3) gains the columns once (see intake-store.ts). */
function addPartLegResidencyColumns(sql: SqlStorage): void {
  const columns = new Set(sql.exec<{ name: string }>(`SELECT name FROM pragma_table_info('netting_window_part_legs')`).toArray().map((column) => column.name));
  if (!columns.has('debtor_country')) sql.exec(`ALTER TABLE netting_window_part_legs ADD COLUMN debtor_country TEXT NOT NULL DEFAULT ''`);
  if (!columns.has('residency_exception')) sql.exec(`ALTER TABLE netting_window_part_legs ADD COLUMN residency_exception TEXT`);
}
