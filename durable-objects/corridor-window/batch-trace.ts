/**
 * The trace of one settlement delivery (coordinator only): a batch nets many payments, each with
 * its own W3C trace, and one HTTP request can carry one `traceparent`. So the delivery is the
 * batch's own span under the FIRST payment's trace (a new trace when no payment carried one), and
 * every payment's trace id is named twice: in the delivery's log line here (up to
 * `batchTraceIdsLoggedMax`) and in the `meridian-payment-trace-ids` header (up to
 * paymentTraceIdsPerHeaderMax), which the regional backend writes on its commit line. Past those
 * bounds a payment's trace still leads to its batch through its own `payment placed` line
 * (batch_id), and the batch id through every later line.
 *
 * Best effort by design: a shard that does not answer within `traceCollectTimeoutMs` contributes
 * no ids, and the delivery goes ahead — observability never holds up a settlement.
 */
import { corridorWindowName, type WindowCorridor } from '../../core/corridor-window-contract.ts';
import { writeLog } from '../../core/log-line.ts';
import { childTraceContext, formatPaymentTraceIds, formatTraceparent, newTraceContext } from '../../core/trace-context.ts';
import type { DurableObjectsEnv as Env } from '../env.ts';
import { durableObjectFor } from '../jurisdiction.ts';
import type { DeliveryTrace } from './deliver-batch.ts';
import type { NettingWindowRow } from './netting-store.ts';
import type { PaymentTraceStore } from './payment-traces.ts';

export const batchTraceIdsLoggedMax = 1_000;
export const traceCollectTimeoutMs = 1_000;

export async function batchDeliveryTrace(env: Env, corridor: WindowCorridor, window: NettingWindowRow, own: PaymentTraceStore): Promise<DeliveryTrace> {
  const shards = Array.from({ length: Math.max(corridor.shards, window.shards) }, (_, shard) => shard);
  const perShard = await Promise.all(shards.map((shard) => (shard === corridor.shard ? own.traceIds(window.start_ms) : shardTraceIds(env, corridor, shard, window.start_ms))));
  const traceIds = [...new Set(perShard.flat())];
  const first = traceIds[0];
  const span = first === undefined ? newTraceContext() : childTraceContext({ traceId: first, spanId: 'ffffffffffffffff', flags: 1 });
  writeLog('info', 'settlement delivering', 'corridor-window', { trace_id: span.traceId, span_id: span.spanId }, {
    batch_id: window.batch_id,
    attempt: window.attempts + 1,
    payment_trace_count: traceIds.length,
    payment_trace_ids: traceIds.slice(0, batchTraceIdsLoggedMax),
  });
  return { traceparent: formatTraceparent(span), paymentTraceIds: formatPaymentTraceIds(traceIds) };
}

async function shardTraceIds(env: Env, corridor: WindowCorridor, shard: number, startMs: number): Promise<string[]> {
  const stub = durableObjectFor(env, env.CORRIDOR_WINDOW, corridor.jurisdiction, corridorWindowName(corridor.id, corridor.jurisdiction, shard));
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      stub.paymentTraceIds(startMs),
      new Promise<string[]>((resolve) => {
        timer = setTimeout(() => resolve([]), traceCollectTimeoutMs);
      }),
    ]);
  } catch {
    return [];
  } finally {
    clearTimeout(timer);
  }
}
