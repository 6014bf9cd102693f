/**
 * The databases every regional suite runs on: PGlite over the wire (always) and, when
 * DATABASE_URL is set, that PostgreSQL server. Each test file gets its own database — a fresh
 * in-memory PGlite, or a freshly created PostgreSQL database dropped afterwards — migrated with
 * the real migrations, and talked to through postgres.js exactly as in production.
 *
 * Every backend gets its own postgres.js pool, as eu-1 and eu-2 do in the local topology. PGlite is
 * one single-user backend: cli/dev/pglite-server.ts hands it to one connection per protocol
 * conversation and per transaction (DESIGN, "Local topology"), so concurrent requests there are
 * committed one transaction after the other. Real overlap — serialization conflicts — is only
 * exercised on PostgreSQL; `concurrent` says which is which.
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
  /** A database handle (its own pool) for one backend. */
  connect(applicationName: string, options?: { connectionsMax?: number }): RegionalDatabase;
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
    return {
      kind,
      url: server.connectionString,
      concurrent: false,
      connect: (applicationName, options = {}) => connectRegionalDatabase(server.connectionString, { applicationName, ...options }),
      drop: () => server.stop(),
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
    connect: (applicationName, options = {}) => connectRegionalDatabase(url.toString(), { applicationName, ...options }),
    async drop() {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}
