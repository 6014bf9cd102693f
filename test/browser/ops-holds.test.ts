/**
 * Held payments in the ops console, in Debian's Chromium against `meridian start` (fixed ports: run
 * only under `flock /tmp/meridian-ports.lock`, one file at a time like every browser suite): a
 * payment for a listed name is held; ana sees it with the matched entry, score, algorithm and list
 * version, presses Release and gives a reason with the keyboard only; ben approves it under Pending
 * changes; the row leaves the list and the payment settles.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { PartnerClient } from '../../packages/partner-sdk/src/partner-client.ts';
import { loadDevPartners } from '../../dev/fixtures.ts';
import { ana, gatewayUrl, pendingRow, refreshedWithinMs, submitHeldPayment, tabTo, useConsoleTopology } from './console-support.ts';

const alphaBank = loadDevPartners().find((partner) => partner.partner_id === 'alpha-bank')!;
const settledWithinMs = 30_000;

const suite = useConsoleTopology();

function heldRow(page: Page, uetr: string) {
  return page.locator(`#hold-rows tr[data-uetr="${uetr}"]`);
}

async function paymentStatus(uetr: string): Promise<unknown> {
  return (await new PartnerClient(alphaBank, gatewayUrl).paymentStatus(uetr)).body.status;
}

describe('held payments in the ops console', () => {
  it('shows a held payment with its matched entry, score, algorithm and list version; Release with a reason; a second operator approves; the row leaves the list', async () => {
    const uetr = await submitHeldPayment();
    await suite.anaPage.goto(`${gatewayUrl}/ops`);
    expect(await suite.anaPage.getByRole('heading', { name: 'Held payments', exact: true }).count()).toBe(1);
    const row = heldRow(suite.anaPage, uetr);
    await expect.poll(() => row.count(), { timeout: refreshedWithinMs }).toBe(1);
    const cells = await row.locator('th, td').allTextContents();
    expect(cells.slice(1, 5)).toEqual(['alpha-bank', 'EUR-EUR', '480.00 EUR', 'Usama bin Laden → Beneficiary Ltd']);
    expect(cells[5]).toMatch(/BIN LADIN, Usama .*\(ofac-sdn:6365\)/);
    expect(cells[6]).toBe('1');
    expect(cells[7]).toMatch(/^meridian-jw-dmetaphone\/3 ≥ 0\.85$/);
    expect(cells[8]).toMatch(/^[0-9a-f]{12} \(/);

    // Release first, with the reason empty: the console asks for it and moves focus there.
    await tabTo(suite.anaPage, row.getByRole('button', { name: 'Release', exact: true }));
    await suite.anaPage.keyboard.press('Enter');
    const reason = suite.anaPage.getByRole('textbox', { name: 'Hold reason', exact: true });
    expect(await reason.evaluate((element) => element === document.activeElement)).toBe(true);
    await suite.anaPage.keyboard.type('False positive: a namesake, identity documents checked');
    await suite.anaPage.keyboard.press('Enter');
    await expect.poll(() => suite.anaPage.getByRole('status').textContent()).toMatch(/^Proposed to release payment [0-9a-f]{8} of alpha-bank \(change [0-9a-f]{8}\)/);
    await expect.poll(() => row.locator('td').nth(8).textContent(), { timeout: refreshedWithinMs }).toBe(`release by ${ana}`);
    expect(await paymentStatus(uetr)).toBe('held');

    const what = `release held payment ${uetr} of alpha-bank`;
    await suite.benPage.goto(`${gatewayUrl}/ops`);
    await expect.poll(() => pendingRow(suite.benPage, what).count(), { timeout: refreshedWithinMs }).toBe(1);
    await tabTo(suite.benPage, pendingRow(suite.benPage, what).getByRole('button', { name: 'Approve', exact: true }));
    await suite.benPage.keyboard.press('Enter');
    await expect.poll(() => suite.benPage.getByRole('status').textContent()).toMatch(/: applied\.$/);
    for (const page of [suite.benPage, suite.anaPage]) await expect.poll(() => heldRow(page, uetr).count(), { timeout: refreshedWithinMs }).toBe(0);
    await expect.poll(() => paymentStatus(uetr), { timeout: settledWithinMs, interval: 500 }).toBe('settled');
  }, refreshedWithinMs * 6 + settledWithinMs);
});
