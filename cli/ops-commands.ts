/**
 * Operator-side `meridian ops …` subcommands (DESIGN.md "Ops console and ops API").
 *
 *   meridian ops token <email> [--expires-in <seconds>] [--any]
 *       prints a dev Cloudflare Access token for <email>, signed with dev/access.json's key (its
 *       issuer and aud). An email that is not one of its operators is refused unless --any is
 *       given (a valid token for a non-operator is how the gateway's 403 is demonstrated).
 *   meridian ops audit verify [--gateway <url>] [--as <email>]
 *       fetches the whole audit log (GET /ops/api/audit, paged with ?after=<seq> until a page is
 *       empty) with a dev token and recomputes its hash chain (core/ops-changes.ts verifyAuditChain);
 *       prints the entry count and head hash, or exits 1 naming the first broken seq.
 *
 * Dev tokens only: in production Cloudflare Access issues the tokens and no key to mint them exists
 * on an operator's machine. Errors are one readable line on stderr, never a stack trace.
 *
 * Wiring (cli/meridian.ts): `case 'ops': return runOpsCommand(args.slice(1), gateway);` and
 * `opsCommandsUsage` in the usage text.
 */
import { parseArgs } from 'node:util';
import { importJWK, SignJWT } from 'jose';
import { verifyAuditChain, type AuditEntry } from '../core/ops-changes.ts';
import { err, ok, type Result } from '../core/result.ts';
import { loadDevAccess, type DevAccess } from '../dev/fixtures.ts';

export const opsCommandsUsage = `  meridian ops token <email> [--expires-in <seconds>] [--any]   print a dev Access token (dev/access.json)
  meridian ops audit verify [--gateway <url>] [--as <email>]      fetch /ops/api/audit and verify its hash chain`;

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
export async function fetchAuditEntries(gateway: string, token: string, fetchFn: FetchLike = fetch): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  let after = 0;
  for (let page = 0; page < auditPagesMax; page++) {
    const url = new URL('/ops/api/audit', gateway);
    url.searchParams.set('after', String(after));
    const body = await getJson(url.href, token, fetchFn);
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

async function getJson(url: string, token: string, fetchFn: FetchLike): Promise<unknown> {
  let response: Response;
  try {
    response = await fetchFn(url, { headers: { [accessHeaderName]: token, accept: 'application/json' }, signal: AbortSignal.timeout(auditRequestTimeoutMs) });
  } catch (cause) {
    const reason = (cause as { cause?: { message?: string } }).cause?.message ?? (cause as Error).message;
    throw new OpsCommandError(`cannot reach ${new URL(url).origin} (${reason}); is \`npm start\` running?`);
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

/** Runs `meridian ops …`; prints readable errors and returns the exit code. */
export async function runOpsCommand(args: string[], gateway: string): Promise<number> {
  try {
    return await dispatch(args, gateway);
  } catch (cause) {
    if (cause instanceof OpsCommandError) {
      console.error(`meridian ops: ${cause.message}`);
      if (cause.exitCode === 2) console.error(`usage:\n${opsCommandsUsage}`);
      return cause.exitCode;
    }
    if ((cause as { code?: unknown }).code !== undefined && String((cause as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      console.error(`meridian ops: ${(cause as Error).message}\nusage:\n${opsCommandsUsage}`);
      return 2;
    }
    console.error(`meridian ops: ${(cause as Error).message ?? String(cause)}`);
    return 1;
  }
}

async function dispatch(args: string[], gateway: string): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(`usage:\n${opsCommandsUsage}`);
    return command === undefined ? 2 : 0;
  }
  if (command === 'token') return tokenCommand(rest);
  if (command === 'audit' && rest[0] === 'verify') return auditVerifyCommand(rest.slice(1), gateway);
  if (command === 'audit' && (rest[0] === undefined || rest[0] === '--help' || rest[0] === '-h')) {
    console.log(`usage:\n${opsCommandsUsage}`);
    return rest[0] === undefined ? 2 : 0;
  }
  throw new OpsCommandError(`unknown ops command: ${args.join(' ').slice(0, 80)}`, 2);
}

async function tokenCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { 'expires-in': { type: 'string' }, any: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(`usage:\n${opsCommandsUsage}`);
    return 0;
  }
  if (positionals.length !== 1) throw new OpsCommandError('ops token needs exactly one <email>', 2);
  const expiresIn = values['expires-in'];
  if (expiresIn !== undefined && !/^[0-9]{1,6}$/.test(expiresIn)) throw new OpsCommandError(`--expires-in must be a whole number of seconds, not "${expiresIn.slice(0, 40)}"`, 2);
  console.log(await devAccessToken(positionals[0]!, { anyEmail: values.any === true, ...(expiresIn === undefined ? {} : { expiresInSeconds: Number(expiresIn) }) }));
  return 0;
}

async function auditVerifyCommand(args: string[], defaultGateway: string): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { gateway: { type: 'string' }, as: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(`usage:\n${opsCommandsUsage}`);
    return 0;
  }
  if (positionals.length > 0) throw new OpsCommandError(`ops audit verify takes no arguments (got ${positionals.join(' ').slice(0, 80)})`, 2);
  const gateway = values.gateway ?? defaultGateway;
  if (!URL.canParse(gateway)) throw new OpsCommandError(`--gateway ${gateway.slice(0, 80)} is not a URL`, 2);
  const operator = values.as ?? loadDevAccess().operators[0]!;
  const entries = await fetchAuditEntries(gateway, await devAccessToken(operator));
  const verified = verifyAuditEntries(entries);
  if (!verified.ok) {
    const stated = verified.reason.stated_seq === verified.reason.seq ? '' : ` (the entry says seq ${JSON.stringify(verified.reason.stated_seq)})`;
    console.error(`meridian ops: audit chain broken at seq ${verified.reason.seq}${stated}: ${verified.reason.detail}`);
    return 1;
  }
  console.log(`audit chain ok: ${verified.value.entries} entries, head ${verified.value.head}`);
  return 0;
}
