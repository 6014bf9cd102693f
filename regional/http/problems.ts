/**
 * The regional backend's wire format for every failure: RFC 9457 application/problem+json.
 * One onError maps everything; a ProblemError answers for itself, a lost database is a 503, and
 * anything else is a bug: logged with the request and the full error chain, answered 500.
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { isProblemError, ProblemError } from '../../core/problem.ts';
import { isConnectionError } from '../db/transaction-errors.ts';
import { describeError, type RegionalLogger } from '../logger.ts';

export function problemOnError(logger: RegionalLogger): ErrorHandler {
  return (error, c) => {
    const request = { method: c.req.method, path: c.req.path };
    if (isProblemError(error)) {
      if (error.status >= 500) logger.error(`${error.slug}: ${error.message}`, { ...request, error: describeError(error) });
      return error.getResponse(c.req.path);
    }
    if (isConnectionError(error)) {
      logger.error('database unreachable', { ...request, error: describeError(error) });
      return new ProblemError('unavailable', 'the settlement database is unreachable; retry later').getResponse(c.req.path);
    }
    logger.error('unhandled error', { ...request, error: describeError(error) });
    return new ProblemError('internal', 'internal error').getResponse(c.req.path);
  };
}

export const problemNotFound: NotFoundHandler = (c) =>
  new ProblemError('not-found', `no route for ${c.req.method} ${c.req.path}`).getResponse(c.req.path);

/** Registered with app.all() after a path's real methods, so other methods get a 405 problem. */
export function methodNotAllowed(allowedMethods: readonly string[]) {
  return (c: Context): Response => {
    const response = new ProblemError('method-not-allowed', `${c.req.method} is not allowed on ${c.req.path}`, { allow: allowedMethods }).getResponse(c.req.path);
    response.headers.set('allow', allowedMethods.join(', '));
    return response;
  };
}
