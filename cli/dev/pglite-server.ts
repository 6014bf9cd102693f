/**
 * Embedded PostgreSQL for local runs and tests: PGlite served over the Postgres wire protocol, so
 * every process (two regional backends of one jurisdiction, tests) talks to it through postgres.js
 * exactly as it would to PostgreSQL or CockroachDB.
 *
 * PGlite is one single-user backend. pglite-socket's query queue keeps a transaction's statements
 * together: while PGlite reports an open transaction it serves only the connection that opened it
 * (test/cli/pglite-server.test.ts proves the isolation this gives). Clients still keep their pools
 * small: every other connection waits while one transaction runs.
 *
 *   node cli/dev/pglite-server.ts --data-dir .data/pglite/eu --port 5541
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface PgliteServer {
  connectionString: string;
  stop(): Promise<void>;
}

export interface PgliteServerOptions {
  /** Directory for persistent data; omit for an in-memory database (tests). */
  dataDir?: string;
  port: number;
  host?: string;
  connectionsMax?: number;
}

export async function startPgliteServer(options: PgliteServerOptions): Promise<PgliteServer> {
  const host = options.host ?? '127.0.0.1';
  if (options.dataDir !== undefined) mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create(options.dataDir === undefined ? {} : { dataDir: options.dataDir });
  const server = new PGLiteSocketServer({ db, port: options.port, host, maxConnections: options.connectionsMax ?? 16 });
  await server.start();
  const address = server.getServerConn();
  const port = Number(address.split(':').at(-1));
  return {
    connectionString: `postgres://postgres@${host}:${port}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(argument('--port') ?? '5541');
  const dataDir = argument('--data-dir');
  const server = await startPgliteServer(dataDir === undefined ? { port } : { port, dataDir });
  console.log(`pglite: listening on ${server.connectionString}`);
  const shutdown = async () => {
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
