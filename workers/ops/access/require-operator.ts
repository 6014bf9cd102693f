/**
 * Cloudflare Access in front of `/ops`: every request carries the Access JWT, in the
 * `Cf-Access-Jwt-Assertion` header (what Access adds at the edge) or, for the browser, the
 * `CF_Authorization` cookie. It is verified with jose against the team's JWKS (fetched and cached;
 * jose refetches on an unknown `kid`, which is how Access's six-weekly key rotation is absorbed),
 * the issuer, the application's AUD tag and the expiry. RS256 is what Access signs with; the
 * local-dev issuer (dev/access.json) signs EdDSA and is accepted only in the local-dev posture.
 *
 * No token, or a token that does not verify: 401 `unauthenticated`. A valid token for someone who is
 * not in OPS_OPERATORS: 403 `forbidden`. There is no other way in.
 */
import type { MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { ProblemError } from '../../../core/problem.ts';
import type { Env } from '../../env.ts';

export const accessHeaderName = 'cf-access-jwt-assertion';
export const accessCookieName = 'CF_Authorization';
export const accessTokenCharsMax = 8_192;
/** Clock skew tolerated on `exp` / `nbf`, in seconds. */
export const accessClockToleranceSeconds = 30;

export interface Operator {
  email: string;
  roles: string[];
}

export type OpsVariables = { operator: Operator };

const operatorsSchema = z.array(z.strictObject({ email: z.email().max(320), roles: z.array(z.string().min(1).max(64)).max(16).default(['operator']) })).max(1_000);

let cachedKeys: { source: string; keys: JWTVerifyGetKey } | undefined;
let cachedOperators: { source: string; byEmail: Map<string, Operator> } | undefined;

function accessKeys(env: Env): JWTVerifyGetKey {
  const localDev = env.MERIDIAN_POSTURE === 'local-dev';
  const source = localDev && env.ACCESS_JWKS !== undefined ? `inline:${env.ACCESS_JWKS}` : `url:${env.ACCESS_JWKS_URL ?? ''}`;
  if (cachedKeys?.source === source) return cachedKeys.keys;
  let keys: JWTVerifyGetKey;
  if (source.startsWith('inline:')) {
    keys = createLocalJWKSet(JSON.parse(env.ACCESS_JWKS!) as { keys: [] });
  } else {
    const url = env.ACCESS_JWKS_URL;
    if (url === undefined || !url.startsWith('https://')) throw new Error('ACCESS_JWKS_URL must be the https JWKS of the Access team (<issuer>/cdn-cgi/access/certs)');
    keys = createRemoteJWKSet(new URL(url), { timeoutDuration: 5_000, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
  }
  cachedKeys = { source, keys };
  return keys;
}

function operators(env: Env): Map<string, Operator> {
  if (cachedOperators?.source === env.OPS_OPERATORS) return cachedOperators.byEmail;
  const parsed = operatorsSchema.parse(JSON.parse(env.OPS_OPERATORS));
  const byEmail = new Map(parsed.map((operator) => [operator.email.toLowerCase(), { email: operator.email.toLowerCase(), roles: operator.roles }]));
  cachedOperators = { source: env.OPS_OPERATORS, byEmail };
  return byEmail;
}

function presentedToken(header: string | undefined, cookie: string | undefined): string | undefined {
  const token = header ?? cookie;
  if (token === undefined || token === '') return undefined;
  return token;
}

/** The Access gate for every `/ops` path: sets `c.var.operator` or refuses. */
export function requireOperator(): MiddlewareHandler<{ Bindings: Env; Variables: OpsVariables }> {
  return async (c, next) => {
    const token = presentedToken(c.req.header(accessHeaderName), getCookie(c, accessCookieName));
    if (token === undefined) throw new ProblemError('unauthenticated', `sign in through Cloudflare Access (no ${accessHeaderName} header or ${accessCookieName} cookie)`);
    if (token.length > accessTokenCharsMax) throw new ProblemError('unauthenticated', 'the Access token is too long');
    const algorithms = c.env.MERIDIAN_POSTURE === 'local-dev' ? ['RS256', 'EdDSA'] : ['RS256'];
    let email: unknown;
    try {
      const { payload } = await jwtVerify(token, accessKeys(c.env), {
        issuer: c.env.ACCESS_ISSUER, audience: c.env.ACCESS_AUD, algorithms, clockTolerance: accessClockToleranceSeconds, requiredClaims: ['exp', 'iat', 'email'],
      });
      email = payload.email;
    } catch (cause) {
      throw new ProblemError('unauthenticated', `the Access token does not verify: ${(cause as Error).message.slice(0, 200)}`);
    }
    if (typeof email !== 'string') throw new ProblemError('unauthenticated', 'the Access token names no email');
    const operator = operators(c.env).get(email.toLowerCase());
    if (operator === undefined) throw new ProblemError('forbidden', `${email.slice(0, 320)} is not an operator of this gateway`);
    c.set('operator', operator);
    await next();
  };
}
