/**
 * A (keyid, nonce) pair is single-use across every route, sessions included: POST /v1/sessions
 * claims its pair in the PartnerState shard the pair's hash names (nonceShardOf), the shard where
 * POST /v1/payments claims the same pair. A handshake that claimed at the home shard instead let a
 * nonce spent on a session be spent again on a payment (and the reverse) whenever the pair's shard
 * was not the home shard: three pairs in four.
 */
import { env, runInDurableObject, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { signedRequest, signInstruction } from '../../packages/partner-sdk/src/partner-client.ts';
import { nonceShardOf, partnerStateShard, partnerStateShards } from '../../durable-objects/partner-state/partner-shards.ts';
import { alpha, expectProblem, paymentFrom, sessionRequest } from './partner-trust-support.ts';
import { gatewayUrl } from './support.ts';

const paymentsUrl = `${gatewayUrl}/v1/payments`;
const sessionsUrl = `${gatewayUrl}/v1/sessions`;

/** A nonce of alpha's key that is claimed in `shard` of its PartnerState. */
function nonceInShard(shard: number): string {
  for (;;) {
    const nonce = `session-nonce-${crypto.randomUUID()}`;
    if (nonceShardOf({ keyid: alpha.keyid, nonce }) === shard) return nonce;
  }
}

/** An honest handshake of alpha's, signed with `nonce`. */
async function handshakeWith(nonce: string): Promise<Request> {
  const { body } = await sessionRequest(alpha);
  return signedRequest(alpha, { method: 'POST', url: sessionsUrl, body, contentType: 'application/json', nonce });
}

async function paymentWith(nonce: string): Promise<Request> {
  return signedRequest(alpha, { method: 'POST', url: paymentsUrl, body: await signInstruction(alpha, paymentFrom(alpha)), nonce });
}

/** The shards of alpha's PartnerState whose nonce table holds the pair. */
async function shardsHoldingNonce(nonce: string): Promise<number[]> {
  const holding: number[] = [];
  for (let shard = 0; shard < partnerStateShards; shard++) {
    const stub = partnerStateShard(env, 'eu', 'alpha-bank', shard);
    const count = await runInDurableObject(stub, (_instance, state) =>
      state.storage.sql.exec<{ count: number }>(`SELECT count(*) AS count FROM nonces WHERE keyid = ? AND nonce = ?`, alpha.keyid, nonce).one().count);
    if (count > 0) holding.push(shard);
  }
  return holding;
}

describe('a session handshake claims its nonce where every route claims it', () => {
  it('claims the pair in the shard its hash names, for a nonce in every shard', async () => {
    for (let shard = 0; shard < partnerStateShards; shard++) {
      const nonce = nonceInShard(shard);
      const response = await SELF.fetch(await handshakeWith(nonce));
      expect(response.status, await response.clone().text()).toBe(201);
      expect(await shardsHoldingNonce(nonce), `nonce of shard ${shard}`).toEqual([shard]);
    }
  });

  it('refuses a payment that reuses a nonce a handshake spent, whichever shard the nonce falls in', async () => {
    for (let shard = 0; shard < partnerStateShards; shard++) {
      const nonce = nonceInShard(shard);
      expect((await SELF.fetch(await handshakeWith(nonce))).status).toBe(201);
      await expectProblem(await SELF.fetch(await paymentWith(nonce)), 'replayed-nonce');
    }
  });

  it('refuses a handshake that reuses a nonce a payment spent, and a replayed handshake', async () => {
    for (let shard = 0; shard < partnerStateShards; shard++) {
      const spentOnPayment = nonceInShard(shard);
      const payment = await SELF.fetch(await paymentWith(spentOnPayment));
      expect(payment.status, await payment.clone().text()).toBe(202);
      await expectProblem(await SELF.fetch(await handshakeWith(spentOnPayment)), 'replayed-nonce');

      const original = await handshakeWith(nonceInShard(shard));
      const body = await original.clone().text();
      expect((await SELF.fetch(original)).status).toBe(201);
      await expectProblem(await SELF.fetch(new Request(original.url, { method: 'POST', headers: original.headers, body })), 'replayed-nonce');
    }
  });
});
