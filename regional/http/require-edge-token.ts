/**
 * Middleware: the request must carry a valid, unused edge token (see ../edge-token.ts). Token
 * problems are 401 with a stable slug; the reason goes to `detail` and the log. If the edge's
 * JWKS cannot be fetched the backend cannot judge the token at all: 503, so the edge fails over.
 * The rest of the request runs with the token in scope, so the commit refuses to COMMIT once the
 * token is about to expire (../commit.ts commitDeadlineMarginMs).
 */
import type { MiddlewareHandler } from 'hono';
import { ProblemError } from '../../core/problem.ts';
import { runWithEdgeToken, type EdgeTokenClaims, type EdgeTokenRejection, type EdgeTokenVerifier } from '../edge-token.ts';
import type { RegionalLogger } from '../logger.ts';

export type EdgeTokenVariables = { Variables: { edgeToken: EdgeTokenClaims } };

export function requireEdgeToken(verify: EdgeTokenVerifier, logger: RegionalLogger): MiddlewareHandler<EdgeTokenVariables> {
  return async (c, next) => {
    const verified = await verify(c.req.header('authorization'));
    if (!verified.ok) {
      logger.info('edge token rejected', { path: c.req.path, reason: verified.reason.kind, detail: verified.reason.detail });
      throw edgeTokenProblem(verified.reason);
    }
    c.set('edgeToken', verified.value);
    await runWithEdgeToken(verified.value, next);
  };
}

function edgeTokenProblem(reason: EdgeTokenRejection): ProblemError {
  switch (reason.kind) {
    case 'missing-token':
    case 'invalid-token':
    case 'lifetime-too-long':
    case 'missing-claim':
    case 'replayed-jti':
      return new ProblemError('unauthorized', reason.detail, { reason: reason.kind });
    case 'keys-unavailable':
      return new ProblemError('unavailable', 'cannot verify the edge token right now', { reason: reason.kind });
  }
}
