/**
 * Attacker-chosen names that collide with Object.prototype members (`constructor`, `__proto__`,
 * `toString`, …). A lookup written as `name in table` or `table[name]` finds these on every plain
 * object, so a request naming one reaches code that only a known name should reach — a
 * `Content-Digest: constructor=:AAAA:` used to hand `Object` to crypto.subtle.digest and answer 500.
 *
 * Every Object.prototype member name is tried as a digest algorithm, a signature label, a signature
 * parameter, a JOSE header name, a key id and a session-request member. Each must get a 4xx
 * problem+json with its exact slug: never a 5xx, never a 201/202.
 */
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { signInstruction } from '../../packages/partner-sdk/src/partner-client.ts';
import { base64Encode, base64urlDecode, base64urlEncode, utf8 } from '../../core/digest.ts';
import { hpkeSessionSuite, sessionInfo, sessionSuite } from '../../core/pq-session.ts';
import { craftRequest, jwsWith, runHostileCases, segment, sha256Base64, type CraftOptions, type HostileCase } from './hostile-support.ts';
import { alpha, eurPayment, gatewayUrl } from './support.ts';

/** Every own property name of Object.prototype in this runtime (workerd): 12 today. */
const prototypeNames = Object.getOwnPropertyNames(Object.prototype);
const sessionsUrl = `${gatewayUrl}/v1/sessions`;
/** RFC 8941 sf-key: only these survive the structured-field parser; the rest are malformed headers. */
const isSfKey = (name: string): boolean => /^[a-z*][a-z0-9_\-.*]*$/.test(name);

const hostile = (name: string, slug: HostileCase['slug'], request: () => Promise<Request>): HostileCase => ({ name, slug, request });
const validJws = (): Promise<string> => signInstruction(alpha, eurPayment());
const post = async (options: CraftOptions = {}): Promise<Request> => craftRequest({ body: await validJws(), ...options });

/** A compact JWE shape the gateway parses up to its header and ticket (nothing after that is reached). */
function sealedBodyWithHeaderText(headerText: string): string {
  const random = (bytes: number): string => base64urlEncode(crypto.getRandomValues(new Uint8Array(bytes)));
  return [segment(headerText), '', random(12), random(64), random(16)].join('.');
}

async function honestEnc(): Promise<string> {
  const discovery = (await (await SELF.fetch(`${gatewayUrl}/.well-known/meridian`)).json()) as { xwing: { public_key: string } };
  const suite = hpkeSessionSuite();
  const recipientPublicKey = await suite.kem.deserializePublicKey(base64urlDecode(discovery.xwing.public_key));
  const sender = await suite.createSenderContext({ recipientPublicKey, info: sessionInfo });
  return base64urlEncode(new Uint8Array(sender.enc));
}

/** An honest session request with one member added by exact JSON text (so `__proto__` stays a member name). */
async function sessionRequestWith(where: 'body' | 'suite' | 'offer', name: string): Promise<Request> {
  const member = `${JSON.stringify(name)}:"x",`;
  const suite = JSON.stringify(sessionSuite);
  const offer = JSON.stringify({ kems: ['X-Wing'], aeads: ['AES-256-GCM'], sigs: ['ed25519'], tls: 'TLSv1.3' });
  const inject = (json: string, yes: boolean): string => (yes ? `{${member}${json.slice(1)}` : json);
  const body = `{${where === 'body' ? member : ''}"suite":${inject(suite, where === 'suite')},"enc":${JSON.stringify(await honestEnc())},"offer":${inject(offer, where === 'offer')}}`;
  return craftRequest({ url: sessionsUrl, body, contentType: 'application/json' });
}

const digestCases: HostileCase[] = prototypeNames.flatMap((name) => [
  hostile(`Content-Digest algorithm ${name} alone`, 'bad-signature', () => post({ contentDigest: `${name}=:AAAA:` })),
  hostile(`Content-Digest algorithm ${name} next to a wrong sha-256`, isSfKey(name) ? 'content-digest-mismatch' : 'bad-signature', () =>
    post({ contentDigest: `${name}=:AAAA:, sha-256=:${base64Encode(new Uint8Array(32))}:` })),
]);

