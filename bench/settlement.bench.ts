/**
 * Regional settlement, two figures:
 *
 * 1. Committed legs per second for 10,000-leg batches: the real commitSettlement (one SERIALIZABLE
 *    transaction: digest and batch-id checks, log tail, receipt signed, batch row, legs, double-entry
 *    journal, net positions, the DSSE-signed log leaf) — beside, in the same run and database, a raw
 *    multi-row INSERT of the same rows (the same batch, legs, journal, positions and leaf rows, in
 *    1,000-row statements, one READ COMMITTED transaction, into plain copies of the same tables).
 *    The ratio committed ÷ raw is the figure: what the settlement guarantees cost over writing the
 *    bytes.
 * 2. Window close → signed receipt: seal a window's legs with core sealSettlementBatch, mint an edge
 *    token, POST it over HTTP to the real regional app (Hono on @hono/node-server, token verified,
 *    batch re-verified, residency re-checked, committed, receipt signed), until the response with
 *    the receipt is read. p50/p99, for small batches (--legs-per-receipt, 200) and for 10,000-leg
 *    windows (--large-iterations of them; target p99 ≤ 250 ms, issue #14), each with the median
 *    split into seal, server (verify + commit + sign) and the rest (HTTP, token, JSON).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node_modules/.bin/node bench/settlement.bench.ts
 *     [--batches 5] [--iterations 300] [--legs-per-receipt 200] [--large-iterations 100] [--kms-local]
 *
 * With DATABASE_URL a fresh database is created on that server and dropped afterwards; without it
 * the bench runs on PGlite (in-process, over the wire) and says so — PGlite figures are not
 * PostgreSQL figures. --kms-local adds a receipt-latency pass with the KMS signer through the AWS
 * SDK against the local KMS-protocol server of the tests (localhost: it shows the SDK's own cost,
 * not KMS's network round trip). Appends one JSON line to bench/results/settlement.jsonl.
 *
 * Reading the ratio (2-core box, PostgreSQL 15, 2026-11): a CPU profile of the commit put about
 * half of it in drizzle building the 30,000-row INSERTs (entity `is()` checks, sqlToQuery,
 * prepareTyping), while the raw path hands the same rows to postgres.js directly; ratio 0.285.
 * Since 2026-12 the commit writes the child rows as `unnest` arrays (regional/ledger/
 * write-settlement.ts), so the commit now pays the database for the rows, the foreign-key checks
 * the raw copies do not have, the reads and the two signatures. Since migrations/0005_* a batch is
 * 10,014 rows, not 30,014 (one row per leg carries both journal sides; legs lost their uuid key,
 * an unused index and the per-row foreign key), and the commit also reads back by aggregate
 * (regional/ledger/ledger-summary.ts): under load 10-13 the close → receipt CPU fell from 431 ms
 * (Node) + 1,255 ms (PostgreSQL) on a quiet machine to 275 + 190 ms. What is left is mostly the
 * seal and the backend's re-verification in Node (schema parse, RFC 8785 bytes, pure-JS SHA-256 of
 * 2 MB, each twice per close) and the leg INSERT in PostgreSQL.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import postgres from 'postgres';
import { startPgliteServer } from '../cli/dev/pglite-server.ts';
import { sealSettlementBatch, type SealedSettlementBatch, type SettlementLeg, type SettlementResponse } from '../core/settlement-batch.ts';
import { batchDigestHex } from '../durable-objects/corridor-window/batch-digest.ts';
import { createRegionalApp } from '../regional/app.ts';
import { commitSettlement } from '../regional/commit.ts';
import { connectRegionalDatabase, type RegionalDatabase } from '../regional/db/client.ts';
import { migrateDatabase, redactUrl } from '../regional/db/migrate.ts';
import { silentLogger } from '../regional/logger.ts';
import { createKmsSigner } from '../regional/signer/kms-signer.ts';
import { loadOrCreateLocalSigner } from '../regional/signer/local-signer.ts';
import type { Signer } from '../regional/signer/signer.ts';
import { startKmsLocalServer } from '../test/support/kms-local-server.ts';
import { median, recordResult, round, uuidFrom, xorshift } from './machine.ts';

const { values: flags } = parseArgs({
  options: {
    batches: { type: 'string', default: '5' },
    iterations: { type: 'string', default: '300' },
    'legs-per-receipt': { type: 'string', default: '200' },
    'large-iterations': { type: 'string', default: '100' },
    'kms-local': { type: 'boolean', default: false },
  },
});
const legsPerBatch = 10_000;
const committedBatches = Number(flags.batches);
const receiptIterations = Number(flags.iterations);
const legsPerReceipt = Number(flags['legs-per-receipt']);
const largeReceiptIterations = Number(flags['large-iterations']);
/** The issue #14 case: a whole 10,000-leg window, close to signed receipt. */
const legsPerLargeReceipt = 10_000;
const warmupReceipts = 20;
const warmupLargeReceipts = 5;
const rowsPerStatement = 1_000;
const resultsFile = new URL('./results/settlement.jsonl', import.meta.url).pathname;
const gatewayId = 'meridian-bench';
const region = 'eu-1';

