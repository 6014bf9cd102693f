/**
 * Delivers a sealed settlement batch to the regional backends of its jurisdiction, in failover
 * order: REGIONAL_BACKENDS' preference order as the jurisdiction's BackendHealth object sees it
 * (backend-health.ts: backends whose breaker is open go last, a recovered one takes its place
 * again), never a backend of another jurisdiction. A failed call opens that backend's breaker for
 * every outbox of the jurisdiction at once (report); a settled call to a backend that was not
 * closed closes it. Each call carries a fresh token (JWT, EdDSA, aud = region, ≤ 60 s, single-use jti) signed
 * with the gateway's settlement-token key (GATEWAY_SETTLEMENT_TOKEN_JWK, never the receipt key),
 * which the backend verifies against /.well-known/settlement-token-jwks.json: no standing secret.
 *
 * A delivery counts as settled only when the backend's settlement receipt verifies: a compact JWS
 * (regional/receipt.ts) under a key that backend publishes at GET /v1/keys, whose claims name
 * exactly what was delivered (batch_id, digest, jurisdiction, region, log_index, leg_count).
 * Without that check a backend that answered 201 with anything — a bug, a misrouted proxy, an
 * impostor on the path — would have partners told `settled` on its word alone. A receipt that
 * fails is a failed delivery to that backend: the outbox fails over and retries, never settles.
 *
 * A replay answered by a sibling carries the receipt of the region that first committed (see
 * verifySettlementReceipt). Backend keys are cached per backend URL for `backendKeysTtlMs` and refetched once when a receipt
 * names a kid the cache does not hold (a backend rotated its signer).
 *
 * Outside MERIDIAN_POSTURE=local-dev a backend URL must be https: (and not loopback); the token
 * and every receipt would otherwise cross the network in the clear.
 *
 * Refusals. A backend's problem answer is classified by core classifySettlementRefusal (its header
 * has the table). Most are a failed delivery: fail over, retry with backoff, forever — an outage,
 * a token or key the backend does not trust, a limit the two sides disagree on are an operator's to
 * fix, and the payments settle once it is fixed. A content refusal (residency-denied; an invalid
 * batch that the edge's own verifySettlementBatch also finds invalid) ends the window `refused`
 * and its payments `rejected`, but only with proof that the batch is not committed and will not be:
 *   1. read-back: GET /v1/settlements/{batch_id} at the refusing backend answers 404. A batch that a
 *      lost answer left committed, then refused on a replay (the re-check runs before the digest
 *      lookup, so a residency map changed in between refuses a committed batch), reads back with
 *      its receipt: verified, it is settled, never rejected. Any other read-back is a failure.
 *   2. a sibling agrees: `refusalConfirmationsMin` distinct backends (or every backend, when the
 *      jurisdiction has fewer) refuse in the same delivery. Siblings run the same rules on the same
 *      bytes, so content is refused by all; one backend alone refusing is a stale deploy or a
 *      misconfigured map, and its sibling then commits the batch. A sibling that cannot be reached
 *      confirms nothing: the window retries (last_error names the refusal) until it can.
 * A 409 or a batch-id conflict (422 batch-rejected without reason) reads back too: the same digest
 * with a verified receipt is settled; another digest under our batch id is an integrity alarm that
 * is retried and logged, never a refusal (the other batch may hold these very payments).
 * A refusal tells the jurisdiction's health that the backend answered: it is no breaker failure.
 *
 * Unanswered calls. A call that ends without an answer (the delivery timeout, a lost connection)
 * may leave its backend's transaction running, and so may commit after a read-back found the batch
 * absent: the payments would settle after their partners were told `rejected`. The backend commits
 * no new batch later than its token's exp − 2 s on its own clock (regional/commit.ts
 * commitDeadlineMarginMs), so every commit such a call can make is visible (the jurisdiction's
 * backends share one database) by exp + settlementTokenClockToleranceSeconds on the edge's clock.
 * A refusal is therefore made final only after that instant for every unanswered call of the
 * window — this delivery's and earlier ones' (the window stores the latest: netting-store.ts
 * unanswered_until_ms) — and after one more read-back at the refusing backend that still finds the
 * batch absent (committed: it settles; anything else: it is retried). The wait is at most the
 * token's lifetime plus the tolerance, and only on the path to a refusal.
 */
