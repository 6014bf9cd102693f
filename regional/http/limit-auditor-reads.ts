/**
 * Middleware: a bounded gate in front of the auditor API (GET /v1/settlements/{id}, /v1/log/…,
 * /v1/evidence). Those routes are unauthenticated, and one evidence request can compute hundreds of
 * proofs, so without a bound a burst of them queues without limit in front of the database.
 *
 * At most auditorReadsConcurrentMax requests run at once (matching the read pool,
 * db/client.ts readConnectionsMax, so a running request rarely waits for a connection); up to
 * auditorReadsQueuedMax more wait, each at most auditorReadQueueWaitMsMax; anything beyond is
 * answered at once with 503 problem+json and Retry-After. The settlement commit never passes
 * through this gate and uses its own pool, so auditors cannot starve it.
 *
 * `createAuditorReadLimiter` also reports the gate's saturation for /metrics (../metrics.ts):
 * requests in progress and waiting now, and those turned away (full queue or waited too long)
 * since start. A read pool that sits at its bound with refusals climbing is the signal to add a
 * backend or raise readConnectionsMax, before auditors see 503s as an outage.
 */
import type { MiddlewareHandler } from 'hono';
import { ProblemError } from '../../core/problem.ts';

export const auditorReadsConcurrentMax = 2;
export const auditorReadsQueuedMax = 8;
export const auditorReadQueueWaitMsMax = 5_000;
/** What a turned-away auditor is told to wait before asking again. */
export const auditorReadRetryAfterSeconds = 1;

export interface AuditorReadLimiterOptions {
  concurrentMax?: number;
  queuedMax?: number;
  queueWaitMsMax?: number;
}

export interface AuditorReadSaturation {
  inUse: number;
  queued: number;
  /** Turned away since start: the queue was full, or the wait exceeded queueWaitMsMax. */
  refusedTotal: number;
  concurrentMax: number;
  queuedMax: number;
}

export interface AuditorReadLimiter {
  middleware: MiddlewareHandler;
  saturation(): AuditorReadSaturation;
}

export function limitAuditorReads(options: AuditorReadLimiterOptions = {}): MiddlewareHandler {
  return createAuditorReadLimiter(options).middleware;
}

export function createAuditorReadLimiter(options: AuditorReadLimiterOptions = {}): AuditorReadLimiter {
  const concurrentMax = options.concurrentMax ?? auditorReadsConcurrentMax;
  const queuedMax = options.queuedMax ?? auditorReadsQueuedMax;
  const queueWaitMsMax = options.queueWaitMsMax ?? auditorReadQueueWaitMsMax;
  let running = 0;
  let refusedTotal = 0;
  const waiting: Array<() => void> = [];

  /** True once the caller holds a slot; false if it was turned away or waited too long. */
  function acquire(): Promise<boolean> | boolean {
    if (running < concurrentMax) {
      running++;
      return true;
    }
    if (waiting.length >= queuedMax) return false;
    return new Promise<boolean>((resolve) => {
      const grant = () => {
        clearTimeout(timer);
        running++;
        resolve(true);
      };
      const timer = setTimeout(() => {
        waiting.splice(waiting.indexOf(grant), 1);
        resolve(false);
      }, queueWaitMsMax);
      waiting.push(grant);
    });
  }

  function release(): void {
    running--;
    waiting.shift()?.();
  }

  const middleware: MiddlewareHandler = async (c, next) => {
    if (!(await acquire())) {
      refusedTotal++;
      const response = new ProblemError('unavailable', 'too many auditor requests in progress; retry later', { retry_after_s: auditorReadRetryAfterSeconds }).getResponse(c.req.path);
      response.headers.set('retry-after', String(auditorReadRetryAfterSeconds));
      return response;
    }
    try {
      await next();
    } finally {
      release();
    }
  };
  return { middleware, saturation: () => ({ inUse: running, queued: waiting.length, refusedTotal, concurrentMax, queuedMax }) };
}
