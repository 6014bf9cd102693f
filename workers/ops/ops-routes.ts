/**
 * `/ops` (the console) and `/ops/api/*` (JSON), behind Cloudflare Access (access/require-operator.ts):
 * there is no other way in. Every sensitive change is a proposal one operator makes and a different
 * operator approves (the Control Durable Object holds the changes and their audit chain).
 */
import { Hono } from 'hono';
import type { AuditEntry, ChangeRejection, ChangeView } from '../../core/ops-changes.ts';
import type { Result } from '../../core/result.ts';
import { changeBodyBytesMax } from '../../core/ops-changes.ts';
import { ProblemError } from '../../core/problem.ts';
import { parseStrictJson } from '../../core/strict-json.ts';
import { controlObjectName } from '../../durable-objects/control/control.ts';
import type { ResidencyExceptionView } from '../../durable-objects/control/residency-exceptions.ts';
import type { Env } from '../env.ts';
import { requireOperator, type OpsVariables } from './access/require-operator.ts';
import { consoleRoutes } from './console/console-routes.ts';
import { opsOpenApiRoutes } from './openapi/ops-openapi-routes.ts';
import { metricsRoute } from './views/metrics-view.ts';
import { viewRoutes } from './views/view-routes.ts';

export type OpsApp = { Bindings: Env; Variables: OpsVariables };

/** Control's answers, as declared there: the RPC type mapping cannot carry `unknown`-valued records, so they are named here. */
type ChangeResult = Result<ChangeView, ChangeRejection>;
type ResidencyExceptionList = { now: string; exceptions: ResidencyExceptionView[] };

const changeIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const changeStatuses = ['proposed', 'applied', 'rejected', 'expired'] as const;

function control(env: Env) {
  return env.CONTROL.get(env.CONTROL.idFromName(controlObjectName));
}

/** The one place change refusals become wire slugs. */
export function changeProblem(rejection: ChangeRejection): ProblemError {
  switch (rejection.kind) {
    case 'invalid-change':
      return new ProblemError('invalid-change', rejection.detail, rejection.issues === undefined ? {} : { issues: rejection.issues });
    case 'not-found':
      return new ProblemError('not-found', rejection.detail);
    case 'four-eyes-required':
      return new ProblemError('four-eyes-required', rejection.detail);
    case 'change-expired':
      return new ProblemError('change-expired', rejection.detail);
    case 'change-not-pending':
      return new ProblemError('change-not-pending', rejection.detail);
    case 'corridor-closed':
      return new ProblemError('corridor-closed', rejection.detail);
    case 'dependency-unavailable':
      return new ProblemError('unavailable', rejection.detail);
  }
}

async function jsonBody(request: Request): Promise<unknown> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new ProblemError('unsupported-media-type', 'Content-Type must be application/json');
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length > changeBodyBytesMax) throw new ProblemError('payload-too-large', `body exceeds ${changeBodyBytesMax} bytes`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ProblemError('invalid-change', 'body is not UTF-8');
  }
  const parsed = parseStrictJson(text);
  if (!parsed.ok) throw new ProblemError('invalid-change', `body is not JSON without duplicate members: ${parsed.reason.detail}`);
  return parsed.value;
}

function changeId(raw: string): string {
  if (!changeIdPattern.test(raw)) throw new ProblemError('not-found', 'no such change');
  return raw;
}

export function opsRoutes(): Hono<OpsApp> {
  const ops = new Hono<OpsApp>();
  ops.use('*', requireOperator());

  ops.get('/api/corridors', async (c) => {
    const directory = await control(c.env).corridorDirectory();
    return c.json({ corridors: directory.corridors.map((corridor) => ({ ...corridor })) });
  });

  ops.get('/api/changes', async (c) => {
    const status = c.req.query('status');
    if (status !== undefined && !(changeStatuses as readonly string[]).includes(status)) throw new ProblemError('invalid-change', `status must be one of ${changeStatuses.join(', ')}`);
    return c.json({ changes: (await control(c.env).listChanges(status as (typeof changeStatuses)[number] | undefined)) as ChangeView[] });
  });

  ops.post('/api/changes', async (c) => {
    const proposed = (await control(c.env).proposeChange(await jsonBody(c.req.raw), c.var.operator.email)) as ChangeResult;
    if (!proposed.ok) throw changeProblem(proposed.reason);
    return c.json(proposed.value, 201);
  });

  ops.post('/api/changes/:id/approve', async (c) => {
    const decided = (await control(c.env).decideChange(changeId(c.req.param('id')), c.var.operator.email, 'approve')) as ChangeResult;
    if (!decided.ok) throw changeProblem(decided.reason);
    return c.json(decided.value);
  });

  ops.post('/api/changes/:id/reject', async (c) => {
    const decided = (await control(c.env).decideChange(changeId(c.req.param('id')), c.var.operator.email, 'reject')) as ChangeResult;
    if (!decided.ok) throw changeProblem(decided.reason);
    return c.json(decided.value);
  });

  // Live and lapsed exceptions with their time left; Control computes it on one clock, so a live
  // one's time_left_ms and a lapsed one's 0 never disagree with `now`.
  ops.get('/api/residency-exceptions', async (c) => c.json((await control(c.env).listResidencyExceptions()) as ResidencyExceptionList));

  ops.get('/api/audit', async (c) => {
    const after = Number(c.req.query('after') ?? '0');
    if (!Number.isSafeInteger(after) || after < 0) throw new ProblemError('invalid-change', 'after must be a non-negative integer');
    return c.json({ entries: (await control(c.env).auditEntries(after)) as AuditEntry[] });
  });

  viewRoutes(ops);
  ops.get('/api/metrics', metricsRoute);
  opsOpenApiRoutes(ops);
  consoleRoutes(ops);
  return ops;
}
