/**
 * GET /ops/api/metrics's body: the edge's figures in Prometheus text exposition format 0.0.4.
 *
 * Counters (events, summed over the EdgeMetrics shards; record-edge-event.ts):
 *   meridian_edge_payments_admitted_total{status}        accepted | held
 *   meridian_edge_payments_refused_total{slug}           by problem slug
 *   meridian_edge_downgrade_events_total{slug,route}
 * Gauges (state, read from the windows at scrape, per corridor × jurisdiction):
 *   meridian_edge_window_open_payments                   payments in parts still open (taking payments)
 *   meridian_edge_window_last_legs                       legs of the newest sealed or settled window: the window size
 *   meridian_edge_outbox_depth                           sealed batches not yet settled (waiting in the outbox)
 *   meridian_edge_outbox_oldest_seconds                  how long the oldest of them has been due (0 when none)
 *   meridian_edge_scrape_errors{source}                  objects that did not answer this scrape (window | metrics-shard)
 *
 * A scrape reads 16 counter shards and, per corridor × jurisdiction, the coordinator and each
 * shard's intake (bounded like the windows view). An object that does not answer is counted in
 * meridian_edge_scrape_errors and its series are left out — never a 5xx, never a made-up zero.
 */
import { corridorWindowName } from '../../core/corridor-window-contract.ts';
import { coordinatorShard } from '../../core/netting-window.ts';
import { controlObjectName } from '../../durable-objects/env.ts';
import { edgeMetricsShardName, edgeMetricsShards, type EdgeCounterRow } from '../../durable-objects/edge-metrics/edge-metrics-contract.ts';
import { durableObjectFor } from '../../durable-objects/jurisdiction.ts';
import type { Env } from '../env.ts';
import { mapBounded } from '../ops/views/bounded-work.ts';
import { metricDefinitions } from './edge-metric-names.ts';
import { flushEdgeEvents } from './record-edge-event.ts';

export const prometheusContentType = 'text/plain; version=0.0.4; charset=utf-8';
/** Windows read per coordinator and intake rows per shard: in-flight windows are the newest. */
export const metricsWindowsDescribedMax = 200;
const corridorsConcurrencyMax = 4;
const shardsConcurrencyMax = 8;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export async function edgeMetricsExposition(env: Env, nowMs: number = Date.now()): Promise<string> {
  await flushEdgeEvents(env);
  const [counters, windows] = await Promise.all([counterSamples(env), windowSamples(env, nowMs)]);
  const samples = [...counters.samples, ...windows.samples];
  samples.push({ name: 'meridian_edge_scrape_errors', labels: { source: 'metrics-shard' }, value: counters.errors });
  samples.push({ name: 'meridian_edge_scrape_errors', labels: { source: 'window' }, value: windows.errors });
  return render(samples);
}

async function counterSamples(env: Env): Promise<{ samples: Sample[]; errors: number }> {
  const shards = Array.from({ length: edgeMetricsShards }, (_, shard) => shard);
  const answers = await Promise.all(
    shards.map((shard) => env.EDGE_METRICS.get(env.EDGE_METRICS.idFromName(edgeMetricsShardName(shard))).counts().then((rows: EdgeCounterRow[]) => rows, () => undefined)),
  );
  const sums = new Map<string, Sample>();
  for (const row of answers.flatMap((rows) => rows ?? [])) {
    const key = `${row.metric}${JSON.stringify(row.labels)}`;
    const sample = sums.get(key) ?? { name: row.metric, labels: row.labels, value: 0 };
    sample.value += row.value;
    sums.set(key, sample);
  }
  return { samples: [...sums.values()], errors: answers.filter((rows) => rows === undefined).length };
}

async function windowSamples(env: Env, nowMs: number): Promise<{ samples: Sample[]; errors: number }> {
  const directory = await env.CONTROL.get(env.CONTROL.idFromName(controlObjectName)).corridorDirectory();
  const pairs = directory.corridors.flatMap((corridor) => corridor.jurisdictions.map((jurisdiction) => ({ id: corridor.id, shards: corridor.shards, jurisdiction })));
  const perPair = await mapBounded(pairs, corridorsConcurrencyMax, async ({ id, shards, jurisdiction }) => {
    const stub = (shard: number) => durableObjectFor(env, env.CORRIDOR_WINDOW, jurisdiction, corridorWindowName(id, jurisdiction, shard));
    try {
      const [summaries, intake] = await Promise.all([
        stub(coordinatorShard).describeWindows(metricsWindowsDescribedMax),
        mapBounded(Array.from({ length: shards }, (_, shard) => shard), shardsConcurrencyMax, (shard) => stub(shard).describeIntake(metricsWindowsDescribedMax)).then((rows) => rows.flat()),
      ]);
      const labels = { corridor: id, jurisdiction };
      const sealed = summaries.filter((summary) => summary.state === 'sealed');
      const lastClosed = summaries.find((summary) => summary.state === 'sealed' || summary.state === 'settled');
      const oldestDueMs = Math.min(...sealed.map((summary) => summary.end_ms));
      return [
        { name: 'meridian_edge_window_open_payments', labels, value: intake.filter((row) => row.state === 'open').reduce((sum, row) => sum + row.payment_count, 0) },
        { name: 'meridian_edge_window_last_legs', labels, value: lastClosed?.leg_count ?? 0 },
        { name: 'meridian_edge_outbox_depth', labels, value: sealed.length },
        { name: 'meridian_edge_outbox_oldest_seconds', labels, value: sealed.length === 0 ? 0 : Math.max(0, (nowMs - oldestDueMs) / 1000) },
      ] satisfies Sample[];
    } catch {
      return undefined;
    }
  });
  return { samples: perPair.flatMap((samples) => samples ?? []), errors: perPair.filter((samples) => samples === undefined).length };
}

function render(samples: readonly Sample[]): string {
  const lines: string[] = [];
  for (const definition of metricDefinitions) {
    lines.push(`# HELP ${definition.name} ${definition.help}`, `# TYPE ${definition.name} ${definition.type}`);
    for (const sample of samples.filter((candidate) => candidate.name === definition.name)) {
      const labels = Object.entries(sample.labels).map(([key, value]) => `${key}="${escapeLabelValue(value)}"`);
      lines.push(`${sample.name}${labels.length === 0 ? '' : `{${labels.join(',')}}`} ${sample.value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Exposition format: backslash, double quote and line feed are escaped in label values. */
function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
