/**
 * PartnerState: one Durable Object per partner. Holds the partner's replay cache, its payments'
 * idempotency records and their status, and the security events (downgrades) recorded against it.
 *
 * Storage (SQLite):
 *   nonces(keyid, nonce, expires_at_ms)        PK (keyid, nonce); purged by alarm after 24 h
 *   payments(uetr PK, instruction_sha256, jws, corridor, jurisdiction, window_id, status,
 *            answer, batch_id, region, log_index, accepted_at_ms, settled_at_ms,
 *            window_name, enqueue, rejection)
 *                                              window_name + enqueue: the shard and the exact payment a
 *                                              pending admission was sent to, so a retry finishes it there;
 *                                              answer: the admission's AcceptanceRecord JSON, from which the
 *                                              edge signs the receipt (rows from before: the signed answer)
 *   security_events(id PK autoincrement, at_ms, kind, slug, detail, context JSON)
 *                                              newest securityEventsMax rows kept (ops console, evidence)
 *   security_event_counts(kind PK, count)      monotonic per-kind counters, never pruned
 *   revoked_keys(keyid PK, revoked_at_ms)      the partner's keys revoked by an ops change (Control's
 *                                              partner directory tells us, durable-objects/control/
 *                                              partner-directory.ts); never pruned: key ids are never reused
 *   policy_decisions(id PK autoincrement, …)  one Cedar decision per new payment (policy-decisions.ts);
 *                                              policyDecisionRetentionMs, at most policyDecisionsMax rows
 *   residency_exceptions(change_id PK, …)      applied `residency-exception` changes (residency-exceptions.ts);
 *                                              lapsed ones pruned after residencyExceptionRetentionMs
 *   screening_results(id PK autoincrement, …) one sanctions screening result per admitted payment, clear or
 *                                              held (screening-results.ts), written with the payment row
 *   holds(uetr PK, …)                          held payments and the decision on each (holds.ts)
 *
 * Revocation: the nonce claim every signed request makes (`claimRequest`) refuses a revoked keyid in
 * the same synchronous section that would claim the nonce, so no edge cache of the partner
 * directory can let a revoked key through once `revokeKey` has returned.
 *
 * Retention: a payment that is settled or rejected stays here, JWS and all, for
 * `finishedPaymentRetentionMs` after it finished (`settled_at_ms`, also set on rejection), then the
 * alarm deletes it in batches of `pruneBatchRowsMax`. That period is also the idempotency horizon:
 * within it a repeated UETR gets its original answer; the regional ledger and its transparency log
 * hold the settlement for good, and the evidence export reads the instruction JWS from here within
 * the horizon. Pending and accepted payments are never pruned.
 *
 * Admission is idempotent on UETR: a row is written `pending`, with the shard and payment chosen,
 * before the window is asked to enqueue, and the window's enqueue is itself idempotent on
 * (partner, UETR), so a crash between the two steps is healed by the partner's retry without a
 * second leg ever existing. The retry finishes the admission at the shard stored in the row, never
 * at one routed anew: routing (shard count, corridor state) may have changed in between, and the
 * first enqueue may already have landed.
 *
 * Holds: a payment that screening held is admitted `held` in one transaction (payment row with its
 * answer and receipt, the hold, the screening result, the policy decision) and enqueued nowhere.
 * `decideHold` applies an approved `hold-decision` that Control pushes (and retries until it is
 * confirmed): a release stores the shard Control chose before the enqueue, as a first admission
 * does, so a crash between the two is finished by the retry at that shard, never twice.
 */
import { DurableObject } from 'cloudflare:workers';
import { gatewayKey } from '../../core/gateway-key.ts';
import { calleeSpan, writeLog } from '../../core/log-line.ts';
import { formatTraceparent } from '../../core/trace-context.ts';
import type { DurableObjectsEnv as Env } from '../env.ts';
import { signAcceptanceRecord, type AcceptanceRecord } from '../../core/acceptance-receipt.ts';
import type { WindowCorridor, WindowPayment } from '../../core/corridor-window-contract.ts';
import type { PaymentLegsRejection } from '../../core/payment-legs.ts';
import { keyidCharsMax } from '../../core/partner-profile.ts';
import {
  allResidencyExceptions,
  assertResidencyExceptionInput,
  createResidencyExceptionsTable,
  insertResidencyException,
  pruneLapsedResidencyExceptions,
  unexpiredResidencyExceptions,
  type ResidencyException,
  type ResidencyExceptionInput,
} from './residency-exceptions.ts';

import { createPolicyDecisionsTable, insertPolicyDecision, pruneOldPolicyDecisions, selectPolicyDecisions, type PolicyDecisionInput, type PolicyDecisionPage, type PolicyDecisionQuery } from './policy-decisions.ts';
import { durableObjectFor } from '../jurisdiction.ts';
import {
  createHoldsTable, deleteHold, heldPaymentOf, heldRows, holdRejectedReason, holdRow, insertHold, recordHoldDecision,
  type HeldPayment, type HoldDecisionInput, type HoldDecisionOutcome, type HoldInput, type HoldRow,
} from './holds.ts';
import {
  createScreeningResultsTable, insertScreeningResult, pruneOldScreeningResults, screeningResultFor, selectScreeningResults,
  type ScreeningResultInput, type ScreeningResultPage,
} from './screening-results.ts';

