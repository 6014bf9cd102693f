/**
 * A TCP gate between regional backends and their database, for the database-down drill: while
 * up it forwards bytes both ways untouched; `down()` resets every open connection and resets each
 * new one at once (what a crashed or fenced-off database looks like to postgres.js: ECONNRESET,
 * mid-transaction or between statements), until `up()`.
 *
 * It does not read the protocol (test/support/pg-wire-proxy.ts does, to cut at one statement):
 * the drill is about an outage of unknown shape, not a chosen statement.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpGate {
  port: number;
  /** `targetUrl` with its host and port replaced by the gate's. */
  urlFor(targetUrl: string): string;
  down(): void;
  up(): void;
  isDown(): boolean;
  /** Connections reset by down() or refused while down. */
  resets(): number;
  close(): Promise<void>;
}

export async function startTcpGate(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpGate> {
  const open = new Set<Socket>();
  let closed = false;
  let downNow = false;
  let resets = 0;
  const server: Server = createServer((client) => {
    if (downNow) {
      resets += 1;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('tcp gate: no address');
  return {
    port: address.port,
    urlFor(targetUrl) {
      const url = new URL(targetUrl);
      url.hostname = '127.0.0.1';
      url.port = String(address.port);
      return url.href;
    },
    down() {
      downNow = true;
      for (const socket of open) {
        resets += 1;
        socket.resetAndDestroy();
      }
    },
    up() {
      downNow = false;
    },
    isDown: () => downNow,
    resets: () => resets,
    async close() {
      if (closed) return;
      closed = true;
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
