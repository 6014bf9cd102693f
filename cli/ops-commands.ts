/**
 * Operator-side `meridian ops …` commands (DESIGN.md "Ops console and ops API").
 *
 *   meridian ops token <email> [--expires-in <seconds>] [--any]
 *       prints a dev Cloudflare Access token for <email>, signed with dev/access.json's key (its
 *       issuer and aud). An email that is not one of its operators is refused unless --any is
 *       given (a valid token for a non-operator is how the gateway's 403 is demonstrated).
 *   meridian ops audit verify [--gateway <url>] [--as <email>] [--json]
 *       fetches the whole audit log (GET /ops/api/audit, paged with ?after=<seq> until a page is
 *       empty) with a dev token and recomputes its hash chain (core/ops-changes.ts verifyAuditChain);
 *       prints the entry count and head hash, or exits 1 naming the first broken seq.
 *   meridian ops changes [--status <status>] [--gateway <url>] [--as <email>] [--json]
 *       lists two-person changes (GET /ops/api/changes): who proposed, who decided, what state.
 *
 * Dev tokens only: in production Cloudflare Access issues the tokens and no key to mint them exists
 * on an operator's machine. Errors are one readable line on stderr, never a stack trace.
 */
import { importJWK, SignJWT } from 'jose';
import { verifyAuditChain, type AuditEntry, type ChangeStatus, type ChangeView } from '../core/ops-changes.ts';
import { err, ok, type Result } from '../core/result.ts';
import { loadDevAccess, type DevAccess } from '../dev/fixtures.ts';
import { defineCommand, defineGroup, exitOk, jsonOption, type CommandContext } from './command.ts';
import { resolveGateway, unreachableMessage, type Gateway } from './gateway-reach.ts';

export const tokenLifetimeSecondsDefault = 3_600;
export const tokenLifetimeSecondsMax = 24 * 60 * 60;
export const emailCharsMax = 320;
/** Pages of /ops/api/audit fetched at most (the gateway serves up to 1,000 entries a page). */
export const auditPagesMax = 10_000;
export const auditRequestTimeoutMs = 10_000;
/** The header Cloudflare Access adds at the edge (workers/ops/access/require-operator.ts). */
const accessHeaderName = 'cf-access-jwt-assertion';
const problemDetailCharsMax = 300;

/** A failure the operator can act on: printed as one line, exit code 1 (or 2 for usage). */
export class OpsCommandError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

export interface TokenOptions {
  expiresInSeconds?: number;
  /** Allow an email that is not in dev/access.json's operators. */
  anyEmail?: boolean;
  access?: DevAccess;
  nowMs?: number;
}

/** A Cloudflare Access-style JWT for `email`, signed by the dev issuer. */
export async function devAccessToken(email: string, options: TokenOptions = {}): Promise<string> {
  const access = options.access ?? loadDevAccess();
  if (email.length > emailCharsMax || !/^[^\s@]+@[^\s@]+$/.test(email)) throw new OpsCommandError(`"${email.slice(0, 80)}" is not an email address`, 2);
  const operators = access.operators.map((operator) => operator.toLowerCase());
  if (!options.anyEmail && !operators.includes(email.toLowerCase())) {
    throw new OpsCommandError(`${email} is not a dev operator (dev/access.json operators: ${access.operators.join(', ')}); add --any to mint a token the gateway will answer 403 forbidden`);
  }
  const lifetime = options.expiresInSeconds ?? tokenLifetimeSecondsDefault;
  if (!Number.isSafeInteger(lifetime) || lifetime < 1 || lifetime > tokenLifetimeSecondsMax) throw new OpsCommandError(`--expires-in must be 1…${tokenLifetimeSecondsMax} seconds`, 2);
  const nowSeconds = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const key = await importJWK(access.private_jwk, 'EdDSA');
  return new SignJWT({ email, type: 'app', identity_nonce: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'EdDSA', kid: access.private_jwk.kid })
    .setIssuer(access.issuer)
    .setAudience(access.aud)
    .setSubject(crypto.randomUUID())
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + lifetime)
    .sign(key);
}

export type AuditBreak = { kind: 'audit-chain-broken'; seq: number; stated_seq: unknown; detail: string };

/**
 * Verifies a whole audit log with verifyAuditChain and, when it is broken, names the seq of the
 * first broken entry by its position (entry i must be seq i + 1): an entry whose own `seq` was
 * altered is then still named by the seq it should have had, not by the altered value.
 */
