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
import type { GatewayDiscovery, PqSession, SessionCache } from './pq-session.ts';
import { PartnerClient, type GatewayAnswer } from './partner-client.ts';
import { verifyAcceptanceReceipt, verifySettlement, type AcceptanceReceiptClaims, type SettledPayment, type VerifiedSettlement } from './receipts.ts';
import { retryDecision, sleep, submitAttemptsMax, type AttemptOutcome } from './retry-policy.ts';
import { signInstructionFor, type PartnerCredentials } from './request-signing.ts';

/** One request's budget; a slower answer counts as a network failure (and is retried). */
export const requestTimeoutMs = 15_000;
/** Status polling: first wait, growth per poll, longest wait, and how long to wait in all by default. */
export const pollFirstDelayMs = 500;
export const pollBackoffFactor = 1.5;
export const pollDelayMaxMs = 5_000;
export const settleTimeoutMs = 180_000;

export type MeridianErrorKind = 'refused' | 'unreachable' | 'rejected' | 'settlement-timeout' | 'verification-failed' | 'configuration';

/** Every failure this client reports; `kind` says which, `problem` carries the gateway's problem+json when there is one. */
export class MeridianError extends Error {
  readonly kind: MeridianErrorKind;
  readonly status: number | undefined;
  readonly problem: Record<string, unknown> | undefined;

  constructor(kind: MeridianErrorKind, message: string, details: { status?: number; problem?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'MeridianError';
    this.kind = kind;
    this.status = details.status;
    this.problem = details.problem;
  }
}

export interface MeridianClientOptions {
  /** The gateway's base URL, e.g. http://127.0.0.1:8787 under `npm start`. */
  gateway: string;
  credentials: PartnerCredentials;
  /** Region (as GET /v1/payments/{uetr} names it, e.g. "eu-1") → that regional backend's auditor API base URL. */
  regionalBackends?: Record<string, string>;
  /** The transport (default: global fetch). */
  fetch?: (request: Request) => Promise<Response>;
  /** The TLS version your stack negotiated with the gateway; see PartnerClientOptions.reportedTls. */
  reportedTls?: string | (() => Promise<string>);
  sessions?: SessionCache;
  attemptsMax?: number;
  /** Called before each resend: for logs and metrics. */
  onRetry?: (event: { uetr: string; attempt: number; delayMs: number; outcome: AttemptOutcome }) => void;
}

/** An instruction signed once: its UETR and the exact JWS bytes every (re)submission carries. */
export interface SignedInstruction {
  uetr: string;
  jws: string;
}

export interface AcceptedPayment extends SignedInstruction {
  status: 'accepted' | 'held';
  /** The netting window (batch id); null while held. */
  window: string | null;
  receipt: string;
  /** The receipt's claims, verified against the gateway's receipt JWKS. */
  acceptance: AcceptanceReceiptClaims;
  attempts: number;
}

export class MeridianClient {
  readonly partner: PartnerClient;
  private readonly options: MeridianClientOptions;
  private readonly send: (request: Request) => Promise<Response>;