import { p256 } from '@noble/curves/nist.js';
import { SignJWT } from 'jose';
import { z } from 'zod';
import { base64Decode, base64urlDecode, utf8 } from '../../core/digest.ts';
import { gatewaySigningKeys, isLocalDev, isMisconfiguredError, MisconfiguredError } from '../../core/gateway-key.ts';
import { senderSpanIds, writeLog } from '../../core/log-line.ts';
import { verifyMlDsa65 } from '../../core/ml-dsa.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { classifySettlementRefusal, settlementRefusalsMetric, type SettlementRefusalClass } from '../../core/netting-window.ts';
import {
  settlementTokenClockToleranceSeconds, settlementTokenTtlSeconds, verifySettlementBatch, type SettlementReceiptClaims, type SettlementResponse,
} from '../../core/settlement-batch.ts';
import { problemSlugOf } from '../../core/problem.ts';
import { parseStrictJson } from '../../core/strict-json.ts';
import { paymentTraceIdsHeader } from '../../core/trace-context.ts';
import { edgeMetricsShardName, edgeMetricsShards } from '../edge-metrics/edge-metrics-contract.ts';
import type { EdgeMetrics } from '../edge-metrics/edge-metrics.ts';
import type { DurableObjectsEnv } from '../env.ts';
import { breakerKey, deliveryOrder, type BackendBreaker } from './backend-health.ts';
import type { DeliveryReport } from './backend-health-object.ts';
import type { SettlementRefusal } from './netting-store.ts';

/**
 * Until durable-objects/env.ts declares them (see the edge-trust report): the settlement-token key
 * and the deployment posture. Read through this type, never assumed present.
 */
type Env = DurableObjectsEnv & { GATEWAY_SETTLEMENT_TOKEN_JWK?: string; MERIDIAN_POSTURE?: string; EDGE_METRICS?: DurableObjectNamespace<EdgeMetrics> };

export const deliveryTimeoutMs = 15_000;
export const readBackTimeoutMs = 5_000;
/**
 * Longest wait for unanswered calls before a refusal (header, Unanswered calls): a token's lifetime
 * plus the tolerance, and a second of slack; a later instant means a clock jumped, and is retried.
 */
export const unansweredWaitMsMax = (settlementTokenTtlSeconds + settlementTokenClockToleranceSeconds + 1) * 1000;
/**
 * The auditor read-back carries every leg: about 250 bytes each, so a window at its 200,000-leg
 * limit reads back near 50 MB. Read only on a refusal or a 409, never on the settling path.
 */
export const readBackBytesMax = 64 * 1024 * 1024;
/** Distinct backends that must refuse a batch in one delivery before it is final (fewer when the jurisdiction has fewer). */
export const refusalConfirmationsMin = 2;
export const backendKeysFetchTimeoutMs = 5_000;
/** How long a backend's published keys are trusted before they are fetched again. */
export const backendKeysTtlMs = 5 * 60_000;
const backendKeysCacheEntriesMax = 64;
const backendKeysMax = 64;
const receiptBytesMax = 16 * 1024;
const keysResponseBytesMax = 256 * 1024;

const backendsSchema = z.record(z.string(), z.array(z.strictObject({ region: z.string().min(1), url: z.url() })).min(1));
const committedSettlementSchema = z.object({ batch_id: z.string(), digest: z.string(), log_index: z.number().int().nonnegative(), receipt: z.string().max(receiptBytesMax) });
const settlementResponseSchema = z.object({
  batch_id: z.string(),
  digest: z.string(),
  region: z.string(),
  log_index: z.number().int().nonnegative(),
  receipt: z.string().max(receiptBytesMax),
});
const receiptClaimsSchema = z.strictObject({
  batch_id: z.string(),
  digest: z.string(),
  jurisdiction: z.string(),
  region: z.string(),
  log_index: z.number().int().nonnegative(),
  leg_count: z.number().int().nonnegative(),
  committed_at: z.string(),
});
const receiptAlgorithms = ['EdDSA', 'ES256', 'ML-DSA-65'] as const;
type ReceiptAlgorithm = (typeof receiptAlgorithms)[number];
const publishedKeysSchema = z.object({
  keys: z.array(z.looseObject({ kid: z.string().min(1).max(256), alg: z.string(), public_key: z.string() })).max(backendKeysMax),
});

export interface RegionalBackend {
  region: string;
  url: string;
}

/** `unansweredUntilMs` (failed): the latest instant an unanswered call of the window may still commit by, or null. */
export type DeliveryOutcome =
  | { kind: 'settled'; response: SettlementResponse }
  | { kind: 'refused'; refusal: SettlementRefusal; errors: string[] }
  | { kind: 'failed'; errors: string[]; unansweredUntilMs: number | null };

/**
 * One attempt at one backend that did not settle: a failure to retry, or a content refusal proven
 * uncommitted. `unansweredUntilMs`: the call ended without an answer; until then it may still commit.
 */
type AttemptFailure =
  | { kind: 'delivery-failed'; detail: string; unansweredUntilMs?: number }
  | { kind: 'refused'; slug: string; reason: string | null; detail: string };

