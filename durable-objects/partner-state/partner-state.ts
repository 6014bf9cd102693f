/**
 * PartnerState: one Durable Object per partner. Holds the partner's replay cache, its payments'
 * idempotency records and their status.
 *
 * Storage (SQLite):
 *   nonces(keyid, nonce, expires_at_ms)        PK (keyid, nonce); purged by alarm after 24 h
 *   payments(uetr PK, instruction_sha256, jws, corridor, jurisdiction, window_id, status,
 *            answer, batch_id, region, log_index, accepted_at_ms, settled_at_ms)
 *
 * Admission is idempotent on UETR: a row is written `pending` before the window is asked to
 * enqueue, and the window's enqueue is itself idempotent on UETR, so a crash between the two
 * steps is healed by the partner's retry without a second leg ever existing.
 */
import { DurableObject } from 'cloudflare:workers';
import { gatewayKey } from '../../workers/config/gateway-keys.ts';
import type { Env } from '../../workers/env.ts';
import { signAcceptanceReceipt } from '../../workers/receipts/acceptance-receipt.ts';
import type { WindowCorridor, WindowPayment } from '../corridor-window/corridor-window.ts';

export type PaymentStatus = 'accepted' | 'held' | 'rejected' | 'settled';

export interface PaymentAnswer {
  uetr: string;
  status: 'accepted' | 'held';
  window: string;
  receipt: string;
}

export interface AdmissionRequest {
  partnerId: string;
  uetr: string;
  instructionSha256: string;
  jws: string;
  corridor: string;
  jurisdiction: string;
  windowName: string;
  corridorConfig: WindowCorridor;
  payment: WindowPayment;
}

export type AdmissionResult = { kind: 'accepted'; answer: PaymentAnswer; repeat: boolean } | { kind: 'uetr-mismatch' };

export interface PaymentRecord {
  uetr: string;
  status: PaymentStatus;
  batch_id: string | null;
  jurisdiction: string | null;
  region: string | null;
  log_index: number | null;
}

export interface SettlementNotice {
  uetrs: string[];
  batchId: string;
  jurisdiction: string;
  region: string;
  logIndex: number;
}

const nonceSweepIntervalMs = 60 * 60 * 1000;