export type { ResidencyException, ResidencyExceptionInput } from './residency-exceptions.ts';
export type { PolicyDecision, PolicyDecisionInput, PolicyDecisionPage, PolicyDecisionQuery } from './policy-decisions.ts';
export type { HeldPayment, HoldDecisionInput, HoldDecisionOutcome, HoldInput } from './holds.ts';
export type { ScreeningResult, ScreeningResultInput, ScreeningResultPage } from './screening-results.ts';

export type PaymentStatus = 'accepted' | 'held' | 'rejected' | 'settled';

export interface PaymentAnswer {
  uetr: string;
  status: 'accepted' | 'held';
  /** The netting window (batch id); null for a held payment, which is in none. */
  window: string | null;
  receipt: string;
}

/**
 * An admitted payment's answer as this object keeps it: the record its acceptance receipt is signed
 * from, at the edge (core/acceptance-receipt.ts), or — rows written before receipts moved out of this
 * object — the signed answer itself, returned as stored.
 */
export type StoredAnswer = { kind: 'unsigned'; record: AcceptanceRecord } | { kind: 'signed'; answer: PaymentAnswer };

export function storedAnswerOf(json: string): StoredAnswer {
  const stored = JSON.parse(json) as PaymentAnswer | AcceptanceRecord;
  return 'receipt' in stored ? { kind: 'signed', answer: stored } : { kind: 'unsigned', record: stored };
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
  /** The policy stage's allow, recorded with the pending row: once per admission, never on a retry. */
  policyDecision?: PolicyDecisionInput;
  /** The screening stage's result, recorded like the policy decision. */
  screening?: ScreeningResultInput;
  /** Present when screening held the payment: admitted `held`, enqueued nowhere. */
  hold?: HoldInput;
  /** The edge span's W3C traceparent (core/trace-context.ts): this object logs under a child span and passes one on to the window. */
  trace?: string;
}

export type AdmissionResult =
  | { kind: 'accepted'; answer: StoredAnswer; repeat: boolean }
  | { kind: 'uetr-mismatch' }
  /** The window cannot settle it at the rate it fixed; nothing was admitted. */
  | { kind: 'unsettleable'; reason: PaymentLegsRejection };

/** What a UETR already means for this partner, before anything about a new admission is decided. */
export type PriorAnswer =
  /** A new UETR: with the partner's unexpired residency exceptions, so the policy stage needs no second round trip. */
  | { kind: 'none'; residencyExceptions: ResidencyException[] }
  | { kind: 'answered'; answer: StoredAnswer }
  | { kind: 'uetr-mismatch' }
  | { kind: 'unsettleable'; reason: PaymentLegsRejection };

export interface RejectionNotice {
  payments: Array<{ uetr: string; reason: string }>;
}

export interface PaymentRecord {
  uetr: string;
  status: PaymentStatus;
  batch_id: string | null;
  jurisdiction: string | null;
  region: string | null;
  log_index: number | null;
  /** Why a payment reads `rejected` (absent otherwise). */
  reason?: string;
}

export interface SettlementNotice {
  uetrs: string[];
  batchId: string;
  jurisdiction: string;
  region: string;
  logIndex: number;
}

const nonceSweepIntervalMs = 60 * 60 * 1000;
/** How long a finished (settled or rejected) payment stays in the hot object: the idempotency horizon. */
export const finishedPaymentRetentionMs = 30 * 24 * 60 * 60 * 1000;
/** Rows one alarm deletes, so a prune never holds the object for long. */
export const pruneBatchRowsMax = 1_000;
const nonceClaimsMax = 4;
/** Keyids one claim may ask about: a profile lists at most 16 keys at once (core/partner-profile.ts), with headroom. */
const profileKeyidsMax = 64;
/** Evidence rows kept per partner; the counters keep the exact totals beyond it. */
export const securityEventsMax = 10_000;
const securityEventsPageMax = 500;
const securityEventDetailMax = 1_000;
const securityEventContextBytesMax = 4_096;

/** Downgrades (DESIGN.md "Downgrade detection") and other attacks on the partner's trust, by stable kind. */
export type SecurityEventKind =
  | 'tls-below-minimum'
  | 'pq-required-unsealed'
  | 'offer-stripped'
  | 'offer-reordered'
  | 'tls-report-mismatch'
  | 'foreign-session-ticket'
  /** Not an attack but a loss of the partner's trust all the same: a batch carrying its payments was refused by every backend, and they read `rejected`. */
  | 'settlement-refused';

/** Event context values: flat on purpose (a recursive JSON type defeats the RPC type mapping), one level of nesting for e.g. the offer. */
type ContextScalar = string | number | boolean | null;
export type JsonValue = ContextScalar | ContextScalar[] | Record<string, ContextScalar | ContextScalar[]>;

export interface SecurityEventInput {
  kind: SecurityEventKind;
  /** The problem slug the request was answered with. */
  slug: string;
  detail: string;
  /** What was observed: method, path, keyid, TLS versions, offer, Cloudflare ray id… (JSON, ≤ 4 KiB). */
  context: Record<string, JsonValue>;
}

export interface SecurityEvent extends SecurityEventInput {
  id: number;
  at: string;
}

export interface NonceClaim {
  keyid: string;
  nonce: string;
}

export interface RequestClaim {
  /** One (keyid, nonce) pair per signature of the request. */
  claims: NonceClaim[];
  expiresAtMs: number;
  /** Every keyid the edge's copy of the partner's profile lists: the answer says which are revoked. */
  profileKeyids: string[];
}

