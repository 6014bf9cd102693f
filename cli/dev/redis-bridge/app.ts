/**
 * The bridge's HTTP surface: the part of the Upstash REST API that @upstash/redis uses.
 *
 *   GET  /healthz      → 200 {"status":"ok","backend":…} (no token; for the dev launcher)
 *   POST /             one command        → 200 {"result":…} | 400 {"error":…}
 *   POST /pipeline     commands in order  → 200 [{"result":…} | {"error":…}, …]
 *   POST /multi-exec   one transaction    → 200 [entries] | 400 {"error":"EXECABORT …"}
 *
 * Every POST needs `Authorization: Bearer <token>` (or `?_token=`, as Upstash allows); without
 * it: 401 {"error":"Unauthorized"}, Upstash's answer. Every error body has Upstash's shape
 * `{"error": "…"}`, which @upstash/redis turns into an UpstashError carrying the text.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { RedisBackend } from './backend.ts';
import { parseCommandBody, parseCommandListBody } from './request-body.ts';
import { encodeEntries, encodeEntry, encodeError, responseEncodingOf } from './response-body.ts';

/** Largest request body accepted (Upstash's own default limit is larger; dev traffic is tiny). */
export const requestBytesMax = 1024 * 1024;
/** Commands per /pipeline or /multi-exec; @upstash/redis auto-pipelines at most 1,000 at a time. */
export const pipelineCommandsMax = 1_000;

export interface BridgeAppOptions {
  backend: RedisBackend;
  token: string;
  log: (line: string) => void;
}

export function createBridgeApp(options: BridgeAppOptions): Hono {
  const { backend } = options;
  const tokenMatches = tokenVerifier(options.token);
  const app = new Hono();

  app.get('/healthz', async (c) => {
    const health = await backend.health();
    if (health.kind === 'healthy') return c.json({ status: 'ok', backend: backend.kind });
    return c.json({ status: 'unavailable', backend: backend.kind, error: health.reason }, 503);
  });

  app.use('*', bodyLimit({ maxSize: requestBytesMax, onError: (c) => jsonBody(c, 413, encodeError(`ERR request body larger than ${requestBytesMax} bytes`)) }));
  app.use('*', async (c, next) => {
    if (!tokenMatches(bearerToken(c.req.header('authorization')) ?? c.req.query('_token'))) {
      return jsonBody(c, 401, encodeError('Unauthorized'));
    }
    await next();
  });

  app.post('/', async (c) => {
    const command = parseCommandBody(await c.req.text());
    if (command.kind === 'malformed') return jsonBody(c, 400, encodeError(command.message));
    const reply = await backend.execute(command.value);
    return jsonBody(c, reply.kind === 'error' ? 400 : 200, encodeEntry(reply, responseEncodingOf(c.req.header('upstash-encoding'))));
  });

  app.post('/pipeline', async (c) => {
    const commands = parseCommandListBody(await c.req.text(), pipelineCommandsMax);
    if (commands.kind === 'malformed') return jsonBody(c, 400, encodeError(commands.message));
    const replies = await backend.executePipeline(commands.value);
    return jsonBody(c, 200, encodeEntries(replies, responseEncodingOf(c.req.header('upstash-encoding'))));
  });

  app.post('/multi-exec', async (c) => {
    const commands = parseCommandListBody(await c.req.text(), pipelineCommandsMax);
    if (commands.kind === 'malformed') return jsonBody(c, 400, encodeError(commands.message));
    const outcome = await backend.executeTransaction(commands.value);
    if (outcome.kind === 'aborted') return jsonBody(c, 400, encodeError(outcome.message));
    return jsonBody(c, 200, encodeEntries(outcome.replies, responseEncodingOf(c.req.header('upstash-encoding'))));
  });

  app.notFound((c) => jsonBody(c, 404, encodeError(`ERR no such endpoint: ${c.req.method} ${c.req.path}`)));
  app.onError((error, c) => {
    if (isBackendUnavailable(error)) {
      options.log(`redis-bridge: ${error.message}`);
      return jsonBody(c, 503, encodeError(`ERR ${error.message}`));
    }
    options.log(`redis-bridge: internal error on ${c.req.method} ${c.req.path}: ${error.stack ?? error.message}`);
    return jsonBody(c, 500, encodeError('ERR internal bridge error (logged)'));
  });
  return app;
}

function jsonBody(c: Context, status: 200 | 400 | 401 | 404 | 413 | 500 | 503, json: string): Response {
  return c.body(json, status, { 'content-type': 'application/json' });
}

function isBackendUnavailable(error: Error): boolean {
  return (error as { kind?: unknown }).kind === 'backend-unavailable';
}

function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

/** Compares digests in constant time, so response timing does not leak the token's prefix. */
function tokenVerifier(expectedToken: string): (presented: string | undefined) => boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  const expectedDigest = digest(expectedToken);
  return (presented) => presented !== undefined && timingSafeEqual(digest(presented), expectedDigest);
}
