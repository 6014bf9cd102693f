/**
 * `npm start`: the whole system on one machine with embedded defaults (DESIGN.md "Local topology").
 *
 *   databases   PGlite per jurisdiction over the Postgres wire (eu :5541, us :5542, ap :5543),
 *               or, with DATABASE_URL, one database per jurisdiction on that server
 *   bridge      Upstash-compatible Redis bridge :8079 (embedded store, or REDIS_URL)
 *   regional    eu-1 :8701, eu-2 :8702 (both on the eu database), us-1 :8703, ap-1 :8704
 *   gateway     wrangler dev (workerd) :8787 with its Durable Objects persisted in .data/wrangler
 *
 * Prints `meridian: ready` once every part answers /healthz, each part with its pid. Ctrl-C stops
 * every child. A second start reuses the data in .data/.
 *
 * After ready, a regional backend that dies stays dead (its jurisdiction fails over to the other
 * backend; a drill restarts it by hand), while the gateway and the bridge, which nothing can fail
 * over to locally, are restarted with backoff (restartBackoffBaseMs doubling to restartBackoffCapMs),
 * at most restartsMax times each, with a line saying so and the new pid once it answers /healthz.
 * wrangler dev persists Durable Object storage in .data/wrangler, so every accepted payment, window
 * and outbox survives the restart (test/chaos/gateway-restart.test.ts proves it).
 *
 * Drill hooks (dev only; test/chaos/ uses them):
 *   kill -USR2 <launcher pid>   restarts every regional backend that died, with its first env, and
 *                               prints `meridian: <region> restarted, ready at … pid N` for each
 *   MERIDIAN_REGIONAL_ENV       JSON {"<region>": {"NAME": "value", …}}: extra env for a backend
 *                               (a KMS signer, a database URL through a fault proxy, a clock skew)
 *   MERIDIAN_GATEWAY_VARS       JSON {"NAME": "value", …}: extra gateway vars, passed as
 *                               `wrangler dev --var` (a sanctions provider behind a fault proxy);
 *                               not .dev.vars, which the workerd test suites read too. They show
 *                               in `ps`: test values only, never a real secret
 *   MERIDIAN_STOP_ON_STDIN_END=1  stop everything when stdin closes (the parent that spawned the
 *                               launcher died), so a crashed drill never leaves the ports taken
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { gatewayDevBindings } from '../../dev/fixtures.ts';
import { migrateDatabase } from '../../regional/db/migrate.ts';
import { localWitnessEnv } from '../../regional/witness/witness-config.ts';

/** MERIDIAN_DATA_DIR moves all state (tests use a temporary directory). */
export const dataDirectory = process.env.MERIDIAN_DATA_DIR ?? '.data';
export const gatewayUrl = 'http://127.0.0.1:8787';
export const bridgeUrl = 'http://127.0.0.1:8079';
const readyTimeoutMs = 120_000;
const healthPollIntervalMs = 500;
const stopGraceMs = 5_000;
/** Restarts of the gateway or the bridge per `npm start`, each; past it the launcher stops everything. */
export const restartsMax = 5;
const restartBackoffBaseMs = 500;
const restartBackoffCapMs = 8_000;

const jurisdictions = [
  { jurisdiction: 'eu', pglitePort: 5541 },
  { jurisdiction: 'us', pglitePort: 5542 },
  { jurisdiction: 'ap', pglitePort: 5543 },
] as const;

/** The PGlite port of each jurisdiction's local database under `npm start` (cli/keys-commands.ts reads it). */
export const launcherPglitePorts: ReadonlyMap<string, number> = new Map(jurisdictions.map((entry) => [entry.jurisdiction, entry.pglitePort]));

export const regionalBackends = [
  { region: 'eu-1', jurisdiction: 'eu', port: 8701 },
  { region: 'eu-2', jurisdiction: 'eu', port: 8702 },
  { region: 'us-1', jurisdiction: 'us', port: 8703 },
  { region: 'ap-1', jurisdiction: 'ap', port: 8704 },
] as const;

interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Answers GET /healthz here once up (restart waits for it before saying ready again). */
  healthUrl?: string;
}

interface Child {
  name: string;
  process: ChildProcess;
  logPath: string;
}

