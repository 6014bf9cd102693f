/**
 * The SDK README as a newcomer follows it: its `ts` code blocks (keygen, register, quick-start), in
 * the README's order, run as files with plain Node in a project that installed only the packed
 * tarball — against a real gateway (wrangler's test harness runs workerd with wrangler.toml and the
 * dev bindings) whose windows settle into real regional backends (test/support/regional-fixture.ts,
 * PGlite, local signers) on ports picked per run. Done when the new key is registered under two
 * operators, the payment reads settled, and both receipts verify.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestHarness, type TestHarness } from 'wrangler';
import { startRedisBridge, type RedisBridge } from '../../cli/dev/redis-bridge.ts';
import { devAccessToken } from '../../cli/ops-commands.ts';
import { devUpstashToken, gatewayDevBindings, loadDevPartners } from '../../dev/fixtures.ts';
import { buildInstruction, MeridianClient, SessionCache, verifySettlement, type PqSession } from '../../packages/partner-sdk/src/index.ts';
import { freePortRange } from '../support/free-ports.ts';
import { packAndInstallSdk, packTimeoutMs, type PackedSdk } from './packed-sdk.ts';

const run = promisify(execFile);
const readme = readFileSync('packages/partner-sdk/README.md', 'utf8');
const fixtureReadyTimeoutMs = 180_000;
const blockRunTimeoutMs = 150_000;

/** The README's ```ts <name> blocks, in order. */
function readmeBlocks(text: string): Array<{ name: string; code: string }> {
  return [...text.matchAll(/^```ts ([\w-]+)\n([\s\S]*?)^```$/gm)].map((match) => ({ name: match[1]!, code: match[2]! }));
}

let packed: PackedSdk;
let fixture: ChildProcess;
let velocityStore: RedisBridge;
let harness: TestHarness;
let gateway: string;
let regionalBackends: Record<'eu-1' | 'us-1' | 'ap-1', string>;

async function startRegionalFixture(): Promise<ChildProcess> {
  const firstRegionalPort = await freePortRange(3);
  regionalBackends = { 'eu-1': `http://127.0.0.1:${firstRegionalPort}`, 'us-1': `http://127.0.0.1:${firstRegionalPort + 1}`, 'ap-1': `http://127.0.0.1:${firstRegionalPort + 2}` };
  const child = spawn(process.execPath, ['test/support/regional-fixture.ts', String(firstRegionalPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`regional fixture not ready after ${fixtureReadyTimeoutMs} ms:\n${output}`)), fixtureReadyTimeoutMs);
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('regional-fixture: ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`regional fixture exited (${code}):\n${output}`));
    });
  });
}

beforeAll(async () => {
  packed = packAndInstallSdk();
  velocityStore = await startRedisBridge({ port: 0, token: devUpstashToken, log: () => {} });
  fixture = await startRegionalFixture();
  const backends = JSON.stringify({
    eu: [{ region: 'eu-1', url: regionalBackends['eu-1'] }],
    us: [{ region: 'us-1', url: regionalBackends['us-1'] }],
    ap: [{ region: 'ap-1', url: regionalBackends['ap-1'] }],
  });
  harness = createTestHarness({ workers: [{ configPath: 'wrangler.toml', secrets: gatewayDevBindings(), vars: { REGIONAL_BACKENDS: backends, UPSTASH_REDIS_REST_URL: velocityStore.url } }] });
  gateway = new URL((await harness.listen()).url).origin;
}, packTimeoutMs + fixtureReadyTimeoutMs + 120_000);

afterAll(async () => {
  await harness?.close();
  await velocityStore?.stop();
  fixture?.kill('SIGTERM');
  packed?.remove();
});

