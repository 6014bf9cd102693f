/**
 * GET /ops/api/backends and GET /ops/api/keys: every jurisdiction's regional backends in
 * preference order (REGIONAL_BACKENDS, the order an outbox fails over in), probed in parallel with a
 * short deadline each, so one hung backend costs the view `backendProbeTimeoutMs`, not more.
 *
 * Beside each probe, the backend's circuit breaker as the outboxes see it (the jurisdiction's
 * BackendHealth object: state, consecutive failures, last failure, when an open breaker may be
 * retried). `delivery_order` is the order the next delivery will try; "in use" is the first
 * backend in that order that also answers its probe now: the one a delivery would commit to.
 */
import { z } from 'zod';
import { breakerKey, deliveryOrder, type BackendBreaker } from '../../../durable-objects/corridor-window/backend-health.ts';
import { checkedRegionalBackends, type RegionalBackend } from '../../../durable-objects/corridor-window/deliver-batch.ts';
import { gatewaySigningKeys, type GatewayKey } from '../../../core/gateway-key.ts';
import type { Env } from '../../env.ts';
import { errorText, fetchJsonBounded, mapBounded } from './bounded-work.ts';

export const backendProbeTimeoutMs = 2_000;
export const healthBodyBytesMax = 16 * 1024;
export const keysBodyBytesMax = 256 * 1024;
/** Keys and note verifiers shown per backend. */
export const backendKeysShownMax = 64;
const probesConcurrencyMax = 16;

type BackendRef = RegionalBackend & { jurisdiction: string; preference: number };

function backendsInOrder(env: Env): BackendRef[] {
  const all = checkedRegionalBackends(env.REGIONAL_BACKENDS, env.MERIDIAN_POSTURE);
  return Object.entries(all)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([jurisdiction, backends]) => backends.map((backend, index) => ({ ...backend, jurisdiction, preference: index + 1 })));
}

function byJurisdiction<T extends { jurisdiction: string }>(items: T[]): Map<string, T[]> {
  const grouped = new Map<string, T[]>();
  for (const item of items) grouped.set(item.jurisdiction, [...(grouped.get(item.jurisdiction) ?? []), item]);
  return grouped;
}

export interface BackendHealth {
  region: string;
  url: string;
  preference: number;
  healthy: boolean;
  /** healthy: 200 with `status: "ok"`; unhealthy: it answered otherwise; unreachable: no answer in time. */
  status: 'healthy' | 'unhealthy' | 'unreachable';
  http_status?: number;
  error?: string;
  /** What the backend said (`/healthz` body: region, jurisdiction, database), when it answered. */
  reported?: Record<string, unknown>;
}

const healthBodySchema = z.looseObject({ status: z.string().max(64).optional(), region: z.string().max(64).optional(), jurisdiction: z.string().max(64).optional(), database: z.string().max(64).optional(), detail: z.string().optional() });

async function probeHealth(backend: BackendRef): Promise<BackendHealth & { jurisdiction: string }> {
  const base = { jurisdiction: backend.jurisdiction, region: backend.region, url: backend.url, preference: backend.preference };
  const answer = await fetchJsonBounded(new URL('/healthz', backend.url), { timeoutMs: backendProbeTimeoutMs, bodyBytesMax: healthBodyBytesMax });
  if (answer.kind === 'unreachable') return { ...base, healthy: false, status: 'unreachable', error: answer.error };
  const body = healthBodySchema.safeParse(answer.body);
  const reported = body.success ? { region: body.data.region, jurisdiction: body.data.jurisdiction, database: body.data.database, status: body.data.status } : undefined;
  if (answer.httpStatus === 200 && body.success && body.data.status === 'ok') return { ...base, healthy: true, status: 'healthy', http_status: 200, reported };
  const detail = body.success && body.data.detail !== undefined ? body.data.detail.slice(0, 300) : `answered HTTP ${answer.httpStatus}`;
  return { ...base, healthy: false, status: 'unhealthy', http_status: answer.httpStatus, error: detail, ...(reported === undefined ? {} : { reported }) };
}

/** What the console shows of a breaker: times as RFC 3339. */
function breakerView(breaker: BackendBreaker) {
  const at = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return { state: breaker.state, failures: breaker.failures, last_failure: breaker.last_failure, last_failure_at: at(breaker.last_failure_at_ms), retry_at: at(breaker.retry_at_ms), last_success_at: at(breaker.last_success_at_ms), since: at(breaker.changed_at_ms) };
}

