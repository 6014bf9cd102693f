/**
 * The witness's HTTP interface (c2sp.org/tlog-witness), submission prefix /v1/witness:
 *
 *   POST /v1/witness/add-checkpoint   text body (./witness.ts) → 200 cosignature line(s), text/plain
 *                                     409 text/x.tlog.size "<latest size>\n"; else problem+json:
 *                                     400 invalid-request, 403 forbidden, 404 not-found,
 *                                     413 payload-too-large, 422 inconsistent-checkpoint
 *   GET  /v1/witness                  {"name", "verifier", "logs": [origin, …]}: this witness's
 *                                     cosigner key (also in GET /v1/keys as witness_verifiers)
 *
 * No authentication beyond the checkpoint's signature, as the protocol says: anyone may submit a
 * checkpoint, and only one that the log signed and that extends the witness's record gets a
 * cosignature. The body is bounded (addCheckpointBodyBytesMax) before it is read.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ProblemError } from '../../core/problem.ts';
import { methodNotAllowed } from '../http/problems.ts';
import { addCheckpointBodyBytesMax, parseAddCheckpoint, type AddCheckpointFailure, type Witness } from './witness.ts';

export const witnessPathPrefix = '/v1/witness';
export const tlogSizeMediaType = 'text/x.tlog.size';

export interface WitnessRoutesConfig {
  witness: Witness;
  /** `<name>+<key id>+<base64(0x04 ‖ key)>` */
  verifier: string;
  origins: readonly string[];
}

function failureResponse(reason: AddCheckpointFailure, instance: string): Response {
  switch (reason.kind) {
    case 'old-size-mismatch':
    case 'fork-at-same-size':
      return new Response(`${reason.latestSize}\n`, { status: 409, headers: { 'content-type': tlogSizeMediaType } });
    case 'malformed-request':
    case 'old-size-beyond-checkpoint':
      return new ProblemError('invalid-request', reason.detail, { reason: reason.kind }).getResponse(instance);
    case 'unknown-origin':
      return new ProblemError('not-found', reason.detail).getResponse(instance);
    case 'unverified-checkpoint':
      return new ProblemError('forbidden', reason.detail).getResponse(instance);
    case 'inconsistent':
      // No registered slug answers 422 for this; the witness protocol fixes the status.
      return new Response(JSON.stringify({ type: 'urn:meridian:problem:inconsistent-checkpoint', title: 'inconsistent checkpoint', status: 422, detail: reason.detail, instance }), {
        status: 422,
        headers: { 'content-type': 'application/problem+json' },
      });
  }
}

export function witnessRoutes(config: WitnessRoutesConfig): Hono {
  const routes = new Hono();
  const addPath = `${witnessPathPrefix}/add-checkpoint`;
  routes.post(
    addPath,
    bodyLimit({ maxSize: addCheckpointBodyBytesMax, onError: (c) => new ProblemError('payload-too-large', `body exceeds ${addCheckpointBodyBytesMax} bytes`).getResponse(c.req.path) }),
    async (c) => {
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      let body: string;
      try {
        body = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        throw new ProblemError('invalid-request', 'body is not UTF-8');
      }
      const request = parseAddCheckpoint(body);
      if (!request.ok) return failureResponse(request.reason, c.req.path);
      const cosigned = await config.witness.addCheckpoint(request.value);
      if (!cosigned.ok) return failureResponse(cosigned.reason, c.req.path);
      return c.body(cosigned.value, 200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    },
  );
  routes.all(addPath, methodNotAllowed(['POST']));
  routes.get(witnessPathPrefix, (c) => c.json({ name: config.witness.name, verifier: config.verifier, logs: config.origins }));
  routes.all(witnessPathPrefix, methodNotAllowed(['GET', 'HEAD']));
  return routes;
}
