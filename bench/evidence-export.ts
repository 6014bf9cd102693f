/**
 * Evidence export and offline verification for the last `minutes` (default 60): how long the
 * export takes, how many batches, instructions and items it holds, and how long verification
 * takes. Target (issue #12): an hour of traffic exports in under a minute locally. Appends to
 * bench/results/evidence-export.jsonl.
 *
 *   node_modules/.bin/node bench/evidence-export.ts [minutes]
 *       against the running local system (`npm start`, under the port lock): whatever traffic it saw
 *   node_modules/.bin/node bench/evidence-export.ts --seed [payments_per_s] [minutes]
 *       seeds an hour of traffic first, then exports it (default 50 payments/s for 60 minutes)
 *
 * What "an hour of traffic" is in --seed mode: the rate the local gateway sustains through one
 * shard (bench/results/ingest.jsonl: 52 payments/s at 16 in flight) for the whole hour, 180,000
 * payments, settled in 2-s netting windows (dev/corridors.json) of one corridor in each of two
 * jurisdictions: 3,600 batches of 50 FX payments (100 legs) each. Seeded through the real write
 * paths where they are Node's: every batch is committed by a real regional backend (POST
 * /v1/settlements: edge token, SERIALIZABLE commit, log leaf, signed receipt) on PGlite or
 * PostgreSQL (DATABASE_URL), with eu-1 and eu-2 sharing the eu log and every checkpoint cosigned by
 * the other jurisdiction's witnesses (test/evidence/evidence-world.ts). The edge's side — each
 * payment's partner-signed instruction JWS and the gateway's acceptance receipt — is produced as the
 * edge produces it, with the dev keys, and served in the ops API's shape with its page size (200
 * rows), because the edge runs only in workerd and 180,000 payments through it would take the hour
 * itself. Requests are routed in-process to the apps (no sockets), so the figures are the handlers'
 * and the exporter's work.
 *
 * Faster than real time: the seeder commits the hour's volume as fast as the two logs take it (one
 * batch in flight per log: two commits racing for one log's next index are a SERIALIZABLE
 * conflict, not load), so an hour's volume is seeded in minutes. The output and the record say so
 * (`seeding.wall_clock_traffic: false`, `seeding.seed_s`); the exported period spans the seeding,
 * and `figures.period_holds_all_seeded` checks that the bundle holds every seeded batch and
 * instruction. Export and verify are timed in wall seconds and in this process's CPU seconds
 * (worker threads included), with the load average beside them: on a shared machine only the CPU
 * figures compare between runs. The SBOM section is build/sbom's (`npm run sbom`), or generated
 * first into a scratch directory, so the bundle is complete and verifies.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { devAccessToken } from '../cli/ops-commands.ts';
import { devEvidenceKeyFile, localBackends } from '../cli/evidence/evidence-commands.ts';
import { generateSboms } from '../cli/evidence/sbom.ts';
import { exportBundle, sbomDirectoryDefault, type ExportOptions } from '../cli/evidence/export.ts';
import { inPool } from '../cli/evidence/http-source.ts';
import { verifyBundle } from '../cli/evidence/verify.ts';
import { gatewayUrl } from '../cli/dev/launcher.ts';
import { loadOrCreateLocalSigner } from '../regional/signer/local-signer.ts';
import { startEvidenceWorld } from '../test/evidence/evidence-world.ts';
import { recordResult, round } from './machine.ts';

const seedMode = process.argv[2] === '--seed';
const windowDurationS = 2;
/** The edge's instructions view page (workers/ops/views/instructions-view.ts instructionsPageRows). */
const edgeInstructionsPageRows = 200;
const seedAttemptsMax = 5;

const seconds = (startedMs: number) => round((performance.now() - startedMs) / 1000, 2);
/** This process's CPU seconds since `since` (process.cpuUsage: every thread, the verifier's workers included). */
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return round((used.user + used.system) / 1e6, 2);
};
const load1m = () => round(loadavg()[0]!, 2);

function progressLine(startedMs: number): (message: string) => void {
  return (message) => process.stderr.write(`[${seconds(startedMs).toFixed(1)} s] ${message}\n`);
}

/**
 * The backend answers 503 when its SERIALIZABLE retries ran out (40001 from the other lane's
 * commits in the same database on this loaded machine); the edge's outbox delivers again, and so
 * does the seeder (a fresh batch: the refused one was not committed).
 */