const children: Child[] = [];
let stopping = false;
let ready = false;
/** After start-up, losing one of these is survivable: windows fail over to the jurisdiction's other backend. */
const survivableAfterReady = new Set<string>(regionalBackends.map((backend) => backend.region));
/** After start-up, these are restarted: nothing can fail over to them locally. */
const restartableAfterReady = new Set<string>(['gateway', 'redis-bridge']);
const restarts = new Map<string, number>();
/** How each regional backend was started, so `kill -USR2` can start a dead one again. */
const regionalSpecs = new Map<string, ChildSpec>();

function startChild(spec: ChildSpec): Child {
  const { name, command, args, env } = spec;
  const logPath = join(dataDirectory, 'logs', `${name}.log`);
  const log = createWriteStream(logPath, { flags: 'a' });
  log.write(`\n--- ${new Date().toISOString()} ${command} ${args.join(' ')}\n`);
  // Each child leads its own process group: wrangler dev is a shim → wrangler → workerd, and a
  // `kill -9` of the printed pid must not leave workerd holding :8787 (the group is killed on exit).
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  child.on('exit', (code, signal) => {
    killGroup(child, 'SIGKILL'); // whatever the dead leader left behind (workerd under wrangler)
    if (stopping) return;
    console.error(`meridian: ${name} exited (${signal ?? `code ${code}`}); its log is ${logPath}:`);
    console.error(tail(logPath, 20));
    if (ready && survivableAfterReady.has(name)) {
      console.error(`meridian: carrying on without ${name}; settlement fails over to the other backends of its jurisdiction`);
      return;
    }
    if (ready && restartableAfterReady.has(name)) return void restartChild(spec);
    void stopAll(1);
  });
  const entry = { name, process: child, logPath };
  const index = children.findIndex((known) => known.name === name);
  if (index === -1) children.push(entry);
  else children[index] = entry;
  return entry;
}

/** Restarts a dead gateway or bridge after a backoff, at most restartsMax times; says so, with the new pid once it answers. */
async function restartChild(spec: ChildSpec): Promise<void> {
  const attempt = (restarts.get(spec.name) ?? 0) + 1;
  if (attempt > restartsMax) {
    console.error(`meridian: ${spec.name} died ${attempt} times; not restarting it again (restartsMax ${restartsMax}) — stopping everything`);
    return void stopAll(1);
  }
  restarts.set(spec.name, attempt);
  const delayMs = Math.min(restartBackoffCapMs, restartBackoffBaseMs * 2 ** (attempt - 1));
  console.error(`meridian: restarting ${spec.name} in ${delayMs} ms (restart ${attempt} of ${restartsMax})`);
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  if (stopping) return;
  const child = startChild(spec);
  if (spec.healthUrl === undefined) return;
  try {
    await waitForHealth(spec.name, spec.healthUrl);
    if (!stopping && child.process.exitCode === null) console.log(`meridian: ${spec.name} restarted, ready at ${spec.healthUrl} pid ${child.process.pid ?? '?'} (restart ${attempt} of ${restartsMax})`);
  } catch (cause) {
    console.error(`meridian: ${spec.name} restarted but ${(cause as Error).message}`);
  }
}

/** `kill -USR2 <launcher pid>`: every regional backend that died is started again with its first env (a drill puts it back). */
async function reviveRegionalBackends(): Promise<void> {
  if (!ready || stopping) return;
  for (const [region, spec] of regionalSpecs) {
    const current = children.find((child) => child.name === region);
    if (current !== undefined && current.process.exitCode === null && current.process.signalCode === null) continue;
    const child = startChild(spec);
    try {
      await waitForHealth(region, spec.healthUrl!);
      if (!stopping && child.process.exitCode === null) console.log(`meridian: ${region} restarted, ready at ${spec.healthUrl} pid ${child.process.pid ?? '?'} (kill -USR2)`);
    } catch (cause) {
      console.error(`meridian: ${region} restarted but ${(cause as Error).message}`);
    }
  }
}

/** MERIDIAN_REGIONAL_ENV: extra env per regional backend; a malformed value stops the start with a message naming it. */
function regionalEnvOverrides(): Record<string, Record<string, string>> {
  const parsed = jsonObjectFromEnv('MERIDIAN_REGIONAL_ENV', '{"<region>": {"NAME": "value"}}');
  const known = new Set<string>(regionalBackends.map((backend) => backend.region));
  for (const [region, env] of Object.entries(parsed)) {
    if (!known.has(region)) throw new Error(`MERIDIAN_REGIONAL_ENV names ${region}, which is not one of ${[...known].join(', ')}`);
    if (!isStringMap(env)) throw new Error(`MERIDIAN_REGIONAL_ENV.${region} must map names to string values`);
  }
  return parsed as Record<string, Record<string, string>>;
}

