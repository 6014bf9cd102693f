import type { DurableObjectsEnv } from '../durable-objects/env.ts';

/** Bindings of the gateway Worker (wrangler.toml) and its secrets (`wrangler secret put`, `.dev.vars` locally). */
export interface Env extends DurableObjectsEnv {
  UPSTASH_REDIS_REST_URL: string;
  /** JSON array of public partner profiles (the bootstrap partner registry). */
  PARTNERS: string;
  WINDOW_DURATION_MS: string;
  /** Secret: the gateway's X-Wing KEM key for PQ sessions, JSON `{"kid", "seed"}` (seed: 32 bytes base64url). */
  GATEWAY_XWING_KEY: string;
  /**
   * Secret: session-ticket AEAD keys, JSON `{"current": {"kid", "key"}, "previous"?: {"kid", "key"}}`
   * (key: 32 bytes base64url). New tickets use `current`; tickets under `previous` stay readable
   * until they expire, so rotating is: previous := current, current := new.
   */
  SESSION_TICKET_KEYS: string;
}
