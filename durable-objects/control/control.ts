/**
 * Control: the single Durable Object that holds live corridor states (open / paused / draining).
 * Seeded from the CORRIDORS configuration on first use; later changes come from the ops console
 * under two-person control.
 *
 * Storage (SQLite): corridor_states(corridor PK, state, updated_at_ms)
 */
import { DurableObject } from 'cloudflare:workers';
import { corridorFile, type CorridorState } from '../../workers/config/corridors.ts';
import type { Env } from '../../workers/env.ts';

export class Control extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS corridor_states (corridor TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at_ms INTEGER NOT NULL)`);
    for (const corridor of corridorFile(env.CORRIDORS).corridors) {
      this.sql.exec(`INSERT INTO corridor_states (corridor, state, updated_at_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, corridor.id, corridor.state, Date.now());
    }
  }

  async corridorStates(): Promise<Record<string, CorridorState>> {
    const states: Record<string, CorridorState> = {};
    for (const row of this.sql.exec<{ corridor: string; state: CorridorState }>(`SELECT corridor, state FROM corridor_states`)) states[row.corridor] = row.state;
    return states;
  }

  async setCorridorState(corridor: string, state: CorridorState): Promise<void> {
    const updated = this.sql.exec(`UPDATE corridor_states SET state = ?, updated_at_ms = ? WHERE corridor = ?`, state, Date.now(), corridor).rowsWritten;
    if (updated !== 1) throw new Error(`unknown corridor ${corridor}`);
  }
}
