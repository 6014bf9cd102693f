/**
 * enforceDeploymentPosture(): the edge refuses to serve from an unsafe deployment. Every request
 * first asks whether this Worker's configuration is one the gateway may run with; if not, it is
 * answered 503 problem+json `misconfigured` naming the setting to fix, and the reason is logged
 * (once per isolate and reason: a misconfigured gateway under traffic would otherwise log per request).
 *
 * MERIDIAN_POSTURE=local-dev (set only by dev/fixtures.ts: `npm start`, the workerd tests) is the
 * one explicit posture that allows what production must never have:
 *   - plain-http or loopback regional backends (REGIONAL_BACKENDS) and Upstash REST URL;
 *   - the committed dev keys: gateway receipt and settlement-token keys, X-Wing key, ticket keys,
 *     and dev partner keys in PARTNERS (their private keys are in the repository);
 *   - requests without a Cloudflare TLS observation (workers/downgrade/tls-posture.ts).
 * Absent means production. Any other value is refused: a typo must not silently mean either
 * posture. The retired TRANSPORT_POSTURE binding is ignored (with a warning): nothing reads it.
 *
 * Always refused: the receipt key and the settlement-token key being one key.
 *
 * The verdict is computed once per isolate per configuration (thumbprints are hashes) and kept.
 */
import { createMiddleware } from 'hono/factory';
import { base64urlDecode } from '../../core/digest.ts';
import { devEd25519Thumbprints, devKeyMaterial, ed25519Thumbprint, gatewaySigningKeys, isLocalDev, isMisconfiguredError, localDevPosture, MisconfiguredError } from '../../core/gateway-key.ts';
import { checkedRegionalBackends, isLoopbackHost } from '../../durable-objects/corridor-window/deliver-batch.ts';
import { mlDsaPublicKey, partnerRegistry } from '../config/partners.ts';
import type { Env } from '../env.ts';
import { misconfiguredResponse } from '../problem/problem-handler.ts';
import { gatewayKemKey } from '../sessions/gateway-kem-key.ts';

/** The bindings this check reads, until workers/env.ts declares the new ones. */
export type DeploymentEnv = Env & { MERIDIAN_POSTURE?: string; GATEWAY_SETTLEMENT_TOKEN_JWK?: string; TRANSPORT_POSTURE?: string };

let cached: { sources: readonly unknown[]; verdict: Promise<MisconfiguredError | null> } | undefined;
const logged = new Set<string>();
const loggedMax = 32;

export function enforceDeploymentPosture() {
  return createMiddleware<{ Bindings: Env }>(async (c, next) => {
    const problem = await deploymentMisconfiguration(c.env as DeploymentEnv);
    if (problem !== null) {
      if (!logged.has(problem.message) && logged.size < loggedMax) {
        logged.add(problem.message);
        console.error(JSON.stringify({ event: 'gateway-misconfigured', setting: problem.setting, detail: problem.message }));
      }
      return misconfiguredResponse(problem, new URL(c.req.url).pathname);
    }
    await next();
  });
}

/** Why this configuration must not serve, or null. Never throws for a bad value: that is the answer. */
export function deploymentMisconfiguration(env: DeploymentEnv): Promise<MisconfiguredError | null> {
  const sources = [env.MERIDIAN_POSTURE, env.TRANSPORT_POSTURE, env.REGIONAL_BACKENDS, env.UPSTASH_REDIS_REST_URL, env.GATEWAY_SIGNING_JWK, env.GATEWAY_SETTLEMENT_TOKEN_JWK, env.GATEWAY_XWING_KEY, env.SESSION_TICKET_KEYS, env.PARTNERS];
  if (cached !== undefined && cached.sources.every((source, index) => source === sources[index])) return cached.verdict;
  const verdict = checkDeployment(env).then(
    () => null,
    (cause: unknown) => {
      if (isMisconfiguredError(cause)) return cause;
      throw cause;
    },
  );
  cached = { sources, verdict };
  return verdict;
}