/**
 * The jurisdiction's backends in failover order. Throws MisconfiguredError (REGIONAL_BACKENDS) on
 * a malformed value, a jurisdiction without backends, or — outside local-dev — a plain-http or
 * loopback URL.
 */
export function regionalBackends(env: Env, jurisdiction: string): RegionalBackend[] {
  const all = checkedRegionalBackends(env.REGIONAL_BACKENDS, env.MERIDIAN_POSTURE);
  // Own members only: a jurisdiction named `constructor` is not a key of every object.
  const backends = Object.hasOwn(all, jurisdiction) ? all[jurisdiction] : undefined;
  if (backends === undefined) throw new MisconfiguredError('REGIONAL_BACKENDS', `has no backend for jurisdiction ${jurisdiction}`);
  return backends;
}

/** Parses REGIONAL_BACKENDS and applies the transport rule of the posture (shared with the Worker's deployment check). */
export function checkedRegionalBackends(source: string, posture: string | undefined): Record<string, RegionalBackend[]> {
  let parsed;
  try {
    parsed = backendsSchema.parse(JSON.parse(source));
  } catch (cause) {
    throw new MisconfiguredError('REGIONAL_BACKENDS', `must be JSON {"<jurisdiction>": [{"region", "url"}, …]}: ${String(cause).slice(0, 300)}`);
  }
  if (!isLocalDev(posture)) {
    for (const [jurisdiction, backends] of Object.entries(parsed)) {
      for (const backend of backends) {
        const url = new URL(backend.url);
        if (url.protocol !== 'https:') throw new MisconfiguredError('REGIONAL_BACKENDS', `${jurisdiction}/${backend.region} is ${url.protocol}//${url.host}; outside MERIDIAN_POSTURE=local-dev every regional backend must be https:`);
        if (isLoopbackHost(url.hostname)) throw new MisconfiguredError('REGIONAL_BACKENDS', `${jurisdiction}/${backend.region} points at loopback (${url.host}); set the backends' public https URLs`);
      }
    }
  }
  return parsed;
}

export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname.endsWith('.localhost') || /^127\./.test(hostname) || hostname === '[::1]' || hostname === '0.0.0.0';
}

/** `trace`: the batch's W3C span and its payments' trace ids, sent as headers on every attempt (payment-traces.ts). */
export interface DeliveryTrace {
  traceparent: string;
  paymentTraceIds: string | null;
}

/**
 * `earlierUnansweredUntilMs`: what the window's earlier deliveries left unanswered (see the
 * header's Unanswered calls); a refusal is not final before it.
 */
export async function deliverSettlementBatch(
  env: Env, jurisdiction: string, canonical: string, digest: string, trace?: DeliveryTrace, earlierUnansweredUntilMs: number | null = null,
): Promise<DeliveryOutcome> {
  const delivered = deliveredBatch(canonical, digest, jurisdiction);
  const errors: string[] = [];
  const backends = regionalBackends(env, jurisdiction);
  const startedMs = Date.now();
  const health = await jurisdictionHealth(env, jurisdiction, backends);
  const refusals: Array<{ backend: RegionalBackend; slug: string; reason: string | null; detail: string }> = [];
  let unansweredUntilMs = earlierUnansweredUntilMs;
  for (const backend of deliveryOrder(backends, health.breakers)) {
    const attempt = await deliverTo(env, backends, backend, canonical, digest, delivered, trace);
    const breakerClosed = health.breakers.get(breakerKey(backend))?.state === 'closed';
    if (attempt.ok) {
      if (!breakerClosed) await health.report(backend, { kind: 'settled' });
      // One line per settled delivery: how long it took and what it failed over from (drills read
      // it), under the batch's trace and naming its payments' traces: the receipt's log line.
      const span = senderSpanIds(trace?.traceparent, trace?.paymentTraceIds);
      writeLog('info', 'settlement delivered', 'corridor-window', span.ids, {
        event: 'settlement-delivered', batch_id: delivered.batch_id, region: backend.region, log_index: attempt.value.log_index, delivery_ms: Date.now() - startedMs,
        failed_over_from: errors.map((error) => error.split(':')[0]), payment_trace_ids: span.paymentTraceIds,
      });
      return { kind: 'settled', response: attempt.value };
    }
    errors.push(`${backend.region}: ${attempt.reason.detail}`);
    if (attempt.reason.kind === 'refused') {
      // On to the next backend all the same: it confirms the refusal, or commits the batch.
      refusals.push({ backend, slug: attempt.reason.slug, reason: attempt.reason.reason, detail: attempt.reason.detail });
      if (!breakerClosed) await health.report(backend, { kind: 'refused', detail: attempt.reason.detail });
    } else {
      if (attempt.reason.unansweredUntilMs !== undefined) unansweredUntilMs = Math.max(unansweredUntilMs ?? 0, attempt.reason.unansweredUntilMs);
      await health.report(backend, { kind: 'failed', detail: attempt.reason.detail });
    }
  }
  const [first] = refusals;
  const regions = refusals.map((refusal) => refusal.backend.region);
  if (first === undefined) return { kind: 'failed', errors, unansweredUntilMs };
  if (refusals.length < Math.min(refusalConfirmationsMin, backends.length)) {
    errors.push(`refusal by ${regions.join(', ')} not final: ${Math.min(refusalConfirmationsMin, backends.length)} backends must refuse, so it is retried`);
    return { kind: 'failed', errors, unansweredUntilMs };
  }
  const settledMeanwhile = await outwaitUnansweredCalls(backends, first.backend, delivered, unansweredUntilMs);
  if (settledMeanwhile.kind === 'committed') return { kind: 'settled', response: settledMeanwhile.response };
  if (settledMeanwhile.kind !== 'absent') {
    errors.push(`refusal by ${regions.join(', ')} not final: ${settledMeanwhile.detail}`);
    return { kind: 'failed', errors, unansweredUntilMs };
  }
  return { kind: 'refused', refusal: { slug: first.slug, reason: first.reason, detail: first.detail, regions }, errors };
}

