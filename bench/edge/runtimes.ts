/**
 * The two local runtimes a Worker is benchmarked under, each started on free ports with its own
 * temporary state, so a benchmark never touches a running `npm start` or another engineer's run:
 *
 *   miniflare     the Worker bundled the way wrangler bundles it (`wrangler deploy --dry-run
 *                 --outdir`: the same esbuild step, the .cedar/.csv Text modules and the cedar
 *                 `.wasm` CompiledWasm module beside index.js), then served by Miniflare directly
 *                 with the options wrangler derives from the config (unstable_getMiniflareWorkerOptions:
 *                 compatibility date and flags, Durable Object classes, vars and .dev.vars). No dev
 *                 proxy: the runtime the targets of issue #14 use.
 *   wrangler-dev  `wrangler dev` on the same config: what `npm start` users see, the dev proxy
 *                 (a second workerd) included.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, matchesGlob } from 'node:path';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { gatewayDevBindings } from '../../dev/fixtures.ts';
import { workerdPids } from './workerd-cpu.ts';

export type RuntimeKind = 'miniflare' | 'wrangler-dev';
export const runtimeKinds: readonly RuntimeKind[] = ['miniflare', 'wrangler-dev'];

export interface RunningWorker {
  runtime: RuntimeKind;
  url: string;
  /** The workerd processes serving this Worker (under wrangler dev: the dev proxy's too). */
  workerdPids(): number[];
  /** The runtime's recent output, for an error message. */
  output(): string;
  stop(): Promise<void>;
  /** Miniflare started with --cpu-profile: workerd's inspector port, and the bundle's source map. */
  inspectorPort?: number;
  sourceMapPath?: string;
}

export const repoRoot = new URL('../..', import.meta.url).pathname;
const wranglerBin = join(repoRoot, 'node_modules/.bin/wrangler');
const readyTimeoutMs = 120_000;
const healthPollIntervalMs = 250;
const outputKeptChars = 20_000;
const stopGraceMs = 5_000;
/** EDGE_BENCH_VERBOSE=1 prints the Worker's own log lines (all but the per-request line) as they come. */
const verbose = process.env.EDGE_BENCH_VERBOSE === '1';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function waitForHealth(url: string, what: string, output: () => string, timeoutMs = readyTimeoutMs): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(new URL('/healthz', url), { signal: AbortSignal.timeout(2_000) })).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, healthPollIntervalMs));
  }
  throw new Error(`${what} did not answer ${url}/healthz within ${timeoutMs} ms:\n${output().slice(-3_000)}`);
}

export interface GatewayBackends {
  /** REGIONAL_BACKENDS: jurisdiction → backends in failover order. */
  regionalBackends: Record<string, Array<{ region: string; url: string }>>;
  upstashUrl: string;
}

/**
 * The repository's wrangler.toml in `directory`, with an absolute `main`, the given backends and
 * no [dev] section (its fixed port), plus the dev bindings in a `.dev.vars` beside it, as
 * cli/dev/launcher.ts writes them. Both runtimes read the same two files.
 */
export function writeGatewayConfig(directory: string, backends: GatewayBackends): string {
  let config = readFileSync(join(repoRoot, 'wrangler.toml'), 'utf8');
  config = config.replace(/^main = .*$/m, `main = ${JSON.stringify(join(repoRoot, 'workers/index.ts'))}`);
  config = config.replace(/^REGIONAL_BACKENDS = .*$/m, `REGIONAL_BACKENDS = '${JSON.stringify(backends.regionalBackends)}'`);
  config = config.replace(/^UPSTASH_REDIS_REST_URL = .*$/m, `UPSTASH_REDIS_REST_URL = ${JSON.stringify(backends.upstashUrl)}`);
  config = config.replace(/^\[dev\][\s\S]*?(?=^\[)/m, '');
  const path = join(directory, 'wrangler.toml');
  writeFileSync(path, config);
  const devVars = Object.entries(gatewayDevBindings()).map(([name, value]) => {
    if (value.includes("'") || value.includes('\n')) throw new Error(`dev binding ${name} cannot go into .dev.vars`);
    return `${name}='${value}'`;
  });
  writeFileSync(join(directory, '.dev.vars'), `${devVars.join('\n')}\n`);
  return path;
}

function wranglerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, WRANGLER_SEND_METRICS: 'false', PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
}

