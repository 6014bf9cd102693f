/**
 * Which CorridorWindow shard takes a payment, from the corridor's configuration: the one routing
 * function for both the edge's `routeToCorridor` stage (workers/payments/route-to-corridor.ts) and
 * Control's release of a held payment (hold-decisions.ts), which routes afresh at release time.
 * Pure: no storage, no clock.
 */
import type { CorridorConfig } from '../../core/corridor-config.ts';
import { corridorWindowName, type WindowCorridor } from '../../core/corridor-window-contract.ts';
import { sha256 } from '../../core/digest.ts';
import { parseFxRate } from '../../core/fx.ts';

export interface CorridorRoute {
  /** The CorridorWindow shard's Durable Object name. */
  windowName: string;
  corridor: WindowCorridor;
  /** The corridor's configuration and state as routing saw them: the policy stage's corridor facts. */
  config: CorridorConfig;
}

/** The shard a UETR is ingested by: first byte of its SHA-256, modulo the corridor's shard count. */
export function shardOf(uetr: string, shards: number): number {
  return (sha256(uetr)[0] ?? 0) % shards;
}

/** The route of `uetr` in `config` for a partner of `jurisdiction`; the caller has checked state and jurisdiction. */
export function corridorRoute(config: CorridorConfig, jurisdiction: string, uetr: string, fxRateScale: number): CorridorRoute {
  const shard = shardOf(uetr, config.shards);
  return { windowName: corridorWindowName(config.id, jurisdiction, shard), corridor: windowCorridor(config, jurisdiction, shard, fxRateScale), config };
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
