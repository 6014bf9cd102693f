/** One place turns every failure into RFC 9457 problem+json. An unexpected error is a bug: logged with context, answered 500. */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { isProblemError, ProblemError } from '../../core/problem.ts';

export const problemOnError: ErrorHandler = (error, c) => {
  if (isProblemError(error)) return error.getResponse(new URL(c.req.url).pathname);
  if (error instanceof HTTPException && error.status === 413) {
    return new ProblemError('payload-too-large', error.message).getResponse(new URL(c.req.url).pathname);
  }
  console.error(JSON.stringify({ event: 'unhandled-error', method: c.req.method, path: new URL(c.req.url).pathname, error: String(error), stack: (error as Error).stack }));
  return new ProblemError('internal', 'unexpected error; it has been logged').getResponse(new URL(c.req.url).pathname);
};

export const problemNotFound: NotFoundHandler = (c: Context) =>
  new ProblemError('not-found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`).getResponse(new URL(c.req.url).pathname);
