/**
 * Control: one Durable Object (name "control") holding the corridor configuration and each
 * corridor's live state (open / paused / draining). Routing reads the configuration from here
 * (cached briefly per isolate); state changes come from the ops console, which will put
 * two-person approval in front of `setCorridorState`.
 *
 * Storage (SQLite):
 *   control_meta(key PK, value)                 'seed_sha256': the CORRIDORS text last seeded; 'fx_rate_scale'
 *   corridors(id PK, config, state, state_changed_at_ms)
 *                                               config: the corridor's JSON without `state`
 *   corridor_state_changes(seq PK, corridor, from_state, to_state, actor, reason, changed_at_ms)
 *                                               append-only history of state changes
 *
 * Seeding (on every start, cheap when the seed is unchanged): the CORRIDORS binding (dev/corridors.json)
 * is the source of a corridor's static configuration, so a new deployment's values replace the
 * stored ones; a corridor's state is Control's own and is taken from the seed only when the
 * corridor is first seen. A corridor dropped from the seed is dropped here (routing stops taking
 * its payments; windows already open still close and settle, as they do not depend on Control).
 */
import { DurableObject } from 'cloudflare:workers';
import { sha256Hex } from '../../core/digest.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { corridorFile, corridorStateSchema, type CorridorConfig, type CorridorDirectory, type CorridorState } from '../../core/corridor-config.ts';
import type { DurableObjectsEnv as Env } from '../env.ts';

export const controlObjectName = 'control';
export const stateChangeActorCharsMax = 200;
export const stateChangeReasonCharsMax = 1_000;

export interface CorridorStateChange {
  corridor: string;
  from: CorridorState;
  to: CorridorState;
  actor: string;
  reason: string;
  changed_at: string;
}

export type CorridorStateChangeRejection =
  | { kind: 'unknown-corridor'; detail: string }
  | { kind: 'invalid-state'; detail: string }
  | { kind: 'invalid-note'; detail: string };

type CorridorRow = { id: string; config: string; state: CorridorState };

export class Control extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS control_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS corridors (id TEXT PRIMARY KEY, config TEXT NOT NULL, state TEXT NOT NULL, state_changed_at_ms INTEGER NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS corridor_state_changes (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, corridor TEXT NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL,
      actor TEXT NOT NULL, reason TEXT NOT NULL, changed_at_ms INTEGER NOT NULL)`);
    this.seedFrom(env.CORRIDORS);
  }

  /** Every corridor with its live state, in id order, plus the FX rate scale: what routing needs. */
  async corridorDirectory(): Promise<CorridorDirectory> {
    const corridors = this.sql.exec<CorridorRow>(`SELECT id, config, state FROM corridors ORDER BY id`).toArray().map(corridorOf);
    return { fx_rate_scale: Number(this.meta('fx_rate_scale')), corridors };
  }

  async corridor(id: string): Promise<CorridorConfig | null> {
    const row = this.sql.exec<CorridorRow>(`SELECT id, config, state FROM corridors WHERE id = ?`, id).toArray()[0];
    return row === undefined ? null : corridorOf(row);
  }

  /**
   * Opens, pauses or drains a corridor. Paused and draining both refuse new payments at the edge
   * (`409 corridor-closed`) within the routing cache's lifetime; windows already open close and
   * settle either way, because closing never consults this state. Draining says the corridor is
   * on its way out; paused says it will reopen. Values, not throws: the ops console maps them.
   */
  async setCorridorState(corridor: string, state: unknown, note: { actor: string; reason: string }): Promise<Result<CorridorStateChange, CorridorStateChangeRejection>> {
    const parsed = corridorStateSchema.safeParse(state);
    if (!parsed.success) return err({ kind: 'invalid-state', detail: `state must be one of open, paused, draining` });
    const { actor, reason } = (note ?? {}) as { actor?: unknown; reason?: unknown };
    if (typeof actor !== 'string' || typeof reason !== 'string' || actor.length === 0 || actor.length > stateChangeActorCharsMax || reason.length > stateChangeReasonCharsMax) {
      return err({ kind: 'invalid-note', detail: `actor must be 1..${stateChangeActorCharsMax} characters and reason at most ${stateChangeReasonCharsMax}` });
    }
    const row = this.sql.exec<{ state: CorridorState }>(`SELECT state FROM corridors WHERE id = ?`, corridor).toArray()[0];
    if (row === undefined) return err({ kind: 'unknown-corridor', detail: `no corridor ${corridor}` });
    const changedAtMs = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(`UPDATE corridors SET state = ?, state_changed_at_ms = ? WHERE id = ?`, parsed.data, changedAtMs, corridor);
      this.sql.exec(
        `INSERT INTO corridor_state_changes (corridor, from_state, to_state, actor, reason, changed_at_ms) VALUES (?, ?, ?, ?, ?, ?)`,
        corridor, row.state, parsed.data, actor, reason, changedAtMs,
      );
    });
    return ok({ corridor, from: row.state, to: parsed.data, actor, reason, changed_at: new Date(changedAtMs).toISOString() });
  }

  /** The state-change history of one corridor, oldest first. */
  async corridorStateChanges(corridor: string): Promise<CorridorStateChange[]> {
    return this.sql
      .exec<{ corridor: string; from_state: CorridorState; to_state: CorridorState; actor: string; reason: string; changed_at_ms: number }>(
        `SELECT corridor, from_state, to_state, actor, reason, changed_at_ms FROM corridor_state_changes WHERE corridor = ? ORDER BY seq`, corridor,
      )
      .toArray()
      .map((row) => ({ corridor: row.corridor, from: row.from_state, to: row.to_state, actor: row.actor, reason: row.reason, changed_at: new Date(row.changed_at_ms).toISOString() }));
  }

  private seedFrom(source: string): void {
    const seedSha256 = sha256Hex(source);
    if (this.meta('seed_sha256') === seedSha256) return;
    const file = corridorFile(source);
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      for (const { state, ...config } of file.corridors) {
        this.sql.exec(
          `INSERT INTO corridors (id, config, state, state_changed_at_ms) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET config = excluded.config`,
          config.id, JSON.stringify(config), state, now,
        );
      }
      const seeded = new Set(file.corridors.map((corridor) => corridor.id));
      for (const { id } of this.sql.exec<{ id: string }>(`SELECT id FROM corridors`).toArray()) {
        if (!seeded.has(id)) this.sql.exec(`DELETE FROM corridors WHERE id = ?`, id);
      }
      this.setMeta('fx_rate_scale', String(file.fx_rate_scale));
      this.setMeta('seed_sha256', seedSha256);
    });
  }

  private meta(key: string): string | undefined {
    return this.sql.exec<{ value: string }>(`SELECT value FROM control_meta WHERE key = ?`, key).toArray()[0]?.value;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec(`INSERT INTO control_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value);
  }
}

function corridorOf(row: CorridorRow): CorridorConfig {
  return { ...(JSON.parse(row.config) as Omit<CorridorConfig, 'state'>), state: row.state };
}
