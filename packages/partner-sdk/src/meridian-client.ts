/**
 * MeridianClient: the partner's whole path in one object — discovery, PQ session, signing, sealing,
 * submission with retries, status polling until settled, and verification of both receipts.
 *
 *   const meridian = new MeridianClient({ gateway, credentials, regionalBackends });
 *   const accepted = await meridian.pay(buildInstruction({...}));   // signed once, resent as-is
 *   const settled = await meridian.waitForSettlement(accepted.uetr);
 *   await meridian.verifySettlement(settled);                        // throws MeridianError if not
 *
 * Idempotency is the caller's safety net across crashes too: keep `accepted.instructionJws` (or the
 * `SignedInstruction` from `signInstruction`) and hand the same one to `submit` after a restart — the
 * gateway answers with the original receipt. Signing the instruction again would, for a compact EdDSA
 * JWS, give the same bytes (Ed25519 is deterministic), but an instruction rebuilt with a new
 * `instructed_at` is a different instruction: 409 duplicate-uetr-mismatch.
 */
import type { JSONWebKeySet } from 'jose';
import type { GatewayDiscovery, PqSession, SessionCache, SessionHandshakeError } from './pq-session.ts';
import { PartnerClient, type GatewayAnswer, type SubmitOptions } from './partner-client.ts';
import { verifyAcceptanceReceipt, verifySettlement, type AcceptanceReceiptClaims, type SettledPayment, type VerifiedSettlement } from './receipts.ts';
import { problemSlug, retryDecision, retryElapsedMsMax, sleep, submitAttemptsMax, type AttemptOutcome } from './retry-policy.ts';
import { signInstructionFor, type PartnerCredentials } from './request-signing.ts';

/** One attempt's budget (answer and body included); a slower answer counts as a network failure (and is retried). */
export const requestTimeoutMs = 15_000;
/** Status polling: first wait, growth per poll, longest wait, and how long to wait in all by default. */
export const pollFirstDelayMs = 500;
export const pollBackoffFactor = 1.5;
export const pollDelayMaxMs = 5_000;
export const settleTimeoutMs = 180_000;
/**
 * A status read may answer 404 for a moment around acceptance: PartnerState lists a payment whose
 * admission is still in flight as `pending`, which reads as "no such payment" (a poll racing the
 * 202, or after a submission whose answer was lost to a timeout). Polling goes on through 404s this
 * long; after it a 404 is final (another partner's UETR, a typo, a payment pruned long after it finished).
 */
export const statusNotFoundGraceMs = 10_000;

export type MeridianErrorKind = 'refused' | 'unavailable' | 'unreachable' | 'rejected' | 'settlement-timeout' | 'verification-failed' | 'configuration' | 'aborted';

export interface MeridianErrorDetails {
  status?: number;
  problem?: Record<string, unknown>;
  /** Defaults to the slug of `problem.type` (`urn:meridian:problem:<slug>`). */
  slug?: string;
  /** Defaults to `problem.detail`. */
  detail?: string;
  cause?: unknown;
}

/**
 * Every failure this client reports; `kind` says which, `slug` and `detail` what the gateway said
 * (its problem+json, in full in `problem`), or for a rejected payment the reason it was rejected.
 */
export class MeridianError extends Error {
  readonly kind: MeridianErrorKind;
  readonly status: number | undefined;
  readonly problem: Record<string, unknown> | undefined;
  readonly slug: string | undefined;
  readonly detail: string | undefined;

  constructor(kind: MeridianErrorKind, message: string, details: MeridianErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'MeridianError';
    this.kind = kind;
    this.status = details.status;
    this.problem = details.problem;
    this.slug = details.slug ?? problemSlug(details.problem?.type);
    this.detail = details.detail ?? (typeof details.problem?.detail === 'string' ? details.problem.detail : undefined);
  }
}

