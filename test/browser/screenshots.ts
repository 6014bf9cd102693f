/**
 * Regenerates the README's console screenshots, docs/ops-console-four-eyes.png and
 * docs/ops-console.png, from the real console with real data:
 *
 *   node test/browser/screenshots.ts     (Node 24 from the repository: npm scripts put it first on the PATH,
 *                                         else node_modules/.bin/node; fixed ports, so under
 *                                         `flock /tmp/meridian-ports.lock` beside other engineers)
 *
 * It starts `meridian start` in a fresh data directory (console-support.ts, as the browser suites
 * do), runs `meridian demo` against it (payments from the dev partners across five corridors, settled
 * and verified: the netting windows), leaves one payment to a listed name held (the Holds list), then
 * plays the README's story in two operators' Chromiums: ana proposes pausing EUR-USD and her own
 * Approve is refused four-eyes-required (the first picture); ben approves, EUR-USD reads paused and
 * the audit chain verifies in his browser (the second). Not a test: it asserts only what it waits for.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { ana, ben, corridorRow, gatewayUrl, operatorBrowser, pendingRow, refreshedWithinMs, startConsoleTopology, stopConsoleTopology, submitHeldPayment } from './console-support.ts';

const corridorId = 'EUR-USD';
const fourEyesPath = 'docs/ops-console-four-eyes.png';
const consolePath = 'docs/ops-console.png';
/** Enough settled windows to fill the windows table, few enough for the demo to settle them quickly. */
const demoPaymentsPerFlow = 4;
const demoTimeoutMs = 300_000;
/** The console refreshes every 2 s; a view that needs a few rounds (the demo's last windows) gets this long. */
const shownWithinMs = refreshedWithinMs * 3;
const shownPollMs = 250;

const gatewayLogLinesShown = 40;

const run = promisify(execFile);

async function runDemo(): Promise<void> {
  const { stdout } = await run(process.execPath, ['cli/meridian.ts', 'demo', '--payments-per-flow', String(demoPaymentsPerFlow)], {
    env: { ...process.env, MERIDIAN_GATEWAY: gatewayUrl },
    timeout: demoTimeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  console.log(stdout.trim().split('\n').slice(-6).join('\n'));
}

async function waitFor(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadlineMs = Date.now() + shownWithinMs;
  while (!(await condition())) {
    if (Date.now() > deadlineMs) throw new Error(`screenshots: ${what} did not show within ${shownWithinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, shownPollMs));
  }
}

/** The console with every section filled: corridors, the held payment, settled windows. */
async function openConsole(page: Page, heldUetr: string): Promise<void> {
  await page.goto(`${gatewayUrl}/ops`);
  await waitFor('the EUR-USD corridor', async () => (await corridorRow(page, corridorId).count()) === 1);
  await waitFor('the held payment', async () => (await page.locator(`#hold-rows tr[data-uetr="${heldUetr}"]`).count()) === 1);
  await waitFor('settled netting windows', async () => (await page.locator('tr[data-batch-id] td[data-state="settled"]').count()) > 0);
}

async function statusText(page: Page): Promise<string> {
  return (await page.getByRole('status').textContent()) ?? '';
}

async function main(): Promise<void> {
  const topology = await startConsoleTopology();
  try {
    await runDemo();
    const heldUetr = await submitHeldPayment();
    const anaPage = await operatorBrowser(topology, ana);
    const benPage = await operatorBrowser(topology, ben);

    await openConsole(anaPage, heldUetr);
    await anaPage.getByRole('textbox', { name: 'Reason', exact: true }).fill('FX feed for EUR-USD under review');
    await corridorRow(anaPage, corridorId).getByRole('button', { name: 'Pause', exact: true }).click();
    await waitFor("ana's proposal", async () => (await pendingRow(anaPage, `${corridorId} → paused`).count()) === 1);
    await pendingRow(anaPage, `${corridorId} → paused`).getByRole('button', { name: 'Approve', exact: true }).click();
    await waitFor('four-eyes-required', async () => (await statusText(anaPage)).startsWith('four-eyes-required: '));
    await anaPage.screenshot({ path: fourEyesPath, fullPage: true });

    await openConsole(benPage, heldUetr);
    await waitFor("ana's proposal on ben's screen", async () => (await pendingRow(benPage, `${corridorId} → paused`).count()) === 1);
    await pendingRow(benPage, `${corridorId} → paused`).getByRole('button', { name: 'Approve', exact: true }).click();
    await waitFor('EUR-USD paused', async () => (await corridorRow(benPage, corridorId).locator('td[data-state]').textContent()) === 'paused');
    await waitFor('the audit chain verified', async () => /^Chain verified/.test((await benPage.locator('#audit-chain').textContent()) ?? ''));
    await benPage.screenshot({ path: consolePath, fullPage: true });
    console.log(`screenshots: wrote ${fourEyesPath} and ${consolePath}`);
  } catch (error) {
    // The data directory goes with the topology: show the gateway's last words first.
    const gatewayLog = readFileSync(`${topology.dataDirectory}/logs/gateway.log`, 'utf8');
    console.error(`screenshots: failed; the gateway log ends:\n${gatewayLog.split('\n').slice(-gatewayLogLinesShown).join('\n')}`);
    throw error;
  } finally {
    await stopConsoleTopology(topology);
  }
}

await main();
