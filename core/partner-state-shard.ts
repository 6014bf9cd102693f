/**
 * Which of a partner's PartnerState objects holds a payment and which claims a (keyid, nonce) pair:
 * pure functions of the UETR and of the pair, so the edge (durable-objects/partner-state/
 * partner-shards.ts, where why this keeps admission and replay protection exact is written down)
 * and a partner's client compute the same answer. A client uses it only as a hint: it draws its
 * nonce so that the pair falls into the payment's own shard, which lets the edge claim the nonce and
 * read the prior answer in one call (partner SDK, request-signing.ts). Nothing depends on the hint
 * being taken: a pair is always claimed in the shard its own hash names.
 */
import { sha256 } from './digest.ts';

/**
 * Objects per partner. Default for every partner; raising it for a deployment with data is a
 * migration (every UETR within the idempotency horizon must move to its new shard first).
 */
export const partnerStateShards = 4;
/** Upper bound on any shard count, so a fan-out is bounded and shard ids fit composite cursors. */
export const partnerStateShardsMax = 64;

/**
 * The shard of a payment: the second byte of SHA-256(UETR) modulo the shard count. The corridor
 * window shard takes the first byte (durable-objects/control/corridor-route.ts), so the two choices
 * are independent and one partner's payments in one window shard still spread over its objects.
 */
export function partnerStateShardOf(uetr: string, shards = partnerStateShards): number {
  return (sha256(uetr)[1] ?? 0) % shards;
}

/** The shard that claims one (keyid, nonce) pair: the first byte of SHA-256(keyid ‖ LF ‖ nonce). */
export function nonceShardOf(claim: { keyid: string; nonce: string }, shards = partnerStateShards): number {
  return (sha256(`${claim.keyid}\n${claim.nonce}`)[0] ?? 0) % shards;
}
