/**
 * The ops console in a real browser (Debian's Chromium, driven by playwright-core) against the real
 * local topology (`meridian start`, as test/e2e/foundation.test.ts starts it): two operators, ana and
 * ben, each in their own browser with a fresh profile and a CF_Authorization cookie minted from
 * dev/access.json, pause EUR-USD under two-person control, see the gateway refuse a payment to it,
 * and open it again. The launcher's ports are fixed, so this suite runs in its own vitest project
 * after every other one (vitest.config.ts: `browser`, sequence.groupOrder 1), never beside
 * foundation.test.ts.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import { PartnerClient } from '../../packages/partner-sdk/src/partner-client.ts';
import { loadDevPartners } from '../../dev/fixtures.ts';
import { devSignInRoutes } from '../../workers/ops/console/dev-sign-in.ts';
import {
  accessToken, ana, ben, chidi, gatewayUrl, operatorBrowser, pendingRow, readyTimeoutMs, refreshedWithinMs, startConsoleTopology, stopConsoleTopology, tabTo,
  type ConsoleTopology,
} from './console-support.ts';

const corridorId = 'EUR-USD';
/**
 * The console screenshots: under .data/screenshots/ on every run, so `npm test` never rewrites tracked
 * files; `MERIDIAN_UPDATE_DOCS_SCREENSHOTS=1` writes the README's images in docs/ instead.
 */
const screenshotDirectory = process.env.MERIDIAN_UPDATE_DOCS_SCREENSHOTS === '1' ? 'docs' : '.data/screenshots';
mkdirSync(screenshotDirectory, { recursive: true });
const screenshotPath = (name: string) => `${screenshotDirectory}/${name}`;
/** The edge caches Control's corridor directory this long (workers/payments/route-to-corridor.ts corridorDirectoryTtlMs). */
const corridorDirectoryTtlMs = 2_000;

const alphaBank = loadDevPartners().find((partner) => partner.partner_id === 'alpha-bank')!;

let topology: ConsoleTopology | undefined;
let anaPage: Page;
let benPage: Page;
let pausedChangeId = '';

function corridorRow(page: Page): Locator {
  return page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: corridorId, exact: true }) });
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
  topology = await startConsoleTopology();
  anaPage = await operatorBrowser(topology, ana);
  benPage = await operatorBrowser(topology, ben);
}, readyTimeoutMs + 30_000);

afterAll(async () => {
  // Leave the corridor as found even when a test failed half-way.
  if (topology?.launcher.exitCode === null && (await corridorState().catch(() => 'open')) !== 'open') {
    const headers = async (email: string) => ({ 'cf-access-jwt-assertion': await accessToken(email), 'content-type': 'application/json' });
    const proposed = await fetch(`${gatewayUrl}/ops/api/changes`, { method: 'POST', headers: await headers(chidi), body: JSON.stringify({ kind: 'corridor-state', corridor: corridorId, state: 'open', reason: 'browser test clean-up' }) });
    const { id } = (await proposed.json()) as { id: string };
    await fetch(`${gatewayUrl}/ops/api/changes/${id}/approve`, { method: 'POST', headers: await headers(ana) });
  }
  await stopConsoleTopology(topology);
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
    await anaPage.screenshot({ path: screenshotPath('ops-console-four-eyes.png'), fullPage: true });
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
    await benPage.screenshot({ path: screenshotPath('ops-console.png'), fullPage: true });
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
    const page = await operatorBrowser(topology!, null);
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
