/**
 * The response schemas the partner document is generated from (core/api-responses.ts,
 * core/api-problems.ts) parse what the gateway really answers, so the document cannot promise a
 * shape the gateway does not send: a field added, dropped or retyped in a handler fails here.
 */
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { signedRequest } from '../../packages/partner-sdk/src/partner-client.ts';
import { problemSchemaFor } from '../../core/api-problems.ts';
import { discoverySchema, gatewayHealthSchema, jwksSchema, paymentAnswerSchema, paymentStatusRecordSchema, sessionAnswerSchema } from '../../core/api-responses.ts';
import type { ProblemSlug } from '../../core/problem.ts';
import { PartnerClient } from '../../packages/partner-sdk/src/partner-client.ts';
import { SessionCache } from '../../packages/partner-sdk/src/pq-session.ts';
import { alpha, delta, gatewayUrl, paymentFrom } from './partner-trust-support.ts';

async function parsedJson(response: Response, schema: { safeParse(value: unknown): { success: boolean; error?: unknown } }, status: number) {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  const parsed = schema.safeParse(JSON.parse(text));
  expect(parsed.success, `${text}\n${JSON.stringify(parsed.error)}`).toBe(true);
  return JSON.parse(text) as Record<string, unknown>;
}

async function expectDocumentedProblem(response: Response, slug: ProblemSlug): Promise<void> {
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const body = await response.json();
  const parsed = problemSchemaFor(slug).safeParse(body);
  expect(parsed.success, `${slug}: ${JSON.stringify(body)} ${JSON.stringify(parsed.error)}`).toBe(true);
}

/** A client that keeps a copy of every answer it receives. */
function recordingClient(partner: typeof alpha) {
  const answers: Array<{ url: string; status: number; body: unknown }> = [];
  const send = async (request: Request) => {
    const response = await SELF.fetch(request);
    answers.push({ url: request.url, status: response.status, body: await response.clone().json() });
    return response;
  };
  return { client: new PartnerClient(partner, gatewayUrl, send, { reportedTls: 'none', sessions: new SessionCache() }), answers };
}

describe('partner API answers match the documented schemas', () => {
  it('GET /healthz, /.well-known/meridian and both JWKS', async () => {
    await parsedJson(await SELF.fetch(`${gatewayUrl}/healthz`), gatewayHealthSchema, 200);
    const discovery = await parsedJson(await SELF.fetch(`${gatewayUrl}/.well-known/meridian`), discoverySchema, 200);
    expect(discovery.jwks_uri).toBe(`${gatewayUrl}/.well-known/jwks.json`);
    await parsedJson(await SELF.fetch(`${gatewayUrl}/.well-known/jwks.json`), jwksSchema, 200);
    await parsedJson(await SELF.fetch(`${gatewayUrl}/.well-known/settlement-token-jwks.json`), jwksSchema, 200);
  });

  it('POST /v1/payments (202, and its repeat) and GET /v1/payments/{uetr}', async () => {
    const { client } = recordingClient(alpha);
    const instruction = paymentFrom(alpha, '17.25');
    const first = await client.submitPayment(instruction);
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    expect(paymentAnswerSchema.safeParse(first.body).success, JSON.stringify(first.body)).toBe(true);
    const repeat = await client.submitPayment(instruction);
    expect(repeat.body).toEqual(first.body);
    const status = await client.paymentStatus(instruction.uetr);
    expect(status.status).toBe(200);
    expect(paymentStatusRecordSchema.safeParse(status.body).success, JSON.stringify(status.body)).toBe(true);
  });

  it('a hybrid partner sealed under a PQ session: POST /v1/sessions (201) and the sealed payment', async () => {
    const { client, answers } = recordingClient(delta);
    const answer = await client.submitPayment(paymentFrom(delta, '9.00'), { seal: true });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    expect(paymentAnswerSchema.safeParse(answer.body).success).toBe(true);
    const session = answers.find((recorded) => recorded.url.endsWith('/v1/sessions'));
    expect(session?.status).toBe(201);
    const parsed = sessionAnswerSchema.safeParse(session?.body);
    expect(parsed.success, JSON.stringify(parsed.error)).toBe(true);
  });

  it('problems: each parses with its slug schema', async () => {
    await expectDocumentedProblem(await SELF.fetch(`${gatewayUrl}/v1/payments`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }), 'unsupported-media-type');
    await expectDocumentedProblem(await SELF.fetch(`${gatewayUrl}/v1/payments`, { method: 'POST', headers: { 'content-type': 'application/jose' }, body: 'a.b.c' }), 'bad-signature');
    await expectDocumentedProblem(await SELF.fetch(`${gatewayUrl}/v1/payments`, { method: 'PUT' }), 'method-not-allowed');
    await expectDocumentedProblem(await SELF.fetch(`${gatewayUrl}/no/such/route`), 'not-found');
    const unknownUetr = await signedRequest(alpha, { method: 'GET', url: `${gatewayUrl}/v1/payments/${crypto.randomUUID()}` });
    await expectDocumentedProblem(await SELF.fetch(unknownUetr), 'not-found');
    const invalid = await signedRequest(alpha, { method: 'POST', url: `${gatewayUrl}/v1/payments`, body: 'not-a-jws', contentType: 'application/jose' });
    await expectDocumentedProblem(await SELF.fetch(invalid), 'invalid-instruction');
  });
});
