/**
 * The regional database handle: one postgres.js pool and a drizzle view of it. Driver options are
 * spelled out rather than left to library defaults, because they decide how a stalled database
 * looks to the edge (a bounded wait, then 503) and how many transactions compete for row locks.
 */
import { drizzle, type PostgresJsDatabase, type PostgresJsQueryResultHKT } from 'drizzle-orm/postgres-js';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import postgres from 'postgres';

/**
 * Small on purpose: settlement commits are SERIALIZABLE, so more concurrent transactions mainly buy
 * more 40001 retries.
 *
 * PGlite is a single session behind pglite-socket. Several connections are safe only because
 * cli/dev/pglite-server.ts holds the backend for one connection per extended-protocol
 * conversation and per transaction; plain pglite-socket interleaves the messages of concurrent
 * connections (one's Bind lands on another's Parse, a foreign statement runs inside our
 * SERIALIZABLE transaction). Against any other PGlite bridge set DATABASE_CONNECTIONS_MAX=1.
 */
export const connectionsMax = 4;
/**
 * The auditor API's own pool (GET /v1/settlements/…, /v1/log/…, /v1/evidence): unauthenticated
 * reads must never wait for, or hold, a connection that a settlement commit needs, so they get a
 * separate postgres.js client of this size, behind http/limit-auditor-reads.ts.
 */
export const readConnectionsMax = 2;
export const connectTimeoutSeconds = 10;
export const idleTimeoutSeconds = 30;
export const connectionLifetimeSeconds = 30 * 60;
/** Server-side bound on one statement (a 200,000-leg batch insert chunk is well below this). */
export const statementTimeoutMs = 30_000;
/** A transaction left open by a crashed handler releases its locks after this long. */
export const idleInTransactionTimeoutMs = 60_000;

export type RegionalOrm = PostgresJsDatabase;
/** The pool or an open transaction: ledger reads and writes take either. */
export type RegionalQueryable = PgDatabase<PostgresJsQueryResultHKT>;

export interface RegionalDatabase {
  sql: postgres.Sql;
  orm: RegionalOrm;
  close(): Promise<void>;
}

export interface RegionalDatabaseOptions {
  /** Shown in pg_stat_activity, e.g. `meridian-regional-eu-1`. */
  applicationName: string;
  connectionsMax?: number;
}

export function connectRegionalDatabase(databaseUrl: string, options: RegionalDatabaseOptions): RegionalDatabase {
  const sql = postgres(databaseUrl, {
    max: options.connectionsMax ?? connectionsMax,
    connect_timeout: connectTimeoutSeconds,
    idle_timeout: idleTimeoutSeconds,
    max_lifetime: connectionLifetimeSeconds,
    // Named prepared statements work on PostgreSQL, CockroachDB and PGlite over pglite-socket
    // (postgres.js gives each connection random statement names, so connections sharing PGlite's
    // single session never collide); the regional suites run both.
    prepare: true,
    connection: {
      application_name: options.applicationName,
      statement_timeout: statementTimeoutMs,
      idle_in_transaction_session_timeout: idleInTransactionTimeoutMs,
    },
    // Migrations raise NOTICEs ("schema already exists"); they are not operator news.
    onnotice: () => {},
  });
  // Tables are imported where they are queried; no relational-query schema is needed.
  const orm = drizzle(sql);
  return {
    sql,
    orm,
    close: () => sql.end({ timeout: 5 }),
  };
}