/** MERIDIAN_GATEWAY_VARS: extra gateway vars for `wrangler dev --var`. */
function gatewayVarOverrides(): Record<string, string> {
  const parsed = jsonObjectFromEnv('MERIDIAN_GATEWAY_VARS', '{"NAME": "value"}');
  if (!isStringMap(parsed)) throw new Error('MERIDIAN_GATEWAY_VARS must map names to string values');
  return parsed;
}

function jsonObjectFromEnv(name: string, shape: string): Record<string, unknown> {
  const source = process.env[name];
  if (source === undefined || source === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch (cause) {
    throw new Error(`${name} is not JSON: ${(cause as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${name} must be ${shape}`);
  return parsed as Record<string, unknown>;
}

function isStringMap(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((entry) => typeof entry === 'string');
}

/** Signals a child's whole process group; a group that is already gone is fine. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: nothing left in the group
  }
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function stopAll(exitCode: number): Promise<never> {
  if (stopping) return new Promise(() => {});
  stopping = true;
  console.log('meridian: stopping…');
  const exits = children.map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.process.exitCode !== null || child.process.signalCode !== null) return resolve();
        child.process.once('exit', () => resolve());
        killGroup(child.process, 'SIGTERM');
        setTimeout(() => {
          killGroup(child.process, 'SIGKILL');
          resolve();
        }, stopGraceMs).unref();
      }),
  );
  await Promise.all(exits);
  console.log('meridian: stopped');
  process.exit(exitCode);
}

/** One database per jurisdiction: PGlite servers by default, or databases on DATABASE_URL's server. */
async function startDatabases(): Promise<Record<string, string>> {
  const urls: Record<string, string> = {};
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl !== undefined && serverUrl !== '') {
    const admin = postgres(serverUrl, { max: 1, connect_timeout: 10, onnotice: () => {} });
    try {
      for (const { jurisdiction } of jurisdictions) {
        const name = `meridian_${jurisdiction}`;
        const exists = await admin`SELECT 1 FROM pg_database WHERE datname = ${name}`;
        if (exists.length === 0) await admin.unsafe(`CREATE DATABASE ${name}`);
        const url = new URL(serverUrl);
        url.pathname = `/${name}`;
        urls[jurisdiction] = url.href;
      }
    } finally {
      await admin.end();
    }
    return urls;
  }
  for (const { jurisdiction, pglitePort } of jurisdictions) {
    startChild({ name: `pglite-${jurisdiction}`, command: process.execPath, args: ['cli/dev/pglite-server.ts', '--data-dir', join(dataDirectory, 'pglite', jurisdiction), '--port', String(pglitePort)], env: {} });
    urls[jurisdiction] = `postgres://postgres@127.0.0.1:${pglitePort}/postgres`;
  }
  return urls;
}

async function waitForDatabase(url: string): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await sql`SELECT 1`;
      return;
    } catch (cause) {
      if (Date.now() > deadline) throw new Error(`database ${url} did not answer: ${(cause as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, healthPollIntervalMs));
    } finally {
      await sql.end({ timeout: 1 });
    }
  }
}

async function waitForHealth(name: string, url: string): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (stopping) return;
    try {
      const response = await fetch(new URL('/healthz', url), { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not answer ${url}/healthz within ${readyTimeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, healthPollIntervalMs));
  }
}

/** Every fixed port must be free before anything starts: a half-started system is worse than a clear refusal. */
async function assertPortsFree(ports: number[]): Promise<void> {
  const busy: number[] = [];
  for (const port of ports) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (!free) busy.push(port);
  }
  if (busy.length > 0) {
    console.error(`meridian: port${busy.length > 1 ? 's' : ''} ${busy.join(', ')} ${busy.length > 1 ? 'are' : 'is'} already in use on 127.0.0.1 — is another \`npm start\` running? Stop it (Ctrl-C) and try again.`);
    process.exit(1);
  }
}

function writeDevVars(): void {
  const bindings = gatewayDevBindings();
  // .dev.vars holds the gateway's dev secrets for wrangler dev; it is git-ignored and rewritten each start.
  // dotenv takes single-quoted values literally (no escapes), which is what one-line JSON needs.
  const lines = Object.entries(bindings).map(([name, value]) => {
    if (value.includes("'") || value.includes('\n')) throw new Error(`dev binding ${name} contains a quote or newline and cannot go into .dev.vars`);
    return `${name}='${value}'`;
  });
  writeFileSync('.dev.vars', lines.join('\n') + '\n');
}

