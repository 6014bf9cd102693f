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

export function limitAuditorReads(options: AuditorReadLimiterOptions = {}): MiddlewareHandler {
  const concurrentMax = options.concurrentMax ?? auditorReadsConcurrentMax;
  const queuedMax = options.queuedMax ?? auditorReadsQueuedMax;
  const queueWaitMsMax = options.queueWaitMsMax ?? auditorReadQueueWaitMsMax;
  let running = 0;
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

  return async (c, next) => {
    if (!(await acquire())) {
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
}