/** Runs a command to completion; rejects with its output when it fails. */
function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: wranglerEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${output.slice(-3_000)}`))));
  });
}

/** `wrangler deploy --dry-run --outdir`: the bundle wrangler would upload (index.js and its non-JS modules). */
export async function bundleWorker(configPath: string, outDirectory: string): Promise<void> {
  await run(wranglerBin, ['deploy', '--dry-run', '--config', configPath, '--env', '', '--outdir', outDirectory], dirname(configPath));
}

/**
 * Miniflare serving a bundle from bundleWorker(). Miniflare 5 takes no module rules (its v4
 * converter refuses them), so the bundle's files are listed as modules here, each typed by the
 * first of wrangler's rules for the config that matches it; files no rule names (the source map,
 * wrangler's README) are not modules.
 */
export async function startMiniflare(configPath: string, bundleDirectory: string, persistDirectory: string, inspectorPort?: number): Promise<RunningWorker> {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(configPath, '');
  const { modulesRules = [], ...options } = workerOptions;
  const files = readdirSync(bundleDirectory).sort();
  // wrangler names the entry after `main` (index.js, worker.js): the one JavaScript file of the bundle.
  const entries = files.filter((name) => name.endsWith('.js'));
  if (entries.length !== 1) throw new Error(`the bundle in ${bundleDirectory} has ${entries.length} .js files (${entries.join(', ')}), expected one entry`);
  const modules: Array<{ type: 'ESModule' | 'CommonJS' | 'Text' | 'Data' | 'CompiledWasm'; path: string }> = [{ type: 'ESModule', path: join(bundleDirectory, entries[0]!) }];
  for (const name of files) {
    const rule = modulesRules.find((candidate) => candidate.include.some((glob) => matchesGlob(name, glob)));
    if (rule !== undefined && (rule.type === 'Text' || rule.type === 'Data' || rule.type === 'CompiledWasm')) modules.push({ type: rule.type, path: join(bundleDirectory, name) });
  }
  let output = '';
  const keep = (line: string) => {
    output = (output + line + '\n').slice(-outputKeptChars);
    if (verbose && !line.includes('"msg":"request"')) console.error(`    [workerd] ${line.slice(0, 500)}`);
  };
  const before = new Set(workerdPids(process.pid));
  const miniflare = new Miniflare(convertV4MiniflareOptions({
    host: '127.0.0.1',
    port: 0,
    resourcePersistencePath: persistDirectory,
    // Only for --cpu-profile (bench/edge/cpu-profile.ts): the DevTools protocol on workerd's inspector.
    ...(inspectorPort === undefined ? {} : { inspectorPort }),
    // The Worker's request log goes here rather than to this process's stdout: the bench prints its own progress.
    handleStructuredLogs: (log) => keep(`${log.level} ${log.message}`),
    workers: [{ ...options, name: 'bench-subject', modules, modulesRoot: bundleDirectory }],
  }));
  const url = (await miniflare.ready).href.replace(/\/$/, '');
  const pids = workerdPids(process.pid).filter((pid) => !before.has(pid));
  if (pids.length === 0) throw new Error('Miniflare is ready but no new workerd process is found under this process');
  try {
    await waitForHealth(url, 'Miniflare', () => output);
  } catch (error) {
    await miniflare.dispose();
    throw error;
  }
  return { runtime: 'miniflare', url, workerdPids: () => pids, output: () => output, stop: () => miniflare.dispose(), ...(inspectorPort === undefined ? {} : { inspectorPort, sourceMapPath: join(bundleDirectory, `${entries[0]!}.map`) }) };
}

/** `wrangler dev` on free ports, persisting to its own directory, as its own process group. */
export async function startWranglerDev(configPath: string, persistDirectory: string): Promise<RunningWorker> {
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  const wrangler = spawn(
    wranglerBin,
    ['dev', '--config', configPath, '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort),
      '--persist-to', persistDirectory, '--show-interactive-dev-session=false', '--log-level', 'warn'],
    { cwd: dirname(configPath), detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: wranglerEnv() },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-outputKeptChars);
  };
  wrangler.stdout.on('data', keep);
  wrangler.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => wrangler.once('exit', () => resolve()));
  const stop = async () => {
    // Only the process group this module started: wrangler, its shim and both workerd processes.
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      try {
        if (wrangler.pid !== undefined) process.kill(-wrangler.pid, signal);
      } catch {
        return; // the group is gone
      }
      if (signal === 'SIGTERM') await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, stopGraceMs))]);
    }
  };
  try {
    await waitForHealth(url, 'wrangler dev', () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { runtime: 'wrangler-dev', url, workerdPids: () => workerdPids(wrangler.pid!), output: () => output, stop };
}
