/**
 * The edge's JSON log lines (core/log-line.ts shape, service `edge`), carrying the request id,
 * trace id and span id of the request they were written for. Everything the gateway logs about a
 * request goes through here, so a trace id found in one line finds all of them.
 */
import type { Context } from 'hono';
import { writeLog, type LogIds, type LogLevel } from '../../core/log-line.ts';
import type { RequestObservability } from './observe-requests.ts';

export function edgeLogIds(observability: RequestObservability | undefined): LogIds {
  if (observability === undefined) return {};
  return {
    request_id: observability.requestId,
    trace_id: observability.trace.traceId,
    span_id: observability.trace.spanId,
    ...(observability.parentSpanId === null ? {} : { parent_span_id: observability.parentSpanId }),
  };
}

export function edgeLog(c: Context, level: LogLevel, message: string, fields: Record<string, unknown> = {}): void {
  writeLog(level, message, 'edge', edgeLogIds((c.var as { observability?: RequestObservability }).observability), fields);
}
