/** Helpers for the ops suites: dev Access tokens (dev/access.json) and requests to /ops as an operator. */
import { SELF } from 'cloudflare:test';
import { importJWK, SignJWT, type JWK } from 'jose';
import devAccess from '../../dev/access.json';
import { gatewayUrl } from './support.ts';

export const [ana, ben, chidi] = devAccess.operators as [string, string, string];

export interface TokenOptions {
  issuer?: string;
  audience?: string;
  expiresInSeconds?: number;
  key?: JWK;
}

/** A Cloudflare Access-style JWT for `email`, signed by the dev issuer unless told otherwise. */
export async function accessToken(email: string, options: TokenOptions = {}): Promise<string> {
  const jwk = (options.key ?? devAccess.private_jwk) as JWK;
  const key = await importJWK(jwk, 'EdDSA');
  const nowSeconds = Math.floor(Date.now() / 1000);
  return new SignJWT({ email, type: 'app', identity_nonce: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid ?? devAccess.private_jwk.kid })
    .setIssuer(options.issuer ?? devAccess.issuer)
    .setAudience(options.audience ?? devAccess.aud)
    .setSubject(crypto.randomUUID())
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + (options.expiresInSeconds ?? 600))
    .sign(key);
}

/** A request to the gateway's /ops as `email` (header form, as Access adds it). */
export async function opsFetch(email: string | null, path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (email !== null) headers.set('cf-access-jwt-assertion', await accessToken(email));
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  return SELF.fetch(`${gatewayUrl}/ops${path}`, { ...init, headers, body });
}

export async function opsJson<T = Record<string, unknown>>(email: string | null, path: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number; body: T }> {
  const response = await opsFetch(email, path, init);
  return { status: response.status, body: (await response.json()) as T };
}

/** Proposes as one operator and approves as another; returns the applied change. */
export async function proposeAndApprove(proposer: string, approver: string, proposal: Record<string, unknown>): Promise<Record<string, unknown>> {
  const proposed = await opsJson<{ id: string }>(proposer, '/api/changes', { method: 'POST', json: proposal });
  if (proposed.status !== 201) throw new Error(`proposal refused: ${proposed.status} ${JSON.stringify(proposed.body)}`);
  const approved = await opsJson(approver, `/api/changes/${proposed.body.id}/approve`, { method: 'POST' });
  if (approved.status !== 200) throw new Error(`approval refused: ${approved.status} ${JSON.stringify(approved.body)}`);
  return approved.body;
}
