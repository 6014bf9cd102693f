/**
 * Sealed payments under one PQ session reuse the session the isolate opened first
 * (workers/sessions/sealed-body.ts keeps opened tickets by session id): every payment of a session
 * is admitted, and keeping a session changes none of the refusals — it expires on time however
 * often it was used, and it stays bound to the partner it was issued to.
 */
import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { sealInstruction, signedRequest, signInstruction } from '../../packages/partner-sdk/src/partner-client.ts';
import { sealTicket, ticketKeys } from '../../workers/sessions/session-ticket.ts';
import { alpha, charlie, expectProblem, gatewayUrl, paymentFrom } from './partner-trust-support.ts';

const paymentsUrl = `${gatewayUrl}/v1/payments`;

async function submitSealed(partner: typeof alpha, sealed: string): Promise<Response> {
  return SELF.fetch(await signedRequest(partner, { method: 'POST', url: paymentsUrl, body: sealed, contentType: 'application/jose' }));
}

/** A session of `partnerId` that ends `lifetimeMs` from now, minted with the gateway's ticket key as POST /v1/sessions does. */
async function sessionOf(partnerId: string, lifetimeMs: number) {
  const payloadKey = crypto.getRandomValues(new Uint8Array(32));
  const expiresAtMs = Date.now() + lifetimeMs;
  const sessionId = await sealTicket(await ticketKeys(env.SESSION_TICKET_KEYS), { partnerId, payloadKey, expiresAtMs });
  return { sessionId, expiresAtMs, payloadKey, partnerId };
}

describe('a PQ session used for many payments', () => {
  it('admits every payment sealed under it', async () => {
    const session = await sessionOf(alpha.partner_id, 10 * 60_000);
    for (let index = 0; index < 5; index++) {
      const response = await submitSealed(alpha, await sealInstruction(session, await signInstruction(alpha, paymentFrom(alpha))));
      expect(response.status, await response.clone().text()).toBe(202);
    }
  });

  it('refuses it once it has expired, although it was used before', async () => {
    const lifetimeMs = 1_500;
    const session = await sessionOf(alpha.partner_id, lifetimeMs);
    const first = await submitSealed(alpha, await sealInstruction(session, await signInstruction(alpha, paymentFrom(alpha))));
    expect(first.status, await first.clone().text()).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, session.expiresAtMs - Date.now() + 100));
    const late = await submitSealed(alpha, await sealInstruction(session, await signInstruction(alpha, paymentFrom(alpha))));
    expect((await expectProblem(late, 'bad-signature')).detail).toContain('expired');
  });

  it('refuses it from another partner after its own partner used it', async () => {
    const session = await sessionOf(alpha.partner_id, 10 * 60_000);
    expect((await submitSealed(alpha, await sealInstruction(session, await signInstruction(alpha, paymentFrom(alpha))))).status).toBe(202);
    const foreign = await submitSealed(charlie, await sealInstruction(session, await signInstruction(charlie, paymentFrom(charlie))));
    expect((await expectProblem(foreign, 'bad-signature')).detail).toContain('another partner');
  });
});
