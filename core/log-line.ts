/**
 * One JSON log line, the shape every part of Meridian writes (edge Worker, Durable Objects,
 * regional backends — regional/logger.ts writes the same fields):
 *
 *   {"at":"<RFC 3339>","level":"info"|"warn"|"error","msg":"…","service":"…",
 *    "request_id":"…","trace_id":"…","span_id":"…", …fields}
 *
 * The fixed fields are written last, so a field that came from a request can never pose as
 * another level, message or trace. No runtime imports: `console` is the one sink both runtimes
 * share (Workers Logs and Logpush collect it at the edge; stdout/stderr in Node).
 */
import { childTraceContext, parsePaymentTraceIds, parseTraceparent, type TraceContext } from './trace-context.ts';

export type LogLevel = 'info' | 'warn' | 'error';

export interface LogIds {
  request_id?: string;
  trace_id?: string;
  span_id?: string;
  /** The span of the hop that called this one, when the line is written by a callee (a Durable Object). */
  parent_span_id?: string;
}

export function jsonLogLine(level: LogLevel, message: string, service: string, ids: LogIds, fields: Record<string, unknown> = {}, at: Date = new Date()): string {
  const fixed: Record<string, unknown> = { at: at.toISOString(), level, msg: message, service };
  for (const [key, value] of Object.entries(ids)) if (value !== undefined) fixed[key] = value;
  return JSON.stringify({ ...fixed, ...fields, ...fixed }, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}

export function writeLog(level: LogLevel, message: string, service: string, ids: LogIds, fields: Record<string, unknown> = {}): void {
  const line = jsonLogLine(level, message, service, ids, fields);
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
}

/**
 * A callee's own span under the caller's `traceparent` (a request field, not a header, on RPC to a
 * Durable Object): its log ids and the context to pass on. Undefined when the caller sent none or
 * an invalid one: the callee then logs without trace ids rather than inventing a disconnected trace.
 */
export function calleeSpan(traceparent: string | undefined): { context: TraceContext; ids: LogIds } | undefined {
  if (traceparent === undefined) return undefined;
  const parsed = parseTraceparent(traceparent);
  if (!parsed.ok) return undefined;
  const context = childTraceContext(parsed.value);
  return { context, ids: { trace_id: context.traceId, span_id: context.spanId, parent_span_id: parsed.value.spanId } };
}

/**
 * The log ids of the writer's own span, given the `traceparent` it sends on (a settlement
 * delivery's batch span), and the payments' trace ids it carries: the line that records the
 * regional receipt then names the same traces as the request that fetched it. Empty when absent.
 */
export function senderSpanIds(traceparent: string | undefined, paymentTraceIds?: string | null): { ids: LogIds; paymentTraceIds: string[] } {
  const parsed = traceparent === undefined ? undefined : parseTraceparent(traceparent);
  const ids: LogIds = parsed === undefined || !parsed.ok ? {} : { trace_id: parsed.value.traceId, span_id: parsed.value.spanId };
  return { ids, paymentTraceIds: parsePaymentTraceIds(paymentTraceIds) };
}
