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
  /** Secret: the gateway's X-Wing KEM key for PQ sessions, JSON `{"kid", "seed"}` (seed: 32 bytes base64url). */
  GATEWAY_XWING_KEY: string;
  /**
   * Secret: session-ticket AEAD keys, JSON `{"current": {"kid", "key"}, "previous"?: {"kid", "key"}}`
   * (key: 32 bytes base64url). New tickets use `current`; tickets under `previous` stay readable
   * until they expire, so rotating is: previous := current, current := new.
   */
  SESSION_TICKET_KEYS: string;
  /**
   * `local-dev` only under `wrangler dev` and the workerd tests (set by dev/fixtures.ts, never in
   * wrangler.toml): a request without a real TLS observation (plain http, or no `cf.tlsVersion`)
   * skips the TLS downgrade checks. Absent in production: no observation means no TLS, and fails closed.
   */
  TRANSPORT_POSTURE?: string;
}
