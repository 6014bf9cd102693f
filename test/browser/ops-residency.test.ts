/**
 * Residency exceptions in the ops console, in Debian's Chromium against `meridian start` (fixed
 * ports: run only under `flock /tmp/meridian-ports.lock`, one file at a time like every browser
 * suite): ana proposes with the keyboard only, her own approval is refused four-eyes-required, ben
 * approves, and both screens list the exception with owner, reason and its time left counting down
 * until it shows as lapsed.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ana, ben, gatewayUrl, opsApi, pendingRow, refreshedWithinMs, tabTo, useConsoleTopology } from './console-support.ts';

/** Long enough to propose and approve through the browser, short enough to watch it lapse. */
const shortExceptionMs = 40_000;
const dayMs = 24 * 60 * 60 * 1000;

const suite = useConsoleTopology();

function field(page: Page, label: string) {
  return page.getByRole('textbox', { name: label, exact: true });
}

function exceptionRow(page: Page, country: string) {
  return page.locator('#residency-rows tr').filter({ hasText: `Compliance desk ${country}` });
}

/** Fills the form with the keyboard only: Tab into Partner, then type and Tab through the fields, Enter submits. */
async function proposeWithKeyboard(page: Page, values: { partner: string; country: string; owner: string; reason: string; expiresAt: string }): Promise<void> {
  await tabTo(page, field(page, 'Partner'));
  for (const [label, value] of [['Partner', values.partner], ['Debtor country', values.country], ['Owner', values.owner], ['Exception reason', values.reason]] as const) {
    expect(await field(page, label).evaluate((element) => element === document.activeElement), label).toBe(true);
    await page.keyboard.type(value);
    await page.keyboard.press('Tab');
  }
  expect(await field(page, 'Expires at').evaluate((element) => element === document.activeElement)).toBe(true);
  await page.keyboard.type(values.expiresAt);
  await page.keyboard.press('Enter');
}

function secondsLeft(text: string): number {
  const match = /^(?:(\d+) min )?(\d+) s/.exec(text);
  if (match === null) throw new Error(`not a short time left: ${text}`);
  return Number(match[1] ?? 0) * 60 + Number(match[2]);
}

