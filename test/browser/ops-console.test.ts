/**
 * The ops console in a real browser (Debian's Chromium, driven by playwright-core) against the real
 * local topology (`meridian start`, as test/e2e/foundation.test.ts starts it): two operators, ana and
 * ben, each in their own browser with a fresh profile and a CF_Authorization cookie minted from
 * dev/access.json, pause EUR-USD under two-person control, see the gateway refuse a payment to it,
 * and open it again. The launcher's ports are fixed, so this suite runs in its own vitest project
 * after every other one (vitest.config.ts: `browser`, sequence.groupOrder 1), never beside
 * foundation.test.ts.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import { PartnerClient } from '../../packages/partner-sdk/src/partner-client.ts';
import { loadDevPartners } from '../../dev/fixtures.ts';
import { devSignInRoutes } from '../../workers/ops/console/dev-sign-in.ts';
import { accessToken, ana, ben, chidi, corridorRow, gatewayUrl, operatorBrowser, pendingRow, refreshedWithinMs, tabTo, useConsoleTopology } from './console-support.ts';

const corridorId = 'EUR-USD';
/** The edge caches Control's corridor directory this long (workers/payments/route-to-corridor.ts corridorDirectoryTtlMs). */
const corridorDirectoryTtlMs = 2_000;

const alphaBank = loadDevPartners().find((partner) => partner.partner_id === 'alpha-bank')!;

let pausedChangeId = '';

async function corridorState(): Promise<string> {
  const response = await fetch(`${gatewayUrl}/ops/api/corridors`, { headers: { 'cf-access-jwt-assertion': await accessToken(chidi) } });
  const body = (await response.json()) as { corridors: Array<{ id: string; state: string }> };
  return body.corridors.find((corridor) => corridor.id === corridorId)!.state;
}

async function payAlphaBankEurToUsd() {
  const instruction = buildInstruction({ debtorBic: alphaBank.bic, debtorCountry: 'DE', creditorBic: 'CHARUS33XXX', creditorCountry: 'US', amount: '12.34', currency: 'EUR', targetCurrency: 'USD' });
  return new PartnerClient(alphaBank, gatewayUrl).submitPayment(instruction);
}

// Leaves the corridor as found even when a test failed half-way.
const suite = useConsoleTopology({
  beforeStop: async () => {
    if ((await corridorState().catch(() => 'open')) === 'open') return;
    const headers = async (email: string) => ({ 'cf-access-jwt-assertion': await accessToken(email), 'content-type': 'application/json' });
    const proposed = await fetch(`${gatewayUrl}/ops/api/changes`, { method: 'POST', headers: await headers(chidi), body: JSON.stringify({ kind: 'corridor-state', corridor: corridorId, state: 'open', reason: 'browser test clean-up' }) });
    const { id } = (await proposed.json()) as { id: string };
    await fetch(`${gatewayUrl}/ops/api/changes/${id}/approve`, { method: 'POST', headers: await headers(ana) });
  },
});