export function verifyAuditEntries(entries: readonly AuditEntry[]): Result<{ entries: number; head: string }, AuditBreak> {
  const verified = verifyAuditChain(entries);
  if (verified.ok) return verified;
  // verifyAuditChain stops at the first failing entry f. Every entry before f is numbered right, so
  // either f is the first misnumbered entry (the prefix before it verifies) or f's own seq is right.
  const misnumbered = entries.findIndex((entry, index) => entry.seq !== index + 1);
  const brokenAt = misnumbered !== -1 && verifyAuditChain(entries.slice(0, misnumbered)).ok ? misnumbered : verified.reason.seq - 1;
  return err({ kind: 'audit-chain-broken', seq: brokenAt + 1, stated_seq: entries[brokenAt]?.seq, detail: verified.reason.detail });
}

type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Every audit entry, in order, paged with `?after=<last seq>` until a page comes back empty. */
export async function fetchAuditEntries(gateway: Gateway, token: string, fetchFn: FetchLike = fetch): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  let after = 0;
  for (let page = 0; page < auditPagesMax; page++) {
    const url = new URL('/ops/api/audit', gateway.url);
    url.searchParams.set('after', String(after));
    const body = await getJson(url.href, gateway, token, fetchFn);
    const pageEntries = (body as { entries?: unknown }).entries;
    if (!Array.isArray(pageEntries) || !pageEntries.every((entry) => typeof entry === 'object' && entry !== null && !Array.isArray(entry))) {
      throw new OpsCommandError(`${url.href} did not answer {"entries": [{…}, …]}`);
    }
    if (pageEntries.length === 0) return entries;
    entries.push(...(pageEntries as AuditEntry[]));
    const last = (pageEntries[pageEntries.length - 1] as { seq?: unknown }).seq;
    // A last seq that does not advance cannot be paged past; the chain is broken there, and verifying what we have names it.
    if (typeof last !== 'number' || !Number.isSafeInteger(last) || last <= after) return entries;
    after = last;
  }
  throw new OpsCommandError(`the audit log has more than ${auditPagesMax} pages; refusing to fetch further`);
}

