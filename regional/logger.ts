/**
 * JSON-lines logs: one object per line, `info` on stdout and `error` on stderr:
 *
 *   {"at":"<RFC 3339>","level":"info"|"error","msg":"…","service":"regional","region":"eu-1",
 *    "request_id":"…","trace_id":"…","span_id":"…", …context}
 *
 * Inside a request, `request_id`, `trace_id` and `span_id` (and, on a settlement delivery, the
 * `payment_trace_ids` the edge sent) come from the request's context (observability/request-context.ts),
 * so a caller never threads them through. Errors in the context are expanded (message, code, cause)
 * so the line alone is enough to act on. The fixed fields are written last: a context key can never
 * overwrite `level`, `msg` or the ids, so a value that reached a log line from a request cannot
 * pose as another level or another trace.
 */
import { currentRequestContext } from './observability/request-context.ts';

export interface RegionalLogger {
  info(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

export type LogLevel = 'info' | 'error';

/** The JSON line `consoleLogger` writes, without the trailing newline. */
export function logLine(region: string, level: LogLevel, message: string, context: Record<string, unknown> = {}, at: Date = new Date()): string {
  const request = currentRequestContext();
  const fixed: Record<string, unknown> = { at: at.toISOString(), level, msg: message, service: 'regional', region };
  if (request !== undefined) {
    fixed.request_id = request.requestId;
    fixed.trace_id = request.trace.traceId;
    fixed.span_id = request.trace.spanId;
    if (request.paymentTraceIds.length > 0) fixed.payment_trace_ids = request.paymentTraceIds;
  }
  return JSON.stringify({ ...fixed, ...context, ...fixed }, errorReplacer);
}

export function consoleLogger(region: string): RegionalLogger {
  return {
    info: (message, context) => console.log(logLine(region, 'info', message, context)),
    error: (message, context) => console.error(logLine(region, 'error', message, context)),
  };
}

export const silentLogger: RegionalLogger = { info: () => {}, error: () => {} };

const causeDepthMax = 4;

export function describeError(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error)) return error;
  const described: Record<string, unknown> = { name: error.name, message: error.message };
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) described.code = code;
  if (error.cause !== undefined && depth < causeDepthMax) described.cause = describeError(error.cause, depth + 1);
  if (depth === 0 && error.stack !== undefined) described.stack = error.stack.split('\n').slice(1, 6).map((frame) => frame.trim());
  return described;
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return describeError(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}
