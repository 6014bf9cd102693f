/**
 * Stage `routeToCorridor`: which corridor window takes a new payment. The corridor must exist and
 * be open, the submitting partner's jurisdiction must be one the corridor may process in (data
 * residency), and the shard is a stable function of the UETR. Only new admissions reach this
 * stage: a repeat was answered by `priorAnswer` whatever the corridor's state is now. The shard
 * choice itself lives in durable-objects/control/corridor-route.ts, shared with hold releases.
 *
 * The corridor configuration and state come from the Control DO. Reading it on every payment
 * would put one object on every request's path, so each isolate keeps it for
 * `corridorDirectoryTtlMs`: a state change (pause, drain) takes effect at the edge within that
 * time, which is the documented contract of `Control.setCorridorState`.
 *
 * A refusal here is recorded like the policy stage's refusals (`recordRouteRefusal`): a deny with
 * its slug and no determining policy (Cedar never ran), the routing facts that decided it, in the
 * partner's home PartnerState, so every refused payment has its decision in the evidence.
 */
import type { CorridorDirectory } from '../../core/corridor-config.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { controlObjectName } from '../../durable-objects/control/control.ts';
import { corridorRoute, type CorridorRoute } from '../../durable-objects/control/corridor-route.ts';
import type { PartnerProfile } from '../config/partners.ts';
import type { Env } from '../env.ts';
import { partnerStateOf } from './admit.ts';
import type { OpenedInstruction } from './open-instruction.ts';
import { refusalProblem, type PaymentRefusal } from './payment-refusal.ts';
import { policySet } from '../policy/policy-engine.ts';

export { shardOf, type CorridorRoute } from '../../durable-objects/control/corridor-route.ts';

export const corridorDirectoryTtlMs = 2_000;
let cachedDirectory: { fetchedAtMs: number; directory: CorridorDirectory } | undefined;

export async function routeToCorridor(env: Env, partner: PartnerProfile, corridorId: string, uetr: string): Promise<Result<CorridorRoute, PaymentRefusal>> {
  const directory = await corridorDirectory(env);
  const config = directory.corridors.find((candidate) => candidate.id === corridorId);
  if (config === undefined) return err({ kind: 'unknown-corridor', corridor: corridorId });
  if (config.state !== 'open') return err({ kind: 'corridor-not-open', corridor: corridorId, state: config.state });
  if (!config.jurisdictions.includes(partner.jurisdiction)) return err({ kind: 'jurisdiction-not-served', corridor: corridorId, jurisdiction: partner.jurisdiction });
  return ok(corridorRoute(config, partner.jurisdiction, uetr, directory.fx_rate_scale));
}

type RouteRefusal = Extract<PaymentRefusal, { kind: 'unknown-corridor' | 'corridor-not-open' | 'jurisdiction-not-served' }>;

/** Records a routing refusal as a policy decision (see the header). */
export async function recordRouteRefusal(env: Env, partner: PartnerProfile, opened: OpenedInstruction, refusal: PaymentRefusal): Promise<void> {
  const { kind, ...facts } = refusal as RouteRefusal;
  await partnerStateOf(env, partner).recordPolicyDecision({
    partner_id: partner.partner_id,
    uetr: opened.instruction.uetr,
    instruction_sha256: opened.instructionSha256,
    decision: 'deny',
    determining_policy_ids: [],
    slug: refusalProblem(refusal).slug,
    facts: { stage: 'routeToCorridor', refusal: kind, ...facts, partner_jurisdiction: partner.jurisdiction, debtor_country: opened.instruction.debtor.country },
    policy_set_digest: policySet().digest,
  });
}

/** Control's corridor directory, cached per isolate; a failed refresh throws rather than route on a stale state. */
async function corridorDirectory(env: Env): Promise<CorridorDirectory> {
  const now = Date.now();
  if (cachedDirectory !== undefined && now - cachedDirectory.fetchedAtMs < corridorDirectoryTtlMs) return cachedDirectory.directory;
  const control = env.CONTROL.get(env.CONTROL.idFromName(controlObjectName));
  cachedDirectory = { fetchedAtMs: now, directory: await control.corridorDirectory() };
  return cachedDirectory.directory;
}
