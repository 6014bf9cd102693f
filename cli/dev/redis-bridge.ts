/**
 * The local stand-in for Upstash: an Upstash-REST-compatible bridge for Redis, which the edge
 * Worker's @upstash/redis client (global per-partner velocity limits) talks to during `npm start`
 * and in tests. In production the Worker talks to Upstash itself.
 *
 * Backend: real Redis when a Redis URL is given (REDIS_URL), forwarded command by command;
 * otherwise an embedded in-process store on ioredis-mock (see redis-bridge/embedded/embedded-backend.ts
 * for why it exists, where it differs from Redis and what keeps it honest).
 *
 *   node cli/dev/redis-bridge.ts
 *   env: PORT (default 8079), UPSTASH_TOKEN (default "meridian-dev-token"), REDIS_URL (optional)
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createAdaptorServer } from '@hono/node-server';
import { devUpstashToken } from '../../dev/fixtures.ts';
import { createBridgeApp } from './redis-bridge/app.ts';
import type { BackendKind, RedisBackend } from './redis-bridge/backend.ts';
import { EmbeddedBackend } from './redis-bridge/embedded/embedded-backend.ts';
import { connectRedisBackend } from './redis-bridge/redis-backend.ts';

export const redisBridgePortDefault = 8079;
export const redisBridgeTokenDefault = devUpstashToken;

/** Node's HTTP server limits, set rather than inherited. */
const requestTimeoutMs = 30_000;
const headersTimeoutMs = 10_000;
const keepAliveTimeoutMs = 5_000;
/** How long `stop()` lets in-flight requests finish before cutting their connections. */
const shutdownGraceMs = 2_000;

export interface RedisBridgeOptions {
  /** 0 picks a free port (tests). */
  port: number;
  host?: string;
  /** The bearer token clients must present, as UPSTASH_REDIS_REST_TOKEN. */
  token: string;
  /** Real Redis to forward to; omitted → the embedded store. */
  redisUrl?: string;
  redisConnectTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface RedisBridge {
  /** Base URL for `new Redis({ url, token })`. */
  url: string;
  backend: BackendKind;
  stop(): Promise<void>;
}

export async function startRedisBridge(options: RedisBridgeOptions): Promise<RedisBridge> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? ((line: string) => console.error(line));
  if (options.token === '') throw new Error('redis-bridge: the token must not be empty');
  const backend: RedisBackend = options.redisUrl === undefined
    ? new EmbeddedBackend()
    : await connectRedisBackend({ redisUrl: options.redisUrl, log, ...(options.redisConnectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.redisConnectTimeoutMs }) });
  const app = createBridgeApp({ backend, token: options.token, log });
  const server = createAdaptorServer({
    fetch: app.fetch,
    serverOptions: { requestTimeout: requestTimeoutMs, headersTimeout: headersTimeoutMs, keepAliveTimeout: keepAliveTimeoutMs },
  }) as Server;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new Error(`redis-bridge: cannot listen on ${host}:${options.port}: ${error.message}`, { cause: error })));
      server.listen(options.port, host, resolve);
    });
  } catch (error) {
    await backend.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    backend: backend.kind,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const grace = setTimeout(() => server.closeAllConnections(), shutdownGraceMs);
      await closed;
      clearTimeout(grace);
      await backend.close();
    },
  };
}

function portFromEnv(text: string | undefined): number {
  if (text === undefined || text === '') return redisBridgePortDefault;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`redis-bridge: PORT must be an integer 0–65535, got ${JSON.stringify(text)}`);
  return port;
}

async function main(): Promise<void> {
  const redisUrl = process.env.REDIS_URL === '' ? undefined : process.env.REDIS_URL;
  const bridge = await startRedisBridge({
    port: portFromEnv(process.env.PORT),
    token: process.env.UPSTASH_TOKEN || redisBridgeTokenDefault,
    ...(redisUrl === undefined ? {} : { redisUrl }),
  });
  console.log(`redis-bridge: listening on ${bridge.url} (backend: ${bridge.backend})`);
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`redis-bridge: ${signal} received, shutting down`);
    bridge.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`redis-bridge: unclean shutdown: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