describe('ops console in Chromium', () => {
  it('lists every corridor in a row with Pause, Drain and Open, and names every control', async () => {
    await suite.anaPage.goto(`${gatewayUrl}/ops`);
    await expect.poll(() => corridorRow(suite.anaPage, corridorId).count(), { timeout: refreshedWithinMs }).toBe(1);
    const row = corridorRow(suite.anaPage, corridorId);
    expect(await row.locator('td[data-state]').textContent()).toBe('open');
    for (const name of ['Pause', 'Drain', 'Open']) expect(await row.getByRole('button', { name, exact: true }).count()).toBe(1);
    expect(await suite.anaPage.getByRole('textbox', { name: 'Reason', exact: true }).count()).toBe(1);
    expect(await suite.anaPage.getByRole('status').count()).toBe(1);
    // No button or field without an accessible name anywhere on the page.
    const snapshot = await suite.anaPage.locator('body').ariaSnapshot();
    expect(snapshot).not.toMatch(/- (button|textbox|checkbox|combobox)\s*(\[[^\]]*\])?:?\s*$/m);
    const controls = await suite.anaPage.locator('button, input, select, textarea').count();
    const named = (await suite.anaPage.getByRole('button').count()) + (await suite.anaPage.getByRole('textbox').count());
    expect(named).toBe(controls);
  });

  it('lets ana propose a pause with the keyboard only: Tab to Reason, type, Tab to Pause, Enter', async () => {
    await tabTo(suite.anaPage, suite.anaPage.getByRole('textbox', { name: 'Reason', exact: true }));
    await suite.anaPage.keyboard.type('browser test: hold EUR-USD while the FX feed is checked');
    await tabTo(suite.anaPage, corridorRow(suite.anaPage, corridorId).getByRole('button', { name: 'Pause', exact: true }));
    expect(await suite.anaPage.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle), 'focus is visible').toBe('solid');
    await suite.anaPage.keyboard.press('Enter');
    await expect.poll(() => suite.anaPage.getByRole('status').textContent()).toMatch(/^Proposed to pause EUR-USD \(change [0-9a-f]{8}\)/);
    const pending = pendingRow(suite.anaPage, 'EUR-USD → paused');
    await expect.poll(() => pending.count(), { timeout: refreshedWithinMs }).toBe(1);
    expect(await pending.textContent()).toContain(`${ana} (you)`);
    expect(await pending.textContent()).toContain('hold EUR-USD while the FX feed is checked');
    pausedChangeId = (await pending.locator('code').getAttribute('title'))!;
    expect(pausedChangeId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers ana's own Approve with four-eyes-required in the live region", async () => {
    await tabTo(suite.anaPage, pendingRow(suite.anaPage, 'EUR-USD → paused').getByRole('button', { name: 'Approve', exact: true }));
    await suite.anaPage.keyboard.press('Enter');
    await expect.poll(() => suite.anaPage.getByRole('status').textContent()).toMatch(/^four-eyes-required: /);
    expect(await corridorState()).toBe('open');
  });

  it('shows ben the pending change; his keyboard approval pauses EUR-USD on both screens', async () => {
    await suite.benPage.goto(`${gatewayUrl}/ops`);
    const pending = pendingRow(suite.benPage, 'EUR-USD → paused');
    await expect.poll(() => pending.count(), { timeout: refreshedWithinMs }).toBe(1);
    const text = (await pending.textContent())!;
    expect(text).toContain(ana);
    expect(text).not.toContain('(you)');
    expect(text).toMatch(/in \d+ (s|min)/); // when it expires
    await tabTo(suite.benPage, pending.getByRole('button', { name: 'Approve', exact: true }));
    await suite.benPage.keyboard.press('Space');
    await expect.poll(() => suite.benPage.getByRole('status').textContent()).toMatch(/^Approved change [0-9a-f]{8} \(EUR-USD → paused\): applied\.$/);
    for (const page of [suite.benPage, suite.anaPage]) {
      await expect.poll(() => corridorRow(page, corridorId).locator('td[data-state]').textContent(), { timeout: refreshedWithinMs }).toBe('paused');
      await expect.poll(() => pendingRow(page, 'EUR-USD → paused').count(), { timeout: refreshedWithinMs }).toBe(0);
    }
    expect(await corridorState()).toBe('paused');
  });

  it('shows the audit log with actors, change ids and hash prefixes, its chain recomputed in the browser', async () => {
    const rows = suite.benPage.locator('#audit-rows tr').filter({ hasText: pausedChangeId.slice(0, 8) });
    await expect.poll(() => rows.count(), { timeout: refreshedWithinMs }).toBeGreaterThanOrEqual(2);
    const audited = (await rows.allTextContents()).join('\n');
    expect(audited).toContain(ana);
    expect(audited).toContain(ben);
    expect(await rows.first().locator('code').last().textContent()).toMatch(/^[0-9a-f]{12}$/);
    expect(await suite.benPage.locator('#audit-chain').textContent()).toMatch(/^Chain verified in this browser through seq \d+/);
  });

  it('has the gateway refuse a payment to the paused corridor with 409 corridor-closed', async () => {
    await new Promise((resolve) => setTimeout(resolve, corridorDirectoryTtlMs + 500));
    const answer = await payAlphaBankEurToUsd();
    expect(answer.status, JSON.stringify(answer.body)).toBe(409);
    expect(answer.body.type).toBe('urn:meridian:problem:corridor-closed');
  });

  it('opens EUR-USD again through two operators (ben proposes: Open first, then the Reason it asks for; ana approves)', async () => {
    await tabTo(suite.benPage, corridorRow(suite.benPage, corridorId).getByRole('button', { name: 'Open', exact: true }));
    await suite.benPage.keyboard.press('Enter');
    expect(await suite.benPage.evaluate(() => document.activeElement?.id), 'asks for the reason').toBe('reason');
    await suite.benPage.keyboard.type('browser test: FX feed checked');
    await suite.benPage.keyboard.press('Enter');
    await expect.poll(() => suite.benPage.getByRole('status').textContent()).toMatch(/^Proposed to open EUR-USD/);
    const pending = pendingRow(suite.anaPage, 'EUR-USD → open');
    await expect.poll(() => pending.count(), { timeout: refreshedWithinMs }).toBe(1);
    await tabTo(suite.anaPage, pending.getByRole('button', { name: 'Approve', exact: true }));
    await suite.anaPage.keyboard.press('Enter');
    await expect.poll(() => suite.anaPage.getByRole('status').textContent()).toMatch(/^Approved change [0-9a-f]{8} \(EUR-USD → open\): applied\.$/);
    for (const page of [suite.anaPage, suite.benPage]) {
      await expect.poll(() => corridorRow(page, corridorId).locator('td[data-state]').textContent(), { timeout: refreshedWithinMs }).toBe('open');
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
    const page = await operatorBrowser(suite.topology, null);
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
      await expect.poll(() => corridorRow(page, corridorId).locator('td[data-state]').textContent(), { timeout: refreshedWithinMs }).toBe('open');
    } finally {
      // The console keeps polling over keep-alive connections: close the browser first, or close() waits on them.
      await page.context().close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
