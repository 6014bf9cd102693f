/**
 * BackendHealth: one Durable Object per jurisdiction (name = the jurisdiction) holding a circuit
 * breaker per regional backend of that jurisdiction (backend-health.ts), so that every outbox of
 * the jurisdiction learns of a dead backend from the first failure anywhere, and the ops console
 * reads the same state the outboxes act on.
 *
 * Why an object and not per-window memory: a CorridorWindow closes a batch every window duration
 * per corridor; with memory per window (or per isolate, which production does not share between
 * machines) each window would pay its own failed call — up to deliveryTimeoutMs for a backend that
 * hangs instead of refusing — before it skipped the backend. The price here is one RPC per
 * delivery (plan) plus one per failure (report), against a batch that carries every payment of a
 * window; bench/failover.bench.ts measures it. If the object cannot be reached the delivery falls
 * back to the configured order (deliver-batch.ts): health is advice, never a gate.
 *
 * Active probes run from the alarm, every probeIntervalMs, while any breaker is open and for
 * watchAfterPlanMs after the last delivery asked for a plan (windows are closing), so a backend
 * that dies between windows is skipped by the next window before it pays for the discovery.
 *
 * Storage (SQLite): breakers (key = "<region> <url>", json) and meta (watched backends, watch_until_ms).
 * It holds no payment data: only backend URLs, states and error texts.
 */
import { DurableObject } from 'cloudflare:workers';
import type { DurableObjectsEnv as Env } from '../env.ts';
import { breakerKey, freshBreaker, recordFailure, recordProbeFailure, recordProbeOk, recordSuccess, type BackendBreaker, type ProbeFailure } from './backend-health.ts';

export const probeIntervalMs = 1_000;
/**
 * Longer than the backend's own database check (regional/routes/healthz.ts, 2 s): a backend whose
 * database is slow says so with its 503 rather than being cut off; a dead one refuses at once.
 */
export const probeTimeoutMs = 3_000;
/** How long probes continue after the last delivery plan: longer than any window duration, so they run while windows are open. */
export const watchAfterPlanMs = 60_000;
/** Backends one jurisdiction may list; more is a configuration error, refused rather than stored. */
export const backendsPerJurisdictionMax = 16;
const probeBodyBytesMax = 16 * 1024;

export interface HealthBackend {
  region: string;
  url: string;
}

/**
 * `refused`: the backend answered a content refusal (deliver-batch.ts). It is up and judging
 * batches, so for its breaker that is an answer like a settled delivery, never a failure: a
 * batch nobody will take must not move every other window of the jurisdiction off a good backend.
 */
export type DeliveryReport = { kind: 'settled' } | { kind: 'refused'; detail: string } | { kind: 'failed'; detail: string };

