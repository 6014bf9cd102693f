/**
 * Middleware, mounted first in app.ts: every request runs inside its own context — a request id,
 * this backend's span of the caller's W3C trace (core/trace-context.ts: an incoming valid
 * `traceparent` is adopted as the parent, anything else starts a new trace), and on a settlement
 * delivery the payments' trace ids the edge listed (`meridian-payment-trace-ids`). The logger
 * (../logger.ts) reads it, so every line written while serving the request carries the ids, and
 * the commit's line names the trace of every payment it settled.
 *
 * The answer echoes `traceparent` (this backend's span) and `x-request-id`. An incoming
 * `x-request-id` is not adopted: the request id names this hop, and a caller-chosen one could
 * collide with another request's in the logs; the caller's own ids live in the trace.
 *
 * AsyncLocalStorage, not a Hono variable: the logger is called from helpers (edge-token.ts,
 * commit.ts's onRetry) that never see the Hono context.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { MiddlewareHandler } from 'hono';
import { formatTraceparent, newRequestId, parsePaymentTraceIds, paymentTraceIdsHeader, traceContextFrom, type TraceContext } from '../../core/trace-context.ts';

export interface RequestContext {
  requestId: string;
  trace: TraceContext;
  /** Whether the caller sent a valid traceparent (false: this backend started the trace). */
  traceAdopted: boolean;
  paymentTraceIds: readonly string[];
}

const storage = new AsyncLocalStorage<RequestContext>();

export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

export function traceRequests(): MiddlewareHandler {
  return async (c, next) => {
    const { context: trace, adopted } = traceContextFrom(c.req.header('traceparent'));
    const context: RequestContext = {
      requestId: newRequestId(),
      trace,
      traceAdopted: adopted,
      paymentTraceIds: parsePaymentTraceIds(c.req.header(paymentTraceIdsHeader)),
    };
    await storage.run(context, () => next());
    c.res.headers.set('traceparent', formatTraceparent(trace));
    c.res.headers.set('x-request-id', context.requestId);
  };
}
