/**
 * durable-objects/jurisdiction.ts under workerd: every call site derives PartnerState and
 * CorridorWindow ids through `durableObjectFor`, which asks Cloudflare for the eu and us
 * jurisdictions in production and uses the plain namespace under local-dev (workerd implements no
 * jurisdictions) and for ap (Cloudflare has none).
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { durableObjectFor, durableObjectNamespaceFor, durableObjectPlacements } from '../../durable-objects/jurisdiction.ts';

const production = {};

describe('Durable Object placement per jurisdiction', () => {
  it('maps eu and us to Cloudflare jurisdictions and ap to none, with an apac location hint', () => {
    expect(durableObjectPlacements).toEqual({ eu: { jurisdiction: 'eu' }, us: { jurisdiction: 'us' }, ap: { jurisdiction: null, locationHint: 'apac' } });
  });

  it('in production asks workerd for the eu and us jurisdictions (which local workerd does not implement)', () => {
    for (const jurisdiction of ['eu', 'us']) {
      expect(() => durableObjectFor(production, env.PARTNER_STATE, jurisdiction, 'alpha-bank').id.toString(), jurisdiction).toThrow(/Jurisdiction restrictions are not implemented in workerd/);
    }
  });

  it('uses the plain namespace for ap in production, and for every jurisdiction under local-dev', async () => {
    expect(durableObjectNamespaceFor(production, env.PARTNER_STATE, 'ap')).toBe(env.PARTNER_STATE);
    expect(env.MERIDIAN_POSTURE).toBe('local-dev');
    for (const jurisdiction of ['eu', 'us', 'ap']) {
      const stub = durableObjectFor(env, env.PARTNER_STATE, jurisdiction, 'delta-sg');
      expect(stub.id.equals(env.PARTNER_STATE.idFromName('delta-sg')), jurisdiction).toBe(true);
    }
    // The same object answers on both paths: its storage is one.
    const viaPlacement = await durableObjectFor(production, env.PARTNER_STATE, 'ap', 'delta-sg').revokedKeys();
    expect(await env.PARTNER_STATE.get(env.PARTNER_STATE.idFromName('delta-sg')).revokedKeys()).toEqual(viaPlacement);
  });

  it('refuses a jurisdiction it has no placement for, including prototype keys', () => {
    for (const jurisdiction of ['mars', '__proto__', 'constructor', 'EU']) {
      expect(() => durableObjectFor(env, env.CORRIDOR_WINDOW, jurisdiction, 'EUR-EUR.eu.0'), jurisdiction).toThrow(/no Durable Object placement/);
    }
  });
});