  constructor(options: MeridianClientOptions) {
    if (!/^https?:\/\//.test(options.gateway)) throw new MeridianError('configuration', `gateway ${JSON.stringify(options.gateway)} is not an http(s) URL`);
    this.options = options;
    const transport = options.fetch ?? ((request: Request) => fetch(request));
    this.send = (request) => transport(new Request(request, { signal: AbortSignal.timeout(requestTimeoutMs) }));
    this.partner = new PartnerClient(options.credentials, options.gateway, this.send, {
      ...(options.reportedTls === undefined ? {} : { reportedTls: options.reportedTls }),
      ...(options.sessions === undefined ? {} : { sessions: options.sessions }),
    });
  }

  discover(): Promise<GatewayDiscovery> {
    return this.partner.discover();
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
  async submit(signed: SignedInstruction, options: { seal?: boolean } = {}): Promise<GatewayAnswer<Record<string, unknown>> & { attempts: number }> {
    return this.withRetries(`POST /v1/payments for ${signed.uetr}`, signed.uetr, () => this.partner.submitJws(signed.jws, options));
  }

  /** Sends until the answer is final (retry-policy.ts); throws `unreachable` when no answer ever came. */
  private async withRetries(label: string, uetr: string, attemptOnce: () => Promise<GatewayAnswer<Record<string, unknown>>>): Promise<GatewayAnswer<Record<string, unknown>> & { attempts: number }> {
    const attemptsMax = this.options.attemptsMax ?? submitAttemptsMax;
    for (let attempt = 1; ; attempt += 1) {
      let answer: GatewayAnswer<Record<string, unknown>> | undefined;
      let outcome: AttemptOutcome;
      try {
        answer = await attemptOnce();
        outcome = { kind: 'answer', status: answer.status, retryAfter: answer.retryAfter ?? null };
      } catch (error) {
        outcome = { kind: 'network-error', error };
      }
      const decision = retryDecision(outcome, attempt, attemptsMax);
      if (!decision.retry) {
        if (answer !== undefined) return { ...answer, attempts: attempt };
        throw new MeridianError('unreachable', `${label}: no answer after ${attempt} attempts (${describe(outcome)}); it is safe to send the same request again later`, { cause: outcome.kind === 'network-error' ? outcome.error : undefined });
      }
      this.options.onRetry?.({ uetr, attempt, delayMs: decision.delayMs, outcome });
      await sleep(decision.delayMs);
    }
  }

  /** Signs, submits (with retries) and verifies the acceptance receipt; a refusal throws MeridianError `refused`. */
  async pay(instruction: { uetr: string }, options: { seal?: boolean } = {}): Promise<AcceptedPayment> {
    return this.accepted(await this.signInstruction(instruction), options);
  }

  /** As `pay`, for an instruction signed earlier (a resubmission after a crash). */
  async accepted(signed: SignedInstruction, options: { seal?: boolean } = {}): Promise<AcceptedPayment> {
    const answer = await this.submit(signed, options);
    if (answer.status !== 202) {
      throw new MeridianError('refused', `the gateway refused ${signed.uetr}: HTTP ${answer.status} ${String(answer.body.type ?? '')} ${String(answer.body.detail ?? '')}`.trim(), { status: answer.status, problem: answer.body });
    }
    const receipt = answer.body.receipt;
    if (typeof receipt !== 'string') throw new MeridianError('verification-failed', `the 202 for ${signed.uetr} carries no receipt`, { status: 202, problem: answer.body });
    const acceptance = await this.verifyAcceptance(receipt, signed);
    return { ...signed, status: acceptance.status, window: acceptance.window, receipt, acceptance, attempts: answer.attempts };
  }

  /** Verifies an acceptance receipt against the gateway's receipt JWKS (from discovery). */
  async verifyAcceptance(receipt: string, signed: SignedInstruction): Promise<AcceptanceReceiptClaims> {
    const discovery = await this.discover();
    const jwks = discovery.receipts_jwks as JSONWebKeySet | undefined;
    if (jwks === undefined) throw new MeridianError('verification-failed', 'the discovery document has no receipts_jwks');
    const result = await verifyAcceptanceReceipt(receipt, jwks, { partnerId: this.options.credentials.partner_id, uetr: signed.uetr, instructionJws: signed.jws });
    if (!result.ok) throw new MeridianError('verification-failed', `${signed.uetr}: ${result.failure}`);
    return result.value;
  }

  /** GET /v1/payments/{uetr}, retried like a submission (a status read is safe to repeat). */
  status(uetr: string): Promise<GatewayAnswer<Record<string, unknown>>> {
    return this.withRetries(`GET /v1/payments/${uetr}`, uetr, () => this.partner.paymentStatus(encodeURIComponent(uetr)));
  }

  /** Polls the status with backoff until `settled`; `rejected` (an operator rejected a held payment) throws. */
  async waitForSettlement(uetr: string, options: { timeoutMs?: number; onStatus?: (status: string) => void } = {}): Promise<SettledPayment> {
    const deadline = Date.now() + (options.timeoutMs ?? settleTimeoutMs);
    for (let delayMs = pollFirstDelayMs; ; delayMs = Math.min(pollDelayMaxMs, delayMs * pollBackoffFactor)) {
      const answer = await this.status(uetr);
      if (answer.status !== 200) throw new MeridianError('refused', `GET /v1/payments/${uetr} answered HTTP ${answer.status} ${String(answer.body.type ?? '')}`.trim(), { status: answer.status, problem: answer.body });
      const status = String(answer.body.status);
      options.onStatus?.(status);
      if (status === 'settled') return answer.body as unknown as SettledPayment;
      if (status === 'rejected') throw new MeridianError('rejected', `payment ${uetr} was rejected (a held payment an operator rejected); it will not settle`, { status: 200, problem: answer.body });
      if (Date.now() + delayMs > deadline) throw new MeridianError('settlement-timeout', `payment ${uetr} is still ${status} after ${options.timeoutMs ?? settleTimeoutMs} ms (a held payment waits for an operator)`);
      await sleep(delayMs);
    }
  }

  /** Verifies a settled payment against its regional backend's auditor API (see receipts.ts). */
  async verifySettlement(settled: SettledPayment): Promise<VerifiedSettlement> {
    const regionalUrl = this.options.regionalBackends?.[settled.region];
    if (regionalUrl === undefined) throw new MeridianError('configuration', `no auditor URL for region ${settled.region}: pass regionalBackends: { "${settled.region}": "<its base URL>" }`);
    const transport = this.options.fetch ?? ((request: Request) => fetch(request));
    const result = await verifySettlement(settled, regionalUrl, transport);
    if (!result.ok) throw new MeridianError('verification-failed', `settlement of ${settled.uetr}: ${result.failure}`);
    return result.value;
  }
}

function describe(outcome: AttemptOutcome): string {
  if (outcome.kind === 'answer') return `last answer HTTP ${outcome.status}`;
  return outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
}
