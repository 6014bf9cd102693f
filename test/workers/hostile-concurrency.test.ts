/**
 * Concurrency at admission: the nonce claim and the UETR idempotency both live in the partner's
 * PartnerState Durable Object, which serializes them. Many identical submissions in flight at once
 * must still admit the payment exactly once.
 */
import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { signedRequest, signInstruction } from '../../packages/partner-sdk/src/partner-client.ts';
import { expectProblem, paymentsUrl } from './hostile-support.ts';
import { alpha, clientFor, eurPayment } from './support.ts';

const concurrentSubmissions = 100;
const settleTimeoutMs = 25_000;

async function waitForSettlement(uetr: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + settleTimeoutMs;
  for (;;) {
    const answer = await clientFor(alpha).paymentStatus(uetr);
    expect(answer.status).toBe(200);
    if (answer.body.status === 'settled') return answer.body;
    if (Date.now() > deadline) throw new Error(`payment ${uetr} is ${String(answer.body.status)} after ${settleTimeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** GET /v1/settlements/{batch_id} on the regional backend that committed the batch (DESIGN.md auditor API). */
async function settlementLegs(region: string, batchId: string): Promise<Array<Record<string, string>>> {
  const backends = JSON.parse(env.REGIONAL_BACKENDS) as Record<string, Array<{ region: string; url: string }>>;
  const backend = Object.values(backends).flat().find((candidate) => candidate.region === region);
  if (backend === undefined) throw new Error(`no regional backend ${region}`);
  const response = await fetch(`${backend.url}/v1/settlements/${encodeURIComponent(batchId)}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { legs: Array<Record<string, string>> }).legs;
}

describe('100 concurrent identical submissions', () => {
  it('admits an identical instruction sent with distinct nonces once: every answer is the same 202 and receipt', async () => {
    const instruction = eurPayment('4242.00');
    const jws = await signInstruction(alpha, instruction);
    const requests = await Promise.all(Array.from({ length: concurrentSubmissions }, () => signedRequest(alpha, { method: 'POST', url: paymentsUrl, body: jws })));
    expect(new Set(requests.map((request) => request.headers.get('signature-input'))).size).toBe(concurrentSubmissions);

    const responses = await Promise.all(requests.map((request) => SELF.fetch(request)));
    const answers = await Promise.all(responses.map(async (response) => ({ status: response.status, body: (await response.json()) as Record<string, unknown> })));
    expect(answers.map((answer) => answer.status)).toEqual(Array(concurrentSubmissions).fill(202));
    expect(new Set(answers.map((answer) => answer.body.receipt)).size).toBe(1);
    expect(new Set(answers.map((answer) => answer.body.window)).size).toBe(1);
    expect(answers[0]!.body).toMatchObject({ uetr: instruction.uetr, status: 'accepted' });

    // Exactly one leg reaches the ledger: read the settled batch back from the regional auditor API.
    const settled = await waitForSettlement(instruction.uetr);
    const legs = await settlementLegs(String(settled.region), String(settled.batch_id));
    expect(legs.filter((leg) => leg.uetr === instruction.uetr)).toEqual([
      { uetr: instruction.uetr, instructing_agent: alpha.bic, payer: alpha.bic, payee: instruction.creditor_agent.bic, currency: 'EUR', amount_minor: '424200' },
    ]);
  });

  it('admits the identical full request replayed concurrently exactly once; the rest are replayed-nonce', async () => {
    const instruction = eurPayment('4343.00');
    const original = await signedRequest(alpha, { method: 'POST', url: paymentsUrl, body: await signInstruction(alpha, instruction) });
    const body = await original.text();
    const replays = Array.from({ length: concurrentSubmissions }, () => new Request(original.url, { method: 'POST', headers: original.headers, body }));

    const responses = await Promise.all(replays.map((request) => SELF.fetch(request)));
    const accepted = responses.filter((response) => response.status === 202);
    const refused = responses.filter((response) => response.status !== 202);
    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(concurrentSubmissions - 1);
    for (const response of refused) await expectProblem(response, 'replayed-nonce');
    expect(await accepted[0]!.json()).toMatchObject({ uetr: instruction.uetr, status: 'accepted' });
  });

  it('admits one of two different instructions racing on the same UETR; the other is duplicate-uetr-mismatch', async () => {
    const first = eurPayment('10.00');
    const second = { ...first, amount: { value: '10.01', currency: 'EUR' } };
    const [firstJws, secondJws] = await Promise.all([signInstruction(alpha, first), signInstruction(alpha, second)]);
    const requests = await Promise.all(Array.from({ length: 20 }, (_, index) => signedRequest(alpha, { method: 'POST', url: paymentsUrl, body: index % 2 === 0 ? firstJws : secondJws })));
    const responses = await Promise.all(requests.map((request) => SELF.fetch(request)));
    const acceptedBodies = await Promise.all(responses.filter((response) => response.status === 202).map((response) => response.json() as Promise<Record<string, unknown>>));
    // Whichever JWS won, all its submissions get the same answer; all of the other's are refused.
    expect(acceptedBodies).toHaveLength(10);
    expect(new Set(acceptedBodies.map((body) => body.receipt)).size).toBe(1);
    for (const response of responses.filter((candidate) => candidate.status !== 202)) await expectProblem(response, 'duplicate-uetr-mismatch');
  });
});
