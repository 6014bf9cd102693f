/**
 * What the ops console's browser suites share: the real local topology (`meridian start` on its
 * fixed ports, in a fresh data directory), one Chromium per operator with a fresh profile and a
 * CF_Authorization cookie minted from dev/access.json, and keyboard-only navigation.
 * `useConsoleTopology()` is a suite's whole set-up and tear-down; test/browser/screenshots.ts (not a
 * test) calls startConsoleTopology / operatorBrowser / stopConsoleTopology itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { importJWK, SignJWT, type JWK } from 'jose';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { loadDevPartners } from '../../dev/fixtures.ts';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import { PartnerClient } from '../../packages/partner-sdk/src/partner-client.ts';

export const chromiumPath = '/usr/bin/chromium';
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];
export const gatewayUrl = 'http://127.0.0.1:8787';
export const readyTimeoutMs = 150_000;
/** A few of the console's 2 s refresh cycles. */
export const refreshedWithinMs = 10_000;
const tabPressesMax = 80;

const devAccess = JSON.parse(readFileSync('dev/access.json', 'utf8')) as { issuer: string; aud: string; private_jwk: JWK; operators: string[] };
export const [ana, ben, chidi] = devAccess.operators as [string, string, string];

export async function accessToken(email: string): Promise<string> {
  const key = await importJWK(devAccess.private_jwk, 'EdDSA');
  const nowSeconds = Math.floor(Date.now() / 1000);
  return new SignJWT({ email, type: 'app', identity_nonce: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'EdDSA', kid: devAccess.private_jwk.kid! })
    .setIssuer(devAccess.issuer)
    .setAudience(devAccess.aud)
    .setSubject(crypto.randomUUID())
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + 900)
    .sign(key);
}

/** The launcher, the browsers and the directories one suite started; `stopConsoleTopology` ends them all. */
export interface ConsoleTopology {
  launcher: ChildProcess;
  dataDirectory: string;
  profiles: string[];
  contexts: BrowserContext[];
}

export function assertChromium(): void {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: the ops console tests need Debian's Chromium. Install it with \`apt-get install chromium\` (as root: apt-get update && apt-get install -y chromium).`);
}

