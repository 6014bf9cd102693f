/**
 * The edge's keys and deployment posture, driven through the Worker's own fetch with a modified env:
 * each JWKS publishes one key's job; outside MERIDIAN_POSTURE=local-dev the committed dev keys and
 * plain-http or loopback backends are refused with 503 problem+json `misconfigured` naming the
 * setting; a correct production configuration serves.
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from 'cloudflare:test';
import { Hono } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { base64urlEncode } from '../../core/digest.ts';
import { deliverSettlementBatch } from '../../durable-objects/corridor-window/deliver-batch.ts';
import { createGatewayApp } from '../../workers/app.ts';
import { enforceDeploymentPosture } from '../../workers/downgrade/deployment-posture.ts';
import type { Env } from '../../workers/env.ts';
import worker from '../../workers/index.ts';
import { gatewayUrl } from './support.ts';

type PostureEnv = Omit<Env, 'GATEWAY_SETTLEMENT_TOKEN_JWK'> & { MERIDIAN_POSTURE?: string; GATEWAY_SETTLEMENT_TOKEN_JWK?: string; TRANSPORT_POSTURE?: string };
const devEnv = env as PostureEnv;

async function ed25519PrivateJwk(kid: string): Promise<string> {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey('jwk', pair.privateKey)) as JsonWebKey;
  return JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d, kid, alg: 'EdDSA', use: 'sig' });
}

const randomKey = (): string => base64urlEncode(crypto.getRandomValues(new Uint8Array(32)));

/** A production configuration with freshly generated keys, https backends and one non-dev partner. */
async function productionEnv(): Promise<PostureEnv> {
  const partnerJwk = JSON.parse(await ed25519PrivateJwk('prod-partner-1')) as { x: string };
  const { MERIDIAN_POSTURE: _posture, ...rest } = devEnv;
  return {
    ...rest,
    GATEWAY_SIGNING_JWK: await ed25519PrivateJwk('receipts-2026-11'),
    GATEWAY_SETTLEMENT_TOKEN_JWK: await ed25519PrivateJwk('settlement-tokens-2026-11'),
    GATEWAY_XWING_KEY: JSON.stringify({ kid: 'xwing-prod', seed: randomKey() }),
    SESSION_TICKET_KEYS: JSON.stringify({ current: { kid: 'ticket-prod', key: randomKey() } }),
    REGIONAL_BACKENDS: JSON.stringify({ eu: [{ region: 'eu-1', url: 'https://eu-1.regional.example' }, { region: 'eu-2', url: 'https://eu-2.regional.example' }] }),
    UPSTASH_REDIS_REST_URL: 'https://redis.example',
    PARTNERS: JSON.stringify([{
      partner_id: 'prod-bank', name: 'Prod Bank', bic: 'PRODDEFFXXX', jurisdiction: 'eu', pq: 'optional', tls_min: '1.3',
      keys: [{ keyid: 'prod-partner-1', alg: 'ed25519', public_jwk: { kty: 'OKP', crv: 'Ed25519', x: partnerJwk.x }, not_before: '2026-01-01T00:00:00Z', not_after: '2027-01-01T00:00:00Z' }],
    }]),
  };
}

async function workerFetch(path: string, modified: PostureEnv, init?: RequestInit): Promise<Response> {
  const context = createExecutionContext();
  const response = await worker.fetch(new Request(`${gatewayUrl}${path}`, init), modified, context);
  await waitOnExecutionContext(context);
  return response;
}

/** The app as workers/app.ts should mount it (enforceDeploymentPosture() first): see the edge-trust report. */
function guardedApp() {
  const app = new Hono<{ Bindings: Env }>();
  app.use('*', enforceDeploymentPosture());
  app.route('/', createGatewayApp());
  return app;
}