async function checkDeployment(env: DeploymentEnv): Promise<void> {
  if (env.TRANSPORT_POSTURE !== undefined) {
    // Nothing reads it any more, so it cannot loosen anything; a stale .dev.vars from before the
    // rename still carries it, which is no reason to stop serving. Said once, not refused.
    console.warn(JSON.stringify({ event: 'deprecated-binding', setting: 'TRANSPORT_POSTURE', detail: `ignored: renamed to MERIDIAN_POSTURE (only ${localDevPosture}, for local development; unset in production)` }));
  }
  if (env.MERIDIAN_POSTURE !== undefined && !isLocalDev(env.MERIDIAN_POSTURE)) {
    throw new MisconfiguredError('MERIDIAN_POSTURE', `is ${JSON.stringify(env.MERIDIAN_POSTURE.slice(0, 32))}; the only value is ${localDevPosture} (local development), and production leaves it unset`);
  }
  await gatewaySigningKeys(env);
  checkedRegionalBackends(env.REGIONAL_BACKENDS, env.MERIDIAN_POSTURE);
  if (isLocalDev(env.MERIDIAN_POSTURE)) return;
  checkHttpsUrl('UPSTASH_REDIS_REST_URL', env.UPSTASH_REDIS_REST_URL);
  await refuseDevKemKey(env.GATEWAY_XWING_KEY);
  refuseDevTicketKeys(env.SESSION_TICKET_KEYS);
  await refuseDevPartnerKeys(env.PARTNERS);
}

function checkHttpsUrl(setting: string, value: string | undefined): void {
  let url: URL;
  try {
    url = new URL(value ?? '');
  } catch {
    throw new MisconfiguredError(setting, 'is not a URL');
  }
  if (url.protocol !== 'https:') throw new MisconfiguredError(setting, `is ${url.protocol}//${url.host}; outside MERIDIAN_POSTURE=${localDevPosture} it must be https:`);
  if (isLoopbackHost(url.hostname)) throw new MisconfiguredError(setting, `points at loopback (${url.host})`);
}

async function refuseDevKemKey(source: string): Promise<void> {
  let publicKey: string;
  try {
    publicKey = (await gatewayKemKey(source)).publicKey;
  } catch (cause) {
    throw new MisconfiguredError('GATEWAY_XWING_KEY', (cause as Error).message);
  }
  const devKey = devKeyMaterial(base64urlDecode(publicKey));
  if (devKey !== undefined) throw new MisconfiguredError('GATEWAY_XWING_KEY', `is the committed dev key from ${devKey}; generate a production X-Wing seed (\`wrangler secret put GATEWAY_XWING_KEY\`)`);
}

function refuseDevTicketKeys(source: string): void {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(source) as Record<string, unknown>;
  } catch {
    throw new MisconfiguredError('SESSION_TICKET_KEYS', 'is not JSON');
  }
  for (const slot of ['current', 'previous'] as const) {
    const entry = Object.hasOwn(parsed, slot) ? (parsed[slot] as { key?: unknown } | null) : undefined;
    if (entry === undefined || entry === null || typeof entry.key !== 'string') continue;
    let bytes: Uint8Array;
    try {
      bytes = base64urlDecode(entry.key);
    } catch {
      throw new MisconfiguredError('SESSION_TICKET_KEYS', `${slot}.key is not base64url`);
    }
    const devKey = devKeyMaterial(bytes);
    if (devKey !== undefined) throw new MisconfiguredError('SESSION_TICKET_KEYS', `${slot} is the committed dev key from ${devKey}; generate a production ticket key`);
  }
}

async function refuseDevPartnerKeys(source: string): Promise<void> {
  let registry;
  try {
    registry = partnerRegistry(source);
  } catch (cause) {
    throw new MisconfiguredError('PARTNERS', (cause as Error).message.slice(0, 300));
  }
  for (const { partner, key } of registry.entries()) {
    const devKey = key.alg === 'ed25519' ? devEd25519Thumbprints.get(await ed25519Thumbprint(key.public_jwk.x)) : devKeyMaterial(mlDsaPublicKey(key));
    if (devKey !== undefined) {
      throw new MisconfiguredError('PARTNERS', `partner ${partner.partner_id} key ${key.keyid} is the committed dev key from ${devKey} (its private key is public); register the partner's production key`);
    }
  }
}
