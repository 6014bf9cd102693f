/**
 * Starts the regional backends the workerd suites settle into (test/support/regional-fixture.ts)
 * and the Upstash-compatible bridge their velocity limits use, and stops them after. The bridge
 * always runs the embedded store, fresh per run, so counters of one run never leak into the next.
 * It runs as its own process: this setup is bundled for the workers project, where ioredis-mock
 * would resolve to its browser build.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { TestProject } from 'vitest/node';
import { devUpstashToken } from '../../dev/fixtures.ts';
import { workersTestBridgePort, workersTestRegionalPort } from '../../vitest.config.ts';

// Generous: on a loaded 2-core machine the regional fixture (PGlite + migrations) has taken over 60 s.
const readyTimeoutMs = 180_000;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fixture = spawn(process.execPath, ['test/support/regional-fixture.ts', String(workersTestRegionalPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
  await readyLine(fixture, 'regional-fixture: ready', 'regional fixture');
  const { REDIS_URL: _embeddedStoreOnly, ...bridgeEnv } = process.env;
  const bridge = spawn(process.execPath, ['cli/dev/redis-bridge.ts'], { env: { ...bridgeEnv, PORT: String(workersTestBridgePort), UPSTASH_TOKEN: devUpstashToken }, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await readyLine(bridge, 'redis-bridge: listening', 'redis bridge');
  } catch (error) {
    fixture.kill('SIGTERM');
    throw error;
  }
  const silentStore = await startSilentStore();
  project.provide('silentUpstashUrl', silentStore.url);
  return async () => {
    const exited = [fixture, bridge].map((child) => new Promise((resolve) => child.once('exit', resolve)));
    fixture.kill('SIGTERM');
    bridge.kill('SIGTERM');
    await Promise.all([...exited, silentStore.close()]);
  };
}

/** A store that accepts connections and never answers: what a hung Upstash looks like (velocity suite). */
async function startSilentStore(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    silentUpstashUrl: string;
  }
}

function readyLine(child: ChildProcessByStdio<null, Readable, Readable>, line: string, name: string): Promise<void> {
  let output = '';
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready in ${readyTimeoutMs} ms:\n${output}`)), readyTimeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${output}`));
    });
  });
}