/**
 * Before a refusal is final: waits until every unanswered call's last possible commit is visible,
 * then reads the batch back once more at the refusing backend (see the header's Unanswered calls).
 * Without an unanswered call the refusal's own read-back stands; with one whose instant has
 * passed, the read-back is still repeated (it may have passed after the first one began).
 */
async function outwaitUnansweredCalls(backends: RegionalBackend[], refusing: RegionalBackend, delivered: DeliveredBatch, unansweredUntilMs: number | null): Promise<ReadBack> {
  if (unansweredUntilMs === null) return { kind: 'absent' };
  const waitMs = unansweredUntilMs - Date.now();
  if (waitMs > unansweredWaitMsMax) return { kind: 'unknown', detail: `an unanswered call may commit until ${new Date(unansweredUntilMs).toISOString()}, more than ${unansweredWaitMsMax} ms away` };
  if (waitMs > 0) {
    writeLog('info', 'refusal waits for unanswered calls', 'corridor-window', {}, { event: 'settlement-refusal-waits', batch_id: delivered.batch_id, wait_ms: waitMs });
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
  const stored = await readBack(backends, refusing, delivered);
  if (stored.kind === 'committed') console.warn(JSON.stringify({ event: 'settlement-read-back-committed', batch_id: delivered.batch_id, region: refusing.region, answer: 'an unanswered call committed it' }));
  if (stored.kind === 'absent' || stored.kind === 'committed') return stored;
  return { kind: 'unknown', detail: `read-back after the unanswered calls: ${stored.detail}` };
}

/** One delivery attempt: POST, parse, verify the receipt (or judge the refusal). Every operating error is a value; a misconfiguration throws. */
async function deliverTo(env: Env, backends: RegionalBackend[], backend: RegionalBackend, canonical: string, digest: string, delivered: DeliveredBatch, trace?: DeliveryTrace): Promise<Result<SettlementResponse, AttemptFailure>> {
  let unansweredUntilMs: number | undefined;
  try {
    const { token, expiresAtSeconds } = await mintSettlementToken(env, backend.region, digest);
    unansweredUntilMs = (expiresAtSeconds + settlementTokenClockToleranceSeconds) * 1000;
    const response = await fetch(new URL('/v1/settlements', backend.url), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        ...(trace === undefined ? {} : { traceparent: trace.traceparent }),
        ...(trace?.paymentTraceIds == null ? {} : { [paymentTraceIdsHeader]: trace.paymentTraceIds }),
      },
      body: canonical,
      signal: AbortSignal.timeout(deliveryTimeoutMs),
    });
    // The backend answers only once its transaction has ended: from here the call cannot commit later.
    unansweredUntilMs = undefined;
    const text = await response.text();
    if (!response.ok) return await judgeRefusal(backends, backend, canonical, delivered, classifySettlementRefusal(response.status, text));
    const settled = settlementResponseSchema.parse(JSON.parse(text));
    const verified = await verifySettlementReceipt(backends, backend, settled, delivered);
    if (!verified.ok) return err({ kind: 'delivery-failed', detail: `settlement receipt refused: ${verified.reason.kind}: ${verified.reason.detail}` });
    return ok(settled);
  } catch (cause) {
    if (isMisconfiguredError(cause)) throw cause;
    return err({ kind: 'delivery-failed', detail: (cause as Error).message, ...(unansweredUntilMs === undefined ? {} : { unansweredUntilMs }) });
  }
}

