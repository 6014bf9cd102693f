/**
 * The ops console in a real browser (Debian's Chromium, driven by playwright-core) against the real
 * local topology (`meridian start`, as test/e2e/foundation.test.ts starts it): two operators, ana and
 * ben, each in their own browser with a fresh profile and a CF_Authorization cookie minted from
 * dev/access.json, pause EUR-USD under two-person control, see the gateway refuse a payment to it,
 * and open it again. The launcher's ports are fixed, so this suite runs in its own vitest project
 * after every other one (vitest.config.ts: `browser`, sequence.groupOrder 1), never beside
 * foundation.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { importJWK, SignJWT, type JWK } from 'jose';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInstruction } from '../../cli/sdk/instruction-builder.ts';
import { PartnerClient } from '../../cli/sdk/partner-client.ts';
import { loadDevPartners } from '../../dev/fixtures.ts';
import { devSignInRoutes } from '../../workers/ops/console/dev-sign-in.ts';

const chromiumPath = '/usr/bin/chromium';
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];
const gatewayUrl = 'http://127.0.0.1:8787';
const corridorId = 'EUR-USD';
const readyTimeoutMs = 150_000;
/** The edge caches Control's corridor directory this long (workers/payments/route-to-corridor.ts corridorDirectoryTtlMs). */
const corridorDirectoryTtlMs = 2_000;
/** A few of the console's 2 s refresh cycles. */
const refreshedWithinMs = 10_000;
const tabPressesMax = 80;

const devAccess = JSON.parse(readFileSync('dev/access.json', 'utf8')) as { issuer: string; aud: string; private_jwk: JWK; operators: string[] };
const [ana, ben, chidi] = devAccess.operators as [string, string, string];
const alphaBank = loadDevPartners().find((partner) => partner.partner_id === 'alpha-bank')!;

let launcher: ChildProcess | undefined;
let launcherOutput = '';
let dataDirectory: string;
const profiles: string[] = [];
const contexts: BrowserContext[] = [];
let anaPage: Page;
let benPage: Page;
let pausedChangeId = '';

