import type { Control } from '../durable-objects/control/control.ts';
import type { CorridorWindow } from '../durable-objects/corridor-window/corridor-window.ts';
import type { PartnerState } from '../durable-objects/partner-state/partner-state.ts';

/** Bindings of the gateway Worker (wrangler.toml) and its secrets (`wrangler secret put`, `.dev.vars` locally). */
export interface Env {
  PARTNER_STATE: DurableObjectNamespace<PartnerState>;
  CORRIDOR_WINDOW: DurableObjectNamespace<CorridorWindow>;
  CONTROL: DurableObjectNamespace<Control>;
  GATEWAY_ID: string;
  /** JSON: jurisdiction → regional backends in failover order. */
  REGIONAL_BACKENDS: string;
  UPSTASH_REDIS_REST_URL: string;
  /** Secret: the gateway's Ed25519 private JWK (receipts, settlement tokens). */
  GATEWAY_SIGNING_JWK: string;
  /** JSON array of public partner profiles (the bootstrap partner registry). */
  PARTNERS: string;
  /** JSON: the corridor configuration (dev/corridors.json shape). */
  CORRIDORS: string;
  WINDOW_DURATION_MS: string;
}
