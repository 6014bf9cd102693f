/**
 * Why the payment pipeline refused a submission, as values: every stage returns one of these, and
 * `refusalProblem` is the one place they become wire slugs (an exhaustive switch, so a new reason
 * cannot ship without its slug). Detailed reasons go to `detail` and the logs; the slug is stable.
 */
import type { PaymentLegsRejection } from '../../core/payment-legs.ts';
import { ProblemError } from '../../core/problem.ts';
import { velocityProblem, type VelocityRefusal } from '../velocity/velocity-problem.ts';

export type PaymentRefusal =
  /** A verifier that still throws its own problem (JWS, seal, downgrade evidence): passed through unchanged. */
  | { kind: 'verification-failed'; problem: ProblemError }
  | { kind: 'instruction-not-utf8' }
  | { kind: 'instruction-too-large'; bytesMax: number }
  | { kind: 'invalid-instruction'; issues: string[] }
  | { kind: 'debtor-agent-not-partner'; partnerBic: string }
  | { kind: 'uetr-mismatch'; uetr: string }
  | { kind: 'unknown-corridor'; corridor: string }
  | { kind: 'corridor-not-open'; corridor: string; state: string }
  | { kind: 'jurisdiction-not-served'; corridor: string; jurisdiction: string }
  | { kind: 'unsettleable'; reason: PaymentLegsRejection }
  /** Cedar (workers/policy/): the instruction broke business rules, named by `rules` ("on-us-not-allowed"). */
  | { kind: 'instruction-rule'; rules: string[]; policyIds: string[]; settlementDate: string; instructedAt: string }
  | { kind: 'residency-denied'; partnerId: string; jurisdiction: string; debtorCountry: string; policyIds: string[] }
  | { kind: 'amount-above-max'; corridor: string; amountMax: string; currency: string; policyIds: string[] }
  | { kind: 'tls-policy-denied'; tlsVersion: string; policyIds: string[] }
  /** The policy decision could not be trusted (engine failure, evaluation error, unknown id): refused, fail closed. */
  | { kind: 'policy-untrusted'; reason: string }
  /** Velocity (workers/velocity/): over a limit, nothing counted: 429 with Retry-After. */
  | { kind: 'velocity-exceeded'; refusal: Extract<VelocityRefusal, { kind: 'limit-reached' }> }
  /** The velocity store did not answer: fail closed, 503 with Retry-After; the same UETR is counted at most once on retry. */
  | { kind: 'velocity-unavailable'; refusal: Extract<VelocityRefusal, { kind: 'store-unavailable' }> };

const instructionRuleDetails: Record<string, (refusal: { settlementDate: string; instructedAt: string }) => string> = {
  'settlement-date-in-past': (r) => `settlement_date ${r.settlementDate} is before today (UTC)`,
  'settlement-date-beyond-horizon': (r) => `settlement_date ${r.settlementDate} is beyond the settlement horizon`,
  'settlement-date-not-business-day': (r) => `settlement_date ${r.settlementDate} is not a business day of the corridor`,
  'instructed-at-in-future': (r) => `instructed_at ${r.instructedAt} lies beyond the clock-skew allowance in the future`,
  'instructed-at-too-old': (r) => `instructed_at ${r.instructedAt} is older than the gateway accepts`,
  'on-us-not-allowed': () => 'debtor_agent and creditor_agent are the same bank (on-us), which this corridor does not allow',
};

export function refusalProblem(refusal: PaymentRefusal): ProblemError {
  switch (refusal.kind) {
    case 'verification-failed':
      return refusal.problem;
    case 'instruction-not-utf8':
      return new ProblemError('invalid-instruction', 'body is not UTF-8');
    case 'instruction-too-large':
      return new ProblemError('payload-too-large', `the instruction JWS exceeds ${refusal.bytesMax} bytes`);
    case 'invalid-instruction':
      return new ProblemError('invalid-instruction', refusal.issues.join('; '), { issues: refusal.issues });
    case 'debtor-agent-not-partner':
      return new ProblemError('invalid-instruction', `debtor_agent.bic must be the submitting partner's BIC ${refusal.partnerBic}`);
    case 'uetr-mismatch':
      return new ProblemError('duplicate-uetr-mismatch', `UETR ${refusal.uetr} was already used for a different instruction`);
    case 'unknown-corridor':
      return new ProblemError('corridor-closed', `no corridor ${refusal.corridor}`);
    case 'corridor-not-open':
      return new ProblemError('corridor-closed', `corridor ${refusal.corridor} is ${refusal.state}`);
    case 'jurisdiction-not-served':
      return new ProblemError('residency-denied', `corridor ${refusal.corridor} may not process data of jurisdiction ${refusal.jurisdiction}`);
    case 'unsettleable':
      return new ProblemError('invalid-instruction', refusal.reason.detail, { reason: refusal.reason.kind });
    case 'instruction-rule': {
      const details = refusal.rules.map((rule) => `${instructionRuleDetails[rule]?.(refusal) ?? rule} (rule ${rule})`);
      return new ProblemError('invalid-instruction', details.join('; '), { rule: refusal.rules[0], rules: refusal.rules, policy_ids: refusal.policyIds });
    }
    case 'residency-denied':
      return new ProblemError(
        'residency-denied',
        `partner ${refusal.partnerId} (jurisdiction ${refusal.jurisdiction}) may not process a payment for a debtor in ${refusal.debtorCountry} without a live residency exception`,
        { policy_ids: refusal.policyIds },
      );
    case 'amount-above-max':
      return new ProblemError('limit-exceeded', `the amount is above corridor ${refusal.corridor}'s payment_amount_max of ${refusal.amountMax} ${refusal.currency}`, { policy_ids: refusal.policyIds });
    case 'tls-policy-denied':
      return new ProblemError('downgrade-detected', `TLS ${refusal.tlsVersion} is below the partner's minimum without a live exception`, { policy_ids: refusal.policyIds });
    case 'policy-untrusted':
      return new ProblemError('unavailable', 'the policy decision could not be made; nothing was admitted, retry later');
    case 'velocity-exceeded':
    case 'velocity-unavailable':
      // Both carry Retry-After, which velocityProblem's subclass of ProblemError writes.
      return velocityProblem(refusal.refusal);
  }
}
