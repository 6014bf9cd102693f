import type { Control } from './control/control.ts';
import type { BackendHealth } from './corridor-window/backend-health-object.ts';
import type { CorridorWindow } from './corridor-window/corridor-window.ts';
import type { PartnerState } from './partner-state/partner-state.ts';

/**
 * The one Control object's name (CONTROL.idFromName). Declared here, in a module with no runtime
 * imports, so edge code that Node also loads (the admission bench) can address Control without
 * importing control.ts and with it `cloudflare:workers`.
 */
export const controlObjectName = 'control';

/**
 * The bindings the Durable Objects read (wrangler.toml and its secrets). The gateway Worker's
 * `Env` extends this, never the reverse: nothing under durable-objects/ imports workers/.
 */
export interface DurableObjectsEnv {
  PARTNER_STATE: DurableObjectNamespace<PartnerState>;
  CORRIDOR_WINDOW: DurableObjectNamespace<CorridorWindow>;
  CONTROL: DurableObjectNamespace<Control>;
  /** One per jurisdiction: the regional backends' circuit breakers every outbox of it consults. */
  BACKEND_HEALTH: DurableObjectNamespace<BackendHealth>;
  GATEWAY_ID: string;
  /** JSON: jurisdiction → regional backends in failover order. */
  REGIONAL_BACKENDS: string;
  /** Secret: the gateway's Ed25519 private JWK that signs acceptance receipts. */
  GATEWAY_SIGNING_JWK: string;
  /** Secret: the gateway's Ed25519 private JWK that signs settlement tokens; never the receipt key. */
  GATEWAY_SETTLEMENT_TOKEN_JWK: string;
  /** `local-dev` only under `wrangler dev` and the tests (dev/fixtures.ts); absent = production, which refuses dev keys and plain http. */
  MERIDIAN_POSTURE?: string;
  /** JSON: the corridor configuration (dev/corridors.json shape); seeds Control. */
  CORRIDORS: string;
  /** JSON array of public partner profiles (core/partner-profile.ts); seeds Control's partner directory. */
  PARTNERS: string;
}
