/**
 * Verifies the per-call token the edge mints for POST /v1/settlements (DESIGN, "Regional
 * settlement"): a JWT signed EdDSA by the gateway, `iss` = gateway id, `aud` = this region,
 * lifetime exp − iat ≤ 60 s, and a `jti` that is accepted once. The keys come from the edge's
 * published JWKS, so there is no standing secret between edge and backend; a stolen token is good
 * for one call, to one region, for a minute, and — through `batch_digest` — for one batch only.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { err, ok, type Result } from '../core/result.ts';
import { settlementTokenClockToleranceSeconds } from '../core/settlement-batch.ts';
import { jtiCharsMax } from './db/schema.ts';
import type { ConsumedTokenStore } from './ledger/consumed-tokens.ts';
import type { RegionalLogger } from './logger.ts';

export const edgeTokenLifetimeSecondsMax = 60;
export const clockToleranceSeconds = settlementTokenClockToleranceSeconds;
/** A compact EdDSA JWT with these claims is a few hundred bytes. */
export const edgeTokenCharsMax = 4_096;
export const consumedTokensGcIntervalMs = 60_000;
/**
 * Consumed jtis are kept this long past expiry. Backends sharing a database compare `exp` with
 * their own clocks; the margin keeps a jti on record until every clock agrees the token is dead.
 */
export const consumedTokensRetentionMarginMs = 5 * 60_000;

const digestPattern = /^[0-9a-f]{64}$/;
/**
 * jti is stored as text (consumed_tokens): printable ASCII only, so a NUL (PostgreSQL 22021) or
 * an encoding surprise from a misbehaving edge is a 401, not a 500.
 */
const jtiPattern = new RegExp(`^[\\x21-\\x7e]{1,${jtiCharsMax}}$`);
/** A kid is an opaque printable name (RFC 7517 §4.5); bounded like any input. */
const kidPattern = /^[\x21-\x7e]{1,256}$/;
/** jose errors that mean "the edge's keys could not be fetched", not "the token is bad". */
const keysUnavailableCodes: ReadonlySet<string> = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

export interface EdgeTokenClaims {
  jti: string;
  issuedAt: number;
  expiresAt: number;
  /** The digest of the one batch this token may deliver. */
  batchDigest: string;
}

export type EdgeTokenRejection =
  | { kind: 'missing-token' | 'invalid-token' | 'lifetime-too-long' | 'missing-claim' | 'replayed-jti'; detail: string }
  | { kind: 'keys-unavailable'; detail: string };

export interface EdgeTokenVerifierConfig {
  /** createRemoteJWKSet(EDGE_JWKS_URL) in production; createLocalJWKSet in tests. */
  keys: JWTVerifyGetKey;
  region: string;
  gatewayId: string;
  consumedTokens: ConsumedTokenStore;
  logger: RegionalLogger;
  now?: () => Date;
}

export type EdgeTokenVerifier = (authorization: string | undefined) => Promise<Result<EdgeTokenClaims, EdgeTokenRejection>>;