export async function startMeridian(): Promise<void> {
  const startedAt = Date.now();
  mkdirSync(join(dataDirectory, 'logs'), { recursive: true });
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  process.on('SIGUSR2', () => void reviveRegionalBackends());
  if (process.env.MERIDIAN_STOP_ON_STDIN_END === '1') {
    process.stdin.on('end', () => void stopAll(0));
    process.stdin.on('close', () => void stopAll(0));
    process.stdin.resume();
  }
  let regionalEnv: Record<string, Record<string, string>>;
  let gatewayVars: Record<string, string>;
  try {
    regionalEnv = regionalEnvOverrides();
    gatewayVars = gatewayVarOverrides();
  } catch (cause) {
    console.error(`meridian: ${(cause as Error).message}`);
    process.exit(1);
  }

  const usesPglite = process.env.DATABASE_URL === undefined || process.env.DATABASE_URL === '';
  await assertPortsFree([8787, 8079, ...regionalBackends.map((backend) => backend.port), ...(usesPglite ? jurisdictions.map((entry) => entry.pglitePort) : [])]);
  console.log('meridian: starting databases…');
  const databases = await startDatabases();
  for (const [jurisdiction, url] of Object.entries(databases)) {
    await waitForDatabase(url);
    await migrateDatabase(url);
    console.log(`meridian: database ${jurisdiction} migrated`);
  }

  startChild({ name: 'redis-bridge', command: process.execPath, args: ['cli/dev/redis-bridge.ts'], env: { PORT: '8079', ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}) }, healthUrl: bridgeUrl });
  for (const backend of regionalBackends) {
    const spec: ChildSpec = { name: backend.region, command: process.execPath, args: ['regional/server.ts'], healthUrl: `http://127.0.0.1:${backend.port}`, env: {
      // Local signer, key files created on first start, http JWKS: allowed only in this posture.
      MERIDIAN_POSTURE: 'local-dev',
      REGION: backend.region,
      JURISDICTION: backend.jurisdiction,
      PORT: String(backend.port),
      DATABASE_URL: databases[backend.jurisdiction] as string,
      // The edge's settlement-token keys, apart from its receipt key's /.well-known/jwks.json.
      EDGE_JWKS_URL: `${gatewayUrl}/.well-known/settlement-token-jwks.json`,
      SIGNER_KEY_FILE: join(dataDirectory, 'keys', `${backend.region}.json`),
      // Each log's checkpoints cosigned by the other jurisdictions' backends (regional/witness/).
      ...localWitnessEnv(backend, regionalBackends, join(dataDirectory, 'keys')),
      ...regionalEnv[backend.region],
    } };
    regionalSpecs.set(backend.region, spec);
    startChild(spec);
  }
  writeDevVars();
  startChild({
    name: 'gateway',
    command: 'node_modules/.bin/wrangler',
    args: ['dev', '--ip', '127.0.0.1', '--port', '8787', '--persist-to', join(dataDirectory, 'wrangler'), '--show-interactive-dev-session=false', '--log-level', 'log', ...Object.entries(gatewayVars).flatMap(([name, value]) => ['--var', `${name}:${value}`])],
    env: { WRANGLER_SEND_METRICS: 'false' },
    healthUrl: gatewayUrl,
  });

  const parts: Array<[string, string]> = [
    ['gateway', gatewayUrl],
    ['redis-bridge', bridgeUrl],
    ...regionalBackends.map((backend): [string, string] => [backend.region, `http://127.0.0.1:${backend.port}`]),
  ];
  try {
    await Promise.all(parts.map(([name, url]) => waitForHealth(name, url)));
  } catch (cause) {
    console.error(`meridian: ${(cause as Error).message}; logs are in ${join(dataDirectory, 'logs')}`);
    await stopAll(1);
  }
  for (const [name, url] of parts) {
    const pid = children.find((child) => child.name === name)?.process.pid;
    console.log(`  ${name.padEnd(13)} ${url.padEnd(24)} pid ${pid ?? '?'}`);
  }
  console.log(`  logs          ${join(dataDirectory, 'logs')}/`);
  console.log(`  started in    ${((Date.now() - startedAt) / 1000).toFixed(1)} s; try \`npm run demo\` in another terminal; Ctrl-C stops everything`);
  ready = true;
  console.log('meridian: ready');
}
