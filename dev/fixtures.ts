/**
 * Reads the dev fixtures (dev/partners/*.json, dev/corridors.json, dev/gateway.json) and derives
 * what the gateway is given as bindings: public partner profiles only — private keys never leave
 * the partner side. Used by the launcher (`.dev.vars` for wrangler dev) and the workerd tests.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JWK } from 'jose';

export interface DevPartner {
  partner_id: string;
  name: string;
  bic: string;
  jurisdiction: 'eu' | 'us' | 'ap';
  keyid: string;
  private_jwk: JWK & { kid: string };
  pq: 'required' | 'optional';
  tls_min: '1.2' | '1.3';
  key_not_before: string;
  key_not_after: string;
  ml_dsa_65?: { keyid: string; seed: string; public_key: string };
  /** Registered exceptions that let this partner connect with TLS 1.2 until they expire. */
  tls_exceptions?: Array<{ tls_min: '1.2'; owner: string; reason: string; expires_at: string }>;
  /** Velocity limits (core/partner-profile.ts); a partner file without them gets `devVelocityDefault`. */
  velocity?: DevVelocityLimits;
}

export interface DevVelocityLimits {
  payments_per_minute: number;
  payments_per_day: number;
  amount_per_day?: Record<string, string>;
}

/**
 * The limits of every dev partner whose file names none: high enough that the demo and the
 * benchmarks never meet them (DESIGN.md: at least 100,000 payments a minute). `golf-limited`
 * carries its own low limit so drills can hit one.
 */
export const devVelocityDefault: DevVelocityLimits = {
  payments_per_minute: 100_000,
  payments_per_day: 100_000_000,
};

/** The bearer token of the local Upstash stand-in (cli/dev/redis-bridge.ts's default). */
export const devUpstashToken = 'meridian-dev-token';

export interface DevGateway {
  gateway_id: string;
  /** Signs acceptance receipts (published at /.well-known/jwks.json). */
  signing_jwk: JWK & { kid: string };
  /** Signs the settlement tokens sent to regional backends (published at /.well-known/settlement-token-jwks.json). */
  settlement_token_jwk: JWK & { kid: string };
  xwing: { kid: string; seed: string; public_key: string };
  ticket_key: string;
}

export const devDirectory = new URL('.', import.meta.url).pathname;

export function loadDevPartners(directory = devDirectory): DevPartner[] {
  const folder = join(directory, 'partners');
  return readdirSync(folder)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(folder, name), 'utf8')) as DevPartner);
}

export function loadDevGateway(directory = devDirectory): DevGateway {
  return JSON.parse(readFileSync(join(directory, 'gateway.json'), 'utf8')) as DevGateway;
}

/** The registry entry (workers/config/partners.ts) of a dev partner: public keys only. The ML-DSA-65 key shares the Ed25519 key's validity. */
export function publicPartnerProfile(partner: DevPartner) {
  const { d: _private, ...publicJwk } = partner.private_jwk;
  const validity = { not_before: partner.key_not_before, not_after: partner.key_not_after };
  const keys: Array<Record<string, unknown>> = [{ keyid: partner.keyid, alg: 'ed25519', public_jwk: publicJwk, ...validity }];
  if (partner.ml_dsa_65 !== undefined) keys.push({ keyid: partner.ml_dsa_65.keyid, alg: 'ml-dsa-65', public_key: partner.ml_dsa_65.public_key, ...validity });
  return {
    partner_id: partner.partner_id,
    name: partner.name,
    bic: partner.bic,
    jurisdiction: partner.jurisdiction,
    pq: partner.pq,
    tls_min: partner.tls_min,
    keys,
    ...(partner.tls_exceptions === undefined ? {} : { tls_exceptions: partner.tls_exceptions }),
    velocity: partner.velocity ?? devVelocityDefault,
  };
}

/** The dev session-ticket key id (dev/gateway.json holds one key; production rotates current/previous). */
export const devTicketKeyId = 'dev-ticket-1';

/** The gateway's secret and JSON bindings for local runs, as strings (what `.dev.vars` and miniflare take). */
export function gatewayDevBindings(directory = devDirectory): Record<string, string> {
  const gateway = loadDevGateway(directory);
  return {
    GATEWAY_SIGNING_JWK: JSON.stringify(gateway.signing_jwk),
    GATEWAY_SETTLEMENT_TOKEN_JWK: JSON.stringify(gateway.settlement_token_jwk),
    GATEWAY_XWING_KEY: JSON.stringify({ kid: gateway.xwing.kid, seed: gateway.xwing.seed }),
    SESSION_TICKET_KEYS: JSON.stringify({ current: { kid: devTicketKeyId, key: gateway.ticket_key } }),
    // The explicit local-dev posture: no Cloudflare edge in front of wrangler dev or the workerd tests
    // (workers/downgrade/tls-posture.ts), plain-http regional backends on 127.0.0.1 and the committed
    // dev keys above. Anywhere else the Worker refuses all three (workers/downgrade/deployment-posture.ts).
    MERIDIAN_POSTURE: 'local-dev',
    PARTNERS: JSON.stringify(loadDevPartners(directory).map(publicPartnerProfile)),
    CORRIDORS: JSON.stringify(JSON.parse(readFileSync(join(directory, 'corridors.json'), 'utf8'))),
    UPSTASH_REDIS_REST_TOKEN: devUpstashToken,
    ...opsDevBindings(directory),
  };
}

export interface DevAccess {
  issuer: string;
  aud: string;
  private_jwk: JWK & { kid: string };
  operators: string[];
}

export function loadDevAccess(directory = devDirectory): DevAccess {
  return JSON.parse(readFileSync(join(directory, 'access.json'), 'utf8')) as DevAccess;
}

/** The dev Cloudflare Access issuer (dev/access.json): its public key inline, and its operators. */
export function opsDevBindings(directory = devDirectory): Record<string, string> {
  const access = loadDevAccess(directory);
  const { d: _private, ...publicJwk } = access.private_jwk;
  return {
    ACCESS_ISSUER: access.issuer,
    ACCESS_AUD: access.aud,
    ACCESS_JWKS: JSON.stringify({ keys: [publicJwk] }),
    OPS_OPERATORS: JSON.stringify(access.operators.map((email) => ({ email, roles: ['operator'] }))),
  };
}