export interface MeridianClientOptions {
  /** The gateway's base URL, e.g. http://127.0.0.1:8787 under `npm start`. */
  gateway: string;
  credentials: PartnerCredentials;
  /** Region (as GET /v1/payments/{uetr} names it, e.g. "eu-1") → that regional backend's auditor API base URL. */
  regionalBackends?: Record<string, string>;
  /** The transport (default: global fetch). It must honour `request.signal`: that is how an attempt times out. */
  fetch?: (request: Request) => Promise<Response>;
  /** The TLS version your stack negotiated with the gateway; see PartnerClientOptions.reportedTls. */
  reportedTls?: string | (() => Promise<string>);
  sessions?: SessionCache;
  /** Attempts per request (default submitAttemptsMax). */
  attemptsMax?: number;
  /** One attempt's budget (default requestTimeoutMs). */
  attemptTimeoutMs?: number;
  /** No new attempt starts this long after the first (default retryElapsedMsMax). */
  retryElapsedMsMax?: number;
  /** Called before each resend: for logs and metrics. */
  onRetry?: (event: { uetr: string; attempt: number; delayMs: number; outcome: AttemptOutcome }) => void;
}

/** An instruction signed once: its UETR and the exact JWS bytes every (re)submission carries. */
export interface SignedInstruction {
  uetr: string;
  jws: string;
}

/** The final answer to a request that may have been sent more than once, and how many times it was. */
export type RetriedAnswer = GatewayAnswer<Record<string, unknown>> & { attempts: number };

export interface AcceptedPayment extends SignedInstruction {
  status: 'accepted' | 'held';
  /** The netting window (batch id); null while held. */
  window: string | null;
  receipt: string;
  /** The receipt's claims, verified against the gateway's receipt JWKS. */
  acceptance: AcceptanceReceiptClaims;
  attempts: number;
}

export interface WaitForSettlementOptions {
  /** Give up (`settlement-timeout`) after this long (default settleTimeoutMs). */
  timeoutMs?: number;
  /** Each status read: accepted, held, settled… */
  onStatus?: (status: string) => void;
  /** How long after the first poll a 404 still means "not listed yet" (default statusNotFoundGraceMs). */
  notFoundGraceMs?: number;
  signal?: AbortSignal;
}

/** Statuses after which a payment will never settle. */
const terminalStatuses = new Set(['rejected', 'refused']);
/** The statuses worth answering with a resend of the same request later. */
const transientStatuses = new Set([429, 502, 503, 504]);

export class MeridianClient {
  readonly partner: PartnerClient;
  private readonly options: MeridianClientOptions;
  private readonly send: (request: Request) => Promise<Response>;

