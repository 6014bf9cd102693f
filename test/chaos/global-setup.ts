/**
 * The chaos project's one `meridian start` (chaos-support.ts sharedTopology) lives in the process
 * that runs the drill files; this global setup picks its data directory, runs the local World-Check
 * server the gateway screens through (here, in vitest's main process: no child process of the
 * drill's can outlive it and hold vitest's pipes), and, once every drill ran, stops the launcher
 * (SIGINT: it stops its children) and removes the directory. If the drill process dies first, the
 * launcher stops itself when its stdin closes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive as running } from './chaos-support.ts';
import { startWorldCheckServer } from '../support/world-check-server.ts';

const stopTimeoutMs = 30_000;

export default async function setup(): Promise<() => Promise<void>> {
  const dataDirectory = mkdtempSync(join(tmpdir(), 'meridian-chaos-'));
  process.env.MERIDIAN_CHAOS_DATA_DIR = dataDirectory;
  const worldCheck = await startWorldCheckServer();
  process.env.MERIDIAN_CHAOS_WORLD_CHECK_PORT = String(worldCheck.port);
  return async () => {
    const pidFile = join(dataDirectory, 'launcher.pid');
    if (existsSync(pidFile)) await stopLauncher(Number(readFileSync(pidFile, 'utf8')));
    await worldCheck.close();
    if (process.env.MERIDIAN_CHAOS_KEEP === '1') console.log(`chaos: kept ${dataDirectory}`);
    else rmSync(dataDirectory, { recursive: true, force: true });
  };
}

async function stopLauncher(pid: number): Promise<void> {
  if (!running(pid)) return;
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + stopTimeoutMs;
  while (running(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  if (running(pid)) process.kill(pid, 'SIGKILL');
}