const banks = ['DEUTDEFFXXX', 'BNPAFRPPXXX', 'INGBNL2AXXX', 'COBADEFFXXX', 'SOGEFRPPXXX', 'UNCRITMMXXX', 'CHASUS33XXX', 'CITIUS33XXX', 'BOFAUS3NXXX', 'WFBIUS6SXXX'];
const fxProvider = 'LQPRDEFFXXX';
const next = xorshift(0x5e771e);
let windowCounter = 0;

/** FX payments, two legs each (debtor agent → provider in EUR, provider → creditor agent in USD). */
function sealedBatch(jurisdiction: string, legCount: number): SealedSettlementBatch {
  return sealWindow(windowLegs(jurisdiction, legCount));
}

interface WindowLegs {
  jurisdiction: string;
  startsAtMs: number;
  legs: SettlementLeg[];
}

/** A closing window's legs in arrival order, as the coordinator holds them before sealing. */
function windowLegs(jurisdiction: string, legCount: number): WindowLegs {
  const legs: SettlementLeg[] = [];
  for (let index = 0; index < legCount / 2; index++) {
    const uetr = uuidFrom(next);
    const eurMinor = 1 + (next() % 100_000_000);
    const debtorAgent = banks[next() % 5]!;
    legs.push({ uetr, instructing_agent: debtorAgent, payer: debtorAgent, payee: fxProvider, currency: 'EUR', amount_minor: String(eurMinor), debtor_country: 'DE', residency_exception: null });
    legs.push({ uetr, instructing_agent: debtorAgent, payer: fxProvider, payee: banks[5 + (next() % 5)]!, currency: 'USD', amount_minor: String(Math.floor((eurMinor * 108) / 100)), debtor_country: 'DE', residency_exception: null });
  }
  return { jurisdiction, startsAtMs: Date.UTC(2026, 0, 1) + windowCounter++ * 60_000, legs };
}

function sealWindow({ jurisdiction, startsAtMs, legs }: WindowLegs): SealedSettlementBatch {
  return sealSettlementBatch({
    batch_id: `EUR-USD.${jurisdiction}.0.${startsAtMs}`,
    corridor: 'EUR-USD',
    jurisdiction,
    window: { starts_at: new Date(startsAtMs).toISOString(), ends_at: new Date(startsAtMs + 60_000).toISOString() },
    legs,
  }, batchDigestHex);
}

interface BenchDatabase {
  kind: 'postgresql' | 'pglite';
  url: string;
  label: string;
  drop(): Promise<void>;
}

