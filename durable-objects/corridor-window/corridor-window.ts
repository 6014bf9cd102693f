/**
 * CorridorWindow: one Durable Object per corridor × jurisdiction × shard. It batches accepted
 * payments into time-sliced netting windows, seals each closed window into a canonical settlement
 * batch, and delivers it through a persisted outbox to a regional backend of its jurisdiction.
 *
 * Storage (SQLite):
 *   meta(key PK, value)                 the corridor snapshot this shard serves
 *   windows(start_ms PK, end_ms, state 'open'|'sealed'|'settled', fx_rate_scaled, payment_count,
 *           batch_id, digest, canonical, attempts, next_attempt_ms, last_error, region, log_index,
 *           receipt, settled_at_ms, partners_notified)
 *   payments(uetr PK, window_start_ms, partner_id, amount_minor, debtor_agent, creditor_agent, accepted_at_ms)
 *
 * Guarantees: a payment lands in exactly one window (UETR is the primary key); a window that has
 * sealed takes no more payments (late arrivals go to the next slice); the sealed bytes are stored
 * before the first delivery attempt, so eviction or a crash re-delivers the identical batch, and
 * the regional commit is idempotent by digest, so nothing is settled twice.
 */
import { DurableObject } from 'cloudflare:workers';
import { sealSettlementBatch } from '../../core/settlement-batch.ts';
import type { SettlementLeg } from '../../core/settlement-batch.ts';
import type { Env } from '../../workers/env.ts';
import { paymentLegs } from '../../core/payment-legs.ts';
import { deliverSettlementBatch, type DeliveryOutcome } from './deliver-batch.ts';

export interface WindowPayment {
  uetr: string;
  partner_id: string;
  amount_minor: string;
  source_currency: string;
  target_currency: string;
  debtor_agent_bic: string;
  creditor_agent_bic: string;
}

export interface WindowCorridor {
  id: string;
  jurisdiction: string;
  shard: number;
  fx_provider: string | null;
  fx_rate_scaled: string | null;
  fx_rate_scale: number;
  window_duration_ms: number;
  legs_max: number;
}

type WindowRow = {
  start_ms: number;
  end_ms: number;
  state: 'open' | 'sealed' | 'settled';
  fx_rate_scaled: string | null;
  payment_count: number;
  batch_id: string | null;
  digest: string | null;
  canonical: string | null;
  attempts: number;
  next_attempt_ms: number | null;
  partners_notified: number;
  region: string | null;
  log_index: number | null;
};

/** Slices a late arrival may skip forward before we call it a bug (each skip means a sealed slice). */
const lateSlicesMax = 8;
export const deliveryBackoffBaseMs = 500;
export const deliveryBackoffCapMs = 60_000;