export class PartnerState extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly admissions = new Map<string, Promise<AdmissionResult>>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS nonces (keyid TEXT NOT NULL, nonce TEXT NOT NULL, expires_at_ms INTEGER NOT NULL, PRIMARY KEY (keyid, nonce))`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS nonces_by_expiry ON nonces (expires_at_ms)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS payments (
      uetr TEXT PRIMARY KEY, instruction_sha256 TEXT NOT NULL, jws TEXT NOT NULL, corridor TEXT NOT NULL,
      jurisdiction TEXT NOT NULL, window_id TEXT, status TEXT NOT NULL, answer TEXT, batch_id TEXT, region TEXT,
      log_index INTEGER, accepted_at_ms INTEGER, settled_at_ms INTEGER)`);
  }

  /** Claims (keyid, nonce) once. Returns false for a replay. */
  async claimNonce(keyid: string, nonce: string, expiresAtMs: number): Promise<boolean> {
    const claimed = this.sql
      .exec(`INSERT INTO nonces (keyid, nonce, expires_at_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING keyid`, keyid, nonce, expiresAtMs)
      .toArray();
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + nonceSweepIntervalMs);
    return claimed.length === 1;
  }

  override async alarm(): Promise<void> {
    this.sql.exec(`DELETE FROM nonces WHERE expires_at_ms <= ?`, Date.now());
    const remaining = this.sql.exec<{ count: number }>(`SELECT count(*) AS count FROM nonces`).one().count;
    if (remaining > 0) await this.ctx.storage.setAlarm(Date.now() + nonceSweepIntervalMs);
  }

  /** Admits a verified instruction exactly once per UETR; concurrent repeats share one admission. */
  async admit(request: AdmissionRequest): Promise<AdmissionResult> {
    const inflight = this.admissions.get(request.uetr);
    if (inflight !== undefined) return this.asRepeat(await inflight, request);
    const admission = this.admitOnce(request);
    this.admissions.set(request.uetr, admission);
    try {
      return await admission;
    } finally {
      this.admissions.delete(request.uetr);
    }
  }

  private asRepeat(result: AdmissionResult, request: AdmissionRequest): AdmissionResult {
    if (result.kind !== 'accepted') return result;
    const stored = this.paymentRow(request.uetr);
    if (stored === undefined || stored.instruction_sha256 !== request.instructionSha256) return { kind: 'uetr-mismatch' };
    return { kind: 'accepted', answer: result.answer, repeat: true };
  }

  private async admitOnce(request: AdmissionRequest): Promise<AdmissionResult> {
    const stored = this.paymentRow(request.uetr);
    if (stored !== undefined && stored.instruction_sha256 !== request.instructionSha256) return { kind: 'uetr-mismatch' };
    if (stored?.answer != null) return { kind: 'accepted', answer: JSON.parse(stored.answer) as PaymentAnswer, repeat: true };
    if (stored === undefined) {
      this.sql.exec(
        `INSERT INTO payments (uetr, instruction_sha256, jws, corridor, jurisdiction, status) VALUES (?, ?, ?, ?, ?, 'pending')`,
        request.uetr, request.instructionSha256, request.jws, request.corridor, request.jurisdiction,
      );
    }
    const windows = this.env.CORRIDOR_WINDOW;
    const window = windows.get(windows.idFromName(request.windowName));
    const windowId = await window.enqueue(request.payment, request.corridorConfig);
    const acceptedAt = new Date();
    const receipt = await signAcceptanceReceipt(await gatewayKey(this.env.GATEWAY_SIGNING_JWK), {
      gateway: this.env.GATEWAY_ID,
      partner_id: request.partnerId,
      uetr: request.uetr,
      instruction_sha256: request.instructionSha256,
      status: 'accepted',
      window: windowId,
      accepted_at: acceptedAt.toISOString(),
    });
    const answer: PaymentAnswer = { uetr: request.uetr, status: 'accepted', window: windowId, receipt };
    // A settlement notice can overtake this write only if the window closed within this call; never downgrade it.
    this.sql.exec(
      `UPDATE payments SET window_id = ?, answer = ?, accepted_at_ms = ?, status = CASE WHEN status = 'settled' THEN status ELSE 'accepted' END WHERE uetr = ?`,
      windowId, JSON.stringify(answer), acceptedAt.getTime(), request.uetr,
    );
    return { kind: 'accepted', answer, repeat: false };
  }

  async getPayment(uetr: string): Promise<PaymentRecord | null> {
    const row = this.paymentRow(uetr);
    if (row === undefined || row.status === 'pending') return null;
    const settled = row.status === 'settled';
    return {
      uetr: row.uetr,
      status: row.status as PaymentStatus,
      batch_id: settled ? row.batch_id : null,
      jurisdiction: settled ? row.jurisdiction : null,
      region: settled ? row.region : null,
      log_index: settled ? row.log_index : null,
    };
  }

  /** Called by a CorridorWindow once its batch has a signed settlement receipt. Idempotent. */
  async markSettled(notice: SettlementNotice): Promise<number> {
    let updated = 0;
    const settledAt = Date.now();
    this.ctx.storage.transactionSync(() => {
      for (const uetr of notice.uetrs) {
        updated += this.sql.exec(
          `UPDATE payments SET status = 'settled', batch_id = ?, jurisdiction = ?, region = ?, log_index = ?, settled_at_ms = ? WHERE uetr = ? AND status != 'settled'`,
          notice.batchId, notice.jurisdiction, notice.region, notice.logIndex, settledAt, uetr,
        ).rowsWritten;
      }
    });
    return updated;
  }

  private paymentRow(uetr: string) {
    return this.sql
      .exec<{ uetr: string; instruction_sha256: string; status: string; answer: string | null; batch_id: string | null; jurisdiction: string; region: string | null; log_index: number | null }>(
        `SELECT uetr, instruction_sha256, status, answer, batch_id, jurisdiction, region, log_index FROM payments WHERE uetr = ?`, uetr,
      )
      .toArray()[0];
  }
}