async function openBenchDatabase(): Promise<BenchDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl === undefined || serverUrl === '') {
    const pglite = await startPgliteServer({ port: 0 });
    await migrateDatabase(pglite.connectionString);
    return { kind: 'pglite', url: pglite.connectionString, label: 'PGlite (in-process, over the wire) — not PostgreSQL', drop: () => pglite.stop() };
  }
  const admin = postgres(serverUrl, { max: 1, connect_timeout: 10, onnotice: () => {} });
  const [{ version }] = (await admin`select version()`) as unknown as [{ version: string }];
  const name = `meridian_bench_${randomBytes(4).toString('hex')}`;
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  await migrateDatabase(url.toString());
  return {
    kind: 'postgresql',
    url: url.toString(),
    label: `${version.split(' ').slice(0, 2).join(' ')} at ${redactUrl(serverUrl)}`,
    async drop() {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// 1. Committed legs per second, beside a raw multi-row INSERT of the same rows.

// Since migrations/0005_* the journal is a view over settlement_legs (one row per leg carries both
// sides), so the rows a commit stores are these five tables'; journal_entries_v1 is no longer written.
const rawTables = ['settlement_batches', 'settlement_legs', 'net_positions', 'log_leaves'] as const;

async function createRawTables(sql: postgres.Sql): Promise<void> {
  // Same columns, types, defaults, checks and indexes; no foreign keys (LIKE does not copy them).
  for (const table of rawTables) await sql.unsafe(`create table bench_raw_${table} (like ${table} including all)`);
}

/** The rows the commit wrote for one batch, read back verbatim, to insert raw elsewhere. */
async function storedRows(sql: postgres.Sql, digest: string): Promise<Record<(typeof rawTables)[number], postgres.Row[]>> {
  const byDigest = { settlement_batches: 'digest', settlement_legs: 'batch_digest', net_positions: 'batch_digest', log_leaves: 'batch_digest' } as const;
  const rows = {} as Record<(typeof rawTables)[number], postgres.Row[]>;
  for (const table of rawTables) rows[table] = [...(await sql.unsafe(`select * from ${table} where ${byDigest[table]} = $1`, [digest]))];
  return rows;
}

/** One READ COMMITTED transaction of multi-row INSERTs, 1,000 rows per statement. */
async function rawInsert(sql: postgres.Sql, rows: Record<(typeof rawTables)[number], postgres.Row[]>, suffix: string): Promise<number> {
  const startedAt = performance.now();
  await sql.begin(async (tx) => {
    for (const table of rawTables) {
      // Fresh ids and digests keep the unique indexes of the copies satisfied run after run.
      const fresh: postgres.Row[] = rows[table].map((row) => ({ ...row, ...freshKeys(table, row, suffix) }));
      // The copies draw their own ids from the same gen_random_uuid() default (settlement_legs has none).
      const columns: string[] = Object.keys(fresh[0]!).filter((column) => column !== 'id');
      for (let start = 0; start < fresh.length; start += rowsPerStatement) {
        await tx`insert into ${tx(`bench_raw_${table}`)} ${tx(fresh.slice(start, start + rowsPerStatement), columns)}`;
      }
    }
  });
  return performance.now() - startedAt;
}

function freshKeys(table: (typeof rawTables)[number], row: postgres.Row, suffix: string): Record<string, unknown> {
  const digest = `${String(row.digest ?? row.batch_digest).slice(0, 64 - suffix.length)}${suffix}`;
  switch (table) {
    case 'settlement_batches':
      return { digest, batch_id: `${row.batch_id}.${suffix}`.slice(-64), log_index: Number(row.log_index) + 1_000_000 };
    case 'log_leaves':
      return { batch_digest: digest, leaf_index: Number(row.leaf_index) + 1_000_000 };
    default:
      return { batch_digest: digest };
  }
}

interface ThroughputFigures {
  committed_legs_per_s_median: number;
  committed_legs_per_s_best: number;
  committed_ms_median: number;
  raw_legs_per_s_median: number;
  raw_legs_per_s_best: number;
  raw_ms_median: number;
  raw_rows_per_batch: number;
  ratio_committed_to_raw: number;
}

async function commitThroughput(database: RegionalDatabase, signer: Signer): Promise<ThroughputFigures> {
  await createRawTables(database.sql);
  const jurisdiction = `eubench${randomBytes(3).toString('hex').replace(/[0-9]/g, (digit) => String.fromCharCode(97 + Number(digit)))}`;
  const committedMs: number[] = [];
  const rawMs: number[] = [];
  let rawRowsPerBatch = 0;
  // Round 0 warms up both paths (JIT, prepared statements, buffers) and is not counted.
  for (let round = 0; round <= committedBatches; round++) {
    const sealed = sealedBatch(jurisdiction, legsPerBatch);
    const startedAt = performance.now();
    const outcome = await commitSettlement(database.orm, sealed.batch, sealed.canonical, sealed.digest, region, signer);
    const elapsedMs = performance.now() - startedAt;
    if (outcome.kind !== 'committed') throw new Error(`bench: batch ${sealed.batch.batch_id} was ${outcome.kind}, expected committed`);
    const rows = await storedRows(database.sql, sealed.digest);
    rawRowsPerBatch = Object.values(rows).reduce((sum, tableRows) => sum + tableRows.length, 0);
    const rawElapsedMs = await rawInsert(database.sql, rows, round.toString(16).padStart(4, '0'));
    if (round === 0) continue;
    committedMs.push(elapsedMs);
    rawMs.push(rawElapsedMs);
    console.log(`  batch ${round}/${committedBatches}: committed in ${elapsedMs.toFixed(0)} ms, raw INSERT of the same ${rawRowsPerBatch} rows in ${rawElapsedMs.toFixed(0)} ms`);
  }
  const legsPerS = (ms: number) => round(legsPerBatch / (ms / 1000), 0);
  return {
    committed_legs_per_s_median: legsPerS(median(committedMs)),
    committed_legs_per_s_best: legsPerS(Math.min(...committedMs)),
    committed_ms_median: round(median(committedMs)),
    raw_legs_per_s_median: legsPerS(median(rawMs)),
    raw_legs_per_s_best: legsPerS(Math.min(...rawMs)),
    raw_ms_median: round(median(rawMs)),
    raw_rows_per_batch: rawRowsPerBatch,
    ratio_committed_to_raw: round(median(rawMs) / median(committedMs), 3),
  };
}

// ---------------------------------------------------------------------------------------------
// 2. Window close → signed receipt, over HTTP through the real app.

interface LatencyFigures {
  signer: string;
  iterations: number;
  legs_per_batch: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Medians of the parts: sealing at the edge, POST until the receipt is read, the token between. */
  seal_p50_ms: number;
  post_p50_ms: number;
  /**
   * CPU, not wall time, per close → receipt (medians): this process (seal, HTTP both ends, verify,
   * commit, signing: the regional app runs in-process) and the PostgreSQL backends of the bench
   * database (from /proc; null when the server is not local). On a loaded 2-core box wall time is
   * mostly waiting for a core; their sum is what one close costs an idle machine, about.
   */
  process_cpu_p50_ms: number;
  database_cpu_p50_ms: number | null;
}

/** Where one close → receipt spent its time. */
interface ReceiptSample {
  totalMs: number;
  sealMs: number;
  postMs: number;
  processCpuMs: number;
  databaseCpuMs: number | null;
}

const clockTicksPerSecond = 100;

/**
 * User + system CPU of every backend connected to this database, from /proc/<pid>/stat (fields 14
 * and 15, in clock ticks of 10 ms: coarse, but a 10,000-leg commit is many ticks). null when the
 * server runs elsewhere.
 */
async function databaseCpuMs(database: RegionalDatabase): Promise<number | null> {
  const rows = (await database.sql`select pid from pg_stat_activity where datname = current_database()`) as unknown as { pid: number }[];
  let ticks = 0;
  for (const { pid } of rows) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return null;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / clockTicksPerSecond;
}

// The receipt passes run in jurisdiction eu: the backend re-checks residency per leg, and the
// bench's debtors are in DE. The database is the bench's own, so the eu log starts empty.
const receiptJurisdiction = 'eu';

async function receiptLatency(database: RegionalDatabase, signer: Signer, signerLabel: string, legCount: number, iterations: number, warmups: number): Promise<LatencyFigures> {
  const edge = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const edgeJwk = { ...(await exportJWK(edge.publicKey)), kid: 'edge-bench', alg: 'EdDSA', use: 'sig' };
  const app = createRegionalApp({ region, jurisdiction: receiptJurisdiction, gatewayId, database, signer, edgeKeys: createLocalJWKSet({ keys: [edgeJwk] }), logger: silentLogger });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const listening = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(listening));
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/settlements`;
  const samples: ReceiptSample[] = [];
  try {
    for (let iteration = 0; iteration < warmups + iterations; iteration++) {
      const databaseCpuBeforeMs = await databaseCpuMs(database);
      const processCpuBefore = process.cpuUsage();
      const timing = await closeWindowToReceipt(url, windowLegs(receiptJurisdiction, legCount), edge.privateKey);
      const processCpu = process.cpuUsage(processCpuBefore);
      const databaseCpuAfterMs = await databaseCpuMs(database);
      const sample: ReceiptSample = {
        ...timing,
        processCpuMs: (processCpu.user + processCpu.system) / 1000,
        databaseCpuMs: databaseCpuBeforeMs === null || databaseCpuAfterMs === null ? null : databaseCpuAfterMs - databaseCpuBeforeMs,
      };
      if (iteration >= warmups) samples.push(sample);
      if (legCount >= legsPerLargeReceipt && (iteration + 1) % 20 === 0) console.log(`  … ${iteration + 1}/${warmups + iterations} (${legCount.toLocaleString('en')} legs, last ${sample.totalMs.toFixed(0)} ms)`);
    }
  } finally {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
  }
  const sorted = samples.map((sample) => sample.totalMs).sort((left, right) => left - right);
  const percentile = (fraction: number) => round(sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!);
  return {
    signer: signerLabel,
    iterations: samples.length,
    legs_per_batch: legCount,
    p50_ms: percentile(0.5),
    p90_ms: percentile(0.9),
    p99_ms: percentile(0.99),
    max_ms: round(sorted.at(-1)!),
    seal_p50_ms: round(median(samples.map((sample) => sample.sealMs))),
    post_p50_ms: round(median(samples.map((sample) => sample.postMs))),
    process_cpu_p50_ms: round(median(samples.map((sample) => sample.processCpuMs))),
    database_cpu_p50_ms: samples.some((sample) => sample.databaseCpuMs === null) ? null : round(median(samples.map((sample) => sample.databaseCpuMs!))),
  };
}

/** The clock starts with the window's legs in hand (arrival order) and stops at the receipt. */
async function closeWindowToReceipt(url: string, window: WindowLegs, edgeKey: CryptoKey): Promise<Pick<ReceiptSample, 'totalMs' | 'sealMs' | 'postMs'>> {
  const startedAt = performance.now();
  const sealed = sealWindow(window);
  const sealedAt = performance.now();
  const issuedAt = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ batch_digest: sealed.digest })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'edge-bench', typ: 'JWT' })
    .setIssuer(gatewayId)
    .setAudience(region)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + 30)
    .setJti(uuidFrom(next))
    .sign(edgeKey);
  const postedAt = performance.now();
  const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: sealed.canonical });
  const body = (await response.json()) as SettlementResponse;
  const answeredAt = performance.now();
  if (response.status !== 201 || typeof body.receipt !== 'string') throw new Error(`bench: POST /v1/settlements answered ${response.status}: ${JSON.stringify(body)}`);
  return { totalMs: answeredAt - startedAt, sealMs: sealedAt - startedAt, postMs: answeredAt - postedAt };
}

// ---------------------------------------------------------------------------------------------

const benchDatabase = await openBenchDatabase();
const database = connectRegionalDatabase(benchDatabase.url, { applicationName: 'meridian-bench' });
const keyDirectory = await mkdtemp(join(tmpdir(), 'meridian-bench-keys-'));
let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
} catch {
  // not a git checkout
}
try {
  const signer = await loadOrCreateLocalSigner({ keyFile: join(keyDirectory, 'bench.json') });
  console.log(`database: ${benchDatabase.label}`);
  if (benchDatabase.kind === 'pglite') console.log('  (no DATABASE_URL: these are PGlite figures, not PostgreSQL figures)');

  console.log(`\n1. committed legs per second, ${legsPerBatch.toLocaleString('en')}-leg batches, ${committedBatches} batches after one warm-up (local Ed25519 signer)`);
  const throughput = await commitThroughput(database, signer);
  console.log(`  committed (commitSettlement): ${throughput.committed_legs_per_s_median.toLocaleString('en')} legs/s median (${throughput.committed_ms_median} ms per batch), best ${throughput.committed_legs_per_s_best.toLocaleString('en')}`);
  console.log(`  raw multi-row INSERT, same ${throughput.raw_rows_per_batch} rows: ${throughput.raw_legs_per_s_median.toLocaleString('en')} legs/s median (${throughput.raw_ms_median} ms per batch), best ${throughput.raw_legs_per_s_best.toLocaleString('en')}`);
  console.log(`  ratio committed / raw: ${throughput.ratio_committed_to_raw}`);

  console.log(`\n2. window close → signed receipt (seal, edge token, POST over HTTP, receipt read)`);
  const latencies: LatencyFigures[] = [];
  const printLatency = (latency: LatencyFigures) =>
    console.log(`  ${latency.signer}, ${latency.legs_per_batch.toLocaleString('en')} legs × ${latency.iterations}: p50 ${latency.p50_ms} ms, p90 ${latency.p90_ms} ms, p99 ${latency.p99_ms} ms, max ${latency.max_ms} ms (median seal ${latency.seal_p50_ms} ms, POST → receipt ${latency.post_p50_ms} ms; CPU: this process ${latency.process_cpu_p50_ms} ms, PostgreSQL ${latency.database_cpu_p50_ms ?? 'n/a'} ms)`);
  latencies.push(await receiptLatency(database, signer, 'local Ed25519', legsPerReceipt, receiptIterations, warmupReceipts));
  printLatency(latencies.at(-1)!);
  latencies.push(await receiptLatency(database, signer, 'local Ed25519', legsPerLargeReceipt, largeReceiptIterations, warmupLargeReceipts));
  printLatency(latencies.at(-1)!);
  if (flags['kms-local']) {
    const kms = await startKmsLocalServer();
    const { keyId } = kms.createKey('ECC_NIST_P256');
    const kmsSigner = await createKmsSigner({ keyId, region: kms.region, endpoint: kms.endpoint, credentials: kms.credentials });
    try {
      latencies.push(await receiptLatency(database, kmsSigner, 'KMS ES256 via SDK, local KMS-protocol server', legsPerReceipt, receiptIterations, warmupReceipts));
      printLatency(latencies.at(-1)!);
    } finally {
      kmsSigner.destroy();
      await kms.close();
    }
  }
  const largeP99Ms = latencies.find((latency) => latency.legs_per_batch === legsPerLargeReceipt)!.p99_ms;
  console.log(`  ${legsPerLargeReceipt.toLocaleString('en')}-leg window close → receipt p99 ${largeP99Ms} ms (target ≤ 250 ms): ${largeP99Ms <= 250 ? 'met' : 'NOT met'}`);
  console.log(`  load average (1 min) at the end: ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} cores`);

  recordResult(resultsFile, {
    bench: 'settlement',
    commit,
    database: benchDatabase.kind,
    database_label: benchDatabase.label,
    legs_per_batch: legsPerBatch,
    batches: committedBatches,
    figures: { throughput, receipt_latency: latencies },
  });
  console.log(`\nappended to ${resultsFile}`);
} finally {
  await database.close();
  await benchDatabase.drop();
  await rm(keyDirectory, { recursive: true, force: true });
}