async function getJson(url: string, gateway: Gateway, token: string, fetchFn: FetchLike): Promise<unknown> {
  let response: Response;
  try {
    response = await fetchFn(url, { headers: { [accessHeaderName]: token, accept: 'application/json' }, signal: AbortSignal.timeout(auditRequestTimeoutMs) });
  } catch (cause) {
    throw new OpsCommandError(unreachableMessage(cause, gateway) ?? `GET ${url}: ${(cause as Error).message}`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new OpsCommandError(`${url} answered HTTP ${response.status} with a body that is not JSON`);
  }
  if (!response.ok) {
    const problem = body as { type?: unknown; detail?: unknown };
    throw new OpsCommandError(`${url} answered HTTP ${response.status} ${String(problem.type ?? '')}: ${String(problem.detail ?? '').slice(0, problemDetailCharsMax)}`);
  }
  if (typeof body !== 'object' || body === null) throw new OpsCommandError(`${url} did not answer a JSON object`);
  return body;
}

const gatewayOptions = {
  gateway: { type: 'string', valueName: 'url', description: "the gateway (default: MERIDIAN_GATEWAY, else npm start's)" },
  as: { type: 'string', valueName: 'email', description: 'the dev operator the token is minted for (default: the first in dev/access.json)' },
} as const;

/**
 * Runs an ops API call with a dev operator token; OpsCommandError becomes its one line (exit 1,
 * or 2 for usage), the gateway unreachable included.
 */
async function asOperator(values: { gateway?: string; as?: string }, context: CommandContext, work: (gateway: Gateway, token: string) => Promise<number>): Promise<number> {
  const gateway = await resolveGateway(context.io, values.gateway);
  if (gateway === undefined) return context.usageError(`${values.gateway === undefined ? 'MERIDIAN_GATEWAY' : '--gateway'} is not an http(s) URL`);
  return reportingOpsErrors(context, async () => work(gateway, await devAccessToken(values.as ?? loadDevAccess().operators[0]!)));
}

/** Runs `work`; an OpsCommandError becomes its one line (exit 2 for usage, else 1), anything else is a bug. */
async function reportingOpsErrors(context: CommandContext, work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (cause) {
    if (!(cause instanceof OpsCommandError)) throw cause;
    return cause.exitCode === 2 ? context.usageError(cause.message) : context.failure(cause.message);
  }
}

const token = defineCommand({
  name: 'token',
  summary: 'print a dev Cloudflare Access token for an operator (signed with dev/access.json)',
  positionals: ['<email>'],
  options: {
    'expires-in': { type: 'string', valueName: 'seconds', description: `lifetime, 1…${tokenLifetimeSecondsMax} (default ${tokenLifetimeSecondsDefault})` },
    any: { type: 'boolean', description: 'allow an email that is not a dev operator (the gateway answers it 403)' },
  },
  details: 'Sign in to the local ops console at /ops/dev-sign-in with it, or send it as cf-access-jwt-assertion.',
  async run({ values, positionals }, context) {
    const expiresIn = values['expires-in'];
    if (expiresIn !== undefined && !/^[0-9]{1,6}$/.test(expiresIn)) return context.usageError(`--expires-in must be a whole number of seconds, not ${JSON.stringify(expiresIn.slice(0, 40))}`);
    return reportingOpsErrors(context, async () => {
      context.io.stdout(`${await devAccessToken(positionals[0]!, { anyEmail: values.any === true, ...(expiresIn === undefined ? {} : { expiresInSeconds: Number(expiresIn) }) })}\n`);
      return exitOk;
    });
  },
});

const auditVerify = defineCommand({
  name: 'verify',
  summary: "fetch the ops audit log (/ops/api/audit) and recompute its hash chain",
  options: { ...jsonOption, ...gatewayOptions },
  details: 'Exit 0 with the entry count and head hash; exit 1 naming the first broken seq.',
  async run({ values }, context) {
    return asOperator(values, context, async (gateway, accessToken) => {
      const verified = verifyAuditEntries(await fetchAuditEntries(gateway, accessToken));
      if (values.json === true) context.printJson(verified.ok ? { ok: true, ...verified.value } : { ok: false, ...verified.reason });
      if (!verified.ok) {
        const stated = verified.reason.stated_seq === verified.reason.seq ? '' : ` (the entry says seq ${JSON.stringify(verified.reason.stated_seq)})`;
        return context.failure(`audit chain broken at seq ${verified.reason.seq}${stated}: ${verified.reason.detail}`);
      }
      if (values.json !== true) context.io.stdout(`audit chain ok: ${verified.value.entries} entries, head ${verified.value.head}\n`);
      return exitOk;
    });
  },
});

/** ChangeStatus's members, for --status's check and help (the gateway checks it again). */
const changeStatuses = ['proposed', 'applied', 'rejected', 'expired'] as const satisfies readonly ChangeStatus[];

const changes = defineCommand({
  name: 'changes',
  summary: 'list two-person changes (/ops/api/changes): kind, state, who proposed and who decided',
  options: { ...jsonOption, ...gatewayOptions, status: { type: 'string', valueName: 'status', description: `only changes in this state: ${changeStatuses.join(', ')}` } },
  async run({ values }, context) {
    const wanted = values.status;
    if (wanted !== undefined && !(changeStatuses as readonly string[]).includes(wanted)) return context.usageError(`--status must be one of ${changeStatuses.join(', ')}`);
    return asOperator(values, context, async (gateway, accessToken) => {
      const url = new URL('/ops/api/changes', gateway.url);
      if (wanted !== undefined) url.searchParams.set('status', wanted);
      const listed = (await getJson(url.href, gateway, accessToken, fetch)) as { changes?: unknown };
      if (!Array.isArray(listed.changes)) return context.failure(`${url.href} did not answer {"changes": […]}`);
      const rows = listed.changes as ChangeView[];
      if (values.json === true) context.printJson({ changes: rows });
      else context.io.stdout(rows.length === 0 ? 'no changes\n' : `${rows.map(changeLine).join('\n')}\n`);
      return exitOk;
    });
  },
});

function changeLine(change: ChangeView): string {
  const decided = change.decided_by === null ? '' : `; ${change.status} by ${change.decided_by} at ${change.decided_at}`;
  return `${change.id}  ${change.status.padEnd(8)} ${change.kind.padEnd(22)} proposed by ${change.proposed_by} at ${change.proposed_at}${decided}`;
}

export const opsGroup = defineGroup({
  name: 'ops',
  summary: 'operator tools: dev Access tokens, the ops audit chain, two-person changes',
  children: [token, defineGroup({ name: 'audit', summary: 'the ops audit log', children: [auditVerify] }), changes],
});
