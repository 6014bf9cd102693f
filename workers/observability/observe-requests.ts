/**
 * Middleware, mounted first in workers/app.ts: every request gets a request id and this edge's
 * span of a W3C trace (core/trace-context.ts) — a valid incoming `traceparent` is adopted as the
 * parent, anything else (absent, malformed, all-zero ids, another version) starts a new trace —
 * and the answer echoes `traceparent` (the edge's span) and `x-request-id`.
 *
 * Afterwards it writes one JSON access line (method, path, status, duration) and counts what the
 * partner API refused: every 4xx/5xx answer of POST /v1/payments by its problem slug, and every
 * downgrade refusal (downgrade-detected, pq-required) of the payment and session routes. It reads
 * the slug from the answer itself, so a refusal a middleware answered without throwing (a body
 * limit, the deployment posture) is counted like one that went through the problem handler.
 *
 * A partner's trace id is their choice; it reaches log lines only through parseTraceparent's fixed
 * alphabet and length. An incoming `x-request-id` is not adopted: the request id names this hop.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { formatTraceparent, newRequestId, traceContextFrom, type TraceContext } from '../../core/trace-context.ts';
import type { Env } from '../env.ts';
import { edgeLog } from './edge-log.ts';
import { recordEdgeEvents, refusalEvents } from './record-edge-event.ts';

export interface RequestObservability {
  requestId: string;
  /** This edge's span: `traceId` is the whole trace's, `spanId` the edge's own. */
  trace: TraceContext;
  /** The partner's span that called us, when they sent a valid traceparent. */
  parentSpanId: string | null;
  startedAtMs: number;
}

export type ObservabilityVariables = { observability: RequestObservability };

export function observeRequests(): MiddlewareHandler<{ Bindings: Env; Variables: ObservabilityVariables }> {
  return async (c, next) => {
    const incoming = c.req.header('traceparent');
    const { context, adopted } = traceContextFrom(incoming);
    const observability: RequestObservability = {
      requestId: newRequestId(),
      trace: context,
      parentSpanId: adopted ? (incoming!.trim().split('-')[2] ?? null) : null,
      startedAtMs: Date.now(),
    };
    c.set('observability', observability);
    await next();
    echoIds(c, observability);
    const path = new URL(c.req.url).pathname;
    const events = await refusalEvents(c.req.method, path, c.res);
    if (events.length > 0) recordEdgeEvents(c, events);
    edgeLog(c, c.res.status >= 500 ? 'error' : 'info', 'request', { method: c.req.method, path, status: c.res.status, duration_ms: Date.now() - observability.startedAtMs });
  };
}

/** The request's observability, or undefined outside the middleware (a route mounted without it). */
export function observabilityOf(c: Context): RequestObservability | undefined {
  return (c.var as Partial<ObservabilityVariables>).observability;
}

/** This edge span's traceparent, for a Durable Object request's `trace` field or an outgoing call. */
export function traceparentOf(c: Context): string | undefined {
  const observability = observabilityOf(c);
  return observability === undefined ? undefined : formatTraceparent(observability.trace);
}

function echoIds(c: Context, observability: RequestObservability): void {
  const traceparent = formatTraceparent(observability.trace);
  try {
    c.res.headers.set('traceparent', traceparent);
    c.res.headers.set('x-request-id', observability.requestId);
  } catch {
    // A response with immutable headers (one passed through from a fetch): copy it once.
    c.res = new Response(c.res.body, c.res);
    c.res.headers.set('traceparent', traceparent);
    c.res.headers.set('x-request-id', observability.requestId);
  }
}
