/**
 * The partner registry requests are verified against: the Control DO's partner directory
 * (durable-objects/control/partner-directory.ts), which the PARTNERS binding seeds and ops
 * `partner-key` changes edit under two-person control.
 *
 * Reading Control on every request would put one object on every request's path, so each isolate
 * keeps the directory for `partnerDirectoryTtlMs`: a key added by a change may take that long to
 * work. A revoked key must not, and this cache may still list it, so the refusal does not rely on
 * it: the partner's PartnerState refuses a revoked keyid in the nonce claim that every signed
 * request makes (verify-message-signature.ts), and Control tells PartnerState before the approving
 * operator is answered.
 */
import type { PartnerProfile } from '../../core/partner-profile.ts';
import { controlObjectName } from '../../durable-objects/env.ts';
import { registryOf, type PartnerRegistry } from '../config/partners.ts';
import type { Env } from '../env.ts';

export const partnerDirectoryTtlMs = 2_000;

type ProfileTexts = Map<string, { text: string; profile: PartnerProfile }>;
let cached: { fetchedAtMs: number; registry: PartnerRegistry; profileTexts: ProfileTexts } | undefined;

/**
 * Control's partner directory, cached per isolate; a failed refresh throws rather than verify
 * against a directory of unknown age. Each request refreshes for itself: no promise is shared
 * across requests, as workerd ties a request's I/O to that request.
 */
export async function partnerDirectory(env: Env): Promise<PartnerRegistry> {
  const nowMs = Date.now();
  if (cached !== undefined && nowMs - cached.fetchedAtMs < partnerDirectoryTtlMs) return cached.registry;
  const control = env.CONTROL.get(env.CONTROL.idFromName(controlObjectName));
  const served = (await control.partnerDirectory()) as PartnerProfile[];
  // An unchanged profile keeps its objects, so the per-key caches of ../config/partners.ts (the
  // imported WebCrypto key, the decoded ML-DSA key) outlive a refresh instead of being paid again.
  const profileTexts: ProfileTexts = new Map();
  const profiles = served.map((fresh) => {
    const text = JSON.stringify(fresh);
    const previous = cached?.profileTexts.get(fresh.partner_id);
    const profile = previous?.text === text ? previous.profile : fresh;
    profileTexts.set(profile.partner_id, { text, profile });
    return profile;
  });
  cached = { fetchedAtMs: nowMs, registry: registryOf(profiles), profileTexts };
  return cached.registry;
}
