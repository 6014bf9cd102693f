/** The gateway: every route group mounted in one place, every failure answered as problem+json. */
import { Hono } from 'hono';
import { discoveryRoutes } from './discovery/discovery-routes.ts';
import { enforceDeploymentPosture } from './downgrade/deployment-posture.ts';
import type { Env } from './env.ts';
import { observeRequests, type ObservabilityVariables } from './observability/observe-requests.ts';
import { openApiRoutes } from './openapi/openapi-routes.ts';
import { devSignInRoutes } from './ops/console/dev-sign-in.ts';
import { opsRoutes } from './ops/ops-routes.ts';
import { paymentRoutes } from './payments/payment-routes.ts';
import { problemNotFound, problemOnError } from './problem/problem-handler.ts';
import { sessionRoutes } from './sessions/session-routes.ts';

export function createGatewayApp(): Hono<{ Bindings: Env; Variables: ObservabilityVariables }> {
  const app = new Hono<{ Bindings: Env; Variables: ObservabilityVariables }>();
  app.onError(problemOnError);
  app.notFound(problemNotFound);
  // First: a request id and the edge's span of the W3C trace for everything below, echoed on every answer, refusals counted.
  app.use('*', observeRequests());
  // Outside local-dev, dev keys and plain-http backends make every request a 503 misconfigured, naming the setting.
  app.use('*', enforceDeploymentPosture());
  app.get('/healthz', (c) => c.json({ status: 'ok', gateway_id: c.env.GATEWAY_ID }));
  app.route('/.well-known', discoveryRoutes());
  app.route('/', openApiRoutes());
  app.route('/v1/sessions', sessionRoutes());
  app.route('/v1/payments', paymentRoutes());
  // Local-dev only (404 elsewhere), before the Access gate: paste a dev token, get the CF_Authorization cookie.
  app.route('/ops/dev-sign-in', devSignInRoutes());
  app.route('/ops', opsRoutes());
  return app;
}
