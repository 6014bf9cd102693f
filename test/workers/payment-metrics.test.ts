/**
 * The admission counter is written in batches (workers/observability/record-edge-event.ts): the
 * payments one isolate admits within the flush delay reach EdgeMetrics summed, in one write. What a
 * user sees of that: a scrape served by the isolate counts every payment it answered, the batch
 * still waiting or not, and no count is lost or doubled across the shards. (How many writes a
 * batch saves is the edge bench's to show: a test does not time things.)
 */
import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { edgeMetricsShardName, edgeMetricsShards } from '../../durable-objects/edge-metrics/edge-metrics-contract.ts';
import { signedRequest, signInstruction } from '../../packages/partner-sdk/src/partner-client.ts';
import { ana, opsFetch } from './ops-support.ts';
import { alpha, eurPayment, gatewayUrl } from './support.ts';

const admitted = 'meridian_edge_payments_admitted_total';
const concurrentPayments = 6;

/** Each shard's count of accepted admissions, read from the objects themselves. */
async function acceptedByShard(): Promise<number[]> {
  return Promise.all(Array.from({ length: edgeMetricsShards }, async (_, shard) => {
    const rows = await env.EDGE_METRICS.get(env.EDGE_METRICS.idFromName(edgeMetricsShardName(shard))).counts();
    return rows.find((row) => row.metric === admitted && row.labels.status === 'accepted')?.value ?? 0;
  }));
}

function scrapedAccepted(exposition: string): number {
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(`${admitted}{`) && candidate.includes('status="accepted"'));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('edge metrics batching', () => {
  it('counts concurrent admissions exactly, in the scrape at once and in the shards', async () => {
    const before = await acceptedByShard();
    const answers = await Promise.all(Array.from({ length: concurrentPayments }, async (_, index) => {
      const jws = await signInstruction(alpha, eurPayment(`${20 + index}.00`));
      return SELF.fetch(await signedRequest(alpha, { method: 'POST', url: `${gatewayUrl}/v1/payments`, body: jws }));
    }));
    expect(answers.map((answer) => answer.status)).toEqual(Array(concurrentPayments).fill(202));

    // The scrape right away: it flushes this isolate's waiting batch before it reads the shards.
    const scraped = await opsFetch(ana, '/api/metrics');
    expect(scraped.status).toBe(200);
    expect(scrapedAccepted(await scraped.text())).toBe(before.reduce((sum, value) => sum + value, 0) + concurrentPayments);

    const after = await acceptedByShard();
    const grown = after.map((value, shard) => value - before[shard]!);
    expect(grown.reduce((sum, delta) => sum + delta, 0)).toBe(concurrentPayments);
    expect(grown.every((delta) => delta >= 0)).toBe(true);
  });
});