/** The jurisdiction's breakers, or the reason they could not be read (the view still answers). */
async function jurisdictionBreakers(env: Env, jurisdiction: string, backends: readonly RegionalBackend[]): Promise<{ breakers: Map<string, BackendBreaker>; error?: string }> {
  try {
    const stub = env.BACKEND_HEALTH.get(env.BACKEND_HEALTH.idFromName(jurisdiction));
    const breakers = await stub.snapshot(backends.map(({ region, url }) => ({ region, url })));
    return { breakers: new Map(breakers.map((breaker) => [breakerKey(breaker), breaker])) };
  } catch (cause) {
    return { breakers: new Map(), error: errorText(cause) };
  }
}

export async function backendsView(env: Env) {
  const probed = await mapBounded(backendsInOrder(env), probesConcurrencyMax, probeHealth);
  const jurisdictions = await Promise.all([...byJurisdiction(probed)].map(async ([jurisdiction, backends]) => {
    const health = await jurisdictionBreakers(env, jurisdiction, backends);
    const order = deliveryOrder(backends, health.breakers);
    return {
      jurisdiction,
      in_use: order.find((backend) => backend.healthy)?.region ?? null,
      delivery_order: order.map((backend) => backend.region),
      ...(health.error === undefined ? {} : { breakers_error: health.error }),
      backends: backends.map(({ jurisdiction: _jurisdiction, ...backend }) => {
        const breaker = health.breakers.get(breakerKey(backend));
        return { ...backend, breaker: breaker === undefined ? null : breakerView(breaker) };
      }),
    };
  }));
  return { jurisdictions, limits: { probe_timeout_ms: backendProbeTimeoutMs } };
}

const publishedKeysSchema = z.looseObject({
  keys: z.array(z.looseObject({ kid: z.string().max(256), alg: z.string().max(64), created_at: z.string().max(64).optional(), rotation_overdue: z.boolean().optional() })),
  note_verifiers: z.array(z.string().max(4_096)).optional(),
});

async function backendKeys(backend: BackendRef) {
  const base = { jurisdiction: backend.jurisdiction, region: backend.region, url: backend.url, preference: backend.preference };
  const answer = await fetchJsonBounded(new URL('/v1/keys', backend.url), { timeoutMs: backendProbeTimeoutMs, bodyBytesMax: keysBodyBytesMax });
  if (answer.kind === 'unreachable') return { ...base, status: 'unreachable' as const, error: answer.error, keys: [] };
  const parsed = publishedKeysSchema.safeParse(answer.body);
  if (answer.httpStatus !== 200 || !parsed.success) {
    return { ...base, status: 'unreachable' as const, error: answer.httpStatus !== 200 ? `answered HTTP ${answer.httpStatus}` : 'answered keys that are not {keys: [{kid, alg, …}]}', keys: [] };
  }
  return {
    ...base,
    status: 'ok' as const,
    keys: parsed.data.keys.slice(0, backendKeysShownMax).map((key) => ({ kid: key.kid, alg: key.alg, created_at: key.created_at ?? null, rotation_overdue: key.rotation_overdue ?? null })),
    keys_truncated: parsed.data.keys.length > backendKeysShownMax,
    note_verifiers: (parsed.data.note_verifiers ?? []).slice(0, backendKeysShownMax),
  };
}

function publicKeyView(key: GatewayKey, publishedAt: string) {
  return { kid: key.kid, alg: 'EdDSA', kty: key.publicJwk.kty, crv: key.publicJwk.crv, x: key.publicJwk.x, thumbprint: key.thumbprint, published_at: publishedAt };
}

async function gatewayKeys(env: Env) {
  try {
    const { receipt, settlementToken } = await gatewaySigningKeys(env);
    return { status: 'ok' as const, receipt: publicKeyView(receipt, '/.well-known/jwks.json'), settlement_token: publicKeyView(settlementToken, '/.well-known/settlement-token-jwks.json') };
  } catch (cause) {
    return { status: 'misconfigured' as const, error: errorText(cause) };
  }
}

export async function keysView(env: Env) {
  const [gateway, backends] = await Promise.all([gatewayKeys(env), mapBounded(backendsInOrder(env), probesConcurrencyMax, backendKeys)]);
  return { gateway, backends, limits: { probe_timeout_ms: backendProbeTimeoutMs, keys_shown_max: backendKeysShownMax } };
}