/**
 * A window's batch was refused for good: the error line operators alert on (event
 * `settlement-refused`, with the backend's detail) and one count of settlementRefusalsMetric.
 * Best effort after the fact: the window is already `refused`, which the ops view shows whatever
 * happens here; a lost count is logged, and never retried (a retry could count twice).
 */
export async function announceSettlementRefusal(env: Env, jurisdiction: string, batchId: string, refusal: SettlementRefusal, paymentCount: number): Promise<void> {
  console.error(JSON.stringify({ event: 'settlement-refused', batch_id: batchId, jurisdiction, slug: refusal.slug, reason: refusal.reason, regions: refusal.regions, payments: paymentCount, detail: refusal.detail }));
  const metrics = env.EDGE_METRICS;
  if (metrics === undefined) return;
  const shard = Math.floor(Math.random() * edgeMetricsShards);
  try {
    await metrics.get(metrics.idFromName(edgeMetricsShardName(shard))).record([{ metric: settlementRefusalsMetric, labels: { jurisdiction, slug: refusal.slug }, by: 1 }]);
  } catch (cause) {
    console.warn(JSON.stringify({ event: 'edge-metrics-write-failed', shard, batch_id: batchId, error: (cause as Error).message }));
  }
}

/** A backend answered a problem: what it proves about the batch (see the header's Refusals). */
async function judgeRefusal(backends: RegionalBackend[], backend: RegionalBackend, canonical: string, delivered: DeliveredBatch, refusal: SettlementRefusalClass): Promise<Result<SettlementResponse, AttemptFailure>> {
  if (refusal.kind === 'transient') return err({ kind: 'delivery-failed', detail: refusal.detail });
  if (refusal.kind === 'content' && refusal.slug === 'batch-rejected' && verifySettlementBatch(JSON.parse(canonical), delivered.digest).ok) {
    console.error(JSON.stringify({ event: 'settlement-rules-disagree', batch_id: delivered.batch_id, region: backend.region, refusal: refusal.detail }));
    return err({ kind: 'delivery-failed', detail: `${refusal.detail}; the edge's own check of these bytes passes, so the backend runs other batch rules (a release skew): retried, not refused` });
  }
  const stored = await readBack(backends, backend, delivered);
  switch (stored.kind) {
    case 'committed':
      console.warn(JSON.stringify({ event: 'settlement-read-back-committed', batch_id: delivered.batch_id, region: backend.region, answer: refusal.detail }));
      return ok(stored.response);
    case 'absent':
      if (refusal.kind === 'content') return err({ kind: 'refused', slug: refusal.slug, reason: refusal.reason, detail: refusal.detail });
      return err({ kind: 'delivery-failed', detail: `${refusal.detail}; read-back: not committed` });
    case 'conflict':
      console.error(JSON.stringify({ event: 'settlement-batch-id-conflict', batch_id: delivered.batch_id, digest: delivered.digest, region: backend.region, detail: stored.detail }));
      return err({ kind: 'delivery-failed', detail: `${refusal.detail}; read-back: ${stored.detail}` });
    case 'unknown':
      return err({ kind: 'delivery-failed', detail: `${refusal.detail}; read-back could not prove the batch uncommitted: ${stored.detail}` });
  }
}

type ReadBack =
  | { kind: 'committed'; response: SettlementResponse }
  | { kind: 'absent' }
  | { kind: 'conflict'; detail: string }
  | { kind: 'unknown'; detail: string };

/**
 * GET /v1/settlements/{batch_id} at `backend`: committed (our digest, with a receipt that verifies
 * as on a delivery), absent (the backend's 404 problem), a conflict (another digest holds the batch
 * id), or unknown (anything else: it proves nothing, so the caller retries).
 */
