/**
 * Which sanctions provider screens for this Worker, from its bindings:
 *
 *   SANCTIONS_PROVIDER   in-process (default)   the bundled list (bundled-list.ts), matcher in the isolate
 *                        world-check            World-Check One v2: WORLD_CHECK_URL, WORLD_CHECK_API_KEY,
 *                                               WORLD_CHECK_API_SECRET, WORLD_CHECK_GROUP_ID
 *   SANCTIONS_THRESHOLD  (0, 1], default screeningThresholdDefault
 *
 * A configuration that cannot screen (an unknown provider name, a missing World-Check secret, a
 * threshold that is not a number in range, the dev excerpt outside local-dev) is not an error
 * thrown at the request: it is a `provider-misconfigured` failure, which the stage turns into a
 * hold like any outage. A typo in a binding must never mean "screening off".
 *
 * The provider is built once per isolate per configuration.
 */
import { isLocalDev } from '../../core/gateway-key.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { inProcessProvider, inProcessProviderId } from '../../core/sanctions/in-process-provider.ts';
import { screeningThresholdDefault } from '../../core/sanctions/matcher.ts';
import type { ProviderFailure, SanctionsScreeningProvider } from '../../core/sanctions/provider.ts';
import { createWorldCheckProvider, worldCheckProviderId } from '../../core/sanctions/world-check.ts';
import type { Env } from '../env.ts';
import { bundledScreening, isDevExcerpt } from './bundled-list.ts';

/** The bindings read here; MERIDIAN_POSTURE is declared by the deployment-posture check, not Env. */
export type ScreeningEnv = Pick<Env, 'SANCTIONS_PROVIDER' | 'SANCTIONS_THRESHOLD' | 'WORLD_CHECK_URL' | 'WORLD_CHECK_API_KEY' | 'WORLD_CHECK_API_SECRET' | 'WORLD_CHECK_GROUP_ID'> & {
  MERIDIAN_POSTURE?: string;
};

export interface ConfiguredProvider {
  provider: SanctionsScreeningProvider;
  threshold: number;
}

let cached: { key: string; configured: Result<ConfiguredProvider, ProviderFailure> } | undefined;

export function screeningProvider(env: ScreeningEnv): Result<ConfiguredProvider, ProviderFailure> {
  const key = JSON.stringify([env.SANCTIONS_PROVIDER, env.SANCTIONS_THRESHOLD, env.WORLD_CHECK_URL, env.WORLD_CHECK_API_KEY, env.WORLD_CHECK_API_SECRET, env.WORLD_CHECK_GROUP_ID, env.MERIDIAN_POSTURE]);
  if (cached?.key !== key) cached = { key, configured: configure(env) };
  return cached.configured;
}

function configure(env: ScreeningEnv): Result<ConfiguredProvider, ProviderFailure> {
  const name = env.SANCTIONS_PROVIDER ?? inProcessProviderId;
  const threshold = parseThreshold(env.SANCTIONS_THRESHOLD);
  if (threshold === null) return misconfigured(name, `SANCTIONS_THRESHOLD must be a number in (0, 1], got ${JSON.stringify(env.SANCTIONS_THRESHOLD)}`);
  switch (name) {
    case inProcessProviderId: {
      const bundled = bundledScreening(threshold);
      if (!bundled.ok) return misconfigured(name, `the bundled sanctions list does not load: ${bundled.reason.kind}`);
      if (isDevExcerpt(bundled.value.list) && !isLocalDev(env.MERIDIAN_POSTURE)) {
        return misconfigured(name, 'the bundled sanctions list is the dev excerpt (dev/sanctions/); bundle the current OFAC files before deploying');
      }
      return ok({ provider: inProcessProvider(bundled.value.list, bundled.value.matcher), threshold });
    }
    case 'world-check': {
      const { WORLD_CHECK_URL: baseUrl, WORLD_CHECK_API_KEY: apiKey, WORLD_CHECK_API_SECRET: apiSecret, WORLD_CHECK_GROUP_ID: groupId } = env;
      if (!baseUrl || !apiKey || !apiSecret || !groupId) {
        return misconfigured(worldCheckProviderId, 'SANCTIONS_PROVIDER=world-check needs WORLD_CHECK_URL, WORLD_CHECK_API_KEY, WORLD_CHECK_API_SECRET and WORLD_CHECK_GROUP_ID');
      }
      if (!isAllowedUrl(baseUrl, isLocalDev(env.MERIDIAN_POSTURE))) return misconfigured(worldCheckProviderId, 'WORLD_CHECK_URL must be an https URL (http only under local-dev)');
      return ok({ provider: createWorldCheckProvider({ baseUrl, apiKey, apiSecret, groupId, threshold }), threshold });
    }
    default:
      return misconfigured(name, `SANCTIONS_PROVIDER must be "in-process" or "world-check", got ${JSON.stringify(name)}`);
  }
}

function parseThreshold(text: string | undefined): number | null {
  if (text === undefined || text === '') return screeningThresholdDefault;
  if (!/^(0(\.\d{1,4})?|1(\.0{1,4})?)$/.test(text.trim())) return null;
  const threshold = Number(text);
  return threshold > 0 && threshold <= 1 ? threshold : null;
}

function isAllowedUrl(text: string, localDev: boolean): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || (localDev && url.protocol === 'http:');
  } catch {
    return false;
  }
}

function misconfigured(providerId: string, detail: string): { ok: false; reason: ProviderFailure } {
  return err({ kind: 'provider-misconfigured', providerId, detail });
}
