/** One place turns every failure into RFC 9457 problem+json. An unexpected error is a bug: logged with context, answered 500. */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { isProblemError, ProblemError } from '../../core/problem.ts';
import { allowedMethods } from '../openapi/openapi-routes.ts';

export const problemOnError: ErrorHandler = (error, c) => {
  if (isProblemError(error)) return error.getResponse(new URL(c.req.url).pathname);
  if (error instanceof HTTPException && error.status === 413) {
    return new ProblemError('payload-too-large', error.message).getResponse(new URL(c.req.url).pathname);
  }
  console.error(JSON.stringify({ event: 'unhandled-error', method: c.req.method, path: new URL(c.req.url).pathname, error: String(error), stack: (error as Error).stack }));
  return new ProblemError('internal', 'unexpected error; it has been logged').getResponse(new URL(c.req.url).pathname);
};

/**
 * No route matched. If the published contract (workers/openapi/) knows the path under other
 * methods, that is a 405 with Allow (RFC 9110 §15.5.6), not a 404: a partner who sent PUT instead
 * of POST should learn which method to use. The drift test keeps that table equal to the routes
 * the app serves, so the two cannot disagree silently.
 */
export const problemNotFound: NotFoundHandler = (c: Context) => {
  const pathname = new URL(c.req.url).pathname;
  const allow = allowedMethods(pathname);
  if (allow !== undefined) {
    const response = new ProblemError('method-not-allowed', `${c.req.method} is not allowed on ${pathname}; use ${allow.join(', ')}`, { allow }).getResponse(pathname);
    response.headers.set('allow', allow.join(', '));
    return response;
  }
  return new ProblemError('not-found', `no route for ${c.req.method} ${pathname}`).getResponse(pathname);
};