async function accessToken(email: string): Promise<string> {
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

/** One operator's browser: its own Chromium with a fresh user-data dir. */
async function operatorBrowser(email: string | null): Promise<Page> {
  const profile = mkdtempSync(join(tmpdir(), 'meridian-chromium-'));
  profiles.push(profile);
  const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath, headless: true, args: chromiumArgs, viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  if (email !== null) {
    await context.addCookies([{ name: 'CF_Authorization', value: await accessToken(email), domain: '127.0.0.1', path: '/ops', httpOnly: true, secure: false, sameSite: 'Strict' }]);
  }
  return context.pages()[0] ?? context.newPage();
}

function startLauncher(): Promise<void> {
  launcher = spawn(process.execPath, ['cli/meridian.ts', 'start'], {
    env: { ...process.env, MERIDIAN_DATA_DIR: dataDirectory, DATABASE_URL: '', WRANGLER_SEND_METRICS: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "meridian: ready" within ${readyTimeoutMs} ms; output:\n${launcherOutput}`)), readyTimeoutMs);
    const collect = (chunk: Buffer) => {
      launcherOutput += chunk.toString();
      if (/^meridian: ready$/m.test(launcherOutput)) {
        clearTimeout(timer);
        resolve();
      }
    };
    launcher!.stdout?.on('data', collect);
    launcher!.stderr?.on('data', collect);
    launcher!.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`launcher exited with ${code} before it was ready; output:\n${launcherOutput}`));
    });
  });
}

/** Presses Tab (only the keyboard) until `target` has focus. */
async function tabTo(page: Page, target: Locator): Promise<void> {
  for (let presses = 0; presses < tabPressesMax; presses += 1) {
    if (await target.evaluate((element) => element === document.activeElement)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`${tabPressesMax} Tab presses did not reach ${target}`);
}

function corridorRow(page: Page): Locator {
  return page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: corridorId, exact: true }) });
}

function pendingRow(page: Page, what: string): Locator {
  return page.locator('#change-rows').getByRole('row').filter({ hasText: what });
}

async function corridorState(): Promise<string> {
  const response = await fetch(`${gatewayUrl}/ops/api/corridors`, { headers: { 'cf-access-jwt-assertion': await accessToken(chidi) } });
  const body = (await response.json()) as { corridors: Array<{ id: string; state: string }> };
  return body.corridors.find((corridor) => corridor.id === corridorId)!.state;
}

async function payAlphaBankEurToUsd() {
  const instruction = buildInstruction({ debtorBic: alphaBank.bic, debtorCountry: 'DE', creditorBic: 'CHARUS33XXX', creditorCountry: 'US', amount: '12.34', currency: 'EUR', targetCurrency: 'USD' });
  return new PartnerClient(alphaBank, gatewayUrl).submitPayment(instruction);
}

beforeAll(async () => {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: the ops console tests need Debian's Chromium. Install it with \`apt-get install chromium\` (as root: apt-get update && apt-get install -y chromium).`);
  dataDirectory = mkdtempSync(join(tmpdir(), 'meridian-browser-'));
  await startLauncher();
  anaPage = await operatorBrowser(ana);
  benPage = await operatorBrowser(ben);
}, readyTimeoutMs + 30_000);

afterAll(async () => {
  // Leave the corridor as found even when a test failed half-way.
  if (launcher?.exitCode === null && (await corridorState().catch(() => 'open')) !== 'open') {
    const headers = async (email: string) => ({ 'cf-access-jwt-assertion': await accessToken(email), 'content-type': 'application/json' });
    const proposed = await fetch(`${gatewayUrl}/ops/api/changes`, { method: 'POST', headers: await headers(chidi), body: JSON.stringify({ kind: 'corridor-state', corridor: corridorId, state: 'open', reason: 'browser test clean-up' }) });
    const { id } = (await proposed.json()) as { id: string };
    await fetch(`${gatewayUrl}/ops/api/changes/${id}/approve`, { method: 'POST', headers: await headers(ana) });
  }
  for (const context of contexts) await context.close().catch(() => {});
  if (launcher?.exitCode === null) {
    const exited = new Promise((resolve) => launcher!.once('exit', resolve));
    launcher.kill('SIGINT');
    await exited;
  }
  for (const directory of [...profiles, dataDirectory]) if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
}, 60_000);

describe('ops console in Chromium', () => {
  it('lists every corridor in a row with Pause, Drain and Open, and names every control', async () => {
    await anaPage.goto(`${gatewayUrl}/ops`);
    await expect.poll(() => corridorRow(anaPage).count(), { timeout: refreshedWithinMs }).toBe(1);
    const row = corridorRow(anaPage);
    expect(await row.locator('td[data-state]').textContent()).toBe('open');
    for (const name of ['Pause', 'Drain', 'Open']) expect(await row.getByRole('button', { name, exact: true }).count()).toBe(1);
    expect(await anaPage.getByRole('textbox', { name: 'Reason', exact: true }).count()).toBe(1);
    expect(await anaPage.getByRole('status').count()).toBe(1);
    // No button or field without an accessible name anywhere on the page.
    const snapshot = await anaPage.locator('body').ariaSnapshot();
    expect(snapshot).not.toMatch(/- (button|textbox|checkbox|combobox)\s*(\[[^\]]*\])?:?\s*$/m);
    const controls = await anaPage.locator('button, input, select, textarea').count();
    const named = (await anaPage.getByRole('button').count()) + (await anaPage.getByRole('textbox').count());
    expect(named).toBe(controls);
  });

  it('lets ana propose a pause with the keyboard only: Tab to Reason, type, Tab to Pause, Enter', async () => {
    await tabTo(anaPage, anaPage.getByRole('textbox', { name: 'Reason', exact: true }));
    await anaPage.keyboard.type('browser test: hold EUR-USD while the FX feed is checked');
    await tabTo(anaPage, corridorRow(anaPage).getByRole('button', { name: 'Pause', exact: true }));
    expect(await anaPage.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle), 'focus is visible').toBe('solid');
    await anaPage.keyboard.press('Enter');
    await expect.poll(() => anaPage.getByRole('status').textContent()).toMatch(/^Proposed to pause EUR-USD \(change [0-9a-f]{8}\)/);
    const pending = pendingRow(anaPage, 'EUR-USD → paused');
    await expect.poll(() => pending.count(), { timeout: refreshedWithinMs }).toBe(1);
    expect(await pending.textContent()).toContain(`${ana} (you)`);
    expect(await pending.textContent()).toContain('hold EUR-USD while the FX feed is checked');
    pausedChangeId = (await pending.locator('code').getAttribute('title'))!;
    expect(pausedChangeId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers ana's own Approve with four-eyes-required in the live region", async () => {
    await tabTo(anaPage, pendingRow(anaPage, 'EUR-USD → paused').getByRole('button', { name: 'Approve', exact: true }));
    await anaPage.keyboard.press('Enter');
    await expect.poll(() => anaPage.getByRole('status').textContent()).toMatch(/^four-eyes-required: /);
    await anaPage.screenshot({ path: 'docs/ops-console-four-eyes.png', fullPage: true });
    expect(await corridorState()).toBe('open');
  });

  it('shows ben the pending change; his keyboard approval pauses EUR-USD on both screens', async () => {
    await benPage.goto(`${gatewayUrl}/ops`);
    const pending = pendingRow(benPage, 'EUR-USD → paused');
    await expect.poll(() => pending.count(), { timeout: refreshedWithinMs }).toBe(1);
    const text = (await pending.textContent())!;
    expect(text).toContain(ana);
    expect(text).not.toContain('(you)');
    expect(text).toMatch(/in \d+ (s|min)/); // when it expires
    await tabTo(benPage, pending.getByRole('button', { name: 'Approve', exact: true }));
    await benPage.keyboard.press('Space');
    await expect.poll(() => benPage.getByRole('status').textContent()).toMatch(/^Approved change [0-9a-f]{8} \(EUR-USD → paused\): applied\.$/);
    for (const page of [benPage, anaPage]) {
      await expect.poll(() => corridorRow(page).locator('td[data-state]').textContent(), { timeout: refreshedWithinMs }).toBe('paused');
      await expect.poll(() => pendingRow(page, 'EUR-USD → paused').count(), { timeout: refreshedWithinMs }).toBe(0);
    }
    expect(await corridorState()).toBe('paused');
  });

  it('shows the audit log with actors, change ids and hash prefixes, its chain recomputed in the browser', async () => {
    const rows = benPage.locator('#audit-rows tr').filter({ hasText: pausedChangeId.slice(0, 8) });
    await expect.poll(() => rows.count(), { timeout: refreshedWithinMs }).toBeGreaterThanOrEqual(2);
    const audited = (await rows.allTextContents()).join('\n');
    expect(audited).toContain(ana);
    expect(audited).toContain(ben);
    expect(await rows.first().locator('code').last().textContent()).toMatch(/^[0-9a-f]{12}$/);
    expect(await benPage.locator('#audit-chain').textContent()).toMatch(/^Chain verified in this browser through seq \d+/);
    mkdirSync('docs', { recursive: true });
    await benPage.screenshot({ path: 'docs/ops-console.png', fullPage: true });
  });

  it('has the gateway refuse a payment to the paused corridor with 409 corridor-closed', async () => {
    await new Promise((resolve) => setTimeout(resolve, corridorDirectoryTtlMs + 500));
    const answer = await payAlphaBankEurToUsd();
    expect(answer.status, JSON.stringify(answer.body)).toBe(409);
    expect(answer.body.type).toBe('urn:meridian:problem:corridor-closed');
  });

  it('opens EUR-USD again through two operators (ben proposes: Open first, then the Reason it asks for; ana approves)', async () => {
    await tabTo(benPage, corridorRow(benPage).getByRole('button', { name: 'Open', exact: true }));
    await benPage.keyboard.press('Enter');
    expect(await benPage.evaluate(() => document.activeElement?.id), 'asks for the reason').toBe('reason');
    await benPage.keyboard.type('browser test: FX feed checked');
    await benPage.keyboard.press('Enter');
    await expect.poll(() => benPage.getByRole('status').textContent()).toMatch(/^Proposed to open EUR-USD/);
    const pending = pendingRow(anaPage, 'EUR-USD → open');
    await expect.poll(() => pending.count(), { timeout: refreshedWithinMs }).toBe(1);
    await tabTo(anaPage, pending.getByRole('button', { name: 'Approve', exact: true }));
    await anaPage.keyboard.press('Enter');
    await expect.poll(() => anaPage.getByRole('status').textContent()).toMatch(/^Approved change [0-9a-f]{8} \(EUR-USD → open\): applied\.$/);
    for (const page of [anaPage, benPage]) {
      await expect.poll(() => corridorRow(page).locator('td[data-state]').textContent(), { timeout: refreshedWithinMs }).toBe('open');
    }
    expect(await corridorState()).toBe('open');
    await new Promise((resolve) => setTimeout(resolve, corridorDirectoryTtlMs + 500));
    expect((await payAlphaBankEurToUsd()).status).toBe(202);
  });

  it('signs a developer in through /ops/dev-sign-in with the keyboard only, and the cookie it sets opens the console', async () => {
    // devSignInRoutes() in front of the real gateway, the way workers/app.ts mounts it (before the Access gate).
    const front = new Hono<{ Bindings: { MERIDIAN_POSTURE: string } }>();
    front.route('/ops/dev-sign-in', devSignInRoutes() as unknown as Hono<{ Bindings: { MERIDIAN_POSTURE: string } }>);
    front.all('/ops/*', async (c) => {
      const url = new URL(c.req.url);
      const body = c.req.method === 'GET' || c.req.method === 'HEAD' ? undefined : await c.req.arrayBuffer();
      const forwarded = new Headers(c.req.raw.headers);
      for (const hopByHop of ['host', 'connection', 'keep-alive', 'transfer-encoding']) forwarded.delete(hopByHop);
      const upstream = await fetch(gatewayUrl + url.pathname + url.search, { method: c.req.method, headers: forwarded, body, redirect: 'manual' });
      const headers = new Headers(upstream.headers);
      headers.delete('content-encoding');
      headers.delete('content-length');
      return new Response(upstream.body, { status: upstream.status, headers });
    });
    const server = await new Promise<Server>((resolve) => {
      const listening = serve({ fetch: (request) => front.fetch(request, { MERIDIAN_POSTURE: 'local-dev' }), port: 0, hostname: '127.0.0.1' }, () => resolve(listening as Server));
    });
    const page = await operatorBrowser(null);
    try {
      const frontUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await page.goto(`${frontUrl}/ops/dev-sign-in`);
      const field = page.getByLabel('Access token', { exact: true });
      await tabTo(page, field);
      await page.keyboard.type(await accessToken(chidi));
      await tabTo(page, page.getByRole('button', { name: 'Sign in', exact: true }));
      await page.keyboard.press('Enter');
      await page.waitForURL(`${frontUrl}/ops`);
      expect(await page.locator('#operator').textContent()).toBe(chidi);
      const [cookie] = await page.context().cookies(frontUrl + '/ops');
      expect(cookie).toMatchObject({ name: 'CF_Authorization', path: '/ops', httpOnly: true, sameSite: 'Strict' });
      await expect.poll(() => corridorRow(page).locator('td[data-state]').textContent(), { timeout: refreshedWithinMs }).toBe('open');
    } finally {
      // The console keeps polling over keep-alive connections: close the browser first, or close() waits on them.
      await page.context().close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