  constructor(options: MeridianClientOptions) {
    if (!/^https?:\/\//.test(options.gateway)) throw new MeridianError('configuration', `gateway ${JSON.stringify(options.gateway)} is not an http(s) URL`);
    this.options = options;
    const transport = options.fetch ?? ((request: Request) => fetch(request));
    const attemptTimeoutMs = options.attemptTimeoutMs ?? requestTimeoutMs;
    this.send = (request) => transport(new Request(request, { signal: AbortSignal.any([request.signal, AbortSignal.timeout(attemptTimeoutMs)]) }));
    this.partner = new PartnerClient(options.credentials, options.gateway, this.send, {
      ...(options.reportedTls === undefined ? {} : { reportedTls: options.reportedTls }),
      ...(options.sessions === undefined ? {} : { sessions: options.sessions }),
    });
  }

  /** The gateway's discovery document (cached; `{ refresh: true }` asks again); `unreachable` if it cannot be read. */
  async discover(options: { refresh?: boolean } = {}): Promise<GatewayDiscovery> {
    try {
      return await this.partner.discover(options);
    } catch (cause) {
      throw new MeridianError('unreachable', `gateway discovery failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
  }

  openSession(): Promise<PqSession> {
    return this.partner.openSession();
  }

  async signInstruction(instruction: { uetr: string }): Promise<SignedInstruction> {
    return { uetr: instruction.uetr, jws: await signInstructionFor(this.options.credentials, instruction) };
  }

  /**
   * Submits a signed instruction, resending the same JWS on network failures, 429/502/503/504
   * (honouring Retry-After) until an answer is final. Resolves with that answer whatever its status.
   */
  async submit(signed: SignedInstruction, options: SubmitOptions = {}): Promise<RetriedAnswer> {
    return this.withRetries(`POST /v1/payments for ${signed.uetr}`, signed.uetr, (signal) => this.partner.submitJws(signed.jws, { ...options, ...signal }), options);
  }

  /**
   * Sends until the answer is final (retry-policy.ts), within the attempt and time budgets and, for
   * a status poll, its deadline; throws `unreachable` when no answer ever came, `aborted` when the
   * caller's signal fired (at once, mid-request or mid-wait).
   */
  private async withRetries(label: string, uetr: string, attemptOnce: (signal: { signal?: AbortSignal }) => Promise<GatewayAnswer<Record<string, unknown>>>, options: { signal?: AbortSignal; deadlineMs?: number }): Promise<RetriedAnswer> {
    const startedMs = Date.now();
    const attemptsMax = this.options.attemptsMax ?? submitAttemptsMax;
    const elapsedMsMax = Math.min(this.options.retryElapsedMsMax ?? retryElapsedMsMax, (options.deadlineMs ?? Infinity) - startedMs);
    const signal = options.signal === undefined ? {} : { signal: options.signal };
    for (let attempt = 1; ; attempt += 1) {
      let answer: GatewayAnswer<Record<string, unknown>> | undefined;
      let outcome: AttemptOutcome;
      try {
        answer = await attemptOnce(signal);
        outcome = { kind: 'answer', status: answer.status, retryAfter: answer.retryAfter ?? null, slug: problemSlug(answer.body.type) };
      } catch (error) {
        if (options.signal?.aborted) throw aborted(label, options.signal);
        const handshake = handshakeFailure(label, error);
        if (handshake !== undefined) throw handshake;
        outcome = { kind: 'network-error', error };
      }
      const decision = retryDecision(outcome, attempt, { attemptsMax, elapsedMs: Date.now() - startedMs, elapsedMsMax });
      if (!decision.retry) {
        if (answer !== undefined) return { ...answer, attempts: attempt };
        throw new MeridianError('unreachable', `${label}: no answer after ${attempt} attempts in ${Date.now() - startedMs} ms (${describe(outcome)}); it is safe to send the same request again later`, { cause: outcome.kind === 'network-error' ? outcome.error : undefined });
      }
      this.options.onRetry?.({ uetr, attempt, delayMs: decision.delayMs, outcome });
      await sleep(decision.delayMs, options.signal).catch(() => {
        throw aborted(label, options.signal!);
      });
    }
  }

  /** Signs, submits (with retries) and verifies the acceptance receipt; a refusal throws MeridianError `refused` (`unavailable` if it was "not now"). */
  async pay(instruction: { uetr: string }, options: SubmitOptions = {}): Promise<AcceptedPayment> {
    return this.accepted(await this.signInstruction(instruction), options);
  }

  /** As `pay`, for an instruction signed earlier (a resubmission after a crash). */
  async accepted(signed: SignedInstruction, options: SubmitOptions = {}): Promise<AcceptedPayment> {
    const answer = await this.submit(signed, options);
    if (answer.status !== 202) throw refusal(`the gateway refused ${signed.uetr}`, answer);
    const receipt = answer.body.receipt;
    if (typeof receipt !== 'string') throw new MeridianError('verification-failed', `the 202 for ${signed.uetr} carries no receipt`, { status: 202, problem: answer.body });
    const acceptance = await this.verifyAcceptance(receipt, signed);
    return { ...signed, status: acceptance.status, window: acceptance.window, receipt, acceptance, attempts: answer.attempts };
  }

  /**
   * Verifies an acceptance receipt against the gateway's receipt JWKS (from discovery). A receipt
   * that fails against the cached JWKS is checked once more against a fresh one: the gateway may
   * have rotated its receipt key since this client first asked.
   */
  async verifyAcceptance(receipt: string, signed: SignedInstruction): Promise<AcceptanceReceiptClaims> {
    const expected = { partnerId: this.options.credentials.partner_id, uetr: signed.uetr, instructionJws: signed.jws };
    const cachedJwks = receiptsJwks(await this.discover());
    let result = await verifyAcceptanceReceipt(receipt, cachedJwks, expected);
    if (!result.ok) {
      const freshJwks = receiptsJwks(await this.discover({ refresh: true }));
      if (JSON.stringify(freshJwks) !== JSON.stringify(cachedJwks)) result = await verifyAcceptanceReceipt(receipt, freshJwks, expected);
    }
    if (!result.ok) throw new MeridianError('verification-failed', `${signed.uetr}: ${result.failure}`);
    return result.value;
  }

  /** GET /v1/payments/{uetr}, retried like a submission (a status read is safe to repeat). */
  status(uetr: string, options: { signal?: AbortSignal; deadlineMs?: number } = {}): Promise<RetriedAnswer> {
    return this.withRetries(`GET /v1/payments/${uetr}`, uetr, (signal) => this.partner.paymentStatus(encodeURIComponent(uetr), signal), options);
  }

  /**
   * Polls the status with backoff until `settled`. Throws `rejected` on a terminal status (its
   * reason as slug and detail, e.g. `settlement-refused: batch-rejected`), `settlement-timeout`
   * at the deadline, `refused` on any other answer than 200 (a 404 only after statusNotFoundGraceMs).
   */
  async waitForSettlement(uetr: string, options: WaitForSettlementOptions = {}): Promise<SettledPayment> {
    const timeoutMs = options.timeoutMs ?? settleTimeoutMs;
    const startedMs = Date.now();
    const deadlineMs = startedMs + timeoutMs;
    const label = `GET /v1/payments/${uetr}`;
    let status = 'not yet readable';
    for (let delayMs = pollFirstDelayMs; ; delayMs = Math.min(pollDelayMaxMs, delayMs * pollBackoffFactor)) {
      const answer = await this.status(uetr, { ...(options.signal === undefined ? {} : { signal: options.signal }), deadlineMs });
      const notYetListed = answer.status === 404 && Date.now() - startedMs < (options.notFoundGraceMs ?? statusNotFoundGraceMs);
      if (!notYetListed) {
        if (answer.status !== 200) throw refusal(label, answer);
        status = String(answer.body.status);
        options.onStatus?.(status);
        if (status === 'settled') return settledPayment(uetr, answer.body);
        if (terminalStatuses.has(status)) throw rejection(uetr, status, answer.body);
      }
      const remainingMs = deadlineMs - Date.now();
      if (remainingMs <= 0) throw new MeridianError('settlement-timeout', `payment ${uetr} is still ${status} after ${timeoutMs} ms (a held payment waits for an operator)`);
      await sleep(Math.min(delayMs, remainingMs), options.signal).catch(() => {
        throw aborted(label, options.signal!);
      });
    }
  }

  /** Verifies a settled payment against its regional backend's auditor API (see receipts.ts). */
  async verifySettlement(settled: SettledPayment): Promise<VerifiedSettlement> {
    const regionalUrl = this.options.regionalBackends?.[settled.region];
    if (regionalUrl === undefined) throw new MeridianError('configuration', `no auditor URL for region ${settled.region}: pass regionalBackends: { "${settled.region}": "<its base URL>" }`);
    const transport = this.options.fetch ?? ((request: Request) => fetch(request));
    const result = await verifySettlement(settled, regionalUrl, transport).catch((cause: unknown) => {
      throw new MeridianError('unreachable', `settlement of ${settled.uetr}: the auditor API at ${regionalUrl} could not be read: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    });
    if (!result.ok) throw new MeridianError('verification-failed', `settlement of ${settled.uetr}: ${result.failure}`);
    return result.value;
  }
}

function receiptsJwks(discovery: GatewayDiscovery): JSONWebKeySet {
  const jwks = discovery.receipts_jwks as JSONWebKeySet | undefined;
  if (jwks === undefined) throw new MeridianError('verification-failed', 'the discovery document has no receipts_jwks');
  return jwks;
}

/** A final answer other than the one asked for: `unavailable` if the gateway only said "not now" (the same request may be sent later), else `refused`. */
function refusal(what: string, answer: RetriedAnswer): MeridianError {
  const transient = transientStatuses.has(answer.status);
  const error = new MeridianError(transient ? 'unavailable' : 'refused', '', { status: answer.status, problem: answer.body });
  const later = transient ? `; still unavailable after ${answer.attempts} attempt(s): the same signed request may be sent again later` : '';
  error.message = `${what}: ${whatWasSaid(error)}${later}`;
  return error;
}

/** `HTTP 409 duplicate-uetr-mismatch: <detail>`: the status, slug and detail an error carries. */
function whatWasSaid(error: MeridianError): string {
  const said = [error.slug, error.detail].filter((part) => part !== undefined).join(': ');
  return `HTTP ${String(error.status)}${said === '' ? '' : ` ${said}`}`;
}

/** A terminal status: its reason (`settlement-refused: <slug>`, `sanctions-hold-rejected`, …) is the error's detail, the part before the colon its slug. */
function rejection(uetr: string, status: string, body: Record<string, unknown>): MeridianError {
  const reason = typeof body.reason === 'string' && body.reason !== '' ? body.reason : status;
  const slug = reason.split(':', 1)[0]!.trim();
  return new MeridianError('rejected', `payment ${uetr} was ${status} (${reason}); it will not settle`, { status: 200, problem: body, slug, detail: reason });
}

/** A `settled` status must name where it settled, or there is nothing to verify it against. */
function settledPayment(uetr: string, body: Record<string, unknown>): SettledPayment {
  const { batch_id, jurisdiction, region, log_index } = body;
  if (body.uetr !== uetr || typeof batch_id !== 'string' || typeof jurisdiction !== 'string' || typeof region !== 'string' || !Number.isSafeInteger(log_index) || (log_index as number) < 0) {
    throw new MeridianError('verification-failed', `the settled status of ${uetr} does not name its uetr, batch, jurisdiction, region and log index: ${JSON.stringify(body)}`, { status: 200, problem: body });
  }
  return { uetr, status: 'settled', batch_id, jurisdiction, region, log_index: log_index as number };
}

/**
 * A PQ session handshake that failed for good, as a MeridianError: refused (a 4xx, or a 500), or
 * answered 201 with a key confirmation that does not match (`verification-failed`: never retried, it
 * may be someone in the middle). Undefined for what a resend may fix (429, 502, 503, 504), and for
 * anything that is not a handshake failure.
 */
function handshakeFailure(label: string, error: unknown): MeridianError | undefined {
  if (!(typeof error === 'object' && error !== null && (error as { kind?: unknown }).kind === 'session-handshake')) return undefined;
  const { status, answer, message } = error as SessionHandshakeError;
  if (transientStatuses.has(status)) return undefined;
  const problem = typeof answer === 'object' && answer !== null ? (answer as Record<string, unknown>) : undefined;
  const details = { status, ...(problem === undefined ? {} : { problem }), cause: error };
  if (status === 201) return new MeridianError('verification-failed', `${label}: PQ session: ${message}`, details);
  const refused = new MeridianError('refused', '', details);
  refused.message = `${label}: the PQ session was refused: ${whatWasSaid(refused)}`;
  return refused;
}

function aborted(label: string, signal: AbortSignal): MeridianError {
  return new MeridianError('aborted', `${label}: aborted by the caller`, { cause: signal.reason });
}

function describe(outcome: AttemptOutcome): string {
  if (outcome.kind === 'answer') return `last answer HTTP ${outcome.status}`;
  return outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
}