/** A revoked signing key is refused before any nonce is written; `revokedProfileKeyids` lets the edge drop revoked keys the instruction JWS might name. */
export type RequestClaimOutcome =
  | { kind: 'claimed'; revokedProfileKeyids: string[] }
  | { kind: 'replay' }
  | { kind: 'revoked-key'; keyid: string; revokedAt: string };

/** A request's claim and what it asks about, in one call to the object that holds the payment. */
export interface ClaimedPriorRequest {
  claim: RequestClaim;
  uetr: string;
  instructionSha256: string;
}

/** `refused`: a replay or a revoked key, nothing else was read; `claimed`: the claim held, with the UETR's prior answer. */
export type ClaimedPrior =
  | { kind: 'refused'; outcome: Exclude<RequestClaimOutcome, { kind: 'claimed' }> }
  | { kind: 'claimed'; revokedProfileKeyids: string[]; prior: PriorAnswer };

export type ClaimedPayment =
  | { kind: 'refused'; outcome: Exclude<RequestClaimOutcome, { kind: 'claimed' }> }
  | { kind: 'claimed'; revokedProfileKeyids: string[]; payment: PaymentRecord | null };

export interface KeyRevocation {
  keyid: string;
  revoked_at: string;
}

export class PartnerState extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly admissions = new Map<string, Promise<AdmissionResult>>();
  /** Set once the sweep alarm is known to exist; the alarm handler clears it when it stops re-arming. */
  private sweepAlarmArmed = false;
  /** Every stored residency exception, latest expiry first, as `unexpiredResidencyExceptions` orders them; dropped on every write to the table. */
  private residencyExceptions: ResidencyException[] | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS nonces (keyid TEXT NOT NULL, nonce TEXT NOT NULL, expires_at_ms INTEGER NOT NULL, PRIMARY KEY (keyid, nonce))`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS nonces_by_expiry ON nonces (expires_at_ms)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS payments (
      uetr TEXT PRIMARY KEY, instruction_sha256 TEXT NOT NULL, jws TEXT NOT NULL, corridor TEXT NOT NULL,
      jurisdiction TEXT NOT NULL, window_id TEXT, status TEXT NOT NULL, answer TEXT, batch_id TEXT, region TEXT,
      log_index INTEGER, accepted_at_ms INTEGER, settled_at_ms INTEGER)`);
    for (const column of ['window_name TEXT', 'enqueue TEXT', 'rejection TEXT']) addColumnIfMissing(this.sql, 'payments', column);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS payments_finished ON payments (settled_at_ms) WHERE status IN ('settled', 'rejected')`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS security_events (
      id INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, kind TEXT NOT NULL, slug TEXT NOT NULL, detail TEXT NOT NULL, context TEXT NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS security_event_counts (kind TEXT PRIMARY KEY, count INTEGER NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS revoked_keys (keyid TEXT PRIMARY KEY, revoked_at_ms INTEGER NOT NULL)`);
    createResidencyExceptionsTable(this.sql);
    createPolicyDecisionsTable(this.sql);
    createScreeningResultsTable(this.sql);
    createHoldsTable(this.sql);
  }

  /**
   * Claims every (keyid, nonce) pair of one request in one transaction: all are new, or nothing is
   * written and the request is a replay (a hybrid request carries one pair per signature). A pair
   * whose keyid is revoked is refused before anything is written.
   */
  async claimRequest(request: RequestClaim): Promise<RequestClaimOutcome> {
    const { claims, expiresAtMs, profileKeyids } = request;
    if (claims.length === 0 || claims.length > nonceClaimsMax) throw new Error(`claimRequest takes 1..${nonceClaimsMax} claims, got ${claims.length}`);
    if (profileKeyids.length > profileKeyidsMax) throw new Error(`claimRequest takes at most ${profileKeyidsMax} profile keyids, got ${profileKeyids.length}`);
    const revoked = this.revokedAmong([...claims.map((claim) => claim.keyid), ...profileKeyids]);
    for (const claim of claims) {
      const revokedAtMs = revoked.get(claim.keyid);
      if (revokedAtMs !== undefined) return { kind: 'revoked-key', keyid: claim.keyid, revokedAt: new Date(revokedAtMs).toISOString() };
    }
    const replay = new Error('replay');
    let claimed = true;
    try {
      // Every pair in one statement; a pair already claimed inserts nothing, and then the whole request is refused and rolled back.
      this.ctx.storage.transactionSync(() => {
        const inserted = this.sql
          .exec(`INSERT INTO nonces (keyid, nonce, expires_at_ms) VALUES ${claims.map(() => '(?, ?, ?)').join(', ')} ON CONFLICT DO NOTHING RETURNING keyid`, ...claims.flatMap((claim) => [claim.keyid, claim.nonce, expiresAtMs]))
          .toArray();
        if (inserted.length !== claims.length) throw replay;
      });
    } catch (cause) {
      if (cause !== replay) throw cause;
      claimed = false;
    }
    await this.armSweepAlarm();
    return claimed ? { kind: 'claimed', revokedProfileKeyids: profileKeyids.filter((keyid) => revoked.has(keyid)) } : { kind: 'replay' };
  }

  /**
   * The payment route's first call: the request's nonce claim and the UETR's prior answer in one
   * round trip (they were two). The claim comes first and alone decides a replay: nothing about the
   * payment is read or finished for a request that is refused.
   */
  async claimAndPriorAnswer(request: ClaimedPriorRequest): Promise<ClaimedPrior> {
    const claimed = await this.claimRequest(request.claim);
    if (claimed.kind !== 'claimed') return { kind: 'refused', outcome: claimed };
    return { kind: 'claimed', revokedProfileKeyids: claimed.revokedProfileKeyids, prior: await this.priorAnswer(request.uetr, request.instructionSha256) };
  }

  /** A status read's nonce claim and the payment's record, in one round trip. */
  async claimAndGetPayment(request: { claim: RequestClaim; uetr: string }): Promise<ClaimedPayment> {
    const claimed = await this.claimRequest(request.claim);
    if (claimed.kind !== 'claimed') return { kind: 'refused', outcome: claimed };
    return { kind: 'claimed', revokedProfileKeyids: claimed.revokedProfileKeyids, payment: await this.getPayment(request.uetr) };
  }

  /** `claimRequest` as a yes/no: true only when every pair was claimed (a revoked key is a no). */
  async claimNonces(claims: NonceClaim[], expiresAtMs: number): Promise<boolean> {
    return (await this.claimRequest({ claims, expiresAtMs, profileKeyids: [] })).kind === 'claimed';
  }

  /**
   * Records that one of this partner's keys is revoked; from the moment this returns, every request
   * signed with it is refused. Idempotent: revoking again keeps the first time (Control retries).
   */
  async revokeKey(keyid: string, revokedAtMs: number): Promise<KeyRevocation> {
    if (typeof keyid !== 'string' || keyid.length === 0 || keyid.length > keyidCharsMax) throw new Error(`revokeKey: keyid must be 1..${keyidCharsMax} characters`);
    if (!Number.isSafeInteger(revokedAtMs)) throw new Error(`revokeKey: revokedAtMs must be an integer, got ${revokedAtMs}`);
    this.sql.exec(`INSERT INTO revoked_keys (keyid, revoked_at_ms) VALUES (?, ?) ON CONFLICT (keyid) DO NOTHING`, keyid, revokedAtMs);
    const stored = this.sql.exec<{ revoked_at_ms: number }>(`SELECT revoked_at_ms FROM revoked_keys WHERE keyid = ?`, keyid).one();
    return { keyid, revoked_at: new Date(stored.revoked_at_ms).toISOString() };
  }

  /** Every revoked key of this partner, oldest revocation first. */
  async revokedKeys(): Promise<KeyRevocation[]> {
    return this.sql
      .exec<{ keyid: string; revoked_at_ms: number }>(`SELECT keyid, revoked_at_ms FROM revoked_keys ORDER BY revoked_at_ms, keyid`)
      .toArray()
      .map((row) => ({ keyid: row.keyid, revoked_at: new Date(row.revoked_at_ms).toISOString() }));
  }

  /** The revoked ones among `keyids`, in one statement (the claim asks about every profile key on every request). */
  private revokedAmong(keyids: readonly string[]): Map<string, number> {
    const rows = this.sql
      .exec<{ keyid: string; revoked_at_ms: number }>(`SELECT keyid, revoked_at_ms FROM revoked_keys WHERE keyid IN (SELECT value FROM json_each(?))`, JSON.stringify([...new Set(keyids)]))
      .toArray();
    return new Map(rows.map((row) => [row.keyid, row.revoked_at_ms]));
  }

  /**
   * Stores a residency exception applied by the ops console's two-person `residency-exception`
   * change (Control calls this). Idempotent on `change_id`: a retry returns the stored exception.
   * From the moment this returns, the partner's next payment for that debtor country sees it.
   */
  async recordResidencyException(input: ResidencyExceptionInput): Promise<ResidencyException> {
    assertResidencyExceptionInput(input);
    this.residencyExceptions = undefined;
    const stored = insertResidencyException(this.sql, input, Date.now());
    await this.armSweepAlarm();
    return stored;
  }

  /** Every stored exception of this partner, live and lapsed within retention, newest first. */
  async listResidencyExceptions(): Promise<ResidencyException[]> {
    return allResidencyExceptions(this.sql);
  }

  /** Records one policy decision (the edge calls this for refusals; admissions record theirs inside `admit`). Returns its id. */
  async recordPolicyDecision(decision: PolicyDecisionInput): Promise<number> {
    const id = insertPolicyDecision(this.sql, decision, Date.now());
    await this.armSweepAlarm();
    return id;
  }

  /**
   * Records the screening result of a payment that screening saw but a later stage refused
   * (velocity): the evidence of what was screened, a possible match included, must not depend on
   * the payment being admitted. Admissions record theirs inside `admit`. Returns its id.
   */
  async recordScreeningResult(screening: ScreeningResultInput): Promise<number> {
    const id = insertScreeningResult(this.sql, screening);
    await this.armSweepAlarm();
    return id;
  }

  /** Decision records within [fromMs, toMs), oldest first, paged by `afterId` (ops API, evidence export). */
  async listPolicyDecisions(query: PolicyDecisionQuery = {}): Promise<PolicyDecisionPage> {
    return selectPolicyDecisions(this.sql, query);
  }

  /** Records a security event as evidence and counts it. Returns the stored event. */
  async recordSecurityEvent(event: SecurityEventInput): Promise<SecurityEvent> {
    const atMs = Date.now();
    const detail = event.detail.slice(0, securityEventDetailMax);
    let context = JSON.stringify(event.context);
    if (context.length > securityEventContextBytesMax) context = JSON.stringify({ truncated: true, prefix: context.slice(0, securityEventContextBytesMax - 64) });
    let id = 0;
    this.ctx.storage.transactionSync(() => {
      id = this.sql
        .exec<{ id: number }>(`INSERT INTO security_events (at_ms, kind, slug, detail, context) VALUES (?, ?, ?, ?, ?) RETURNING id`, atMs, event.kind, event.slug, detail, context)
        .one().id;
      this.sql.exec(`INSERT INTO security_event_counts (kind, count) VALUES (?, 1) ON CONFLICT (kind) DO UPDATE SET count = count + 1`, event.kind);
      this.sql.exec(`DELETE FROM security_events WHERE id <= ?`, id - securityEventsMax);
    });
    return { id, at: new Date(atMs).toISOString(), kind: event.kind, slug: event.slug, detail, context: JSON.parse(context) as Record<string, JsonValue> };
  }

  /**
   * The `settlement-refused` security event of one refused batch for this partner (the coordinator
   * calls it on the partner's home shard before it marks the payments rejected). Once per batch: the
   * coordinator repeats a notification that failed part-way, and a repeat returns the first event.
   */
  async recordSettlementRefusal(refusal: { batchId: string; corridor: string; jurisdiction: string; slug: string; reason: string | null; payments: number }): Promise<SecurityEvent> {
    const recorded = this.sql
      .exec<{ id: number; at_ms: number; kind: string; slug: string; detail: string; context: string }>(
        `SELECT id, at_ms, kind, slug, detail, context FROM security_events WHERE kind = 'settlement-refused' AND json_extract(context, '$.batch_id') = ? LIMIT 1`, refusal.batchId,
      )
      .toArray()[0];
    if (recorded !== undefined) return { ...recorded, kind: 'settlement-refused', at: new Date(recorded.at_ms).toISOString(), context: JSON.parse(recorded.context) as Record<string, JsonValue> };
    return this.recordSecurityEvent({
      kind: 'settlement-refused',
      slug: refusal.slug,
      detail: `settlement batch ${refusal.batchId} was refused by every backend of ${refusal.jurisdiction} (${refusal.slug}); ${refusal.payments} of this partner's payments in it read rejected`,
      context: { batch_id: refusal.batchId, corridor: refusal.corridor, jurisdiction: refusal.jurisdiction, slug: refusal.slug, reason: refusal.reason, payments: refusal.payments },
    });
  }

  /** Newest first; `beforeId` pages back through older events. */
  async listSecurityEvents(options: { limit?: number; beforeId?: number } = {}): Promise<SecurityEvent[]> {
    const limit = Math.max(1, Math.min(options.limit ?? 100, securityEventsPageMax));
    const beforeId = options.beforeId ?? Number.MAX_SAFE_INTEGER;
    return this.sql
      .exec<{ id: number; at_ms: number; kind: string; slug: string; detail: string; context: string }>(
        `SELECT id, at_ms, kind, slug, detail, context FROM security_events WHERE id < ? ORDER BY id DESC LIMIT ?`, beforeId, limit,
      )
      .toArray()
      .map((row) => ({
        id: row.id,
        at: new Date(row.at_ms).toISOString(),
        kind: row.kind as SecurityEventKind,
        slug: row.slug,
        detail: row.detail,
        context: JSON.parse(row.context) as Record<string, JsonValue>,
      }));
  }

  /** Per-kind totals since the partner's state was created (the metric until prom-client export exists). */
  async securityEventCounts(): Promise<Partial<Record<SecurityEventKind, number>>> {
    const counts: Partial<Record<SecurityEventKind, number>> = {};
    for (const row of this.sql.exec<{ kind: string; count: number }>(`SELECT kind, count FROM security_event_counts ORDER BY kind`)) {
      counts[row.kind as SecurityEventKind] = row.count;
    }
    return counts;
  }

  override async alarm(): Promise<void> {
    const nowMs = Date.now();
    this.sql.exec(`DELETE FROM nonces WHERE expires_at_ms <= ?`, nowMs);
    const pruned = this.pruneFinishedPayments(nowMs);
    pruneLapsedResidencyExceptions(this.sql, nowMs);
    this.residencyExceptions = undefined;
    const prunedDecisions = pruneOldPolicyDecisions(this.sql, nowMs, pruneBatchRowsMax);
    const prunedScreenings = pruneOldScreeningResults(this.sql, nowMs, pruneBatchRowsMax);
    const remaining = this.sql
      .exec<{ count: number }>(
        `SELECT (SELECT count(*) FROM nonces) + (SELECT count(*) FROM payments) + (SELECT count(*) FROM residency_exceptions) + (SELECT count(*) FROM policy_decisions)
          + (SELECT count(*) FROM screening_results) AS count`,
      )
      .one().count;
    // A full batch means more may be due: come back soon rather than in an hour.
    const more = pruned === pruneBatchRowsMax || prunedDecisions === pruneBatchRowsMax || prunedScreenings === pruneBatchRowsMax;
    if (more) await this.ctx.storage.setAlarm(nowMs + 1_000);
    else if (remaining > 0) await this.ctx.storage.setAlarm(nowMs + nonceSweepIntervalMs);
    this.sweepAlarmArmed = more || remaining > 0;
  }

  /**
   * Makes sure the sweep alarm (nonce expiry, retention) is set. Remembered per instance: the
   * storage read happens once per object lifetime, not on every claim and admission.
   */
  private async armSweepAlarm(): Promise<void> {
    if (this.sweepAlarmArmed) return;
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + nonceSweepIntervalMs);
    this.sweepAlarmArmed = true;
  }

  /** Deletes up to `pruneBatchRowsMax` payments that finished more than `finishedPaymentRetentionMs` before `nowMs`. */
  pruneFinishedPayments(nowMs: number): number {
    const due = this.sql
      .exec<{ uetr: string }>(`SELECT uetr FROM payments WHERE status IN ('settled', 'rejected') AND settled_at_ms < ? ORDER BY settled_at_ms LIMIT ?`, nowMs - finishedPaymentRetentionMs, pruneBatchRowsMax)
      .toArray();
    this.ctx.storage.transactionSync(() => {
      for (const { uetr } of due) {
        this.sql.exec(`DELETE FROM payments WHERE uetr = ?`, uetr);
        deleteHold(this.sql, uetr);
      }
    });
    return due.length;
  }

  /**
   * The pipeline's `priorAnswer`: what this UETR already means, before routing or any limit sees a
   * repeat. A stored answer is returned whatever has changed since (corridor state, limits); a
   * different instruction under the UETR is a mismatch; a pending admission (a crash or a lost
   * answer between the row and the enqueue) is finished at the shard it chose.
   */
  async priorAnswer(uetr: string, instructionSha256: string): Promise<PriorAnswer> {
    const stored = this.paymentRow(uetr);
    if (stored === undefined) return this.noPriorAnswer();
    if (stored.instruction_sha256 !== instructionSha256) return { kind: 'uetr-mismatch' };
    if (stored.answer != null) return { kind: 'answered', answer: storedAnswerOf(stored.answer) };
    // A pending row from before the shard choice was stored carries none: let routing choose, as it did then.
    if (stored.enqueue === null) return this.noPriorAnswer();
    const result = await this.admit(JSON.parse(stored.enqueue) as AdmissionRequest);
    if (result.kind === 'accepted') return { kind: 'answered', answer: result.answer };
    return result;
  }

  private noPriorAnswer(): PriorAnswer {
    const nowMs = Date.now();
    // Every new UETR asks, exceptions change only through recordResidencyException and the prune: read them once, filter by the clock each time.
    this.residencyExceptions ??= unexpiredResidencyExceptions(this.sql, Number.MIN_SAFE_INTEGER);
    return { kind: 'none', residencyExceptions: this.residencyExceptions.filter((exception) => exception.expires_at_ms > nowMs) };
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

  private async admitOnce(fresh: AdmissionRequest): Promise<AdmissionResult> {
    const stored = this.paymentRow(fresh.uetr);
    if (stored !== undefined && stored.instruction_sha256 !== fresh.instructionSha256) return { kind: 'uetr-mismatch' };
    if (stored?.answer != null) return { kind: 'accepted', answer: storedAnswerOf(stored.answer), repeat: true };
    if (stored === undefined && fresh.hold !== undefined) return this.holdOnce(fresh, fresh.hold);
    // A pending row goes back to the shard it chose with the payment it sent, never to a new route.
    const request = stored?.enqueue != null ? (JSON.parse(stored.enqueue) as AdmissionRequest) : fresh;
    if (stored === undefined) {
      const { policyDecision, screening, ...enqueue } = request;
      this.ctx.storage.transactionSync(() => {
        this.sql.exec(
          `INSERT INTO payments (uetr, instruction_sha256, jws, corridor, jurisdiction, status, window_name, enqueue) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)`,
          request.uetr, request.instructionSha256, request.jws, request.corridor, request.jurisdiction, request.windowName, JSON.stringify({ ...enqueue, jws: '' }),
        );
        if (policyDecision !== undefined) insertPolicyDecision(this.sql, policyDecision, Date.now());
        if (screening !== undefined) insertScreeningResult(this.sql, screening);
      });
    }
    const windows = this.env.CORRIDOR_WINDOW;
    const span = calleeSpan(fresh.trace);
    const outcome = await durableObjectFor(this.env, windows, request.jurisdiction, request.windowName).enqueue(request.payment, request.corridorConfig, span && formatTraceparent(span.context));
    if (outcome.kind === 'unsettleable') {
      // Nothing was placed, and the partner has been told nothing yet: forget the attempt.
      this.sql.exec(`DELETE FROM payments WHERE uetr = ? AND status = 'pending'`, request.uetr);
      return { kind: 'unsettleable', reason: outcome.reason };
    }
    const acceptedAt = new Date();
    // The receipt is signed at the edge from this record, after this call returns (and so after this write is durable).
    const record: AcceptanceRecord = {
      partner_id: request.partnerId, uetr: request.uetr, instruction_sha256: request.instructionSha256, status: 'accepted', window: outcome.batchId, accepted_at: acceptedAt.toISOString(),
    };
    // A settlement or rejection notice can overtake this write only if the window closed within this call; never undo it.
    this.sql.exec(
      `UPDATE payments SET window_id = ?, answer = ?, accepted_at_ms = ?, status = CASE WHEN status IN ('settled', 'rejected') THEN status ELSE 'accepted' END WHERE uetr = ?`,
      outcome.batchId, JSON.stringify(record), acceptedAt.getTime(), request.uetr,
    );
    await this.armSweepAlarm();
    writeLog('info', 'payment admitted', 'partner-state', span?.ids ?? {}, { partner_id: request.partnerId, uetr: request.uetr, status: 'accepted', window: outcome.batchId });
    return { kind: 'accepted', answer: { kind: 'unsigned', record }, repeat: false };
  }

  /**
   * A held admission: the payment row with its answer (status `held`, no window), its hold,
   * screening result and policy decision are written in one transaction; the edge signs the receipt
   * once this returns. A crash before that transaction leaves nothing, and the partner, who was
   * answered nothing, retries.
   */
  private async holdOnce(request: AdmissionRequest, hold: HoldInput): Promise<AdmissionResult> {
    const heldAt = new Date();
    const record: AcceptanceRecord = {
      partner_id: request.partnerId, uetr: request.uetr, instruction_sha256: request.instructionSha256, status: 'held', window: null, accepted_at: heldAt.toISOString(),
    };
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        `INSERT INTO payments (uetr, instruction_sha256, jws, corridor, jurisdiction, status, answer, accepted_at_ms) VALUES (?, ?, ?, ?, ?, 'held', ?, ?)`,
        request.uetr, request.instructionSha256, request.jws, request.corridor, request.jurisdiction, JSON.stringify(record), heldAt.getTime(),
      );
      insertHold(this.sql, request.payment, request.corridor, hold, heldAt.getTime());
      if (request.policyDecision !== undefined) insertPolicyDecision(this.sql, request.policyDecision, heldAt.getTime());
      if (request.screening !== undefined) insertScreeningResult(this.sql, request.screening);
    });
    await this.armSweepAlarm();
    writeLog('info', 'payment admitted', 'partner-state', calleeSpan(request.trace)?.ids ?? {}, { partner_id: request.partnerId, uetr: request.uetr, status: 'held' });
    return { kind: 'accepted', answer: { kind: 'unsigned', record }, repeat: false };
  }

  /** A held payment of this partner, with its screening result: what Control checks a `hold-decision` against. */
  async heldPayment(uetr: string): Promise<HeldPayment | null> {
    const row = this.sql.exec<HoldRow & { status: string }>(`SELECT h.*, p.status FROM holds h JOIN payments p ON p.uetr = h.uetr WHERE h.uetr = ?`, uetr).toArray()[0];
    return row === undefined ? null : heldPaymentOf(row, screeningResultFor(this.sql, uetr));
  }

  /** Payments still reading `held`, newest first, with their screening results (`GET /ops/api/holds`). */
  async listHolds(limit: number): Promise<HeldPayment[]> {
    return heldRows(this.sql, limit).map((row) => heldPaymentOf(row, screeningResultFor(this.sql, row.uetr)));
  }

  /** Screening results within [fromMs, toMs), oldest first, paged by `afterId` (ops API, evidence export). */
  async listScreeningResults(query: { fromMs?: number; toMs?: number; limit?: number; afterId?: number } = {}): Promise<ScreeningResultPage> {
    return selectScreeningResults(this.sql, query);
  }

  /**
   * Applies an approved `hold-decision` (Control pushes it, and pushes again until confirmed, so this
   * is idempotent on the change id). The decision is fixed on the hold before anything else; a
   * release then writes the shard Control chose into the payment row and enqueues there — a retry
   * enqueues at the stored shard, and the window's enqueue is idempotent on (partner, UETR).
   */
  async decideHold(input: HoldDecisionInput): Promise<HoldDecisionOutcome> {
    const hold = holdRow(this.sql, input.uetr);
    if (hold === undefined) return { kind: 'not-held' };
    if (hold.change_id !== null && hold.change_id !== input.change_id) return { kind: 'decided-by-another-change', change_id: hold.change_id };
    if (hold.change_id === null) {
      if (input.decision === 'release' && input.release === undefined) throw new Error(`decideHold: a release of ${input.uetr} without its route`);
      const nowMs = Date.now();
      this.ctx.storage.transactionSync(() => {
        recordHoldDecision(this.sql, input, nowMs);
        if (input.decision === 'reject') {
          this.sql.exec(`UPDATE payments SET status = 'rejected', rejection = ?, settled_at_ms = ? WHERE uetr = ? AND status = 'held'`, holdRejectedReason, nowMs, input.uetr);
        } else {
          const release = { payment: JSON.parse(hold.payment) as WindowPayment, ...input.release! };
          this.sql.exec(`UPDATE payments SET window_name = ?, enqueue = ? WHERE uetr = ?`, release.windowName, JSON.stringify(release), input.uetr);
        }
      });
    }
    if ((hold.decision ?? input.decision) === 'reject') return { kind: 'rejected' };
    return this.finishRelease(input.uetr);
  }

  /** Enqueues a released payment at the shard stored with the decision; `accepted` once placed. */
  private async finishRelease(uetr: string): Promise<HoldDecisionOutcome> {
    const row = this.sql.exec<{ jurisdiction: string; enqueue: string | null; status: string; window_id: string | null; rejection: string | null }>(
      `SELECT jurisdiction, enqueue, status, window_id, rejection FROM payments WHERE uetr = ?`, uetr,
    ).toArray()[0];
    if (row === undefined || row.enqueue === null) throw new Error(`finishRelease: payment ${uetr} has no stored release`);
    if (row.window_id !== null) return { kind: 'released', window: row.window_id };
    if (row.status === 'rejected') return { kind: 'unsettleable', reason: row.rejection ?? 'rejected' };
    const release = JSON.parse(row.enqueue) as { payment: WindowPayment; windowName: string; corridorConfig: WindowCorridor };
    const window = durableObjectFor(this.env, this.env.CORRIDOR_WINDOW, row.jurisdiction, release.windowName);
    const outcome = await window.enqueue(release.payment, release.corridorConfig);
    if (outcome.kind === 'unsettleable') {
      // Nothing was placed; the payment cannot settle in this corridor at the window's rate, so it ends here, visibly.
      const reason = `unsettleable-at-release: ${outcome.reason.kind}`;
      this.sql.exec(`UPDATE payments SET status = 'rejected', rejection = ?, settled_at_ms = ? WHERE uetr = ? AND status = 'held'`, reason, Date.now(), uetr);
      return { kind: 'unsettleable', reason };
    }
    this.sql.exec(
      `UPDATE payments SET window_id = ?, status = CASE WHEN status IN ('settled', 'rejected') THEN status ELSE 'accepted' END WHERE uetr = ?`, outcome.batchId, uetr,
    );
    return { kind: 'released', window: outcome.batchId };
  }

  /** Called by a CorridorWindow shard for payments that could not settle at close. Idempotent; never undoes `settled`. */
  async markRejected(notice: RejectionNotice): Promise<number> {
    let updated = 0;
    this.ctx.storage.transactionSync(() => {
      for (const payment of notice.payments) {
        updated += this.sql.exec(
          `UPDATE payments SET status = 'rejected', rejection = ?, settled_at_ms = ? WHERE uetr = ? AND status NOT IN ('settled', 'rejected')`, payment.reason, Date.now(), payment.uetr,
        ).rowsWritten;
      }
    });
    return updated;
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
      ...(row.status === 'rejected' ? { reason: row.rejection ?? 'rejected' } : {}),
    };
  }

  /** Called by a CorridorWindow once its batch has a signed settlement receipt. Idempotent. */
  async markSettled(notice: SettlementNotice): Promise<number> {
    // One statement for the window's payments in this shard, however many: the notice is per window, and so is its cost here.
    return this.sql.exec(
      `UPDATE payments SET status = 'settled', batch_id = ?, jurisdiction = ?, region = ?, log_index = ?, settled_at_ms = ? WHERE uetr IN (SELECT value FROM json_each(?)) AND status != 'settled'`,
      notice.batchId, notice.jurisdiction, notice.region, notice.logIndex, Date.now(), JSON.stringify(notice.uetrs),
    ).rowsWritten;
  }

  private paymentRow(uetr: string) {
    return this.sql
      .exec<{ uetr: string; instruction_sha256: string; status: string; answer: string | null; batch_id: string | null; jurisdiction: string; region: string | null; log_index: number | null; enqueue: string | null; rejection: string | null }>(
        `SELECT uetr, instruction_sha256, status, answer, batch_id, jurisdiction, region, log_index, enqueue, rejection FROM payments WHERE uetr = ?`, uetr,
      )
      .toArray()[0];
  }

  /**
   * The evidence export's read (workers/ops/views/instructions-view.ts): payments accepted in
   * [fromMs, toMs) with the partner's JWS and the acceptance receipt of their answer, oldest first,
   * paged after (accepted_at_ms, uetr). No index on accepted_at_ms: this scans the partner's
   * payments, which the 30-day retention bounds; at most 500 rows a page.
   */
  async listInstructions(query: { fromMs: number; toMs: number; afterMs?: number; afterUetr?: string; limit?: number }): Promise<Array<{ uetr: string; jws: string; instruction_sha256: string; status: string; batch_id: string | null; accepted_at: string; receipt: string | null }>> {
    const instructionsPageMax = 500;
    const limit = Math.max(1, Math.min(query.limit ?? 100, instructionsPageMax));
    const afterMs = query.afterMs ?? -1;
    const rows = this.sql
      .exec<{ uetr: string; jws: string; instruction_sha256: string; status: string; batch_id: string | null; accepted_at_ms: number; answer: string | null }>(
        `SELECT uetr, jws, instruction_sha256, status, batch_id, accepted_at_ms, answer FROM payments
         WHERE accepted_at_ms >= ? AND accepted_at_ms < ? AND (accepted_at_ms > ? OR (accepted_at_ms = ? AND uetr > ?))
         ORDER BY accepted_at_ms, uetr LIMIT ?`,
        query.fromMs, query.toMs, afterMs, afterMs, query.afterUetr ?? '', limit,
      )
      .toArray();
    // The export is rare and paged: its receipts are signed again here, byte for byte the ones the partners got (deterministic Ed25519).
    const key = await gatewayKey(this.env.GATEWAY_SIGNING_JWK);
    return Promise.all(rows.map(async (row) => ({
      uetr: row.uetr,
      jws: row.jws,
      instruction_sha256: row.instruction_sha256,
      status: row.status,
      batch_id: row.status === 'settled' ? row.batch_id : null,
      accepted_at: new Date(row.accepted_at_ms).toISOString(),
      receipt: row.answer === null ? null : await receiptOf(key, this.env.GATEWAY_ID, storedAnswerOf(row.answer)),
    })));
  }
}

function receiptOf(key: Awaited<ReturnType<typeof gatewayKey>>, gateway: string, answer: StoredAnswer): Promise<string> {
  return answer.kind === 'signed' ? Promise.resolve(answer.answer.receipt) : signAcceptanceRecord(key, gateway, answer.record);
}

/** SQLite has no ADD COLUMN IF NOT EXISTS: storage created by an earlier version gains the column once. */
function addColumnIfMissing(sql: SqlStorage, table: string, columnDefinition: string): void {
  const column = columnDefinition.split(' ')[0]!;
  const present = sql.exec<{ name: string }>(`SELECT name FROM pragma_table_info(?)`, table).toArray().some((row) => row.name === column);
  if (!present) sql.exec(`ALTER TABLE ${table} ADD COLUMN ${columnDefinition}`);
}
