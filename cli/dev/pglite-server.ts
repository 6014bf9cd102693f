/**
 * Embedded PostgreSQL for local runs and tests: PGlite served over the Postgres wire protocol, so
 * every process (two regional backends of one jurisdiction, tests) talks to it through postgres.js
 * exactly as it would to PostgreSQL or CockroachDB.
 *
 * PGlite is one single-user backend. pglite-socket queues the clients' protocol messages one at a
 * time and, while PGlite reports an open transaction, serves only the connection that opened it.
 * That is not enough on its own: outside a transaction the extended protocol is a conversation too.
 * postgres.js (under drizzle) sends Parse/Describe/Sync on the *unnamed* statement, waits, then
 * Bind/Execute/Sync; another connection's Parse landing in between replaces the statement, and the
 * first connection binds the wrong query (seen as "bind message supplies 2 parameters, but
 * prepared statement \"\" requires 3", or rows decoded with another query's row description).
 * `holdBackendPerConversation` therefore also holds PGlite for one connection until its
 * conversation is synced and its unnamed statement executed (test/cli/pglite-server.test.ts).
 * Clients keep their pools small: every other connection waits meanwhile.
 *
 *   node cli/dev/pglite-server.ts --data-dir .data/pglite/eu --port 5541
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * Client connections the server admits at once. PGlite runs one query at a time whatever this is,
 * so a connection costs a socket, not a backend; but a client over the cap is not refused, it waits
 * for a slot, silently. At 16, a test file's testbeds (two backends × a write and a read pool each,
 * closed only after the file) or `npm start`'s two backends per jurisdiction plus an audit run
 * filled it, and the next commit's connection waited for some idle connection's 30 s idle timeout
 * (test/regional/commit-concurrency: 28 s stalls, then 503 edge-token-expired).
 */
export const pgliteConnectionsMax = 128;

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
  holdBackendPerConversation(db);
  const server = new PGLiteSocketServer({ db, port: options.port, host, maxConnections: options.connectionsMax ?? pgliteConnectionsMax });
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

/**
 * Widens pglite-socket's notion of "in a transaction" (the only moment its queue keeps serving one
 * connection) to "in a conversation": from a connection's first extended-protocol message until
 * its Sync, and from a Parse of the unnamed statement until that statement is executed.
 */
export function holdBackendPerConversation(db: PGlite): void {
  let unsynced = false;
  let unnamedStatementPending = false;
  const inTransaction = db.isInTransaction.bind(db);
  const execProtocolRawStream = db.execProtocolRawStream.bind(db);
  const exec = db.exec.bind(db);
  db.isInTransaction = () => inTransaction() || unsynced || unnamedStatementPending;
  db.execProtocolRawStream = (message, options) => {
    const type = frontendMessageType(message);
    if (type === 'P') {
      unsynced = true;
      // Parse: type, int32 length, then the statement name as a C string; '' is the unnamed statement.
      if (message[5] === 0) unnamedStatementPending = true;
    } else if (type === 'B' || type === 'D' || type === 'C' || type === 'H') {
      unsynced = true;
    } else if (type === 'E') {
      unsynced = true;
      unnamedStatementPending = false;
    } else if (type === 'S' || type === 'X') {
      unsynced = false;
      if (type === 'X') unnamedStatementPending = false;
    }
    return execProtocolRawStream(message, options);
  };
  // pglite-socket calls exec('ROLLBACK') when a connection that held the backend disconnects.
  db.exec = (query, options) => {
    unsynced = false;
    unnamedStatementPending = false;
    return exec(query, options);
  };
}

/** The type byte of one complete frontend message, or undefined for the untyped startup packet. */
function frontendMessageType(message: Uint8Array): string | undefined {
  if (message.length < 5) return undefined;
  const length = ((message[1] ?? 0) << 24) | ((message[2] ?? 0) << 16) | ((message[3] ?? 0) << 8) | (message[4] ?? 0);
  if (length + 1 !== message.length) return undefined;
  const type = String.fromCharCode(message[0] ?? 0);
  return /^[A-Za-z]$/.test(type) ? type : undefined;
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
