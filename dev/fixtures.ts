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
}

export interface DevGateway {
  gateway_id: string;
  signing_jwk: JWK & { kid: string };
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

export function publicPartnerProfile(partner: DevPartner) {
  const { d: _private, ...publicJwk } = partner.private_jwk;
  return {
    partner_id: partner.partner_id,
    name: partner.name,
    bic: partner.bic,
    jurisdiction: partner.jurisdiction,
    pq: partner.pq,
    tls_min: partner.tls_min,
    keys: [{ keyid: partner.keyid, alg: 'ed25519' as const, public_jwk: publicJwk, not_before: partner.key_not_before, not_after: partner.key_not_after }],
    ...(partner.ml_dsa_65 === undefined ? {} : { ml_dsa_65: { keyid: partner.ml_dsa_65.keyid, public_key: partner.ml_dsa_65.public_key } }),
  };
}

/** The gateway's secret and JSON bindings for local runs, as strings (what `.dev.vars` and miniflare take). */
export function gatewayDevBindings(directory = devDirectory): Record<string, string> {
  return {
    GATEWAY_SIGNING_JWK: JSON.stringify(loadDevGateway(directory).signing_jwk),
    PARTNERS: JSON.stringify(loadDevPartners(directory).map(publicPartnerProfile)),
    CORRIDORS: JSON.stringify(JSON.parse(readFileSync(join(directory, 'corridors.json'), 'utf8'))),
  };
}
