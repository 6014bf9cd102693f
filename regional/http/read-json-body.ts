/**
 * Request bodies: JSON only, at most bodyBytesMax bytes. A 200,000-leg batch (core's
 * batchLegsMax) is about 40 MB of JSON, but real windows are far smaller; 16 MiB bounds the
 * memory one delivery can take.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ProblemError } from '../../core/problem.ts';

export const bodyBytesMax = 16 * 1024 * 1024;

export function limitJsonBody(): MiddlewareHandler[] {
  return [
    async (c, next) => {
      const contentType = c.req.header('content-type') ?? '';
      if (!/^application\/json\s*(;|$)/i.test(contentType)) {
        throw new ProblemError('unsupported-media-type', `expected application/json, got ${JSON.stringify(contentType.slice(0, 100))}`);
      }
      await next();
    },
    bodyLimit({
      maxSize: bodyBytesMax,
      onError: (c) => new ProblemError('payload-too-large', `body exceeds ${bodyBytesMax} bytes`).getResponse(c.req.path),
    }),
  ];
}

export async function readJsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ProblemError('invalid-request', `body is not JSON: ${(error as Error).message}`);
  }
}