describe('residency exceptions in the ops console', () => {
  it('offers a labelled proposal form and an (empty) list, every control named', async () => {
    await suite.anaPage.goto(`${gatewayUrl}/ops`);
    await expect.poll(() => suite.anaPage.locator('#residency-empty').isVisible(), { timeout: refreshedWithinMs }).toBe(true);
    expect(await suite.anaPage.getByRole('heading', { name: 'Residency exceptions', exact: true }).count()).toBe(1);
    for (const label of ['Partner', 'Debtor country', 'Owner', 'Exception reason', 'Expires at']) expect(await field(suite.anaPage, label).count(), label).toBe(1);
    expect(await suite.anaPage.getByRole('button', { name: 'Propose exception', exact: true }).count()).toBe(1);
    const snapshot = await suite.anaPage.locator('body').ariaSnapshot();
    expect(snapshot).not.toMatch(/- (button|textbox|checkbox|combobox)\s*(\[[^\]]*\])?:?\s*$/m);
  });

  it('shows an API refusal in the live region: an expiry in the past is invalid-change', async () => {
    await proposeWithKeyboard(suite.anaPage, { partner: 'alpha-bank', country: 'US', owner: 'Compliance desk US', reason: 'already over', expiresAt: '2020-01-01T00:00:00Z' });
    await expect.poll(() => suite.anaPage.getByRole('status').textContent()).toMatch(/^invalid-change: expires_at 2020-01-01T00:00:00Z is not in the future/);
    expect(await field(suite.anaPage, 'Partner').inputValue(), 'the fields keep what was typed').toBe('alpha-bank');
    await suite.anaPage.reload();
  });

  it("lets ana propose with the keyboard only; her own Approve is four-eyes-required; ben's approval lists it on both screens", async () => {
    const expiresAt = new Date(Date.now() + 3 * dayMs).toISOString();
    await proposeWithKeyboard(suite.anaPage, { partner: 'alpha-bank', country: 'US', owner: 'Compliance desk US', reason: 'US debtors of the New York branch', expiresAt });
    await expect.poll(() => suite.anaPage.getByRole('status').textContent()).toMatch(/^Proposed a residency exception for alpha-bank, debtor US \(change [0-9a-f]{8}\)/);
    const what = 'residency exception: alpha-bank, debtor US';
    await expect.poll(() => pendingRow(suite.anaPage, what).count(), { timeout: refreshedWithinMs }).toBe(1);

    await tabTo(suite.anaPage, pendingRow(suite.anaPage, what).getByRole('button', { name: 'Approve', exact: true }));
    await suite.anaPage.keyboard.press('Enter');
    await expect.poll(() => suite.anaPage.getByRole('status').textContent()).toMatch(/^four-eyes-required: /);
    expect(await exceptionRow(suite.anaPage, 'US').count()).toBe(0);

    await suite.benPage.goto(`${gatewayUrl}/ops`);
    await expect.poll(() => pendingRow(suite.benPage, what).count(), { timeout: refreshedWithinMs }).toBe(1);
    await tabTo(suite.benPage, pendingRow(suite.benPage, what).getByRole('button', { name: 'Approve', exact: true }));
    await suite.benPage.keyboard.press('Space');
    await expect.poll(() => suite.benPage.getByRole('status').textContent()).toMatch(/^Approved change [0-9a-f]{8} \(residency exception: alpha-bank, debtor US, until .*\): applied\.$/);
    for (const page of [suite.benPage, suite.anaPage]) {
      await expect.poll(() => exceptionRow(page, 'US').count(), { timeout: refreshedWithinMs }).toBe(1);
      const cells = await exceptionRow(page, 'US').locator('th, td').allTextContents();
      expect(cells.slice(0, 4)).toEqual(['alpha-bank', 'US', 'Compliance desk US', 'US debtors of the New York branch']);
      expect(cells[5]).toMatch(/^2 d 23 h$/);
      expect(cells[6]).toBe(ben);
    }
    const listed = await opsApi<{ exceptions: Array<{ debtor_country: string; status: string; propagated: boolean }> }>(ben, '/residency-exceptions');
    expect(listed.body.exceptions.find((exception) => exception.debtor_country === 'US')).toMatchObject({ status: 'live', propagated: true });
  });

  it('counts a short exception down and then shows it as lapsed', async () => {
    const proposed = await opsApi<{ id: string }>(ben, '/changes', {
      kind: 'residency-exception', partner_id: 'alpha-bank', debtor_country: 'GB', owner: 'Compliance desk GB', reason: 'one settlement run only',
      expires_at: new Date(Date.now() + shortExceptionMs).toISOString(),
    });
    expect(proposed.status).toBe(201);
    expect((await opsApi(ana, `/changes/${proposed.body.id}/approve`, {})).status).toBe(200);
    const left = exceptionRow(suite.anaPage, 'GB').locator('td[data-time-left]');
    await expect.poll(() => left.count(), { timeout: refreshedWithinMs }).toBe(1);
    const first = secondsLeft((await left.textContent())!);
    expect(first).toBeLessThanOrEqual(shortExceptionMs / 1000);
    await expect.poll(async () => secondsLeft((await left.textContent())!), { timeout: refreshedWithinMs }).toBeLessThan(first);
    await expect.poll(() => left.textContent(), { timeout: shortExceptionMs + refreshedWithinMs }).toBe('lapsed');
    expect(await left.getAttribute('data-time-left')).toBe('lapsed');
    expect(await exceptionRow(suite.anaPage, 'US').locator('td[data-time-left]').getAttribute('data-time-left'), 'the other one is still live').toBe('live');
  }, shortExceptionMs + 3 * refreshedWithinMs);
});
