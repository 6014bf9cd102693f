import type { EdgeMetrics } from '../durable-objects/edge-metrics/edge-metrics.ts';
import type { DurableObjectsEnv } from '../durable-objects/env.ts';

/** Bindings of the gateway Worker (wrangler.toml) and its secrets (`wrangler secret put`, `.dev.vars` locally). */
export interface Env extends DurableObjectsEnv {
  /** The edge's event counters, summed by GET /ops/api/metrics (workers/observability/). */
  EDGE_METRICS: DurableObjectNamespace<EdgeMetrics>;
  /** Production only: Workers Analytics Engine dataset receiving the same events (absent locally). */
  EDGE_ANALYTICS?: AnalyticsEngineDataset;
  UPSTASH_REDIS_REST_URL: string;
  /** Secret: the Upstash REST token for velocity limits (workers/velocity/); locally the bridge's dev token. */
  UPSTASH_REDIS_REST_TOKEN: string;
  WINDOW_DURATION_MS: string;
  /** Secret: the gateway's X-Wing KEM key for PQ sessions, JSON `{"kid", "seed"}` (seed: 32 bytes base64url). */
  GATEWAY_XWING_KEY: string;
  /**
   * Secret: session-ticket AEAD keys, JSON `{"current": {"kid", "key"}, "previous"?: {"kid", "key"}}`
   * (key: 32 bytes base64url). New tickets use `current`; tickets under `previous` stay readable
   * until they expire, so rotating is: previous := current, current := new.
   */
  SESSION_TICKET_KEYS: string;
  /** Cloudflare Access: the team's issuer, e.g. `https://<team>.cloudflareaccess.com`. */
  ACCESS_ISSUER: string;
  /** Cloudflare Access: the ops application's AUD tag. */
  ACCESS_AUD: string;
  /** Production: the team's JWKS URL (`<issuer>/cdn-cgi/access/certs`), fetched and cached by jose. */
  ACCESS_JWKS_URL?: string;
  /** Local dev only (MERIDIAN_POSTURE=local-dev): the dev issuer's public JWKS inline, JSON. */
  ACCESS_JWKS?: string;
  /** JSON array of operators: `[{"email", "roles": ["operator"]}]`. Anyone else with a valid token is 403 forbidden. */
  OPS_OPERATORS: string;
  /** Sanctions screening (workers/screening/): `in-process` (default, the bundled list) or `world-check`. */
  SANCTIONS_PROVIDER?: string;
  /** Possible-match threshold in (0, 1]; default `screeningThresholdDefault` (core/sanctions/matcher.ts). */
  SANCTIONS_THRESHOLD?: string;
  /** Screening budget per payment in ms; default `screeningTimeoutMsDefault` (workers/screening/screen-payment.ts). */
  SANCTIONS_SCREENING_TIMEOUT_MS?: string;
  /** World-Check One API v2 base URL, e.g. `https://api-worldcheck.refinitiv.com/v2`. */
  WORLD_CHECK_URL?: string;
  /** Secrets: World-Check One API key and secret (HMAC request signing), and the screening group id. */
  WORLD_CHECK_API_KEY?: string;
  WORLD_CHECK_API_SECRET?: string;
  WORLD_CHECK_GROUP_ID?: string;
}