export class CorridorWindow extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS windows (
      start_ms INTEGER PRIMARY KEY, end_ms INTEGER NOT NULL, state TEXT NOT NULL, fx_rate_scaled TEXT,
      payment_count INTEGER NOT NULL DEFAULT 0, batch_id TEXT, digest TEXT, canonical TEXT,
      attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ms INTEGER, last_error TEXT, region TEXT,
      log_index INTEGER, receipt TEXT, settled_at_ms INTEGER, partners_notified INTEGER NOT NULL DEFAULT 0)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS payments (
      uetr TEXT PRIMARY KEY, window_start_ms INTEGER NOT NULL, partner_id TEXT NOT NULL, amount_minor TEXT NOT NULL,
      debtor_agent TEXT NOT NULL, creditor_agent TEXT NOT NULL, accepted_at_ms INTEGER NOT NULL)`);
  }

  /** Puts a payment into the current window (idempotent on UETR) and returns that window's id. */
  async enqueue(payment: WindowPayment, corridor: WindowCorridor): Promise<string> {
    this.rememberCorridor(corridor);
    const existing = this.sql.exec<{ window_start_ms: number }>(`SELECT window_start_ms FROM payments WHERE uetr = ?`, payment.uetr).toArray()[0];
    if (existing !== undefined) return this.windowId(corridor, existing.window_start_ms);

    const legsPerPayment = corridor.fx_provider === null ? 1 : 2;
    const paymentsMax = Math.max(1, Math.floor(corridor.legs_max / legsPerPayment));
    const now = Date.now();
    let window = this.openWindowAt(now, corridor);
    for (let skipped = 0; window.state !== 'open' || window.payment_count >= paymentsMax; skipped += 1) {
      if (skipped >= lateSlicesMax) throw new Error(`corridor window ${this.windowId(corridor, window.start_ms)}: ${lateSlicesMax} consecutive slices closed`);
      window = this.openWindowAt(window.end_ms, corridor);
    }
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        `INSERT INTO payments (uetr, window_start_ms, partner_id, amount_minor, debtor_agent, creditor_agent, accepted_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        payment.uetr, window.start_ms, payment.partner_id, payment.amount_minor, payment.debtor_agent_bic, payment.creditor_agent_bic, now,
      );
      this.sql.exec(`UPDATE windows SET payment_count = payment_count + 1 WHERE start_ms = ?`, window.start_ms);
    });
    const full = window.payment_count + 1 >= paymentsMax;
    await this.scheduleAlarm(full ? now : window.end_ms);
    return this.windowId(corridor, window.start_ms);
  }

  /** Closes due windows, then works the outbox: deliver sealed batches, notify partners of settled ones. */
  override async alarm(): Promise<void> {
    const corridor = this.corridor();
    if (corridor === undefined) return;
    const now = Date.now();
    this.sealDueWindows(corridor, now);
    for (const window of this.windowsIn('sealed')) {
      if ((window.next_attempt_ms ?? 0) <= now) await this.deliver(corridor, window);
    }
    for (const window of this.windowsIn('settled')) {
      if (window.partners_notified === 0) await this.notifyPartners(corridor, window);
    }
    await this.rescheduleFromState();
  }

  /** For operators and tests: the windows this shard holds, newest first. */
  async describe(): Promise<Array<Omit<WindowRow, 'canonical'>>> {
    return this.sql
      .exec<WindowRow>(`SELECT start_ms, end_ms, state, fx_rate_scaled, payment_count, batch_id, digest, attempts, next_attempt_ms, partners_notified, region, log_index FROM windows ORDER BY start_ms DESC`)
      .toArray();
  }

  /** The sealed canonical batch bytes of a window: replaying the same legs must give these bytes. */
  async sealedBatch(startMs: number): Promise<string | null> {
    return this.sql.exec<{ canonical: string | null }>(`SELECT canonical FROM windows WHERE start_ms = ?`, startMs).toArray()[0]?.canonical ?? null;
  }

  private sealDueWindows(corridor: WindowCorridor, now: number): void {
    const paymentsMax = Math.max(1, Math.floor(corridor.legs_max / (corridor.fx_provider === null ? 1 : 2)));
    const due = this.sql
      .exec<WindowRow>(`SELECT * FROM windows WHERE state = 'open' AND (end_ms <= ? OR payment_count >= ?) ORDER BY start_ms`, now, paymentsMax)
      .toArray();
    for (const window of due) this.seal(corridor, window);
  }

  private seal(corridor: WindowCorridor, window: WindowRow): void {
    const payments = this.sql
      .exec<{ uetr: string; amount_minor: string; debtor_agent: string; creditor_agent: string }>(
        `SELECT uetr, amount_minor, debtor_agent, creditor_agent FROM payments WHERE window_start_ms = ?`, window.start_ms,
      )
      .toArray();
    if (payments.length === 0) {
      this.sql.exec(`DELETE FROM windows WHERE start_ms = ?`, window.start_ms);
      return;
    }
    const [sourceCurrency, targetCurrency] = corridor.id.split('-') as [string, string];
    const legs: SettlementLeg[] = payments.flatMap((payment) =>
      paymentLegs(
        { uetr: payment.uetr, amount_minor: BigInt(payment.amount_minor), source_currency: sourceCurrency, target_currency: targetCurrency, debtor_agent_bic: payment.debtor_agent, creditor_agent_bic: payment.creditor_agent },
        { fx_provider: corridor.fx_provider, fx_rate_scaled: window.fx_rate_scaled === null ? null : BigInt(window.fx_rate_scaled), fx_rate_scale: corridor.fx_rate_scale },
      ),
    );
    const sealed = sealSettlementBatch({
      batch_id: this.windowId(corridor, window.start_ms),
      corridor: corridor.id,
      jurisdiction: corridor.jurisdiction,
      window: { starts_at: new Date(window.start_ms).toISOString(), ends_at: new Date(window.end_ms).toISOString() },
      legs,
    });
    this.sql.exec(
      `UPDATE windows SET state = 'sealed', batch_id = ?, digest = ?, canonical = ?, next_attempt_ms = 0 WHERE start_ms = ? AND state = 'open'`,
      sealed.batch.batch_id, sealed.digest, sealed.canonical, window.start_ms,
    );
  }

  private async deliver(corridor: WindowCorridor, window: WindowRow): Promise<void> {
    const outcome: DeliveryOutcome = await deliverSettlementBatch(this.env, corridor.jurisdiction, window.canonical as string, window.digest as string);
    if (outcome.kind === 'settled') {
      this.sql.exec(
        `UPDATE windows SET state = 'settled', region = ?, log_index = ?, receipt = ?, settled_at_ms = ?, last_error = NULL WHERE start_ms = ?`,
        outcome.response.region, outcome.response.log_index, outcome.response.receipt, Date.now(), window.start_ms,
      );
      await this.notifyPartners(corridor, { ...window, region: outcome.response.region, log_index: outcome.response.log_index });
      return;
    }
    const attempts = window.attempts + 1;
    const backoffMs = Math.min(deliveryBackoffCapMs, deliveryBackoffBaseMs * 2 ** Math.min(attempts, 16));
    const nextAttemptMs = Date.now() + Math.round(backoffMs / 2 + Math.random() * (backoffMs / 2));
    console.warn(JSON.stringify({ event: 'settlement-delivery-failed', batch_id: window.batch_id, attempts, next_attempt_ms: nextAttemptMs, errors: outcome.errors }));
    this.sql.exec(`UPDATE windows SET attempts = ?, next_attempt_ms = ?, last_error = ? WHERE start_ms = ?`, attempts, nextAttemptMs, outcome.errors.join('; ').slice(0, 2000), window.start_ms);
  }

  private async notifyPartners(corridor: WindowCorridor, window: WindowRow): Promise<void> {
    const rows = this.sql.exec<{ partner_id: string; uetr: string }>(`SELECT partner_id, uetr FROM payments WHERE window_start_ms = ?`, window.start_ms).toArray();
    const byPartner = new Map<string, string[]>();
    for (const row of rows) byPartner.set(row.partner_id, [...(byPartner.get(row.partner_id) ?? []), row.uetr]);
    for (const [partnerId, uetrs] of byPartner) {
      const partner = this.env.PARTNER_STATE.get(this.env.PARTNER_STATE.idFromName(partnerId));
      await partner.markSettled({ uetrs, batchId: window.batch_id as string, jurisdiction: corridor.jurisdiction, region: window.region as string, logIndex: window.log_index as number });
    }
    this.sql.exec(`UPDATE windows SET partners_notified = 1 WHERE start_ms = ?`, window.start_ms);
  }

  private openWindowAt(instantMs: number, corridor: WindowCorridor): WindowRow {
    const startMs = instantMs - (instantMs % corridor.window_duration_ms);
    this.sql.exec(
      `INSERT INTO windows (start_ms, end_ms, state, fx_rate_scaled) VALUES (?, ?, 'open', ?) ON CONFLICT DO NOTHING`,
      startMs, startMs + corridor.window_duration_ms, corridor.fx_rate_scaled,
    );
    return this.sql.exec<WindowRow>(`SELECT * FROM windows WHERE start_ms = ?`, startMs).one();
  }

  private windowsIn(state: WindowRow['state']): WindowRow[] {
    return this.sql.exec<WindowRow>(`SELECT * FROM windows WHERE state = ? ORDER BY start_ms`, state).toArray();
  }

  private async rescheduleFromState(): Promise<void> {
    const next = this.sql
      .exec<{ at: number | null }>(
        `SELECT min(at) AS at FROM (
           SELECT end_ms AS at FROM windows WHERE state = 'open'
           UNION ALL SELECT coalesce(next_attempt_ms, 0) FROM windows WHERE state = 'sealed'
           UNION ALL SELECT ? FROM windows WHERE state = 'settled' AND partners_notified = 0)`,
        Date.now() + deliveryBackoffBaseMs,
      )
      .one().at;
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  private async scheduleAlarm(atMs: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || atMs < current) await this.ctx.storage.setAlarm(atMs);
  }

  private rememberCorridor(corridor: WindowCorridor): void {
    this.sql.exec(`INSERT INTO meta (key, value) VALUES ('corridor', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, JSON.stringify(corridor));
  }

  private corridor(): WindowCorridor | undefined {
    const row = this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'corridor'`).toArray()[0];
    return row === undefined ? undefined : (JSON.parse(row.value) as WindowCorridor);
  }

  private windowId(corridor: WindowCorridor, startMs: number): string {
    return `${corridor.id}.${corridor.jurisdiction}.${corridor.shard}.${startMs}`;
  }
}