const labelCases: HostileCase[] = prototypeNames.map((name) => hostile(`signature label ${name} instead of sig1`, 'bad-signature', () => post({ label: name })));

const parameterCases: HostileCase[] = prototypeNames.map((name) =>
  hostile(`signature parameter ${name}`, 'bad-signature', () => post({ editSignatureInput: (honest) => `${honest};${name}="x"` })));

const joseHeaderCases: HostileCase[] = prototypeNames.flatMap((name) => [
  hostile(`instruction JWS header names ${name} instead of alg`, 'bad-signature', async () =>
    craftRequest({ body: await jwsWith({ headerSegment: segment(`{${JSON.stringify(name)}:"EdDSA","kid":${JSON.stringify(alpha.keyid)}}`), payload: eurPayment() }) })),
  hostile(`instruction JWS header marks ${name} critical`, 'bad-signature', async () =>
    craftRequest({ body: await jwsWith({ headerSegment: segment(`{"alg":"EdDSA","kid":${JSON.stringify(alpha.keyid)},"crit":[${JSON.stringify(name)}],${JSON.stringify(name)}:1}`), payload: eurPayment() }) })),
  hostile(`sealed body header names ${name} instead of alg`, 'invalid-instruction', () =>
    craftRequest({ body: sealedBodyWithHeaderText(`{${JSON.stringify(name)}:"dir","enc":"A256GCM","kid":"mst1.k.AAAA"}`) })),
  hostile(`sealed body header with an extra ${name} member and no live ticket`, 'bad-signature', () =>
    craftRequest({ body: sealedBodyWithHeaderText(`{"alg":"dir","enc":"A256GCM","kid":"mst1.k.AAAA",${JSON.stringify(name)}:{"zip":"DEF"}}`) })),
]);

const keyidCases: HostileCase[] = prototypeNames.flatMap((name) => [
  hostile(`message signature keyid ${name}`, 'unknown-partner', () => post({ params: { keyid: name } })),
  hostile(`instruction JWS kid ${name}`, 'bad-signature', async () => craftRequest({ body: await jwsWith({ header: { alg: 'EdDSA', kid: name }, payload: eurPayment() }) })),
  hostile(`sealed body kid ${name}`, 'bad-signature', () => craftRequest({ body: sealedBodyWithHeaderText(JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid: name })) })),
  hostile(`sealed body ticket key id ${name}`, 'bad-signature', () =>
    craftRequest({ body: sealedBodyWithHeaderText(JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid: `mst1.${name}.${base64urlEncode(new Uint8Array(60))}` })) })),
]);

const sessionMemberCases: HostileCase[] = prototypeNames.flatMap((name) => [
  hostile(`session request member ${name}`, 'invalid-request', () => sessionRequestWith('body', name)),
  hostile(`session request suite member ${name}`, 'invalid-request', () => sessionRequestWith('suite', name)),
  hostile(`session request offer member ${name}`, 'invalid-request', () => sessionRequestWith('offer', name)),
]);

describe('hostile prototype keys: controls', () => {
  it('covers every Object.prototype member name', () => {
    expect(prototypeNames).toEqual(expect.arrayContaining(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf']));
  });

  it('accepts an honest payment whose Content-Digest also carries an unknown algorithm', async () => {
    const body = await validJws();
    const response = await SELF.fetch(await craftRequest({ body, contentDigest: `unknown-alg=:AAAA:, sha-256=:${await sha256Base64(utf8(body))}:` }));
    expect(response.status, await response.clone().text()).toBe(202);
  });
});

describe('hostile prototype keys: Content-Digest algorithm', () => runHostileCases(digestCases, it));
describe('hostile prototype keys: signature label', () => runHostileCases(labelCases, it));
describe('hostile prototype keys: signature parameter', () => runHostileCases(parameterCases, it));
describe('hostile prototype keys: JOSE header name', () => runHostileCases(joseHeaderCases, it));
describe('hostile prototype keys: key id', () => runHostileCases(keyidCases, it));
describe('hostile prototype keys: session-request member', () => runHostileCases(sessionMemberCases, it));