async function settleRetrying(settle: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await settle();
    } catch (error) {
      if (attempt >= seedAttemptsMax || !/HTTP 503/.test((error as Error).message)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}

/** build/sbom (what `npm run sbom` writes and the CLI exports) when it holds SBOMs, else freshly generated into scratch. */
async function sbomsFor(scratch: string): Promise<string> {
  const built = await readdir(sbomDirectoryDefault).catch(() => [] as string[]);
  if (built.some((name) => name.endsWith('.cdx.json'))) return sbomDirectoryDefault;
  const generated = join(scratch, 'sbom');
  await generateSboms(process.cwd(), generated);
  return generated;
}

async function seededExport(paymentsPerSecond: number, minutes: number) {
  const database = process.env.DATABASE_URL ? 'postgresql' : 'pglite';
  const world = await startEvidenceWorld({ instructionsPageRows: edgeInstructionsPageRows, database });
  const scratch = await mkdtemp(join(tmpdir(), 'meridian-evidence-bench-'));
  try {
    // One corridor per jurisdiction, a window every 2 s; eu's windows alternate between eu-1 and eu-2.
    // One lane per log, as one corridor's windows close one after another: two commits racing for
    // one log's next index are a SERIALIZABLE conflict (40001) the edge would retry, not load.
    const lanes = [['eu-1.test', 'eu-2.test'], ['us-1.test']];
    const windowsPerLane = Math.round((minutes * 60) / windowDurationS);
    const batches = lanes.length * windowsPerLane;
    const paymentsPerBatch = Math.max(1, Math.round((paymentsPerSecond * windowDurationS) / lanes.length));
    const seedStartedMs = performance.now();
    const seedProgress = progressLine(seedStartedMs);
    const seedLoad = [load1m()];
    const from = new Date(Date.now() - 1_000).toISOString();
    let settled = 0;
    await inPool(lanes, lanes.length, async (hosts) => {
      for (let window = 0; window < windowsPerLane; window++) {
        await settleRetrying(() => world.settle(hosts[window % hosts.length]!, paymentsPerBatch));
        if (++settled % 100 === 0) seedProgress(`seeded ${settled} of ${batches} batches (${settled * paymentsPerBatch} payments), load ${load1m()}`);
        if (settled % 600 === 0) seedLoad.push(load1m());
      }
    });
    for (const cosigning of world.cosignings) await cosigning.collect();
    const seedS = seconds(seedStartedMs);
    const payments = batches * paymentsPerBatch;
    const seededAs = `${minutes} min of volume at ${paymentsPerSecond} payments/s (${payments} payments, ${batches} batches) seeded in ${round(seedS / 60, 1)} min: not wall-clock traffic`;
    process.stderr.write(`${seededAs}\n`);
    const to = new Date(Date.now() + 1_000).toISOString();
    const signer = await loadOrCreateLocalSigner({ keyFile: join(scratch, 'evidence.json') });
    const sbomDirectory = await sbomsFor(scratch);
    const options: ExportOptions = { from, to, backends: world.backends.map((backend) => `http://${backend.host}`), gateway: { url: world.gatewayUrl, token: 'operator-token' }, signer, sbomDirectory, fetch: world.fetch };
    const measured = await measure(options);
    const periodHoldsAllSeeded = measured.figures.batches === batches && measured.figures.instructions === payments;
    return {
      ...measured,
      figures: { ...measured.figures, period_holds_all_seeded: periodHoldsAllSeeded },
      seeding: { seeded_as: seededAs, wall_clock_traffic: false, payments_per_s: paymentsPerSecond, minutes, batches, payments_per_batch: paymentsPerBatch, payments, seed_s: seedS, seed_loadavg_1m: seedLoad, database },
    };
  } finally {
    await world.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

async function liveExport(minutes: number) {
  const to = new Date(Date.now() + 1_000).toISOString();
  const from = new Date(Date.now() - minutes * 60_000).toISOString();
  const signer = await loadOrCreateLocalSigner({ keyFile: devEvidenceKeyFile, createKeyFile: false });
  return measure({ from, to, backends: localBackends, gateway: { url: gatewayUrl, token: await devAccessToken('ana@meridian.example') }, signer });
}

async function measure(options: ExportOptions) {
  const exportLoad = load1m();
  const startedMs = performance.now();
  const exportCpu = process.cpuUsage();
  const bundle = await exportBundle({ ...options, progress: progressLine(startedMs) });
  const exportS = seconds(startedMs);
  const exportCpuS = cpuSeconds(exportCpu);
  const text = JSON.stringify(bundle);
  process.stderr.write(`exported in ${exportS} s (${exportCpuS} s CPU, load ${exportLoad} → ${load1m()}): ${bundle.items.length} items, ${text.length} bytes; verifying\n`);
  const verifyLoad = load1m();
  const verifyStartedMs = performance.now();
  const verifyCpu = process.cpuUsage();
  const report = await verifyBundle(text);
  const verifyS = seconds(verifyStartedMs);
  const verifyCpuS = cpuSeconds(verifyCpu);
  process.stderr.write(`verified in ${verifyS} s (${verifyCpuS} s CPU, load ${verifyLoad} → ${load1m()}): ${report.ok ? 'PASS' : `FAIL, ${report.failures.size} items`}\n`);
  const count = (kind: string) => bundle.items.filter((item) => item.kind === kind).length;
  return {
    figures: {
      export_s: exportS,
      export_cpu_s: exportCpuS,
      export_loadavg_1m: exportLoad,
      verify_s: verifyS,
      verify_cpu_s: verifyCpuS,
      verify_loadavg_1m: verifyLoad,
      batches: count('batch'),
      instructions: count('instruction'),
      items: bundle.items.length,
      bundle_bytes: text.length,
      verified: report.ok,
      failed_items: report.failures.size,
    },
    failures: [...report.failures].slice(0, 5).map(([item, reasons]) => `${item}: ${reasons.join('; ')}`),
  };
}

if (seedMode) {
  const paymentsPerSecond = Number(process.argv[3] ?? '50');
  const minutes = Number(process.argv[4] ?? '60');
  const result = await seededExport(paymentsPerSecond, minutes);
  console.log(`evidence export of ${result.seeding.seeded_as}: ${JSON.stringify(result)}`);
  recordResult('bench/results/evidence-export.jsonl', { bench: 'evidence-export', mode: 'seeded', minutes, ...result });
} else {
  const minutes = Number(process.argv[2] ?? '60');
  const result = await liveExport(minutes);
  console.log(`evidence export of the last ${minutes} min: ${JSON.stringify(result)}`);
  recordResult('bench/results/evidence-export.jsonl', { bench: 'evidence-export', mode: 'live', minutes, ...result });
}
