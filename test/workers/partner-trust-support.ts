/**
 * Helpers for the partner-trust suites (hybrid signatures, PQ sessions, downgrade detection): dev
 * partners as SDK credentials, clients whose requests carry a chosen Cloudflare TLS observation,
 * hand-built session requests with arbitrary offers, and access to a partner's security events.
 */
import { env, SELF } from 'cloudflare:test';
import { expect } from 'vitest';
import alphaBank from '../../dev/partners/alpha-bank.json';
import banqueBravo from '../../dev/partners/banque-bravo.json';
import charlieTrust from '../../dev/partners/charlie-trust.json';
import deltaSg from '../../dev/partners/delta-sg.json';
import echoJp from '../../dev/partners/echo-jp.json';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import { PartnerClient, SessionCache, signedRequest, type PartnerCredentials } from '../../packages/partner-sdk/src/partner-client.ts';
import { base64urlDecode, base64urlEncode } from '../../core/digest.ts';
import { hpkeSessionSuite, sessionInfo, sessionSuite } from '../../core/pq-session.ts';
import { problemStatus, problemTypePrefix, type ProblemSlug } from '../../core/problem.ts';

export const gatewayUrl = 'https://gateway.meridian.test';
export type DevCredentials = PartnerCredentials & { bic: string };
export const alpha = alphaBank as DevCredentials;
export const bravo = banqueBravo as DevCredentials;
export const charlie = charlieTrust as DevCredentials;
export const delta = deltaSg as DevCredentials;
export const echo = echoJp as DevCredentials;

/** What Cloudflare's edge would have observed; `undefined` sends no `cf` (the local-dev case). */
export type Observed = string | undefined;

export function sendObserved(tlsVersion: Observed) {
  return (request: Request): Promise<Response> => SELF.fetch(request, tlsVersion === undefined ? undefined : { cf: { tlsVersion } });
}

export function client(partner: PartnerCredentials, options: { observedTls?: Observed; reportedTls?: string } = {}): PartnerClient {
  return new PartnerClient(partner, gatewayUrl, sendObserved(options.observedTls), {
    reportedTls: options.reportedTls ?? options.observedTls ?? 'TLSv1.3',
    sessions: new SessionCache(),
  });
}

/** A payment from `partner` whose corridor its jurisdiction may use. */
export function paymentFrom(partner: DevCredentials, amount = '12.34') {
  switch (partner.partner_id) {
    case 'alpha-bank':
      return buildInstruction({ debtorBic: partner.bic, debtorCountry: 'DE', creditorBic: bravo.bic, creditorCountry: 'FR', amount, currency: 'EUR', targetCurrency: 'EUR' });
    case 'banque-bravo':
      return buildInstruction({ debtorBic: partner.bic, debtorCountry: 'FR', creditorBic: alpha.bic, creditorCountry: 'DE', amount, currency: 'EUR', targetCurrency: 'EUR' });
    case 'charlie-trust':
      return buildInstruction({ debtorBic: partner.bic, debtorCountry: 'US', creditorBic: echo.bic, creditorCountry: 'JP', amount, currency: 'USD', targetCurrency: 'JPY' });
    case 'delta-sg':
      return buildInstruction({ debtorBic: partner.bic, debtorCountry: 'SG', creditorBic: echo.bic, creditorCountry: 'JP', amount, currency: 'SGD', targetCurrency: 'JPY' });
    case 'echo-jp':
      return buildInstruction({ debtorBic: partner.bic, debtorCountry: 'JP', creditorBic: delta.bic, creditorCountry: 'SG', amount, currency: 'SGD', targetCurrency: 'JPY' });
    default:
      throw new Error(`no corridor for ${partner.partner_id}`);
  }
}

/** Asserts an RFC 9457 answer with this slug and its status; returns the body. */
export async function expectProblem(response: Response, slug: ProblemSlug): Promise<Record<string, unknown>> {
  const text = await response.text();
  expect(response.headers.get('content-type'), text).toBe('application/problem+json');
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body.type, text).toBe(problemTypePrefix + slug);
  expect(response.status, text).toBe(problemStatus[slug]);
  return body;
}

export function partnerState(partnerId: string) {
  return env.PARTNER_STATE.get(env.PARTNER_STATE.idFromName(partnerId));
}

export interface SessionRequestParts {
  suite?: Record<string, string>;
  enc?: string;
  offer?: { kems?: string[]; aeads?: string[]; sigs?: string[]; tls?: string };
}

/** A signed POST /v1/sessions with an honest HPKE encapsulation and whatever suite/offer the test wants. */
export async function sessionRequest(partner: PartnerCredentials, parts: SessionRequestParts = {}): Promise<{ request: Request; body: string; sender: Awaited<ReturnType<ReturnType<typeof hpkeSessionSuite>['createSenderContext']>> }> {
  const discovery = (await (await SELF.fetch(`${gatewayUrl}/.well-known/meridian`)).json()) as { xwing: { public_key: string } };
  const suite = hpkeSessionSuite();
  const recipientPublicKey = await suite.kem.deserializePublicKey(base64urlDecode(discovery.xwing.public_key));
  const sender = await suite.createSenderContext({ recipientPublicKey, info: sessionInfo });
  const hybrid = partner.ml_dsa_65 !== undefined;
  const offer = { kems: ['X-Wing'], aeads: ['AES-256-GCM'], sigs: hybrid ? ['ed25519', 'ml-dsa-65'] : ['ed25519'], tls: 'TLSv1.3', ...parts.offer };
  const body = JSON.stringify({ suite: parts.suite ?? sessionSuite, enc: parts.enc ?? base64urlEncode(new Uint8Array(sender.enc)), offer });
  const request = await signedRequest(partner, { method: 'POST', url: `${gatewayUrl}/v1/sessions`, body, contentType: 'application/json' });
  return { request, body, sender };
}
