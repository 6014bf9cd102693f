/**
 * `npm run bench`: issue #14's figures in one run on this machine, each beside its baseline (the
 * issue's table, measured 2026-11 on the 2-core reference box) and its target, pass or fail.
 *
 *   npm run bench                    full sizes
 *   npm run bench -- --quick         small sizes (a few minutes; figures are noisier)
 *   npm run bench -- --only edge     one or more of edge,admission,settlement
 *   npm run bench -- --from-results  the table from the latest recorded lines, nothing run
 *
 * Runs, one after another as subprocesses with their own progress on this terminal:
 *   edge        bench/edge/edge.bench.ts (both runtimes, bare Worker, several partners, one partner)
 *   admission   bench/admission.bench.ts (CPU per admitted payment under Node, every stage on)
 *   settlement  bench/settlement.bench.ts (regional commit vs raw INSERT; window close → receipt);
 *               on DATABASE_URL's PostgreSQL when set, else PGlite (the bench says so, and so does
 *               the table: the baseline is PostgreSQL's)
 * and reads each one's figures from the JSON line it appended to bench/results/*.jsonl in this run.
 * Exits non-zero when a bench fails to run or records nothing; a target not met is a figure, not
 * an error (the table says FAIL).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';

const benchNames = ['edge', 'admission', 'settlement'] as const;
type BenchName = (typeof benchNames)[number];
const resultsDirectory = new URL('./results/', import.meta.url);

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string', default: benchNames.join(',') }, 'from-results': { type: 'boolean', default: false } } });
const selected = flags.only.split(',').map((name) => name.trim());
for (const name of selected) if (!(benchNames as readonly string[]).includes(name)) throw new Error(`--only: unknown bench ${name} (one of ${benchNames.join(', ')})`);

/** The command line of each bench at full and quick size. */
const commands: Record<BenchName, { script: string; args: string[]; quickArgs: string[]; results: string }> = {
  edge: { script: 'bench/edge/edge.bench.ts', args: ['--payments', '1000'], quickArgs: ['--payments', '200'], results: 'edge.jsonl' },
  admission: { script: 'bench/admission.bench.ts', args: ['1000'], quickArgs: ['200'], results: 'admission.jsonl' },
  settlement: { script: 'bench/settlement.bench.ts', args: [], quickArgs: ['--batches', '3', '--iterations', '100', '--large-iterations', '20'], results: 'settlement.jsonl' },
};

interface Row {
  figure: string;
  value: number | undefined;
  unit: string;
  baseline: string;
  target?: { op: '≥' | '≤'; bound: number };
  note?: string;
}

function resultLines(file: string): string[] {
  const path = new URL(file, resultsDirectory);
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((line) => line.trim() !== '') : [];
}

/** --from-results: the latest line each bench recorded, without running it again. */
function latestRecord(name: BenchName): Record<string, unknown> {
  const latest = resultLines(commands[name].results).at(-1);
  if (latest === undefined) throw new Error(`bench/results/${commands[name].results} has no figures yet`);
  return JSON.parse(latest) as Record<string, unknown>;
}

