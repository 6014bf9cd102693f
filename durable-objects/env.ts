/**
 * The one Control object's name (CONTROL.idFromName). Declared here, in a module with no runtime
 * imports, so edge code that Node also loads (the admission bench) can address Control without
 * importing control.ts and with it `cloudflare:workers`.
 */
export const controlObjectName = 'control';

/**
 * The bindings the Durable Objects read, picked from the gateway's Env that `wrangler types` generates
 * from wrangler.toml (workers/worker-configuration.d.ts; what each binding is for: wrangler.toml).
 * Cloudflare.Env is global, so this stays true: nothing under durable-objects/ imports workers/.
 */
export type DurableObjectsEnv = Pick<
  Cloudflare.Env,
  | 'PARTNER_STATE' | 'CORRIDOR_WINDOW' | 'CONTROL' | 'BACKEND_HEALTH'
  | 'GATEWAY_ID' | 'REGIONAL_BACKENDS' | 'GATEWAY_SIGNING_JWK' | 'GATEWAY_SETTLEMENT_TOKEN_JWK'
  | 'MERIDIAN_POSTURE' | 'CORRIDORS' | 'PARTNERS'
>;
