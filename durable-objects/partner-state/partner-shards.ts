/**
 * A partner's PartnerState is `partnerStateShards` objects, so one partner's traffic is not capped
 * by one object's write rate (roughly 500–1,000 writes/s). Which object holds what:
 *
 *   shard of a payment        partnerStateShardOf(uetr): its idempotency record, status, policy
 *                             decision, screening result and hold
 *   shard of a nonce          nonceShardOf(keyid, nonce): the claim of that (keyid, nonce) pair
 *   home (shard 0, named by   security events and their counters; policy refusals; the nonce
 *   the bare partner id)      claims of routes that claim in verifyMessageSignature (sessions)
 *   every shard               partner-level facts each shard must decide on alone, pushed to all
 *                             of them by Control (durable-objects/control/propagation.ts): revoked
 *                             keys, residency exceptions
 *
 * Why exactly-once admission and replay protection stay exact:
 *
 * - One UETR, one object, ever: the shard is a pure function of the UETR alone, so every
 *   submission of a UETR (a retry, a concurrent copy, a replay) and every status read, settlement
 *   and rejection notice and hold decision for it reaches the same object, which serialises
 *   admission on it as a single PartnerState did. The shard count is a constant of the deployment,
 *   not of the request, for the same reason: changing it re-maps UETRs, so it is a migration
 *   (docs/capacity.md), never a setting flipped live.
 * - One (keyid, nonce), one object: a pair is claimed in the shard its own hash names, whatever the
 *   request carries, so a pair used twice — a byte-for-byte replay, or the same nonce on another
 *   payment — meets its first claim there, in the same single-object insert-or-refuse as before.
 *   The pairs of one request that fall into one shard are claimed in one transaction, all or none;
 *   a hybrid request whose two pairs fall into two shards claims each there, and a replayed pair
 *   refuses the request whichever it is (an honest partner's fresh pair burnt with it costs nothing).
 * - One round trip where the two coincide: when the request's nonce shard is the payment's shard
 *   (1 in `partnerStateShards` for a random nonce; every time for the partner SDK, which draws its
 *   nonce to fall there: core/partner-state-shard.ts), the claim and the prior answer are one call;
 *   otherwise both calls go out at once, and a refused claim refuses the request whatever the prior
 *   answer said. The client's choice of nonce changes where nothing is claimed: a pair is claimed in
 *   the shard its own hash names, whoever chose it.
 * - Revocation stays immediate: Control's push of a revoked key returns only once every shard has
 *   stored it, and each shard refuses a revoked keyid in the same synchronous section as the claim.
 */
import { partnerStateShardOf, partnerStateShards } from '../../core/partner-state-shard.ts';
import type { DurableObjectsEnv } from '../env.ts';
import { durableObjectFor } from '../jurisdiction.ts';

export { nonceShardOf, partnerStateShardOf, partnerStateShards, partnerStateShardsMax } from '../../core/partner-state-shard.ts';
export const homeShard = 0;

export type PartnerStateStub = ReturnType<DurableObjectsEnv['PARTNER_STATE']['get']>;

/** Shard 0 keeps the bare partner id, so the home object is the one a single-object deployment had. */
export function partnerStateShardName(partnerId: string, shard: number): string {
  if (!Number.isInteger(shard) || shard < 0 || shard >= partnerStateShards) throw new Error(`PartnerState shard ${shard} outside 0..${partnerStateShards - 1}`);
  return shard === homeShard ? partnerId : `${partnerId}#shard-${shard}`;
}

export function partnerStateShard(env: DurableObjectsEnv, jurisdiction: string, partnerId: string, shard: number): PartnerStateStub {
  return durableObjectFor(env, env.PARTNER_STATE, jurisdiction, partnerStateShardName(partnerId, shard));
}

/** The object holding everything about one payment of a partner. */
export function partnerStateForPayment(env: DurableObjectsEnv, jurisdiction: string, partnerId: string, uetr: string): PartnerStateStub {
  return partnerStateShard(env, jurisdiction, partnerId, partnerStateShardOf(uetr));
}

export function partnerStateHome(env: DurableObjectsEnv, jurisdiction: string, partnerId: string): PartnerStateStub {
  return partnerStateShard(env, jurisdiction, partnerId, homeShard);
}

export function allPartnerStateShards(env: DurableObjectsEnv, jurisdiction: string, partnerId: string): Array<{ shard: number; stub: PartnerStateStub }> {
  return Array.from({ length: partnerStateShards }, (_, shard) => ({ shard, stub: partnerStateShard(env, jurisdiction, partnerId, shard) }));
}

/** Groups items about payments by the shard that holds them (settlement and rejection notices). */
export function byPartnerStateShard<T>(items: readonly T[], uetrOf: (item: T) => string): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const shard = partnerStateShardOf(uetrOf(item));
    const group = groups.get(shard);
    if (group === undefined) groups.set(shard, [item]);
    else group.push(item);
  }
  return groups;
}