async function readBack(backends: RegionalBackend[], backend: RegionalBackend, delivered: DeliveredBatch): Promise<ReadBack> {
  let status: number;
  let text: string;
  try {
    const response = await fetch(new URL(`/v1/settlements/${encodeURIComponent(delivered.batch_id)}`, backend.url), { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(readBackTimeoutMs) });
    status = response.status;
    const declaredBytes = Number(response.headers.get('content-length') ?? 0);
    if (declaredBytes > readBackBytesMax) return { kind: 'unknown', detail: `GET /v1/settlements declares ${declaredBytes} bytes, over ${readBackBytesMax}` };
    text = await response.text();
    if (text.length > readBackBytesMax) return { kind: 'unknown', detail: `GET /v1/settlements exceeds ${readBackBytesMax} characters` };
  } catch (cause) {
    return { kind: 'unknown', detail: `GET /v1/settlements: ${(cause as Error).message}` };
  }
  if (status === 404) {
    const absent = problemSlugIn(text) === 'not-found';
    return absent ? { kind: 'absent' } : { kind: 'unknown', detail: `GET /v1/settlements answered 404 without a not-found problem` };
  }
  if (status !== 200) return { kind: 'unknown', detail: `GET /v1/settlements answered HTTP ${status}` };
  let stored;
  try {
    stored = committedSettlementSchema.parse(JSON.parse(text));
  } catch {
    return { kind: 'unknown', detail: 'GET /v1/settlements is not {batch_id, digest, log_index, receipt}' };
  }
  if (stored.batch_id !== delivered.batch_id) return { kind: 'unknown', detail: `GET /v1/settlements answered batch ${stored.batch_id.slice(0, 120)}` };
  if (stored.digest !== delivered.digest) return { kind: 'conflict', detail: `batch id ${delivered.batch_id} is committed with digest ${stored.digest.slice(0, 64)}, not ${delivered.digest}` };
  // The auditor shape has no region: the receipt names it, and verification checks it is a sibling's.
  const parsed = parseCompactReceipt(stored.receipt);
  if (!parsed.ok) return { kind: 'unknown', detail: `stored receipt: ${parsed.reason.detail}` };
  const response: SettlementResponse = { batch_id: stored.batch_id, digest: stored.digest, region: parsed.value.claims.region, log_index: stored.log_index, receipt: stored.receipt };
  const verified = await verifySettlementReceipt(backends, backend, response, delivered);
  return verified.ok ? { kind: 'committed', response } : { kind: 'unknown', detail: `stored receipt refused: ${verified.reason.kind}: ${verified.reason.detail}` };
}

function problemSlugIn(text: string): string {
  try {
    return problemSlugOf((JSON.parse(text) as { type?: unknown }).type);
  } catch {
    return 'internal';
  }
}

interface JurisdictionHealth {
  breakers: ReadonlyMap<string, BackendBreaker>;
  report(backend: RegionalBackend, outcome: DeliveryReport): Promise<void>;
}

/**
 * The jurisdiction's breakers from its BackendHealth object, and a way to report to it. When the
 * object cannot be reached (or the binding is absent), the configured order stands and reports are
 * dropped with a log line: a health outage must never stop settlement.
 */
async function jurisdictionHealth(env: Env, jurisdiction: string, backends: RegionalBackend[]): Promise<JurisdictionHealth> {
  const namespace = env.BACKEND_HEALTH;
  const unknown: JurisdictionHealth = { breakers: new Map(), report: async () => {} };
  if (namespace === undefined) return unknown;
  const stub = namespace.get(namespace.idFromName(jurisdiction));
  const plain = backends.map(({ region, url }) => ({ region, url }));
  try {
    const breakers = await stub.plan(plain);
    return {
      breakers: new Map(breakers.map((breaker) => [breakerKey(breaker), breaker])),
      report: async (backend, outcome) => {
        try {
          await stub.report({ region: backend.region, url: backend.url }, outcome);
        } catch (cause) {
          console.warn(JSON.stringify({ event: 'backend-health-report-failed', jurisdiction, region: backend.region, error: (cause as Error).message }));
        }
      },
    };
  } catch (cause) {
    console.warn(JSON.stringify({ event: 'backend-health-unavailable', jurisdiction, error: (cause as Error).message }));
    return unknown;
  }
}

async function mintSettlementToken(env: Env, region: string, digest: string): Promise<{ token: string; expiresAtSeconds: number }> {
  const { settlementToken: key } = await gatewaySigningKeys(env);
  const issuedAt = Math.floor(Date.now() / 1000);
  const expiresAtSeconds = issuedAt + settlementTokenTtlSeconds;
  const token = await new SignJWT({ batch_digest: digest })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
    .setIssuer(env.GATEWAY_ID)
    .setAudience(region)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAtSeconds)
    .setJti(crypto.randomUUID())
    .sign(key.privateKey);
  return { token, expiresAtSeconds };
}

// ---------------------------------------------------------------------------------------------
// Settlement receipts

/** What the edge delivered, which the receipt must name exactly. */
export interface DeliveredBatch {
  batch_id: string;
  digest: string;
  jurisdiction: string;
  leg_count: number;
}

function deliveredBatch(canonical: string, digest: string, jurisdiction: string): DeliveredBatch {
  const batch = JSON.parse(canonical) as { batch_id?: unknown; jurisdiction?: unknown; legs?: unknown };
  if (typeof batch.batch_id !== 'string' || !Array.isArray(batch.legs) || batch.jurisdiction !== jurisdiction) {
    throw new Error(`deliverSettlementBatch: the sealed batch ${digest} has no batch_id, legs or jurisdiction ${jurisdiction}`);
  }
  return { batch_id: batch.batch_id, digest, jurisdiction, leg_count: batch.legs.length };
}