async function expectMisconfigured(response: Response, setting: string): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(503);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body).toMatchObject({ type: 'urn:meridian:problem:misconfigured', status: 503, setting });
  expect(String(body.detail)).toContain(setting);
  expect(text).not.toMatch(/\n\s+at |stack/);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('edge keys: one key per job', () => {
  it('publishes the receipt key at jwks.json and in discovery, the settlement-token key only at settlement-token-jwks.json', async () => {
    const receipts = (await (await SELF.fetch(`${gatewayUrl}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string; x: string; d?: string }> };
    const tokens = (await (await SELF.fetch(`${gatewayUrl}/.well-known/settlement-token-jwks.json`)).json()) as { keys: Array<{ kid: string; x: string; d?: string }> };
    const discovery = (await (await SELF.fetch(`${gatewayUrl}/.well-known/meridian`)).json()) as { receipts_jwks: { keys: Array<{ kid: string }> } };
    const receiptJwk = JSON.parse(devEnv.GATEWAY_SIGNING_JWK) as { kid: string; x: string };
    const tokenJwk = JSON.parse(devEnv.GATEWAY_SETTLEMENT_TOKEN_JWK!) as { kid: string; x: string };
    expect(receipts.keys.map((key) => key.x)).toEqual([receiptJwk.x]);
    expect(tokens.keys.map((key) => key.x)).toEqual([tokenJwk.x]);
    expect(discovery.receipts_jwks.keys.map((key) => key.kid)).toEqual([receiptJwk.kid]);
    expect(tokenJwk.x).not.toBe(receiptJwk.x);
    expect([...receipts.keys, ...tokens.keys].every((key) => key.d === undefined)).toBe(true);
  });

  it('refuses to load when the settlement-token key is the receipt key (even in local-dev)', async () => {
    const sameKey = { ...devEnv, GATEWAY_SETTLEMENT_TOKEN_JWK: devEnv.GATEWAY_SIGNING_JWK };
    await expectMisconfigured(await workerFetch('/.well-known/settlement-token-jwks.json', sameKey), 'GATEWAY_SETTLEMENT_TOKEN_JWK');
    await expect(deliverSettlementBatch(sameKey, 'eu', '{"batch_id":"x","jurisdiction":"eu","legs":[]}', '0'.repeat(64))).rejects.toMatchObject({ kind: 'misconfigured', setting: 'GATEWAY_SETTLEMENT_TOKEN_JWK' });
  });
});

describe('deployment posture: the Worker refuses unsafe defaults outside local-dev', () => {
  it('answers 503 misconfigured naming the dev receipt key when MERIDIAN_POSTURE is absent, and logs it', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const { MERIDIAN_POSTURE: _posture, ...production } = devEnv;
    await expectMisconfigured(await workerFetch('/.well-known/jwks.json', production), 'GATEWAY_SIGNING_JWK');
    expect(logged.mock.calls.flat().join('\n')).toMatch(/"event":"gateway-misconfigured".*GATEWAY_SIGNING_JWK/);
  });

  const misconfigurations: Array<[string, string, (production: PostureEnv) => PostureEnv]> = [
    ['the committed dev receipt key', 'GATEWAY_SIGNING_JWK', (production) => ({ ...production, GATEWAY_SIGNING_JWK: devEnv.GATEWAY_SIGNING_JWK })],
    ['the committed dev settlement-token key', 'GATEWAY_SETTLEMENT_TOKEN_JWK', (production) => ({ ...production, GATEWAY_SETTLEMENT_TOKEN_JWK: devEnv.GATEWAY_SETTLEMENT_TOKEN_JWK! })],
    ['the dev receipt key under another kid', 'GATEWAY_SIGNING_JWK', (production) => ({ ...production, GATEWAY_SIGNING_JWK: JSON.stringify({ ...JSON.parse(devEnv.GATEWAY_SIGNING_JWK), kid: 'prod-2026-11' }) })],
    ['no settlement-token key', 'GATEWAY_SETTLEMENT_TOKEN_JWK', ({ GATEWAY_SETTLEMENT_TOKEN_JWK: _key, ...production }) => production],
    ['the committed dev X-Wing key', 'GATEWAY_XWING_KEY', (production) => ({ ...production, GATEWAY_XWING_KEY: devEnv.GATEWAY_XWING_KEY })],
    ['the committed dev ticket key', 'SESSION_TICKET_KEYS', (production) => ({ ...production, SESSION_TICKET_KEYS: devEnv.SESSION_TICKET_KEYS })],
    ['the dev partners (their private keys are public)', 'PARTNERS', (production) => ({ ...production, PARTNERS: devEnv.PARTNERS })],
    ['an http: regional backend', 'REGIONAL_BACKENDS', (production) => ({ ...production, REGIONAL_BACKENDS: JSON.stringify({ eu: [{ region: 'eu-1', url: 'http://eu-1.regional.example' }] }) })],
    ['the local 127.0.0.1 backends of wrangler.toml', 'REGIONAL_BACKENDS', (production) => ({ ...production, REGIONAL_BACKENDS: devEnv.REGIONAL_BACKENDS })],
    ['an https backend on loopback', 'REGIONAL_BACKENDS', (production) => ({ ...production, REGIONAL_BACKENDS: JSON.stringify({ eu: [{ region: 'eu-1', url: 'https://localhost:8701' }] }) })],
    ['an http: Upstash REST URL', 'UPSTASH_REDIS_REST_URL', (production) => ({ ...production, UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:8079' })],
    ['an unknown MERIDIAN_POSTURE', 'MERIDIAN_POSTURE', (production) => ({ ...production, MERIDIAN_POSTURE: 'production' })],
  ];

  for (const [name, setting, misconfigure] of misconfigurations) {
    it(`refuses ${name}: every route answers 503 misconfigured naming ${setting}`, async () => {
      vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const modified = misconfigure(await productionEnv());
      for (const [path, init] of [['/healthz'], ['/.well-known/meridian'], ['/openapi.json'], ['/v1/payments', { method: 'POST', body: 'x' }], ['/v1/sessions', { method: 'POST', body: '{}' }], ['/nowhere']] as Array<[string, RequestInit?]>) {
        await expectMisconfigured(await guardedApp().fetch(new Request(`${gatewayUrl}${path}`, init), modified), setting);
      }
    });
  }

  it('serves a correct production configuration (generated keys, https backends, no dev values)', async () => {
    const production = await productionEnv();
    const health = await guardedApp().fetch(new Request(`${gatewayUrl}/healthz`), production);
    expect(health.status, await health.clone().text()).toBe(200);
    const jwks = await workerFetch('/.well-known/settlement-token-jwks.json', production);
    expect(((await jwks.json()) as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid)).toEqual(['settlement-tokens-2026-11']);
  });

  it('keeps the local-dev posture serving (the tests and npm start)', async () => {
    const health = await guardedApp().fetch(new Request(`${gatewayUrl}/healthz`), devEnv);
    expect(health.status, await health.clone().text()).toBe(200);
  });

  it('does not let the retired TRANSPORT_POSTURE stand in for MERIDIAN_POSTURE', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { MERIDIAN_POSTURE: _posture, ...production } = devEnv;
    await expectMisconfigured(await guardedApp().fetch(new Request(`${gatewayUrl}/healthz`), { ...production, TRANSPORT_POSTURE: 'local-dev' }), 'GATEWAY_SIGNING_JWK');
  });

  it('never delivers a settlement to an http: backend outside local-dev', async () => {
    const production = await productionEnv();
    const outcome = deliverSettlementBatch({ ...production, REGIONAL_BACKENDS: devEnv.REGIONAL_BACKENDS } as Env, 'eu', '{"batch_id":"x","jurisdiction":"eu","legs":[]}', '0'.repeat(64));
    await expect(outcome).rejects.toMatchObject({ kind: 'misconfigured', setting: 'REGIONAL_BACKENDS' });
  });

  it('the Worker itself answers /healthz 503 misconfigured outside local-dev', async () => {
    const { MERIDIAN_POSTURE: _posture, ...production } = devEnv;
    await expectMisconfigured(await workerFetch('/healthz', production), 'GATEWAY_SIGNING_JWK');
  });
});
