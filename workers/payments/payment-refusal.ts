/**
 * Why the payment pipeline refused a submission, as values: every stage returns one of these, and
 * `refusalProblem` is the one place they become wire slugs (an exhaustive switch, so a new reason
 * cannot ship without its slug). Detailed reasons go to `detail` and the logs; the slug is stable.
 */
import type { PaymentLegsRejection } from '../../core/payment-legs.ts';
import { ProblemError } from '../../core/problem.ts';

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
  | { kind: 'unsettleable'; reason: PaymentLegsRejection };

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
  }
}