export type ReceiptFailure =
  | { kind: 'malformed-receipt'; detail: string }
  | { kind: 'unknown-key'; detail: string }
  | { kind: 'bad-receipt-signature'; detail: string }
  | { kind: 'claims-mismatch'; detail: string }
  | { kind: 'keys-unavailable'; detail: string };

/**
 * Verifies `settled.receipt`: signed by a key a backend of this jurisdiction publishes, claims equal
 * to what was delivered. `region` is the region that committed the batch: the answering backend for
 * a first commit, but a replay (commit is idempotent by digest, and the backends of a jurisdiction
 * share one database) returns the original receipt, signed in the region that first committed it.
 * So the region must be one of the jurisdiction's configured backends, and the key is looked up at
 * the answering backend first (DESIGN: every backend lists its siblings' keys), then at the backend
 * of the receipt's region. A receipt whose key neither publishes fails.
 */
export async function verifySettlementReceipt(
  backends: readonly RegionalBackend[],
  answering: RegionalBackend,
  settled: SettlementResponse,
  delivered: DeliveredBatch,
): Promise<Result<SettlementReceiptClaims, ReceiptFailure>> {
  const parsed = parseCompactReceipt(settled.receipt);
  if (!parsed.ok) return parsed;
  const { header, claims, signingInput, signature } = parsed.value;
  const signer = backends.find((backend) => backend.region === claims.region);
  if (signer === undefined) return err({ kind: 'claims-mismatch', detail: `receipt region ${JSON.stringify(claims.region)} is no ${delivered.jurisdiction} backend` });
  const expected: Array<[keyof SettlementReceiptClaims, string | number]> = [
    ['batch_id', delivered.batch_id],
    ['digest', delivered.digest],
    ['jurisdiction', delivered.jurisdiction],
    ['region', settled.region],
    ['log_index', settled.log_index],
    ['leg_count', delivered.leg_count],
  ];
  for (const [name, value] of expected) {
    if (claims[name] !== value) return err({ kind: 'claims-mismatch', detail: `receipt ${name} is ${JSON.stringify(claims[name])}, expected ${JSON.stringify(value)}` });
  }
  if (settled.batch_id !== delivered.batch_id || settled.digest !== delivered.digest) {
    return err({ kind: 'claims-mismatch', detail: `answer names batch ${settled.batch_id} (${settled.digest}), expected ${delivered.batch_id} (${delivered.digest})` });
  }
  let key = await publishedKey(answering, header.kid);
  if (!key.ok && signer.url !== answering.url) key = await publishedKey(signer, header.kid);
  if (!key.ok) return key;
  if (key.value.alg !== header.alg) return err({ kind: 'bad-receipt-signature', detail: `receipt alg ${header.alg} is not the ${key.value.alg} of key ${header.kid}` });
  if (!(await verifyReceiptSignature(key.value.alg, key.value.publicKey, signingInput, signature))) {
    return err({ kind: 'bad-receipt-signature', detail: `receipt signature does not verify under ${answering.region}'s published key ${header.kid}` });
  }
  return ok(claims);
}

interface ParsedReceipt {
  header: { alg: ReceiptAlgorithm; kid: string };
  claims: SettlementReceiptClaims;
  signingInput: Uint8Array;
  signature: Uint8Array;
}

function parseCompactReceipt(receipt: string): Result<ParsedReceipt, ReceiptFailure> {
  const segments = receipt.split('.');
  if (segments.length !== 3) return err({ kind: 'malformed-receipt', detail: 'receipt is not a compact JWS (three segments)' });
  const [headerSegment, payloadSegment, signatureSegment] = segments as [string, string, string];
  let headerJson: unknown;
  let claimsJson: unknown;
  let signature: Uint8Array;
  try {
    headerJson = strictJsonOf(headerSegment);
    claimsJson = strictJsonOf(payloadSegment);
    signature = base64urlDecode(signatureSegment);
  } catch (cause) {
    return err({ kind: 'malformed-receipt', detail: (cause as Error).message });
  }
  const header = z.looseObject({ alg: z.enum(receiptAlgorithms), kid: z.string().min(1).max(256) }).safeParse(headerJson);
  if (!header.success) return err({ kind: 'malformed-receipt', detail: 'receipt header must name alg (EdDSA, ES256 or ML-DSA-65) and kid' });
  if (Object.hasOwn(header.data, 'crit') || Object.hasOwn(header.data, 'b64')) return err({ kind: 'malformed-receipt', detail: 'receipt header must not use crit or b64' });
  const claims = receiptClaimsSchema.safeParse(claimsJson);
  if (!claims.success) return err({ kind: 'malformed-receipt', detail: `receipt claims: ${claims.error.issues.slice(0, 4).map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}` });
  return ok({ header: { alg: header.data.alg, kid: header.data.kid }, claims: claims.data, signingInput: utf8(`${headerSegment}.${payloadSegment}`), signature });
}

