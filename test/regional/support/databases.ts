/**
 * The databases every regional suite runs on: PGlite over the wire (always) and, when
 * DATABASE_URL is set, that PostgreSQL server. Each test file gets its own database — a fresh
 * in-memory PGlite, or a freshly created PostgreSQL database dropped afterwards — migrated with
 * the real migrations, and talked to through postgres.js exactly as in production.
 *
 * PGlite is one single-user backend, and pglite-socket interleaves the protocol messages of
 * concurrent connections (DESIGN, "Local topology"), so on PGlite every backend in a test file
 * shares ONE postgres.js connection: requests still arrive concurrently, but their transactions
 * run one after the other. Real concurrency (serialization conflicts) is exercised on PostgreSQL,
 * where each backend gets its own pool; `concurrent` says which is which.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { startPgliteServer } from '../../../cli/dev/pglite-server.ts';
import { connectRegionalDatabase, type RegionalDatabase } from '../../../regional/db/client.ts';
import { migrateDatabase } from '../../../regional/db/migrate.ts';

export type TestDatabaseKind = 'pglite' | 'postgresql';

export interface TestDatabase {
  kind: TestDatabaseKind;
  url: string;
  /** True when two backends' transactions really overlap (PostgreSQL). */
  concurrent: boolean;
  /** A database handle for one backend: its own pool on PostgreSQL, the shared connection on PGlite. */
  connect(applicationName: string): RegionalDatabase;
  drop(): Promise<void>;
}

export function testDatabaseKinds(): TestDatabaseKind[] {
  const serverUrl = process.env.DATABASE_URL;
  return serverUrl === undefined || serverUrl === '' ? ['pglite'] : ['pglite', 'postgresql'];
}

export async function openTestDatabase(kind: TestDatabaseKind, label: string): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const server = await startPgliteServer({ port: 0 });
    await migrateDatabase(server.connectionString);
    const shared = connectRegionalDatabase(server.connectionString, { applicationName: 'regional-test', connectionsMax: 1 });
    return {
      kind,
      url: server.connectionString,
      concurrent: false,
      connect: () => ({ ...shared, close: async () => {} }),
      async drop() {
        await shared.close();
        await server.stop();
      },
    };
  }
  const serverUrl = process.env.DATABASE_URL!;
  const name = `meridian_test_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, connect_timeout: 10, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  try {
    await migrateDatabase(url.toString());
  } catch (error) {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
    throw error;
  }
  return {
    kind,
    url: url.toString(),
    concurrent: true,
    connect: (applicationName) => connectRegionalDatabase(url.toString(), { applicationName }),
    async drop() {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}
