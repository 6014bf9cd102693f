/**
 * CorridorWindow: one Durable Object per corridor × jurisdiction × shard (name
 * `<corridor>|<jurisdiction>|<shard>`). Every shard takes payments into time-sliced windows
 * (intake-store.ts); shard 0 also coordinates (netting-store.ts): it gathers every shard's part of
 * a window, seals the ONE settlement batch of that corridor × jurisdiction × slice, netted exactly
 * over all shards, and delivers it through a persisted outbox to a regional backend.
 *
 *   enqueue ──first payment of a slice here: join at shard 0 (the coordinator will wait for this
 *     shard's part; a slice it already sealed sends the payment to the next one)──▶
 *   shard k: intake window (open; a payment that cannot settle at its fixed rate is refused)
 *     ──alarm: slice ended or part full──▶ closed part (an unsettleable payment rejected alone)
 *   closed part ──push (submitPart), retried with backoff──▶ shard 0: netting window (collecting)
 *   shard 0 at the slice's end (or at once when a part closed on size): pull every missing part
 *     (collectPart closes it on its shard, empty or not) ──all parts stored──▶ sealed batch (bytes
 *     persisted) ──deliver, fail over, retry──▶ settled (receipt verified and recorded) ──▶ partners
 *     notified ──retention──▶ pruned (a watermark refuses the slice for good)
 *   sealed ──the backends refuse its content and prove it uncommitted (deliver-batch.ts)──▶ refused
 *     ──▶ every payment marked rejected with the backend's slug ──retention──▶ pruned
 *
 * Guarantees: a payment lands in exactly one window ((partner, UETR) is the intake primary key, and a window
 * part that has closed takes no more payments: late arrivals go to the next slice); the coordinator
 * seals only when it holds every shard's closed part, so no payment can still join a sealed window;
 * every step is driven by state in SQLite and re-run by the alarm, so eviction or a crash at any
 * point resumes where it stopped; the sealed bytes are stored before the first delivery and the
 * regional commit is idempotent by digest, so nothing is settled twice.
 */
import { DurableObject } from 'cloudflare:workers';
import { calleeSpan, writeLog } from '../../core/log-line.ts';
import { corridorWindowName, assertWindowCorridor, type EnqueueOutcome, type WindowCorridor, type WindowPart, type WindowPayment } from '../../core/corridor-window-contract.ts';
import { coordinatorShard, lateSlicesMax, nettingWindowBatchId, settlementRefusedReason } from '../../core/netting-window.ts';
import type { DurableObjectsEnv as Env } from '../env.ts';
import { announceSettlementRefusal, deliverSettlementBatch } from './deliver-batch.ts';
import { IntakeStore, type IntakeWindowRow } from './intake-store.ts';
import { NettingStore, type NettingWindowRow, type NettingWindowSummary } from './netting-store.ts';
import { batchDeliveryTrace } from './batch-trace.ts';
import { PaymentTraceStore } from './payment-traces.ts';
import { durableObjectFor } from '../jurisdiction.ts';
import { byPartnerStateShard, homeShard, partnerStateShard } from '../partner-state/partner-shards.ts';

export type { WindowCorridor, WindowPart, WindowPayment } from '../../core/corridor-window-contract.ts';

export const deliveryBackoffBaseMs = 500;
/**
 * The longest wait between two attempts of one outbox step. After an outage ends, a sealed batch
 * waits up to this long for its next try, so it bounds recovery (test/chaos/database-down); a
 * retry is one request per window to a backend that refuses fast, cheap at this cadence.
 */
export const deliveryBackoffCapMs = 10_000;
/** Parts pulled from other shards at once; bounded by the corridor's shard count (≤ 64) anyway. */
const collectFanOutMax = 64;

/** Rows one describe call returns (ops views, tests): storage is bounded by retention, answers by this. */
export const describeRowsMax = 1_000;

function boundedLimit(limit: number): number {
  return Number.isSafeInteger(limit) && limit > 0 ? Math.min(limit, describeRowsMax) : describeRowsMax;
}

/** Capped exponential backoff with jitter in [½, 1] of the step: retries from many windows spread out. */
export function retryDelayMs(attempts: number): number {
  const stepMs = Math.min(deliveryBackoffCapMs, deliveryBackoffBaseMs * 2 ** Math.min(attempts, 16));
  return Math.round(stepMs / 2 + Math.random() * (stepMs / 2));
}

function errorText(cause: unknown): string {
  return cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
}