function strictJsonOf(segment: string): unknown {
  const parsed = parseStrictJson(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(base64urlDecode(segment)));
  if (!parsed.ok) throw new Error(`receipt segment is not strict JSON: ${parsed.reason.detail}`);
  return parsed.value;
}

async function verifyReceiptSignature(alg: ReceiptAlgorithm, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  try {
    switch (alg) {
      case 'EdDSA': {
        if (publicKey.length !== 32 || signature.length !== 64) return false;
        const key = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
        return await crypto.subtle.verify({ name: 'Ed25519' }, key, signature, message);
      }
      case 'ES256':
        // Like regional/signer/verify-signature.ts: KMS does not normalise to low S, and JWS accepts either.
        return publicKey.length === 65 && signature.length === 64 && p256.verify(signature, message, publicKey, { prehash: true, lowS: false, format: 'compact' });
      case 'ML-DSA-65':
        return verifyMlDsa65(publicKey, message, signature);
    }
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Backend keys: GET /v1/keys, cached per backend URL

interface PublishedKey {
  alg: ReceiptAlgorithm;
  publicKey: Uint8Array;
}

interface CachedKeys {
  fetchedAtMs: number;
  keys: Map<string, PublishedKey>;
}

/** Per isolate: a CorridorWindow delivers to a handful of backends, so this stays small. */
const backendKeysCache = new Map<string, CachedKeys>();

async function publishedKey(backend: RegionalBackend, kid: string): Promise<Result<PublishedKey, ReceiptFailure>> {
  const nowMs = Date.now();
  let cachedKeys = backendKeysCache.get(backend.url);
  let fresh = false;
  if (cachedKeys === undefined || nowMs - cachedKeys.fetchedAtMs > backendKeysTtlMs) {
    const fetched = await fetchBackendKeys(backend);
    if (!fetched.ok) return fetched;
    cachedKeys = fetched.value;
    fresh = true;
  }
  let key = cachedKeys.keys.get(kid);
  if (key === undefined && !fresh) {
    // An unknown kid may be a key the backend rotated in since we cached: refetch once.
    const fetched = await fetchBackendKeys(backend);
    if (!fetched.ok) return fetched;
    key = fetched.value.keys.get(kid);
  }
  if (key === undefined) return err({ kind: 'unknown-key', detail: `${backend.region} does not publish a key ${kid.slice(0, 64)} at /v1/keys` });
  return ok(key);
}

async function fetchBackendKeys(backend: RegionalBackend): Promise<Result<CachedKeys, ReceiptFailure>> {
  let body: unknown;
  try {
    const response = await fetch(new URL('/v1/keys', backend.url), { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(backendKeysFetchTimeoutMs) });
    const text = await response.text();
    if (!response.ok) return err({ kind: 'keys-unavailable', detail: `GET /v1/keys answered HTTP ${response.status}` });
    if (text.length > keysResponseBytesMax) return err({ kind: 'keys-unavailable', detail: `GET /v1/keys exceeds ${keysResponseBytesMax} bytes` });
    body = JSON.parse(text);
  } catch (cause) {
    return err({ kind: 'keys-unavailable', detail: `GET /v1/keys: ${(cause as Error).message}` });
  }
  const parsed = publishedKeysSchema.safeParse(body);
  if (!parsed.success) return err({ kind: 'keys-unavailable', detail: 'GET /v1/keys is not {keys: [{kid, alg, public_key}]}' });
  const keys = new Map<string, PublishedKey>();
  for (const entry of parsed.data.keys) {
    const alg = receiptAlgorithms.find((known) => known === entry.alg);
    if (alg === undefined) continue; // an algorithm this edge does not verify: its receipts fail as unknown-key
    try {
      keys.set(entry.kid, { alg, publicKey: base64Decode(entry.public_key) });
    } catch {
      return err({ kind: 'keys-unavailable', detail: `GET /v1/keys: key ${entry.kid.slice(0, 64)} public_key is not base64` });
    }
  }
  const cachedKeys = { fetchedAtMs: Date.now(), keys };
  if (backendKeysCache.size >= backendKeysCacheEntriesMax) backendKeysCache.clear();
  backendKeysCache.set(backend.url, cachedKeys);
  return ok(cachedKeys);
}