describe('the partner SDK README', () => {
  it('has the keygen, register and quick-start blocks, in that order', () => {
    expect(readmeBlocks(readme).map((block) => block.name)).toEqual(['keygen', 'register', 'quick-start']);
  });

  it('followed step by step with the installed tarball, settles a payment and verifies both receipts', async () => {
    const env = {
      ...process.env,
      MERIDIAN_GATEWAY: gateway,
      MERIDIAN_PARTNER_ID: 'alpha-bank',
      MERIDIAN_REGIONAL_BACKENDS: JSON.stringify(regionalBackends),
      // What `npm run -s meridian -- ops token <email>` prints.
      OPS_PROPOSER_TOKEN: await devAccessToken('ana@meridian.example'),
      OPS_APPROVER_TOKEN: await devAccessToken('ben@meridian.example'),
    };
    const outputs = new Map<string, string>();
    for (const block of readmeBlocks(readme)) {
      writeFileSync(join(packed.project, `${block.name}.ts`), block.code);
      const result = await run(process.execPath, [`${block.name}.ts`], { cwd: packed.project, env, timeout: blockRunTimeoutMs }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`README block ${block.name} failed: ${error.message}\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
      });
      outputs.set(block.name, result.stdout);
    }
    const credentials = JSON.parse(readFileSync(join(packed.project, 'partner.credentials.json'), 'utf8')) as { keyid: string };
    expect(outputs.get('keygen')).toContain(`keys for alpha-bank: ${credentials.keyid}`);
    expect(outputs.get('register')).toBe(`key ${credentials.keyid}: applied\n`);
    const quickStart = outputs.get('quick-start') ?? '';
    expect(quickStart).toMatch(/^gateway \S+: X-Wing key \S+, signatures ed25519, ml-dsa-65\n/);
    expect(quickStart).toMatch(/: accepted into window \S+ after 1 attempt\(s\); acceptance receipt verified\n/);
    expect(quickStart).toMatch(/settled: batch \S+ in eu-1, log index \d+; receipt by eu-1, inclusion verified in \S+ at tree size [1-9]\d*\n$/);
  }, 300_000);

  it('seals once more under a fresh session when the gateway no longer honours the cached one (401 bad-signature)', async () => {
    const bravo = loadDevPartners().find((partner) => partner.partner_id === 'banque-bravo')!;
    const sessions = new SessionCache();
    const cacheKey = `${gateway} ${bravo.partner_id} ${bravo.keyid}`;
    // What a client holds after the gateway rotated its ticket keys: a session it will refuse.
    const stale: PqSession = { sessionId: 'a-ticket-under-a-rotated-key', expiresAtMs: Date.now() + 3_600_000, payloadKey: crypto.getRandomValues(new Uint8Array(32)), partnerId: bravo.partner_id };
    await sessions.get(cacheKey, async () => stale);
    const meridian = new MeridianClient({ gateway, credentials: bravo, sessions });
    const accepted = await meridian.pay(buildInstruction({ debtorBic: bravo.bic, debtorCountry: 'FR', creditorBic: 'ALPHDEFFXXX', creditorCountry: 'DE', amount: '12.00', currency: 'EUR', targetCurrency: 'EUR' }), { seal: true });
    expect(accepted).toMatchObject({ status: 'accepted', attempts: 1 });
    const cached = await sessions.get(cacheKey, () => Promise.reject(new Error('no session cached')));
    expect(cached.sessionId).not.toBe(stale.sessionId);
  }, 60_000);

  it('refuses a settlement whose receipt, log proof or batch a backend altered', async () => {
    const bravo = loadDevPartners().find((partner) => partner.partner_id === 'banque-bravo')!;
    const meridian = new MeridianClient({ gateway, credentials: bravo, regionalBackends });
    const accepted = await meridian.pay(buildInstruction({ debtorBic: bravo.bic, debtorCountry: 'FR', creditorBic: 'ALPHDEFFXXX', creditorCountry: 'DE', amount: '77.00', currency: 'EUR', targetCurrency: 'EUR' }));
    const settled = await meridian.waitForSettlement(accepted.uetr);
    expect(await meridian.verifySettlement(settled)).toMatchObject({ receipt: { batch_id: settled.batch_id, log_index: settled.log_index } });
    /** The real backend's answers, one of them altered on the way. */
    const altering = (path: string, alter: (text: string) => string) => async (request: Request) => {
      const response = await fetch(request);
      if (!new URL(request.url).pathname.startsWith(path)) return response;
      return new Response(alter(await response.text()), { status: response.status, headers: response.headers });
    };
    const url = regionalBackends['eu-1'];
    const withReceipt = (alter: (receipt: string) => string) => altering('/v1/settlements/', (text) => JSON.stringify({ ...JSON.parse(text), receipt: alter(JSON.parse(text).receipt) }));
    // A signature byte changed (still canonical base64url), and a final character whose spare bits are set
    // (not canonical): both are a refused check, never a throw. Both cases every run, whatever the signature.
    const flipFirstSignatureChar = (receipt: string) => {
      const at = receipt.lastIndexOf('.') + 1;
      return receipt.slice(0, at) + (receipt[at] === 'A' ? 'B' : 'A') + receipt.slice(at + 1);
    };
    const setSpareBits = (receipt: string) => receipt.slice(0, -1) + (receipt.endsWith('B') ? 'C' : 'B');
    expect(await verifySettlement(settled, url, withReceipt(flipFirstSignatureChar))).toMatchObject({ ok: false, failure: expect.stringContaining('does not verify') });
    expect(await verifySettlement(settled, url, withReceipt(setSpareBits))).toMatchObject({ ok: false, failure: expect.stringContaining('does not verify') });
    const proofNotBase64 = await verifySettlement(settled, url, altering('/v1/log/inclusion', (text) => JSON.stringify({ ...JSON.parse(text), proof: ['not base64!'] })));
    expect(proofNotBase64).toMatchObject({ ok: false, failure: expect.stringContaining('inclusion proof') });
    const proofAltered = await verifySettlement(settled, url, altering('/v1/log/inclusion', (text) => JSON.stringify({ ...JSON.parse(text), proof: [...JSON.parse(text).proof, 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='] })));
    expect(proofAltered).toMatchObject({ ok: false, failure: expect.stringContaining('inclusion proof') });
    const checkpointForged = await verifySettlement(settled, url, altering('/v1/log/checkpoint', (text) => text.replace(/\n(\d+)\n/, (_line, size: string) => `\n${Number(size) + 1}\n`)));
    expect(checkpointForged).toMatchObject({ ok: false, failure: expect.stringContaining('checkpoint signature') });
    expect(await verifySettlement({ ...settled, uetr: crypto.randomUUID() }, url)).toMatchObject({ ok: false, failure: expect.stringContaining('has no leg') });
  }, 120_000);
});
