/**
 * Which corridor window takes a payment: the corridor must exist and be open, the submitting
 * partner's jurisdiction must be one the corridor may process in (data residency), and the shard
 * is a stable function of the UETR so a retried payment always reaches the same Durable Object.
 */
import { parseFxRate } from '../../core/fx.ts';
import { ProblemError } from '../../core/problem.ts';
import { sha256 } from '../../core/digest.ts';
import type { CorridorConfig, CorridorState } from '../config/corridors.ts';
import { corridorFile } from '../config/corridors.ts';
import type { PartnerProfile } from '../config/partners.ts';
import type { Env } from '../env.ts';
import type { WindowCorridor } from '../../durable-objects/corridor-window/corridor-window.ts';

const corridorStatesTtlMs = 2_000;
let cachedStates: { fetchedAtMs: number; states: Record<string, CorridorState> } | undefined;

export interface CorridorRoute {
  windowName: string;
  corridor: WindowCorridor;
}

export async function routePayment(env: Env, partner: PartnerProfile, corridorId: string, uetr: string): Promise<CorridorRoute> {
  const file = corridorFile(env.CORRIDORS);
  const config = file.corridors.find((candidate) => candidate.id === corridorId);
  if (config === undefined) throw new ProblemError('corridor-closed', `no corridor ${corridorId}`);
  const state = (await corridorStates(env))[corridorId] ?? config.state;
  if (state !== 'open') throw new ProblemError('corridor-closed', `corridor ${corridorId} is ${state}`);
  if (!config.jurisdictions.includes(partner.jurisdiction)) {
    throw new ProblemError('residency-denied', `corridor ${corridorId} may not process data of jurisdiction ${partner.jurisdiction}`);
  }
  const shard = (sha256(uetr)[0] ?? 0) % config.shards;
  return { windowName: `${corridorId}|${partner.jurisdiction}|${shard}`, corridor: windowCorridor(config, partner.jurisdiction, shard, file.fx_rate_scale) };
}

function windowCorridor(config: CorridorConfig, jurisdiction: string, shard: number, scale: number): WindowCorridor {
  return {
    id: config.id,
    jurisdiction,
    shard,
    fx_provider: config.fx_provider,
    fx_rate_scaled: config.fx_rate === null ? null : parseFxRate(config.fx_rate, scale).toString(),
    fx_rate_scale: scale,
    window_duration_ms: config.window_duration_ms,
    legs_max: config.legs_max,
  };
}

/** Corridor states change rarely and only by two-person approval; a 2 s isolate cache keeps the Control DO off the hot path. */
async function corridorStates(env: Env): Promise<Record<string, CorridorState>> {
  const now = Date.now();
  if (cachedStates !== undefined && now - cachedStates.fetchedAtMs < corridorStatesTtlMs) return cachedStates.states;
  const control = env.CONTROL.get(env.CONTROL.idFromName('control'));
  cachedStates = { fetchedAtMs: now, states: await control.corridorStates() };
  return cachedStates.states;
}