export class BackendHealth extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private breakers: Map<string, BackendBreaker> | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS breakers (key TEXT PRIMARY KEY, json TEXT NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
  }

  /** A delivery is about to run: the breakers of `backends` (created closed if new), and probes keep watching. */
  async plan(backends: HealthBackend[]): Promise<BackendBreaker[]> {
    assertBackends(backends);
    const nowMs = Date.now();
    this.setMeta('watched', JSON.stringify(backends.map(({ region, url }) => ({ region, url }))));
    this.setMeta('watch_until_ms', String(nowMs + watchAfterPlanMs));
    await this.armProbes(nowMs + probeIntervalMs);
    return backends.map((backend) => this.breaker(backend, nowMs));
  }

  /** A delivery to `backend` settled, was refused or failed (passive health: a failure opens the breaker at once). */
  async report(backend: HealthBackend, outcome: DeliveryReport): Promise<BackendBreaker> {
    assertBackends([backend]);
    const nowMs = Date.now();
    const current = this.breaker(backend, nowMs);
    const next = outcome.kind === 'failed' ? recordFailure(current, outcome.detail, nowMs) : recordSuccess(current, nowMs);
    this.store(next, current);
    if (next.state === 'open') await this.armProbes(nowMs + probeIntervalMs);
    return next;
  }

  /** The breakers of `backends` as they stand (the ops console); starts no probes. */
  async snapshot(backends: HealthBackend[]): Promise<BackendBreaker[]> {
    assertBackends(backends);
    const nowMs = Date.now();
    return backends.map((backend) => this.loaded().get(breakerKey(backend)) ?? freshBreaker(backend.region, backend.url, nowMs));
  }

  /** One round of /healthz probes over the watched backends now (the alarm's work; tests call it directly). */
  async probeWatched(): Promise<BackendBreaker[]> {
    const watched = JSON.parse(this.meta('watched') ?? '[]') as HealthBackend[];
    const probed = await Promise.all(watched.map(async (backend) => ({ backend, failure: await probeHealthz(backend) })));
    const nowMs = Date.now();
    return probed.map(({ backend, failure }) => {
      const current = this.breaker(backend, nowMs);
      const next = failure === null ? recordProbeOk(current, nowMs) : recordProbeFailure(current, failure, nowMs);
      this.store(next, current);
      return next;
    });
  }

  override async alarm(): Promise<void> {
    await this.probeWatched();
    const nowMs = Date.now();
    const watching = Number(this.meta('watch_until_ms') ?? 0) > nowMs;
    const anyOpen = [...this.loaded().values()].some((breaker) => breaker.state === 'open');
    if (watching || anyOpen) await this.ctx.storage.setAlarm(nowMs + probeIntervalMs);
  }

  private breaker(backend: HealthBackend, nowMs: number): BackendBreaker {
    const key = breakerKey(backend);
    const known = this.loaded().get(key);
    if (known !== undefined) return known;
    const fresh = freshBreaker(backend.region, backend.url, nowMs);
    this.store(fresh, undefined);
    return fresh;
  }

  private store(next: BackendBreaker, previous: BackendBreaker | undefined): void {
    if (previous !== undefined && JSON.stringify(previous) === JSON.stringify(next)) return;
    const key = breakerKey(next);
    this.sql.exec(`INSERT INTO breakers (key, json) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET json = excluded.json`, key, JSON.stringify(next));
    this.loaded().set(key, next);
    if (previous !== undefined && previous.state !== next.state) {
      console.log(JSON.stringify({ event: 'backend-breaker', region: next.region, from: previous.state, to: next.state, failures: next.failures, last_failure: next.last_failure }));
    }
  }

  private loaded(): Map<string, BackendBreaker> {
    if (this.breakers === undefined) {
      const rows = this.sql.exec<{ key: string; json: string }>(`SELECT key, json FROM breakers`).toArray();
      // Rows stored before probe_strikes existed read as 0 strikes.
      this.breakers = new Map(rows.map((row) => [row.key, { probe_strikes: 0, ...(JSON.parse(row.json) as Partial<BackendBreaker>) } as BackendBreaker]));
    }
    return this.breakers;
  }

  private async armProbes(atMs: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || atMs < current) await this.ctx.storage.setAlarm(atMs);
  }

  private meta(key: string): string | undefined {
    return this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = ?`, key).toArray()[0]?.value;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value);
  }
}

function assertBackends(backends: readonly HealthBackend[]): void {
  if (backends.length > backendsPerJurisdictionMax) throw new Error(`BackendHealth: ${backends.length} backends exceed backendsPerJurisdictionMax (${backendsPerJurisdictionMax})`);
  for (const backend of backends) {
    if (typeof backend.region !== 'string' || backend.region === '' || typeof backend.url !== 'string') throw new Error('BackendHealth: a backend needs a region and a url');
  }
}

/** GET /healthz within probeTimeoutMs: null when it answered 200 with status "ok", else what went wrong. */
async function probeHealthz(backend: HealthBackend): Promise<ProbeFailure | null> {
  let response: Response;
  try {
    response = await fetch(new URL('/healthz', backend.url), { headers: { accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(probeTimeoutMs) });
  } catch (cause) {
    // A timeout is a late answer (unhealthy); anything else thrown by fetch is a failed connection.
    const late = cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError');
    return { kind: late ? 'unhealthy' : 'unreachable', detail: `probe: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}` };
  }
  try {
    const text = (await response.text()).slice(0, probeBodyBytesMax);
    if (response.status !== 200) return { kind: 'unhealthy', detail: `probe: /healthz answered HTTP ${response.status}` };
    const body = JSON.parse(text) as { status?: unknown };
    return body.status === 'ok' ? null : { kind: 'unhealthy', detail: `probe: /healthz status ${JSON.stringify(body.status)}` };
  } catch (cause) {
    return { kind: 'unhealthy', detail: `probe: /healthz body: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}` };
  }
}
