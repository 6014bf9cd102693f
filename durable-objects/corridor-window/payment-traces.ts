/**
 * The W3C trace id each payment arrived under (core/trace-context.ts), kept on the shard that took
 * it, so the coordinator's delivery of the window's batch can name every payment's trace: the
 * settlement POST's `traceparent` is the batch's own span under the first payment's trace, and the
 * other ids travel in `meridian-payment-trace-ids` (at most paymentTraceIdsPerHeaderMax) and in the
 * delivery's log line. Observability only: nothing about netting or settlement reads this table,
 * and a payment without a trace (an enqueue from a hold release, an older edge) simply has no row.
 *
 * Table: payment_traces(partner_id, uetr, start_ms, trace_id, at_ms) PK (partner_id, uetr), by start_ms.
 * Retention: rows leave with the parts they belong to (`paymentTraceRetentionMs`, the handed-part period).
 */
import { isTraceId } from '../../core/trace-context.ts';
import { handedPartRetentionMs } from './intake-store.ts';

export const paymentTraceRetentionMs = handedPartRetentionMs;
/** Trace ids one shard answers for one window (a delivery logs at most this many per shard). */
export const paymentTracesPerWindowMax = 1_000;

export class PaymentTraceStore {
  private readonly sql: SqlStorage;

  constructor(storage: DurableObjectStorage) {
    this.sql = storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS payment_traces (partner_id TEXT NOT NULL, uetr TEXT NOT NULL, start_ms INTEGER NOT NULL, trace_id TEXT NOT NULL, at_ms INTEGER NOT NULL, PRIMARY KEY (partner_id, uetr))`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS payment_traces_by_window ON payment_traces (start_ms, at_ms)`);
  }

  /** The first placement's trace stays: a repeat enqueue (a retried admission) keeps the original. */
  record(startMs: number, partnerId: string, uetr: string, traceId: string, nowMs: number): void {
    if (!isTraceId(traceId)) return;
    this.sql.exec(`INSERT INTO payment_traces (partner_id, uetr, start_ms, trace_id, at_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, partnerId, uetr, startMs, traceId, nowMs);
  }

  /** The window's trace ids in arrival order, at most paymentTracesPerWindowMax. */
  traceIds(startMs: number): string[] {
    return this.sql
      .exec<{ trace_id: string }>(`SELECT trace_id FROM payment_traces WHERE start_ms = ? ORDER BY at_ms, partner_id, uetr LIMIT ?`, startMs, paymentTracesPerWindowMax)
      .toArray()
      .map((row) => row.trace_id);
  }

  prune(nowMs: number): void {
    this.sql.exec(`DELETE FROM payment_traces WHERE at_ms < ?`, nowMs - paymentTraceRetentionMs);
  }
}