/** Starts `meridian start` in a fresh data directory and resolves once it prints `meridian: ready`. */
export function startConsoleTopology(): Promise<ConsoleTopology> {
  assertChromium();
  const dataDirectory = mkdtempSync(join(tmpdir(), 'meridian-browser-'));
  const launcher = spawn(process.execPath, ['cli/meridian.ts', 'start'], {
    // The launcher's children (wrangler's `#!/usr/bin/env node`) run on this process's Node, not on
    // whatever older `node` the PATH names first when this runs outside npm (screenshots.ts).
    env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`, MERIDIAN_DATA_DIR: dataDirectory, DATABASE_URL: '', WRANGLER_SEND_METRICS: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const topology: ConsoleTopology = { launcher, dataDirectory, profiles: [], contexts: [] };
  let output = '';
  return new Promise((resolve, reject) => {
    // Not ready in time: stop what did start, or its fixed ports stay taken for every later suite.
    const timer = setTimeout(() => {
      void stopConsoleTopology(topology).finally(() => reject(new Error(`no "meridian: ready" within ${readyTimeoutMs} ms; output:\n${output}`)));
    }, readyTimeoutMs);
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (/^meridian: ready$/m.test(output)) {
        clearTimeout(timer);
        resolve(topology);
      }
    };
    launcher.stdout?.on('data', collect);
    launcher.stderr?.on('data', collect);
    launcher.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`launcher exited with ${code} before it was ready; output:\n${output}`));
    });
  });
}

export async function stopConsoleTopology(topology: ConsoleTopology | undefined): Promise<void> {
  if (topology === undefined) return;
  for (const context of topology.contexts) await context.close().catch(() => {});
  if (topology.launcher.exitCode === null) {
    const exited = new Promise((resolve) => topology.launcher.once('exit', resolve));
    topology.launcher.kill('SIGINT');
    await exited;
  }
  for (const directory of [...topology.profiles, topology.dataDirectory]) rmSync(directory, { recursive: true, force: true });
}

/** Long enough to stop the launcher and every part it started (SIGINT, then their own shutdown). */
export const stopTimeoutMs = 60_000;

/** A suite's topology and ana's and ben's browsers, set once its beforeAll ran. */
export interface ConsoleSuite {
  readonly topology: ConsoleTopology;
  readonly anaPage: Page;
  readonly benPage: Page;
}

/**
 * Registers the suite's beforeAll (the topology, then ana's and ben's signed-in browsers) and
 * afterAll (`beforeStop`, e.g. undoing a change a failed test left, then everything stopped and
 * removed). Each suite still gets a topology of its own: the suites run alone or in any order.
 */
export function useConsoleTopology(options: { beforeStop?: (suite: ConsoleSuite) => Promise<void> } = {}): ConsoleSuite {
  let topology: ConsoleTopology | undefined;
  const pages: { anaPage?: Page; benPage?: Page } = {};
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`useConsoleTopology: ${what} is not ready (beforeAll failed or has not run)`);
    return value;
  };
  const suite: ConsoleSuite = {
    get topology() { return ready(topology, 'the topology'); },
    get anaPage() { return ready(pages.anaPage, "ana's browser"); },
    get benPage() { return ready(pages.benPage, "ben's browser"); },
  };
  beforeAll(async () => {
    topology = await startConsoleTopology();
    pages.anaPage = await operatorBrowser(topology, ana);
    pages.benPage = await operatorBrowser(topology, ben);
  }, readyTimeoutMs + 30_000);
  afterAll(async () => {
    try {
      if (topology?.launcher.exitCode === null && options.beforeStop !== undefined) await options.beforeStop(suite);
    } finally {
      await stopConsoleTopology(topology);
    }
  }, stopTimeoutMs);
  return suite;
}

/** One operator's browser: its own Chromium with a fresh user-data dir (signed in unless `email` is null). */
export async function operatorBrowser(topology: ConsoleTopology, email: string | null): Promise<Page> {
  const profile = mkdtempSync(join(tmpdir(), 'meridian-chromium-'));
  topology.profiles.push(profile);
  const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath, headless: true, args: chromiumArgs, viewport: { width: 1280, height: 900 } });
  topology.contexts.push(context);
  if (email !== null) {
    await context.addCookies([{ name: 'CF_Authorization', value: await accessToken(email), domain: '127.0.0.1', path: '/ops', httpOnly: true, secure: false, sameSite: 'Strict' }]);
  }
  return context.pages()[0] ?? context.newPage();
}

/** Presses Tab (only the keyboard) until `target` has focus. */
export async function tabTo(page: Page, target: Locator): Promise<void> {
  for (let presses = 0; presses < tabPressesMax; presses += 1) {
    if (await target.evaluate((element) => element === document.activeElement)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`${tabPressesMax} Tab presses did not reach ${target}`);
}

/** A corridor's row in the Corridors table. */
export function corridorRow(page: Page, corridorId: string): Locator {
  return page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: corridorId, exact: true }) });
}

/** A name on the dev sanctions list (dev/sanctions/): screening holds a payment naming it. */
export const listedDebtorName = 'Usama bin Laden';

/** alpha-bank pays 480.00 EUR from a listed name: the gateway admits it `held`. Returns its UETR. */
export async function submitHeldPayment(): Promise<string> {
  const alphaBank = loadDevPartners().find((partner) => partner.partner_id === 'alpha-bank')!;
  const base = buildInstruction({ debtorBic: alphaBank.bic, debtorCountry: 'DE', creditorBic: 'BRAVFRPPXXX', creditorCountry: 'FR', amount: '480.00', currency: 'EUR', targetCurrency: 'EUR' });
  const answer = await new PartnerClient(alphaBank, gatewayUrl).submitPayment({ ...base, debtor: { ...base.debtor, name: listedDebtorName } });
  if (answer.status !== 202 || answer.body.status !== 'held') throw new Error(`the listed-name payment was not held: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
  return base.uetr;
}

export function pendingRow(page: Page, what: string): Locator {
  return page.locator('#change-rows').getByRole('row').filter({ hasText: what });
}

/** A JSON call to the ops API as `email` (header form, as Access adds it). */
export async function opsApi<T>(email: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { 'cf-access-jwt-assertion': await accessToken(email) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${gatewayUrl}/ops/api${path}`, { method: body === undefined ? 'GET' : 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as T };
}
