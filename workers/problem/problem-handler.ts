/** One place turns every failure into RFC 9457 problem+json. An unexpected error is a bug: logged with context, answered 500. */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { isMisconfiguredError, type MisconfiguredError } from '../../core/gateway-key.ts';
import { isProblemError, ProblemError, problemTypePrefix } from '../../core/problem.ts';
import { allowedMethods } from '../openapi/openapi-routes.ts';
import { edgeLog } from '../observability/edge-log.ts';

export const problemOnError: ErrorHandler = (error, c) => {
  if (isProblemError(error)) return error.getResponse(new URL(c.req.url).pathname);
  if (isMisconfiguredError(error)) {
    edgeLog(c, 'error', 'gateway-misconfigured', { method: c.req.method, path: new URL(c.req.url).pathname, setting: error.setting, detail: error.message });
    return misconfiguredResponse(error, new URL(c.req.url).pathname);
  }
  if (error instanceof HTTPException && error.status === 413) {
    return new ProblemError('payload-too-large', error.message).getResponse(new URL(c.req.url).pathname);
  }
  edgeLog(c, 'error', 'unhandled-error', { method: c.req.method, path: new URL(c.req.url).pathname, error: String(error), stack: (error as Error).stack });
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

/**
 * 503 `misconfigured`: this deployment must not serve (workers/downgrade/deployment-posture.ts).
 * `detail` and `setting` name what the operator must fix; no stack, no key material. Written out
 * here because core/problem.ts has no `misconfigured` slug yet (see the edge-trust report).
 */
export function misconfiguredResponse(error: MisconfiguredError, instance: string): Response {
  const body = { type: `${problemTypePrefix}misconfigured`, title: 'misconfigured', status: 503, detail: `the gateway is misconfigured: ${error.message}`, setting: error.setting, instance };
  return new Response(JSON.stringify(body), { status: 503, headers: { 'content-type': 'application/problem+json', 'retry-after': '300' } });
}
