/**
 * End to end through the real local topology: `meridian start` (wrangler dev + workerd, four
 * regional Node backends, PGlite over the wire, the Redis bridge), then the demo against it,
 * then Ctrl-C. Uses a temporary data directory; the fixed ports of DESIGN.md must be free.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const readyTimeoutMs = 150_000;
const node = process.execPath;
let launcher: ChildProcess;
let output = '';
let dataDirectory: string;
let settledUetr: string;

function startLauncher(): void {
  output = '';
  launcher = spawn(node, ['cli/meridian.ts', 'start'], {
    env: { ...process.env, MERIDIAN_DATA_DIR: dataDirectory, DATABASE_URL: '', WRANGLER_SEND_METRICS: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  launcher.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  launcher.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
}

function meridian(...args: string[]): { status: number | null; stdout: string } {
  const run = spawnSync(node, ['cli/meridian.ts', ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: run.status, stdout: run.stdout + run.stderr };
}

function waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${output}`)), timeoutMs);
    const check = () => {
      if (pattern.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    launcher.stdout?.on('data', check);
    launcher.stderr?.on('data', check);
    launcher.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`launcher exited with ${code} before ${pattern}; output:\n${output}`));
    });
    check();
  });
}

beforeAll(async () => {
  dataDirectory = mkdtempSync(join(tmpdir(), 'meridian-e2e-'));
  startLauncher();
  await waitForOutput(/^meridian: ready$/m, readyTimeoutMs);
}, readyTimeoutMs + 10_000);

afterAll(async () => {
  if (launcher.exitCode === null) {
    const exited = new Promise<number | null>((resolve) => launcher.once('exit', resolve));
    launcher.kill('SIGINT');
    await exited;
  }
  rmSync(dataDirectory, { recursive: true, force: true });
}, 30_000);

describe('npm start → demo', () => {
  it('brings up every part behind /healthz', async () => {
    for (const port of [8787, 8701, 8702, 8703, 8704, 8079]) {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(response.status, `port ${port}`).toBe(200);
    }
  });

  it('settles every demo payment and verifies receipts and positions', () => {
    const demo = spawnSync(node, ['cli/meridian.ts', 'demo'], {
      env: { ...process.env, MERIDIAN_DEMO_PAYMENTS_PER_FLOW: '4' },
      encoding: 'utf8',
      timeout: 150_000,
    });
    expect(demo.stdout + demo.stderr).toContain('demo: all 20 payments settled and verified');
    expect(demo.status).toBe(0);
  }, 160_000);

  it('settles a payment submitted with the CLI', async () => {
    const paid = meridian('partner', 'pay', 'charlie-trust', '42.00', 'USD', 'JPY', 'ECHOJPJTXXX', '--json');
    expect(paid.status, paid.stdout).toBe(0);
    settledUetr = (JSON.parse(paid.stdout) as { uetr: string }).uetr;
    const deadline = Date.now() + 30_000;
    let status = '';
    while (status !== 'settled' && Date.now() < deadline) {
      status = (JSON.parse(meridian('partner', 'status', 'charlie-trust', settledUetr, '--json').stdout) as { status: string }).status;
      if (status !== 'settled') await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(status).toBe('settled');
  }, 60_000);

  it('keeps settling eu payments through eu-2 after eu-1 dies', async () => {
    const pid = Number((output.match(/^ {2}eu-1 +\S+ +pid (\d+)$/m) as RegExpMatchArray)[1]);
    process.kill(pid, 'SIGKILL');
    const demo = spawnSync(node, ['cli/meridian.ts', 'demo'], { env: { ...process.env, MERIDIAN_DEMO_PAYMENTS_PER_FLOW: '2' }, encoding: 'utf8', timeout: 150_000 });
    expect(demo.stdout + demo.stderr).toContain('demo: all 10 payments settled and verified');
    expect(demo.stdout).toContain('log of eu: not audited — http://127.0.0.1:8701 unreachable');
    await waitForOutput(/carrying on without eu-1/, 5_000);
  }, 160_000);

  it('stops every child cleanly on Ctrl-C', async () => {
    const exited = new Promise<number | null>((resolve) => launcher.once('exit', resolve));
    launcher.kill('SIGINT');
    expect(await exited).toBe(0);
    for (const port of [8787, 8701, 8704, 8079, 5541]) {
      await expect(fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) })).rejects.toThrow();
    }
  }, 30_000);

  it('reuses the data of the first start on a second start', async () => {
    startLauncher();
    await waitForOutput(/^meridian: ready$/m, readyTimeoutMs);
    const status = JSON.parse(meridian('partner', 'status', 'charlie-trust', settledUetr, '--json').stdout) as { status: string; region: string };
    expect(status).toMatchObject({ status: 'settled', region: 'us-1' });
  }, readyTimeoutMs + 10_000);
});
