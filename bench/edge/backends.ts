/**
 * What the gateway settles into during the edge benchmark, as Node processes beside workerd (so
 * their CPU is not counted as the edge's): the regional backends of the workerd test suites
 * (test/support/regional-fixture.ts: PGlite, migrations, eu-1 / us-1 / ap-1 with local signers,
 * edge tokens verified against the dev settlement-token key) and the Upstash-compatible bridge
 * (a fresh embedded store by default, so velocity counters start at zero; or a real Redis). Windows close,
 * deliver and come back with signed receipts: the benchmark's figures are per admitted AND
 * settled payment.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { connect, createServer } from 'node:net';
import type { Readable } from 'node:stream';
import { devUpstashToken } from '../../dev/fixtures.ts';
import { freePort, repoRoot, type GatewayBackends } from './runtimes.ts';

const readyTimeoutMs = 180_000;
const redisProbeTimeoutMs = 500;
const stopGraceMs = 10_000;
/** The Redis database the bench's velocity counters live in, apart from `npm start`'s and the tests' (0). */
const benchRedisDatabase = 13;
const localRedis = { host: '127.0.0.1', port: 6379 };
const portSearchAttemptsMax = 20;

export interface RunningBackends extends GatewayBackends {
  stop(): Promise<void>;
}

function redisAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(localRedis);
    const done = (answers: boolean) => {
      socket.destroy();
      resolve(answers);
    };
    socket.setTimeout(redisProbeTimeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk: Buffer) => done(chunk.toString().startsWith('+PONG')));
  });
}

/**
 * Where the bench's velocity counters go: EDGE_BENCH_REDIS_URL as given; else database 13 of
 * REDIS_URL's server, or of a Redis answering on 127.0.0.1:6379; else (undefined) the bridge's
 * embedded store. Every run records which one it used.
 */
export async function benchRedisUrl(): Promise<string | undefined> {
  if (process.env.EDGE_BENCH_REDIS_URL) return process.env.EDGE_BENCH_REDIS_URL;
  if (process.env.REDIS_URL) {
    const url = new URL(process.env.REDIS_URL);
    url.pathname = `/${benchRedisDatabase}`;
    return url.href;
  }
  return (await redisAnswers()) ? `redis://${localRedis.host}:${localRedis.port}/${benchRedisDatabase}` : undefined;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** The fixture listens on three consecutive ports from the one it is given. */
async function threeFreePorts(): Promise<number> {
  for (let attempt = 0; attempt < portSearchAttemptsMax; attempt++) {
    const first = await freePort();
    if (first < 65_533 && (await portFree(first + 1)) && (await portFree(first + 2))) return first;
  }
  throw new Error(`no three consecutive free ports found in ${portSearchAttemptsMax} attempts`);
}

function readyLine(child: ChildProcessByStdio<null, Readable, Readable>, line: string, name: string): Promise<void> {
  let output = '';
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready in ${readyTimeoutMs} ms:\n${output.slice(-3_000)}`)), readyTimeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
      if (output.includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${output.slice(-3_000)}`));
    });
  });
}

async function stopChild(child: ChildProcessByStdio<null, Readable, Readable>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<boolean>((resolve) => child.once('exit', () => resolve(true)));
  child.kill('SIGTERM');
  const stopped = await Promise.race([exited, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), stopGraceMs))]);
  if (!stopped) child.kill('SIGKILL');
}

/**
 * `redisUrl` undefined: the bridge's embedded store, fresh per run. Given: the bridge forwards to
 * that Redis (a database of its own, e.g. redis://127.0.0.1:6379/13, so no other run's keys mix
 * in) — the embedded store runs the velocity Lua script in a JavaScript Lua VM, which on a loaded
 * machine can pass the gateway's 2 s velocity deadline and turn payments into 503s.
 */
export async function startBackends(redisUrl?: string): Promise<RunningBackends> {
  const firstPort = await threeFreePorts();
  const bridgePort = await freePort();
  const fixture = spawn(process.execPath, ['test/support/regional-fixture.ts', String(firstPort)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const { REDIS_URL: _inherited, ...bridgeEnv } = process.env;
  const bridge = spawn(process.execPath, ['cli/dev/redis-bridge.ts'], { cwd: repoRoot, env: { ...bridgeEnv, PORT: String(bridgePort), UPSTASH_TOKEN: devUpstashToken, ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl }) }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = async () => {
    await Promise.all([stopChild(fixture), stopChild(bridge)]);
  };
  try {
    await Promise.all([readyLine(fixture, 'regional-fixture: ready', 'regional fixture'), readyLine(bridge, 'redis-bridge: listening', 'redis bridge')]);
  } catch (error) {
    await stop();
    throw error;
  }
  const backend = (region: string, port: number) => [{ region, url: `http://127.0.0.1:${port}` }];
  return {
    regionalBackends: { eu: backend('eu-1', firstPort), us: backend('us-1', firstPort + 1), ap: backend('ap-1', firstPort + 2) },
    upstashUrl: `http://127.0.0.1:${bridgePort}`,
    stop,
  };
}
