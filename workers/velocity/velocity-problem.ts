/**
 * Why the velocity stage refused a payment, and the one place those reasons become the wire: an
 * exhaustive switch, so a new reason cannot ship without its slug. Both answers carry
 * `Retry-After`, which ProblemError has no place for, hence the subclass below (its getResponse
 * is what the app's onError calls).
 */
import { formatAmount } from '../../core/money.ts';
import { ProblemError, type ProblemSlug } from '../../core/problem.ts';
import type { VelocityLimitName } from './velocity-limits.ts';

/** How soon a partner should retry after an outage of the velocity store. */
export const velocityUnavailableRetryAfterSeconds = 5;

export type VelocityRefusal =
  /** Over a limit: nothing was counted. `limitValue` is in payments, or minor units of `currency`. */
  | { kind: 'limit-reached'; limit: VelocityLimitName; limitValue: bigint; currency?: string; retryAfterSeconds: number }
  /**
   * Upstash did not answer in time, could not be reached, or answered with an error or an
   * unexpected reply. Fail closed: nothing is accepted, so nothing is lost; the partner retries
   * the same UETR, and a count that did land is recognised by its marker (velocity-script.ts).
   */
  | { kind: 'store-unavailable'; detail: string; retryAfterSeconds: number };

export class RetryAfterProblemError extends ProblemError {
  readonly retryAfterSeconds: number;

  constructor(slug: ProblemSlug, detail: string, retryAfterSeconds: number, extensions: Record<string, unknown> = {}) {
    super(slug, detail, { ...extensions, retry_after_seconds: retryAfterSeconds });
    this.retryAfterSeconds = retryAfterSeconds;
  }

  override getResponse(instance?: string): Response {
    const response = super.getResponse(instance);
    response.headers.set('retry-after', String(this.retryAfterSeconds));
    return response;
  }
}

export function velocityProblem(refusal: VelocityRefusal): RetryAfterProblemError {
  switch (refusal.kind) {
    case 'limit-reached':
      return new RetryAfterProblemError('velocity-exceeded', `${limitDescription(refusal)} is reached; retry in ${refusal.retryAfterSeconds} s`, refusal.retryAfterSeconds, { limit: refusal.limit });
    case 'store-unavailable':
      // The store's own error goes to the log line the caller writes, not to the partner.
      return new RetryAfterProblemError('velocity-unavailable', `velocity limits cannot be checked right now; nothing was accepted, retry the same UETR in ${refusal.retryAfterSeconds} s`, refusal.retryAfterSeconds);
  }
}

function limitDescription(refusal: Extract<VelocityRefusal, { kind: 'limit-reached' }>): string {
  switch (refusal.limit) {
    case 'partner-payments-per-minute':
      return `the partner's limit of ${refusal.limitValue} payments per minute`;
    case 'partner-payments-per-day':
      return `the partner's limit of ${refusal.limitValue} payments per UTC day`;
    case 'partner-amount-per-day':
      return refusal.currency === undefined ? `the partner's amount limit per UTC day` : `the partner's limit of ${formatAmount(refusal.limitValue, refusal.currency)} ${refusal.currency} per UTC day`;
    case 'debtor-account-payments-per-minute':
      return `the debtor account's limit of ${refusal.limitValue} payments per minute (across partners)`;
    case 'creditor-account-payments-per-minute':
      return `the creditor account's limit of ${refusal.limitValue} payments per minute (across partners)`;
    case 'corridor-payments-per-minute':
      return `the corridor's limit of ${refusal.limitValue} payments per minute`;
  }
}
