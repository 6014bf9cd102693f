/**
 * What callers of EdgeMetrics (./edge-metrics.ts) need, with no runtime imports: the Worker and
 * Node code (the metric-name checks in test/infra/) load it without `cloudflare:workers`.
 */
export const edgeMetricsShards = 16;

export function edgeMetricsShardName(shard: number): string {
  return `edge-metrics|${shard}`;
}

export interface EdgeCounterIncrement {
  metric: string;
  labels: Record<string, string>;
  by: number;
}

export interface EdgeCounterRow {
  metric: string;
  labels: Record<string, string>;
  value: number;
}
