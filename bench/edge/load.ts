/**
 * The edge benchmark's load generator, in Node outside workerd: payments signed before the clock
 * starts (RFC 9421 message signature and the instruction's compact EdDSA JWS, the Ed25519 path),
 * sent with a fixed number in flight, and the wait until what was accepted has settled.
 */
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import { PartnerClient, signedRequest, signInstruction, type PartnerCredentials } from '../../packages/partner-sdk/src/partner-client.ts';
import { loadDevPartners, type DevPartner } from '../../dev/fixtures.ts';

/** One stream of payments: a partner sending in one corridor, its residency satisfied. */
export interface PaymentFlow {
  partner: string;
  debtorCountry: string;
  creditorBic: string;
  creditorCountry: string;
  currency: string;
  target: string;
}

/** Three partners, three corridors, one per jurisdiction; only Ed25519 partners (no ML-DSA key, no PQ requirement). */
export const severalPartnerFlows: readonly PaymentFlow[] = [
  { partner: 'alpha-bank', debtorCountry: 'DE', creditorBic: 'BRAVFRPPXXX', creditorCountry: 'FR', currency: 'EUR', target: 'EUR' },
  { partner: 'charlie-trust', debtorCountry: 'US', creditorBic: 'ECHOJPJTXXX', creditorCountry: 'JP', currency: 'USD', target: 'JPY' },
  { partner: 'echo-jp', debtorCountry: 'JP', creditorBic: 'DELTSGSGXXX', creditorCountry: 'SG', currency: 'SGD', target: 'JPY' },
];
export const onePartnerFlows: readonly PaymentFlow[] = [severalPartnerFlows[0]!];

export interface SignedPayment {
  uetr: string;
  partner: DevPartner;
  request: Request;
}

export interface Answer {
  status: number;
  latencyMs: number;
  /** The problem type of a refusal (empty for a 202). */
  problem: string;
}

export function devPartner(partnerId: string): DevPartner {
  const partner = loadDevPartners().find((candidate) => candidate.partner_id === partnerId);
  if (partner === undefined) throw new Error(`no dev partner ${partnerId} in dev/partners/`);
  return partner;
}

/** `count` payments round-robin over the flows, each fully signed for `gatewayUrl`. */
export async function signPayments(flows: readonly PaymentFlow[], gatewayUrl: string, count: number): Promise<SignedPayment[]> {
  const partners = new Map(flows.map((flow) => [flow.partner, devPartner(flow.partner)]));
  return Promise.all(Array.from({ length: count }, async (_, index) => {
    const flow = flows[index % flows.length]!;
    const partner = partners.get(flow.partner)!;
    const instruction = buildInstruction({ debtorBic: partner.bic, debtorCountry: flow.debtorCountry, creditorBic: flow.creditorBic, creditorCountry: flow.creditorCountry, amount: `${10 + (index % 900)}.00`, currency: flow.currency, targetCurrency: flow.target });
    const jws = await signInstruction(partner as PartnerCredentials, instruction);
    // `uetr`: the nonce falls into the payment's PartnerState shard, as the SDK's client draws it.
    const request = await signedRequest(partner as PartnerCredentials, { method: 'POST', url: `${gatewayUrl}/v1/payments`, body: jws, contentType: 'application/jose', uetr: instruction.uetr });
    return { uetr: instruction.uetr, partner, request };
  }));
}

/** Sends every request with at most `parallel` in flight; answers in request order; `onAnswer(done)` after each one (progress). */
export async function drive(requests: readonly Request[], parallel: number, requestTimeoutMs: number, onAnswer: (done: number) => void = () => {}): Promise<Answer[]> {
  const answers: Answer[] = new Array(requests.length);
  let nextIndex = 0;
  let done = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (nextIndex < requests.length) {
      const index = nextIndex++;
      const request = requests[index]!;
      const startedAt = performance.now();
      let status = 0;
      let problem = '';
      try {
        const response = await fetch(request, { signal: AbortSignal.timeout(requestTimeoutMs) });
        status = response.status;
        const body = (await response.json().catch(() => ({}))) as { type?: string };
        if (status !== 202) problem = String(body.type ?? '').replace('urn:meridian:problem:', '');
      } catch (error) {
        problem = `no answer: ${(error as Error).message}`;
      }
      answers[index] = { status, latencyMs: performance.now() - startedAt, problem };
      onAnswer(++done);
    }
  }));
  return answers;
}

export function percentile(sortedValues: readonly number[], fraction: number): number {
  if (sortedValues.length === 0) return 0;
  return sortedValues[Math.min(sortedValues.length - 1, Math.floor(sortedValues.length * fraction))]!;
}

/** Refusals by `status problem`, for the line that explains a short count. */
export function refusalCounts(answers: readonly Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) if (answer.status !== 202) counts[`${answer.status} ${answer.problem}`.trim()] = (counts[`${answer.status} ${answer.problem}`.trim()] ?? 0) + 1;
  return counts;
}

/** How many of `payments` the gateway reports `settled` (GET /v1/payments/{uetr}, signed by the owner). */
export async function countSettled(payments: readonly SignedPayment[], gatewayUrl: string, parallel: number): Promise<number> {
  const clients = new Map<string, PartnerClient>();
  let settled = 0;
  let nextIndex = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (nextIndex < payments.length) {
      const payment = payments[nextIndex++]!;
      let client = clients.get(payment.partner.partner_id);
      if (client === undefined) clients.set(payment.partner.partner_id, (client = new PartnerClient(payment.partner, gatewayUrl)));
      try {
        const answer = await client.paymentStatus(payment.uetr);
        if (answer.status === 200 && answer.body.status === 'settled') settled += 1;
      } catch {
        // No answer counts as not settled yet: the caller asks again until its deadline.
      }
    }
  }));
  return settled;
}