export class CorridorWindow extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly intake: IntakeStore;
  private readonly netting: NettingStore;
  private readonly traces: PaymentTraceStore;
  /** The stored snapshot's JSON, so the hot path writes it only when routing's view changed. */
  private corridorJson: string | undefined;
  /**
   * The alarm as this instance last set or read it (null: none; undefined: not known, read it). Only
   * this class sets the object's alarm, so a placement need not read it again: the first payment of
   * a slice arms it, the others see it is already early enough. Forgotten when the alarm runs.
   */
  private alarmAtMs: number | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    this.intake = new IntakeStore(ctx.storage);
    this.netting = new NettingStore(ctx.storage);
    this.traces = new PaymentTraceStore(ctx.storage);
  }

  // -- RPC: the edge ------------------------------------------------------------------------

  /**
   * Puts a payment into this shard's current window (idempotent on partner × UETR) and returns that
   * window's batch id, or refuses it when it cannot settle at the rate that window fixed. The
   * first payment of a slice on this shard first joins the slice at the coordinator. `trace`: the
   * caller's traceparent (PartnerState's span), recorded for the batch's delivery (payment-traces.ts).
   */
  async enqueue(payment: WindowPayment, corridor: WindowCorridor, trace?: string): Promise<EnqueueOutcome> {
    assertWindowCorridor(corridor);
    this.rememberCorridor(corridor);
    for (let joins = 0; joins <= lateSlicesMax; joins++) {
      const nowMs = Date.now();
      const placement = this.intake.place(payment, corridor, nowMs);
      if (placement.kind === 'unsettleable') return { kind: 'unsettleable', reason: placement.reason };
      if (placement.kind === 'placed') {
        if (!placement.repeat) await this.wakeAt(placement.full ? nowMs : placement.endMs);
        const batchId = nettingWindowBatchId(corridor.id, corridor.jurisdiction, placement.startMs);
        const span = calleeSpan(trace);
        if (span !== undefined && !placement.repeat) this.traces.record(placement.startMs, payment.partner_id, payment.uetr, span.context.traceId, nowMs);
        writeLog('info', 'payment placed', 'corridor-window', span?.ids ?? {}, { partner_id: payment.partner_id, uetr: payment.uetr, batch_id: batchId, shard: corridor.shard, repeat: placement.repeat });
        return { kind: 'placed', batchId };
      }
      const answer = await this.joinCoordinator(corridor, placement.startMs, placement.endMs);
      this.intake.recordJoin(placement.startMs, placement.endMs, corridor, answer);
    }
    throw new Error(`corridor window ${corridorWindowName(corridor.id, corridor.jurisdiction, corridor.shard)}: no slice would take payment ${payment.partner_id}/${payment.uetr} after ${lateSlicesMax + 1} joins`);
  }

  private async joinCoordinator(corridor: WindowCorridor, startMs: number, endMs: number): Promise<'joined' | 'sealed'> {
    if (corridor.shard === coordinatorShard) return this.joinWindow(corridor, startMs, endMs);
    return this.coordinatorStub(corridor).joinWindow(corridor, startMs, endMs);
  }

  // -- RPC: between shards ------------------------------------------------------------------

  /** Coordinator (shard 0): a shard will take payments into a window; see NettingStore.join. */
  async joinWindow(corridor: WindowCorridor, startMs: number, endMs: number): Promise<'joined' | 'sealed'> {
    assertWindowCorridor(corridor);
    this.assertCoordinatorFor(corridor);
    this.rememberCoordinatorCorridor(corridor);
    const answer = this.netting.join(startMs, endMs, corridor.shards, corridor.fx_provider);
    if (answer === 'joined') await this.wakeAt(this.netting.window(startMs)?.next_collect_ms ?? endMs);
    return answer;
  }

  /** Coordinator (shard 0): a shard hands over its closed part of a window. Idempotent. */
  async submitPart(part: WindowPart): Promise<'stored' | 'repeat'> {
    this.assertCoordinatorFor(part.corridor);
    this.rememberCoordinatorCorridor(part.corridor);
    const nowMs = Date.now();
    const outcome = this.netting.acceptPart(part, nowMs);
    const window = this.netting.window(part.start_ms);
    if (window?.state === 'collecting') await this.wakeAt(window.next_collect_ms ?? nowMs);
    return outcome;
  }

  /** Shard: the coordinator collects this shard's part of a window, closing it now if it is still open. */
  async collectPart(startMs: number, endMs: number, corridor: WindowCorridor): Promise<WindowPart> {
    assertWindowCorridor(corridor);
    const known = this.corridor();
    if (known !== undefined && (known.id !== corridor.id || known.jurisdiction !== corridor.jurisdiction || known.shard !== corridor.shard)) {
      throw new Error(`corridor window ${corridorWindowName(known.id, known.jurisdiction, known.shard)} asked for the part of ${corridorWindowName(corridor.id, corridor.jurisdiction, corridor.shard)}`);
    }
    if (known === undefined) this.rememberCorridor(corridor);
    return this.intake.collect(startMs, endMs, corridor);
  }

  // -- RPC: operators and tests -------------------------------------------------------------

  /** Shard: the trace ids of its payments in a window, for the coordinator's delivery (payment-traces.ts). */
  async paymentTraceIds(startMs: number): Promise<string[]> {
    return this.traces.traceIds(startMs);
  }

  /** Runs the retention prune as of `nowMs` (tests, and an operator catching up after a long outage). Returns what it removed. */
  async pruneRetained(nowMs: number): Promise<{ windows: number; parts: number }> {
    return { windows: this.netting.prune(nowMs), parts: this.intake.prune(nowMs) };
  }

  /** This shard's intake windows, newest first, at most `limit` (≤ describeRowsMax). */
  async describeIntake(limit = describeRowsMax): Promise<IntakeWindowRow[]> {
    return this.intake.windows(boundedLimit(limit));
  }

  /** Coordinator: the netting windows (one batch each), newest first, with their FX residue booking: the newest `limit`, and older ones still in the outbox or refused (NettingStore.summaries). */
  async describeWindows(limit = describeRowsMax): Promise<NettingWindowSummary[]> {
    return this.netting.summaries(boundedLimit(limit));
  }

  /** Coordinator: the sealed canonical batch bytes of a window; replaying the same legs must give these bytes. */
  async sealedBatch(startMs: number): Promise<string | null> {
    return this.netting.sealedBatch(startMs);
  }

  // -- The alarm: every step of the window's life is driven from here ----------------------

  override async alarm(): Promise<void> {
    this.alarmAtMs = undefined;
    const corridor = this.corridor();
    if (corridor === undefined) return;
    try {
      await this.runIntake(corridor);
      if (corridor.shard === coordinatorShard) await this.runCoordinator(corridor);
      this.prune(Date.now());
    } finally {
      await this.rescheduleFromState();
    }
  }

  private async runIntake(corridor: WindowCorridor): Promise<void> {
    const nowMs = Date.now();
    this.intake.closeDue(nowMs);
    for (const row of this.intake.handoffsDue(nowMs)) {
      try {
        const part = this.intake.part(row.start_ms, corridor);
        if (corridor.shard === coordinatorShard) {
          this.rememberCoordinatorCorridor(corridor);
          this.netting.acceptPart(part, Date.now());
        } else {
          await this.coordinatorStub(corridor).submitPart(part);
        }
        this.intake.markHanded(row.start_ms);
      } catch (cause) {
        const nextAttemptMs = Date.now() + retryDelayMs(row.handoff_attempts + 1);
        console.warn(JSON.stringify({ event: 'window-part-handoff-failed', corridor: corridor.id, jurisdiction: corridor.jurisdiction, shard: corridor.shard, start_ms: row.start_ms, attempts: row.handoff_attempts + 1, error: errorText(cause) }));
        this.intake.markHandoffFailed(row.start_ms, errorText(cause), nextAttemptMs);
      }
    }
    await this.notifyRejections(corridor);
  }

  /** Tells each partner which of its payments were rejected at close (PartnerState.markRejected is idempotent). */
  private async notifyRejections(corridor: WindowCorridor): Promise<void> {
    for (const due of this.intake.rejectionsDue()) {
      try {
        const byPartner = new Map<string, Array<{ uetr: string; reason: string }>>();
        for (const rejection of due.rejections) byPartner.set(rejection.partner_id, [...(byPartner.get(rejection.partner_id) ?? []), { uetr: rejection.uetr, reason: rejection.reason }]);
        for (const [partnerId, payments] of byPartner) {
          for (const [shard, held] of byPartnerStateShard(payments, (payment) => payment.uetr)) await partnerStateShard(this.env, corridor.jurisdiction, partnerId, shard).markRejected({ payments: held });
        }
        this.intake.markRejectionsNotified(due.start_ms);
      } catch (cause) {
        console.warn(JSON.stringify({ event: 'rejection-notification-failed', corridor: corridor.id, jurisdiction: corridor.jurisdiction, shard: corridor.shard, start_ms: due.start_ms, error: errorText(cause) }));
      }
    }
  }

  private async runCoordinator(corridor: WindowCorridor): Promise<void> {
    for (const window of this.netting.collectionsDue(Date.now())) await this.collectAndSeal(corridor, window);
    for (const window of this.netting.deliveriesDue(Date.now())) await this.deliver(corridor, window);
    for (const window of this.netting.notificationsDue()) await this.notifyPartners(corridor, window);
  }

  /** Pulls every missing part of a window (its own directly, the others by RPC), then seals it when whole. */
  private async collectAndSeal(corridor: WindowCorridor, window: NettingWindowRow): Promise<void> {
    const failures: string[] = [];
    const missing = this.netting.missingShards(window.start_ms).slice(0, collectFanOutMax);
    const parts = await Promise.allSettled(missing.map((shard) => this.pullPart(corridor, window, shard)));
    for (const [index, outcome] of parts.entries()) {
      if (outcome.status === 'rejected') {
        failures.push(`shard ${missing[index]}: ${errorText(outcome.reason)}`);
        continue;
      }
      try {
        this.netting.acceptPart(outcome.value, Date.now());
      } catch (cause) {
        failures.push(`shard ${missing[index]}: ${errorText(cause)}`);
      }
    }
    if (this.netting.missingShards(window.start_ms).length > 0) {
      const attempts = window.collect_attempts + 1;
      console.warn(JSON.stringify({ event: 'netting-window-collect-incomplete', corridor: corridor.id, jurisdiction: corridor.jurisdiction, start_ms: window.start_ms, attempts, failures }));
      this.netting.markCollectFailed(window.start_ms, failures.join('; ') || 'parts missing', Date.now() + retryDelayMs(attempts));
      return;
    }
    try {
      this.netting.seal(window.start_ms, corridor);
    } catch (cause) {
      // A seal failure is a bug (the parts are stored and checked); keep the window collecting and shout.
      console.error(JSON.stringify({ event: 'netting-window-seal-failed', corridor: corridor.id, jurisdiction: corridor.jurisdiction, start_ms: window.start_ms, error: errorText(cause) }));
      this.netting.markCollectFailed(window.start_ms, errorText(cause), Date.now() + retryDelayMs(window.collect_attempts + 1));
    }
  }

  private async pullPart(corridor: WindowCorridor, window: NettingWindowRow, shard: number): Promise<WindowPart> {
    const shardCorridor: WindowCorridor = { ...corridor, shard, shards: Math.max(corridor.shards, window.shards) };
    if (shard === corridor.shard) return this.intake.collect(window.start_ms, window.end_ms, shardCorridor);
    const stub = durableObjectFor(this.env, this.env.CORRIDOR_WINDOW, corridor.jurisdiction, corridorWindowName(corridor.id, corridor.jurisdiction, shard));
    return stub.collectPart(window.start_ms, window.end_ms, shardCorridor);
  }

  private async deliver(corridor: WindowCorridor, window: NettingWindowRow): Promise<void> {
    let errors: string[];
    let unansweredUntilMs: number | null = null;
    try {
      const canonical = this.netting.sealedBatch(window.start_ms);
      if (canonical === null || window.digest === null) throw new Error(`netting window ${window.start_ms} is sealed without its bytes`);
      const trace = await batchDeliveryTrace(this.env, corridor, window, this.traces);
      const outcome = await deliverSettlementBatch(this.env, corridor.jurisdiction, canonical, window.digest, trace, window.unanswered_until_ms);
      if (outcome.kind === 'settled') {
        this.netting.markSettled(window.start_ms, outcome.response, Date.now());
        await this.notifyPartners(corridor, this.netting.window(window.start_ms)!);
        return;
      }
      if (outcome.kind === 'refused') {
        this.netting.markRefused(window.start_ms, outcome.refusal, Date.now());
        await announceSettlementRefusal(this.env, corridor.jurisdiction, window.batch_id!, outcome.refusal, this.netting.paymentCount(window.start_ms));
        await this.notifyPartners(corridor, this.netting.window(window.start_ms)!);
        return;
      }
      errors = outcome.errors;
      unansweredUntilMs = outcome.unansweredUntilMs;
    } catch (cause) {
      errors = [errorText(cause)];
    }
    const nextAttemptMs = Date.now() + retryDelayMs(window.attempts + 1);
    console.warn(JSON.stringify({ event: 'settlement-delivery-failed', batch_id: window.batch_id, attempts: window.attempts + 1, next_attempt_ms: nextAttemptMs, errors }));
    this.netting.markDeliveryFailed(window.start_ms, errors.join('; '), nextAttemptMs, unansweredUntilMs);
  }

  /** A final window's payments: settled with the receipt's facts, or (refused) rejected with the backend's slug. */
  private async notifyPartners(corridor: WindowCorridor, window: NettingWindowRow): Promise<void> {
    if (window.partners_notified === 1 || (window.state !== 'settled' && window.state !== 'refused')) return;
    try {
      for (const [partnerId, all] of this.netting.paymentsByPartner(window.start_ms)) {
        // A refusal is on the partner's security record (its home shard: the ops views read events there) before its payments read rejected.
        if (window.state === 'refused') {
          await partnerStateShard(this.env, corridor.jurisdiction, partnerId, homeShard).recordSettlementRefusal({
            batchId: window.batch_id!, corridor: corridor.id, jurisdiction: corridor.jurisdiction, slug: window.refusal_slug!, reason: window.refusal_reason, payments: all.length,
          });
        }
        // One notice per PartnerState shard that holds some of them (partner-shards.ts).
        for (const [shard, uetrs] of byPartnerStateShard(all, (uetr) => uetr)) {
          const partner = partnerStateShard(this.env, corridor.jurisdiction, partnerId, shard);
          if (window.state === 'refused') await partner.markRejected({ payments: uetrs.map((uetr) => ({ uetr, reason: settlementRefusedReason(window.refusal_slug!) })) });
          else await partner.markSettled({ uetrs, batchId: window.batch_id!, jurisdiction: corridor.jurisdiction, region: window.region!, logIndex: window.log_index! });
        }
      }
      this.netting.markPartnersNotified(window.start_ms);
    } catch (cause) {
      // markSettled and markRejected are idempotent: the next alarm notifies everyone again.
      console.warn(JSON.stringify({ event: 'settlement-notification-failed', batch_id: window.batch_id, error: errorText(cause) }));
    }
  }

  /** Retention: finished windows and handed parts leave storage after their named periods (intake-store.ts, netting-store.ts). */
  private prune(nowMs: number): void {
    const windows = this.netting.prune(nowMs);
    const parts = this.intake.prune(nowMs);
    this.traces.prune(nowMs);
    if (windows + parts > 0) console.log(JSON.stringify({ event: 'corridor-window-pruned', windows, parts }));
  }

  private async rescheduleFromState(): Promise<void> {
    const nowMs = Date.now();
    const candidates = [
      this.intake.nextWakeMs(nowMs + deliveryBackoffBaseMs), this.netting.nextWakeMs(nowMs, deliveryBackoffBaseMs), this.intake.nextPruneMs(), this.netting.nextPruneMs(),
    ].filter((at): at is number => at !== null);
    this.alarmAtMs = undefined;
    if (candidates.length === 0) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(Math.max(Math.min(...candidates), nowMs));
    this.alarmAtMs = candidates.length === 0 ? null : Math.max(Math.min(...candidates), nowMs);
  }

  private async wakeAt(atMs: number): Promise<void> {
    const current = this.alarmAtMs === undefined ? await this.ctx.storage.getAlarm() : this.alarmAtMs;
    this.alarmAtMs = current;
    if (current !== null && atMs >= current) return;
    this.alarmAtMs = undefined;
    await this.ctx.storage.setAlarm(atMs);
    this.alarmAtMs = atMs;
  }

  private coordinatorStub(corridor: WindowCorridor) {
    return durableObjectFor(this.env, this.env.CORRIDOR_WINDOW, corridor.jurisdiction, corridorWindowName(corridor.id, corridor.jurisdiction, coordinatorShard));
  }

  private assertCoordinatorFor(corridor: WindowCorridor): void {
    const known = this.corridor();
    if (known !== undefined && (known.shard !== coordinatorShard || known.id !== corridor.id || known.jurisdiction !== corridor.jurisdiction)) {
      throw new Error(`corridor window ${corridorWindowName(known.id, known.jurisdiction, known.shard)} is not the coordinator of ${corridor.id}|${corridor.jurisdiction}`);
    }
  }

  /** The coordinator's own snapshot: a shard's, as shard 0 (a coordinator may hear of its corridor from a part first). */
  private rememberCoordinatorCorridor(corridor: WindowCorridor): void {
    if (this.corridor() === undefined) this.rememberCorridor({ ...corridor, shard: coordinatorShard });
  }

  private rememberCorridor(corridor: WindowCorridor): void {
    const json = JSON.stringify(corridor);
    if (json === this.corridorJson) return;
    this.sql.exec(`INSERT INTO meta (key, value) VALUES ('corridor', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, json);
    this.corridorJson = json;
  }

  private corridor(): WindowCorridor | undefined {
    this.corridorJson ??= this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'corridor'`).toArray()[0]?.value;
    return this.corridorJson === undefined ? undefined : (JSON.parse(this.corridorJson) as WindowCorridor);
  }
}
