/**
 * Which corridor window takes a payment: the corridor must exist and be open, the submitting
 * partner's jurisdiction must be one the corridor may process in (data residency), and the shard
 * is a stable function of the UETR so a retried payment always reaches the same Durable Object.
 *
 * The corridor configuration and state come from the Control DO. Reading it on every payment
 * would put one object on every request's path, so each isolate keeps it for
 * `corridorDirectoryTtlMs`: a state change (pause, drain) takes effect at the edge within that
 * time, which is the documented contract of `Control.setCorridorState`.
 */
import { parseFxRate } from '../../core/fx.ts';
import { ProblemError } from '../../core/problem.ts';
import { sha256 } from '../../core/digest.ts';
import { controlObjectName } from '../../durable-objects/control/control.ts';
import type { WindowCorridor } from '../../core/corridor-window-contract.ts';
import { corridorWindowName } from '../../core/corridor-window-contract.ts';
import type { CorridorConfig, CorridorDirectory } from '../../core/corridor-config.ts';
import type { PartnerProfile } from '../config/partners.ts';
import type { Env } from '../env.ts';

export const corridorDirectoryTtlMs = 2_000;
let cachedDirectory: { fetchedAtMs: number; directory: CorridorDirectory } | undefined;

export interface CorridorRoute {
  windowName: string;
  corridor: WindowCorridor;
}

export async function routePayment(env: Env, partner: PartnerProfile, corridorId: string, uetr: string): Promise<CorridorRoute> {
  const directory = await corridorDirectory(env);
  const config = directory.corridors.find((candidate) => candidate.id === corridorId);
  if (config === undefined) throw new ProblemError('corridor-closed', `no corridor ${corridorId}`);
  if (config.state !== 'open') throw new ProblemError('corridor-closed', `corridor ${corridorId} is ${config.state}`);
  if (!config.jurisdictions.includes(partner.jurisdiction)) {
    throw new ProblemError('residency-denied', `corridor ${corridorId} may not process data of jurisdiction ${partner.jurisdiction}`);
  }
  const shard = shardOf(uetr, config.shards);
  return { windowName: corridorWindowName(corridorId, partner.jurisdiction, shard), corridor: windowCorridor(config, partner.jurisdiction, shard, directory.fx_rate_scale) };
}

/** The shard a UETR is ingested by: first byte of its SHA-256, modulo the corridor's shard count. */
export function shardOf(uetr: string, shards: number): number {
  return (sha256(uetr)[0] ?? 0) % shards;
}

function windowCorridor(config: CorridorConfig, jurisdiction: string, shard: number, scale: number): WindowCorridor {
  return {
    id: config.id,
    jurisdiction,
    shard,
    shards: config.shards,
    fx_provider: config.fx_provider,
    fx_rate_scaled: config.fx_rate === null ? null : parseFxRate(config.fx_rate, scale).toString(),
    fx_rate_scale: scale,
    window_duration_ms: config.window_duration_ms,
    legs_max: config.legs_max,
  };
}

/** Control's corridor directory, cached per isolate; a failed refresh throws rather than route on a stale state. */
async function corridorDirectory(env: Env): Promise<CorridorDirectory> {
  const now = Date.now();
  if (cachedDirectory !== undefined && now - cachedDirectory.fetchedAtMs < corridorDirectoryTtlMs) return cachedDirectory.directory;
  const control = env.CONTROL.get(env.CONTROL.idFromName(controlObjectName));
  cachedDirectory = { fetchedAtMs: now, directory: await control.corridorDirectory() };
  return cachedDirectory.directory;
}
