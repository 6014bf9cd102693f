import type { Control } from './control/control.ts';
import type { CorridorWindow } from './corridor-window/corridor-window.ts';
import type { PartnerState } from './partner-state/partner-state.ts';

/**
 * The bindings the Durable Objects read (wrangler.toml and its secrets). The gateway Worker's
 * `Env` extends this, never the reverse: nothing under durable-objects/ imports workers/.
 */
export interface DurableObjectsEnv {
  PARTNER_STATE: DurableObjectNamespace<PartnerState>;
  CORRIDOR_WINDOW: DurableObjectNamespace<CorridorWindow>;
  CONTROL: DurableObjectNamespace<Control>;
  GATEWAY_ID: string;
  /** JSON: jurisdiction → regional backends in failover order. */
  REGIONAL_BACKENDS: string;
  /** Secret: the gateway's Ed25519 private JWK (receipts, settlement tokens). */
  GATEWAY_SIGNING_JWK: string;
  /** JSON: the corridor configuration (dev/corridors.json shape); seeds Control. */
  CORRIDORS: string;
}
