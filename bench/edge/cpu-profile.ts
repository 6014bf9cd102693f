/**
 * A V8 CPU profile of the Worker under Miniflare, over the DevTools protocol on workerd's
 * inspector (Miniflare's `inspectorPort`): `Profiler.start` before a case's payments are sent,
 * `Profiler.stop` once they have settled, so the profile covers admission, the windows' netting,
 * sealing and delivery, and the settlement notices. In local workerd the Worker and its Durable
 * Objects share one isolate, so one profile sees them all.
 *
 * The summary maps each sample's frame back to the source file through the bundle's source map
 * (wrangler writes index.js.map beside index.js) and prints self time per source file and per
 * function: what the Worker's own code costs, beside `(program)` and `(garbage collector)`, which
 * are the runtime's (RPC serialisation, SQLite, I/O) and the heap's. The figures are sampled: a
 * short run under load gives the shape, not the decimals.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';

/** Sampling interval asked of V8: fine enough for sub-millisecond functions, coarse enough to stay cheap. */
const samplingIntervalUs = 500;
const inspectorConnectTimeoutMs = 10_000;
const summaryRowsMax = 40;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSession {
  stop(): Promise<CpuProfile>;
  close(): void;
}

/** Connects to the first inspector target of `workerName` on `port` and starts sampling. */
export async function startCpuProfile(port: number, workerName: string): Promise<ProfileSession> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`, { signal: AbortSignal.timeout(inspectorConnectTimeoutMs) })).json()) as Array<{ id: string; title?: string; webSocketDebuggerUrl?: string }>;
  const target = targets.find((candidate) => candidate.title === workerName || candidate.id.includes(workerName)) ?? targets[0];
  const url = target?.webSocketDebuggerUrl ?? (target === undefined ? undefined : `ws://127.0.0.1:${port}/${target.id}`);
  if (url === undefined) throw new Error(`no inspector target on port ${port}: ${JSON.stringify(targets)}`);
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error(`inspector websocket ${url} did not open`)), { once: true });
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
    if (message.id === undefined) return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) waiter?.reject(new Error(message.error.message));
    else waiter?.resolve(message.result);
  });
  const send = (method: string, params: Record<string, unknown> = {}) => new Promise<unknown>((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    socket.send(JSON.stringify({ id, method, params }));
  });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
  await send('Profiler.start');
  return {
    stop: async () => ((await send('Profiler.stop')) as { profile: CpuProfile }).profile,
    close: () => socket.close(),
  };
}

/** Self time per source file and per function, from the samples, with frames mapped through the bundle's source map. */
export function summarizeCpuProfile(profile: CpuProfile, sourceMapPath: string | undefined, label: string, payments: number): string {
  const map = sourceMapPath === undefined ? undefined : loadSourceMap(sourceMapPath);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  for (const [index, id] of profile.samples.entries()) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  const byFile = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const { file, where } = originOf(node, map);
    totalUs += us;
    byFile.set(file, (byFile.get(file) ?? 0) + us);
    byFunction.set(where, (byFunction.get(where) ?? 0) + us);
  }
  const idleUs = byFile.get('(idle)') ?? 0;
  const busyUs = totalUs - idleUs;
  const lines = [`  CPU profile ${label}: ${(busyUs / 1_000).toFixed(0)} ms busy in the isolate over ${payments} payments = ${(busyUs / 1_000 / payments).toFixed(2)} ms per payment (sampled; idle left out)`];
  const table = (title: string, rows: Map<string, number>) => {
    lines.push(`  ${title}: self ms per payment, share of busy`);
    for (const [name, us] of [...rows].filter(([name]) => name !== '(idle)').sort((left, right) => right[1] - left[1]).slice(0, summaryRowsMax)) {
      lines.push(`    ${(us / 1_000 / payments).toFixed(3).padStart(7)}  ${((100 * us) / busyUs).toFixed(1).padStart(5)}%  ${name}`);
    }
  };
  table('by source file', byFile);
  table('by function', byFunction);
  return lines.join('\n');
}

export function writeCpuProfile(path: string, profile: CpuProfile): void {
  writeFileSync(path, JSON.stringify(profile));
}

function loadSourceMap(path: string): SourceMap | undefined {
  try {
    return new SourceMap(JSON.parse(readFileSync(path, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]);
  } catch {
    return undefined;
  }
}

function originOf(node: ProfileNode, map: SourceMap | undefined): { file: string; where: string } {
  const { functionName, url, lineNumber, columnNumber } = node.callFrame;
  const name = functionName === '' ? '(anonymous)' : functionName;
  if (url === '' || lineNumber < 0) return { file: name, where: name };
  const entry = map?.findEntry(lineNumber, columnNumber) as { originalSource?: string; originalLine?: number } | undefined;
  if (entry?.originalSource === undefined) return { file: url, where: `${name} ${url}:${lineNumber + 1}` };
  const file = entry.originalSource.replace(/^.*?\/(node_modules\/|workers\/|durable-objects\/|core\/|policies\/)/, '$1');
  const grouped = file.startsWith('node_modules/') ? file.split('/').slice(0, file.split('/')[1]?.startsWith('@') ? 3 : 2).join('/') : file;
  return { file: grouped, where: `${name} ${file}:${(entry.originalLine ?? 0) + 1}` };
}