function runBench(name: BenchName): Promise<Record<string, unknown>> {
  const command = commands[name];
  const linesBefore = resultLines(command.results).length;
  const args = [command.script, ...(flags.quick ? command.quickArgs : command.args)];
  console.log(`\n=== ${name}: node ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code !== 0) return reject(new Error(`${name} bench exited ${signal ?? code}`));
      const appended = resultLines(command.results).slice(linesBefore);
      if (appended.length === 0) return reject(new Error(`${name} bench appended nothing to bench/results/${command.results}`));
      resolve(JSON.parse(appended.at(-1)!) as Record<string, unknown>);
    });
  });
}

/** A field the reader relies on; a bench whose line format changed fails here by name, not with NaN in the table. */
function field<T>(value: T | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`bench/results: ${what} is missing (the bench's line format changed? update bench/run-all.ts)`);
  return value;
}

interface EdgeCase { runtime: string; case: string; accepted_per_s: number; cpu_ms_per_admission: number; cpu_ms_per_payment: number; settled?: number; settled_checked?: number }
interface EdgeRatio { runtime: string; case: string; throughput_ratio: number }

function edgeRows(record: Record<string, unknown>): Row[] {
  const cases = field(record.cases as EdgeCase[] | undefined, 'edge.cases');
  const ratios = field(record.ratios as EdgeRatio[] | undefined, 'edge.ratios');
  const find = (runtime: string, name: string) => cases.find((entry) => entry.runtime === runtime && entry.case === name);
  const ratio = (runtime: string, name: string) => ratios.find((entry) => entry.runtime === runtime && entry.case === name)?.throughput_ratio;
  const settledNote = (entry: EdgeCase | undefined) => (entry?.settled_checked === undefined ? undefined : `${entry.settled}/${entry.settled_checked} sampled settled`);
  const several = find('miniflare', 'several');
  const one = find('miniflare', 'one');
  return [
    { figure: 'bare one-DO-write Worker, Miniflare: accepted/s', value: find('miniflare', 'bare')?.accepted_per_s, unit: '/s', baseline: '464' },
    { figure: 'bare one-DO-write Worker, Miniflare: workerd CPU per request', value: find('miniflare', 'bare')?.cpu_ms_per_payment, unit: 'ms', baseline: '1.3' },
    { figure: 'gateway, Miniflare, 3 partners × 3 corridors: accepted/s', value: several?.accepted_per_s, unit: '/s', baseline: '125' },
    { figure: 'gateway, Miniflare, 3×3: admission / bare throughput', value: ratio('miniflare', 'several'), unit: '', baseline: '0.27', target: { op: '≥', bound: 0.5 } },
    { figure: 'gateway, Miniflare, one partner: admission / bare throughput', value: ratio('miniflare', 'one'), unit: '', baseline: '0.30', target: { op: '≥', bound: 0.5 } },
    { figure: 'gateway, Miniflare, 3×3: workerd CPU per admitted and settled payment', value: several?.cpu_ms_per_payment, unit: 'ms', baseline: '5.2', target: { op: '≤', bound: 2 }, note: settledNote(several) },
    { figure: 'gateway, Miniflare, one partner: workerd CPU per admitted and settled payment', value: one?.cpu_ms_per_payment, unit: 'ms', baseline: '–', target: { op: '≤', bound: 2 }, note: settledNote(one) },
    { figure: 'bare Worker, wrangler dev: accepted/s', value: find('wrangler-dev', 'bare')?.accepted_per_s, unit: '/s', baseline: '115–138' },
    { figure: 'bare Worker, wrangler dev: workerd CPU per request', value: find('wrangler-dev', 'bare')?.cpu_ms_per_payment, unit: 'ms', baseline: '7.9–8.9' },
    { figure: 'gateway, wrangler dev (npm start), 3×3: accepted/s', value: find('wrangler-dev', 'several')?.accepted_per_s, unit: '/s', baseline: '48' },
    { figure: 'gateway, wrangler dev, 3×3: workerd CPU per settled payment', value: find('wrangler-dev', 'several')?.cpu_ms_per_payment, unit: 'ms', baseline: '16.6' },
    { figure: 'gateway, wrangler dev, one partner: accepted/s', value: find('wrangler-dev', 'one')?.accepted_per_s, unit: '/s', baseline: '66' },
    { figure: 'gateway, wrangler dev, one partner: workerd CPU per settled payment', value: find('wrangler-dev', 'one')?.cpu_ms_per_payment, unit: 'ms', baseline: '14.4' },
  ];
}

interface AdmissionFigure { path: string; stage: string; cpu_us_per_op: number }

function admissionRows(record: Record<string, unknown>): Row[] {
  const figures = field(record.figures as AdmissionFigure[] | undefined, 'admission.figures');
  const total = (path: string) => figures.find((figure) => figure.path.startsWith(path) && /total/.test(figure.stage))?.cpu_us_per_op;
  const ms = (us: number | undefined) => (us === undefined ? undefined : us / 1_000);
  return [
    { figure: 'CPU per admitted payment, Ed25519 path (Node, every stage)', value: ms(field(total('ed25519'), 'admission ed25519 total')), unit: 'ms', baseline: '0.69', target: { op: '≤', bound: 0.3 } },
    { figure: 'CPU per admitted payment, hybrid ML-DSA-65 path', value: ms(total('hybrid')), unit: 'ms', baseline: '5.2 (admission.jsonl, 2026-11-22)', note: 'as low as the platform allows: no numeric target' },
  ];
}

interface ReceiptLatency { legs_per_batch: number; p99_ms: number }

function settlementRows(record: Record<string, unknown>): Row[] {
  const figures = field(record.figures as { throughput?: { ratio_committed_to_raw?: number }; receipt_latency?: ReceiptLatency[] } | undefined, 'settlement.figures');
  const onPglite = record.database !== 'postgresql';
  const large = figures.receipt_latency?.filter((latency) => latency.legs_per_batch >= 10_000).at(0);
  return [
    { figure: 'regional commit / raw multi-row INSERT', value: field(figures.throughput?.ratio_committed_to_raw, 'settlement.figures.throughput.ratio_committed_to_raw'), unit: '', baseline: '0.285', target: { op: '≥', bound: 0.5 }, note: onPglite ? 'PGlite (no DATABASE_URL): baseline is PostgreSQL' : undefined },
    { figure: 'window close → signed receipt p99, 10k-leg window', value: large?.p99_ms, unit: 'ms', baseline: '–', target: { op: '≤', bound: 250 }, note: large === undefined ? 'not measured at 10k legs by this settlement bench' : undefined },
  ];
}

function verdict(row: Row): string {
  if (row.target === undefined) return '';
  if (row.value === undefined) return 'n/a';
  return (row.target.op === '≥' ? row.value >= row.target.bound : row.value <= row.target.bound) ? 'pass' : 'FAIL';
}

/** When, at which commit and under what load a record was measured (the benches write the load in two shapes). */
function provenance(name: BenchName, record: Record<string, unknown>): string {
  const machine = record.machine as { loadavg_1m?: number } | undefined;
  const load = machine?.loadavg_1m ?? (record.load_average_1m as number | undefined);
  return `${name}: ${String(record.date ?? '?')}, commit ${String(record.commit ?? '?')}, load average ${load ?? '?'}`;
}

function printSummary(rows: readonly Row[], provenances: readonly string[]): void {
  console.log(`\n=== issue #14 summary (load average now ${loadavg()[0]!.toFixed(2)}; on a shared machine the figures are upper bounds)`);
  for (const line of provenances) console.log(`  ${line}`);
  console.log('');
  console.log('| figure | measured | baseline | target | result |');
  console.log('|---|---|---|---|---|');
  for (const row of rows) {
    const measured = row.value === undefined ? '–' : `${Number(row.value.toFixed(row.value < 10 ? 2 : row.value < 100 ? 1 : 0))}${row.unit === '' ? '' : ` ${row.unit}`}`;
    const target = row.target === undefined ? '' : `${row.target.op} ${row.target.bound}${row.unit === '' || row.unit === '/s' ? '' : ` ${row.unit}`}`;
    console.log(`| ${row.figure}${row.note === undefined ? '' : ` (${row.note})`} | ${measured} | ${row.baseline} | ${target} | ${verdict(row)} |`);
  }
  const judged = rows.filter((row) => row.target !== undefined && row.value !== undefined);
  console.log(`\ntargets met: ${judged.filter((row) => verdict(row) === 'pass').length} of ${judged.length}`);
}

const readers: Record<BenchName, (record: Record<string, unknown>) => Row[]> = { edge: edgeRows, admission: admissionRows, settlement: settlementRows };
const rows: Row[] = [];
const provenances: string[] = [];
const failures: string[] = [];
for (const name of benchNames) {
  if (!selected.includes(name)) continue;
  try {
    const record = flags['from-results'] ? latestRecord(name) : await runBench(name);
    rows.push(...readers[name](record));
    provenances.push(provenance(name, record));
  } catch (error) {
    failures.push(`${name}: ${(error as Error).message}`);
  }
}
printSummary(rows, provenances);
if (failures.length > 0) {
  console.error(`\n${failures.length} bench${failures.length > 1 ? 'es' : ''} did not produce figures:\n  ${failures.join('\n  ')}`);
  process.exitCode = 1;
}