export function createEdgeTokenVerifier(config: EdgeTokenVerifierConfig): EdgeTokenVerifier {
  const now = config.now ?? (() => new Date());
  let lastGcAtMs = 0;
  const collectGarbage = (currentMs: number): void => {
    if (currentMs - lastGcAtMs < consumedTokensGcIntervalMs) return;
    lastGcAtMs = currentMs;
    config.consumedTokens.deleteExpired(new Date(currentMs - consumedTokensRetentionMarginMs)).catch((error: unknown) => {
      config.logger.error('consumed-token garbage collection failed', { error });
    });
  };

  return async (authorization) => {
    const token = bearerToken(authorization);
    if (token === undefined) return err({ kind: 'missing-token', detail: 'expected Authorization: Bearer <edge token>' });
    // The token must name its key: the edge's settlement-token JWKS may hold one key, and jose would
    // then try a kid-less token against it; naming the kid pins the token to a published key.
    const kid = protectedHeaderKid(token);
    if (kid === undefined) return err({ kind: 'invalid-token', detail: 'the token header has no kid naming a key of the edge settlement-token JWKS' });
    const currentDate = now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, config.keys, {
        algorithms: ['EdDSA'],
        audience: config.region,
        issuer: config.gatewayId,
        clockTolerance: clockToleranceSeconds,
        maxTokenAge: edgeTokenLifetimeSecondsMax,
        requiredClaims: ['iss', 'aud', 'iat', 'exp', 'jti'],
        currentDate,
      }));
    } catch (error) {
      return err(joseRejection(error));
    }
    const claims = tokenClaims(payload);
    if (!claims.ok) return claims;
    const { issuedAt, expiresAt, jti } = claims.value;
    if (expiresAt - issuedAt > edgeTokenLifetimeSecondsMax) {
      return err({ kind: 'lifetime-too-long', detail: `exp − iat is ${expiresAt - issuedAt} s; at most ${edgeTokenLifetimeSecondsMax} s` });
    }
    const claimed = await config.consumedTokens.claim(jti, new Date((expiresAt + clockToleranceSeconds) * 1000));
    collectGarbage(currentDate.getTime());
    if (!claimed) return err({ kind: 'replayed-jti', detail: 'edge token was already used' });
    return claims;
  };
}

function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization.length > edgeTokenCharsMax + 'Bearer '.length) return undefined;
  const match = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(authorization);
  return match?.[1];
}

function protectedHeaderKid(token: string): string | undefined {
  try {
    const { kid } = decodeProtectedHeader(token);
    return typeof kid === 'string' && kidPattern.test(kid) ? kid : undefined;
  } catch {
    return undefined;
  }
}

function tokenClaims(payload: JWTPayload): Result<EdgeTokenClaims, EdgeTokenRejection> {
  const { jti, iat, exp } = payload;
  const batchDigest = payload.batch_digest;
  if (typeof jti !== 'string' || !jtiPattern.test(jti)) {
    return err({ kind: 'missing-claim', detail: `jti must be a string of 1–${jtiCharsMax} printable ASCII characters` });
  }
  if (typeof batchDigest !== 'string' || !digestPattern.test(batchDigest)) {
    return err({ kind: 'missing-claim', detail: 'batch_digest must be the lowercase hex SHA-256 of the batch' });
  }
  // jwtVerify has checked iat and exp are numbers because they are required claims.
  return ok({ jti, issuedAt: iat!, expiresAt: exp!, batchDigest });
}

function joseRejection(error: unknown): EdgeTokenRejection {
  const code = (error as { code?: unknown }).code;
  const message = (error as Error).message;
  if (typeof code === 'string' && code.startsWith('ERR_') && !keysUnavailableCodes.has(code)) {
    return { kind: 'invalid-token', detail: `${code}: ${message}` };
  }
  return { kind: 'keys-unavailable', detail: `edge JWKS unavailable: ${message}` };
}

/**
 * The verified token of the request being served, for the commit's deadline (commit.ts
 * commitDeadlineMarginMs): http/require-edge-token.ts runs the rest of the request inside it. An
 * ambient value rather than an argument because the route between them (routes/settlements.ts)
 * passes the commit its options from configuration; CommitOptions.commitBy, when given, wins.
 */
const servedEdgeToken = new AsyncLocalStorage<EdgeTokenClaims>();

export function runWithEdgeToken<T>(claims: EdgeTokenClaims, run: () => T): T {
  return servedEdgeToken.run(claims, run);
}

/** When the served request's edge token expires (its `exp`), or undefined outside such a request. */
export function currentEdgeTokenExpiresAt(): Date | undefined {
  const claims = servedEdgeToken.getStore();
  return claims === undefined ? undefined : new Date(claims.expiresAt * 1000);
}
