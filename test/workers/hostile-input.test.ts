/**
 * Hostile input at the transport layer of POST /v1/payments (and the rest of the partner API):
 * media types, body sizes, RFC 9421 Signature-Input/Signature, RFC 9530 Content-Digest, signature
 * parameters and freshness, methods and paths. Every case must get a 4xx problem+json with its
 * exact slug: never a 5xx, never a 202. Instruction-level cases are in hostile-instruction.test.ts.
 */
import { Token } from 'structured-headers';
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { signInstruction } from '../../packages/partner-sdk/src/partner-client.ts';
import { base64Encode, utf8 } from '../../core/digest.ts';
import {
  craftRequest, defaultBodyComponents, flipLastBit, nowS, paymentsUrl, runHostileCases, sha256Base64, type CraftOptions, type HostileCase,
} from './hostile-support.ts';
import { alpha, charlie, eurPayment, gatewayUrl } from './support.ts';

const bodyBytesMax = 64 * 1024;

/** A fresh, valid instruction JWS: everything but the part under test is honest. */
const validJws = (): Promise<string> => signInstruction(alpha, eurPayment());
const post = async (options: CraftOptions = {}): Promise<Request> => craftRequest({ body: await validJws(), ...options });
const hostile = (name: string, slug: HostileCase['slug'], request: () => Promise<Request>, bug?: string): HostileCase =>
  bug === undefined ? { name, slug, request } : { name, slug, request, bug };


const mediaTypeCases: HostileCase[] = [
  hostile('no Content-Type', 'unsupported-media-type', () => post({ contentType: null, components: ['@method', '@target-uri', 'content-digest'] })),
  hostile('empty Content-Type', 'unsupported-media-type', () => post({ contentType: '' })),
  hostile('application/json', 'unsupported-media-type', () => post({ contentType: 'application/json' })),
  hostile('text/plain', 'unsupported-media-type', () => post({ contentType: 'text/plain' })),
  hostile('application/jwt', 'unsupported-media-type', () => post({ contentType: 'application/jwt' })),
  hostile('application/jose-x (prefix match)', 'unsupported-media-type', () => post({ contentType: 'application/josex' })),
  hostile('application/x-www-form-urlencoded', 'unsupported-media-type', () => post({ contentType: 'application/x-www-form-urlencoded' })),
  hostile('multipart/form-data', 'unsupported-media-type', () => post({ contentType: 'multipart/form-data; boundary=x' })),
  hostile('application/octet-stream', 'unsupported-media-type', () => post({ contentType: 'application/octet-stream' })),
  hostile('a list of media types', 'unsupported-media-type', () => post({ contentType: 'application/jose, application/json' })),
  hostile('application/* wildcard', 'unsupported-media-type', () => post({ contentType: 'application/*' })),
  hostile('*/*', 'unsupported-media-type', () => post({ contentType: '*/*' })),
  hostile('application/problem+json', 'unsupported-media-type', () => post({ contentType: 'application/problem+json' })),
];

const bodySizeCases: HostileCase[] = [
  hostile('body one byte over 64 KiB', 'payload-too-large', () => craftRequest({ body: 'A'.repeat(bodyBytesMax + 1) })),
  hostile('body of 1 MiB', 'payload-too-large', () => craftRequest({ body: 'A'.repeat(1024 * 1024) })),
  hostile('oversized body streamed without Content-Length', 'payload-too-large', async () => {
    const request = await craftRequest({ body: 'A'.repeat(bodyBytesMax + 1024) });
    const chunk = utf8('A'.repeat(8 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= bodyBytesMax + 1024) return controller.close();
        controller.enqueue(chunk);
        sent += chunk.length;
      },
    });
    return new Request(request.url, { method: 'POST', headers: request.headers, body: stream });
  }),
  hostile('oversized body with a wrong Content-Type (the media type is checked first)', 'unsupported-media-type', () => craftRequest({ body: 'A'.repeat(bodyBytesMax + 1), contentType: 'application/json' })),
  hostile('signed body under 64 KiB carrying a JWS over 32 KiB', 'payload-too-large', async () => craftRequest({ body: `${await validJws()}${'A'.repeat(40 * 1024)}` })),
  hostile('body truncated in transit (digest of the full body)', 'content-digest-mismatch', async () => {
    const jws = await validJws();
    return craftRequest({ body: jws.slice(0, jws.length - 10), digestOf: jws });
  }),
  hostile('body truncated to its first segment in transit', 'content-digest-mismatch', async () => {
    const jws = await validJws();
    return craftRequest({ body: jws.slice(0, jws.indexOf('.')), digestOf: jws });
  }),
  hostile('body emptied in transit', 'content-digest-mismatch', async () => craftRequest({ body: '', digestOf: await validJws() })),
  hostile('empty body, honestly signed', 'invalid-instruction', () => craftRequest({ body: '' })),
  hostile('JWS truncated before signing (signature segment cut short)', 'bad-signature', async () => craftRequest({ body: (await validJws()).slice(0, -8) })),
  hostile('JWS truncated before signing (signature segment gone)', 'invalid-instruction', async () => {
    const jws = await validJws();
    return craftRequest({ body: jws.slice(0, jws.lastIndexOf('.')) });
  }),
  // "h.p." is a well-formed JWS with an empty signature (RFC 7515 §7.1): a signature failure, not a malformed body.
  hostile('JWS truncated before signing (ends with a dot: empty signature)', 'bad-signature', async () => {
    const jws = await validJws();
    return craftRequest({ body: jws.slice(0, jws.lastIndexOf('.') + 1) });
  }),
  hostile('body extended in transit', 'content-digest-mismatch', async () => {
    const jws = await validJws();
    return craftRequest({ body: `${jws}AAAA`, digestOf: jws });
  }),
];

const signatureHeaderCases: HostileCase[] = [
  hostile('no Signature-Input', 'bad-signature', () => post({ signatureInput: null })),
  hostile('no Signature', 'bad-signature', () => post({ signature: null })),
  hostile('neither signature header', 'bad-signature', () => post({ signatureInput: null, signature: null })),
  hostile('Signature is not base64 (`:!!!:`)', 'bad-signature', () => post({ signature: 'sig1=:!!!!:' })),
  hostile('Signature with padding in the middle', 'bad-signature', () => post({ signature: 'sig1=:YW=jZA==:' })),
  hostile('Signature is a token, not a byte sequence', 'bad-signature', () => post({ signature: 'sig1=abc' })),
  hostile('Signature is a string, not a byte sequence', 'bad-signature', () => post({ editSignature: (honest) => `sig1="${honest.slice(6, -1)}"` })),
  hostile('Signature is an inner list', 'bad-signature', () => post({ signature: 'sig1=(:AAAA:)' })),
  hostile('Signature bytes one short (63 bytes)', 'bad-signature', () => post({ mutateSignature: (signature) => signature.slice(0, 63) })),
  hostile('Signature bytes one long (65 bytes)', 'bad-signature', () => post({ mutateSignature: (signature) => new Uint8Array([...signature, 0]) })),
  hostile('Signature of 64 zero bytes', 'bad-signature', () => post({ mutateSignature: () => new Uint8Array(64) })),
  hostile('Signature with one bit flipped', 'bad-signature', () => post({ mutateSignature: flipLastBit })),
  hostile('Signature empty byte sequence', 'bad-signature', () => post({ signature: 'sig1=::' })),
  hostile('Signature header of 10 kB', 'bad-signature', () => post({ signature: `sig1=:${base64Encode(new Uint8Array(7_500))}:` })),
  hostile('label sig1 missing (only sigx)', 'bad-signature', () => post({ label: 'sigx' })),
  hostile('Signature label differs from Signature-Input label', 'bad-signature', () => post({ editSignature: (honest) => honest.replace('sig1=', 'sig9=') })),
  hostile('Signature-Input label uppercase (not an sf-key)', 'bad-signature', () => post({ editSignatureInput: (honest) => honest.replace('sig1=', 'SIG1=') })),
  hostile('Signature-Input member is an item, not an inner list', 'bad-signature', () => post({ signatureInput: `sig1="@method";created=${nowS()}` })),
  hostile('Signature-Input inner list not closed', 'bad-signature', () => post({ editSignatureInput: (honest) => honest.replace(')', '') })),
  hostile('Signature-Input components as tokens, not strings', 'bad-signature', () => post({ signatureInput: `sig1=(method target-uri);created=${nowS()};keyid="${alpha.keyid}"` })),
  hostile('Signature-Input with a trailing comma', 'bad-signature', () => post({ editSignatureInput: (honest) => `${honest},` })),
  hostile('Signature-Input with a DEL character in an sf-string', 'bad-signature', () => post({ editSignatureInput: (honest) => honest.replace('ed25519', 'ed25519\x7f') })),
  hostile('Signature-Input with an empty inner list', 'bad-signature', () => post({ components: [] })),
  hostile('a second, malformed label next to a valid sig1', 'bad-signature', () =>
    post({ editSignatureInput: (honest) => `${honest}, sig2=("@method");created="x"`, editSignature: (honest) => `${honest}, sig2=:AAAA:` })),
  hostile('duplicate sig1 labels in Signature-Input (garbage first, honest last)', 'bad-signature', () => post({ editSignatureInput: (honest) => `sig1=("@method");created=1, ${honest}` })),
  hostile('duplicate sig1 labels in Signature (garbage first, honest last)', 'bad-signature', () => post({ editSignature: (honest) => `sig1=:AAAA:, ${honest}` })),
  hostile('Signature-Input over 8 KiB', 'bad-signature', () => post({ params: { tag: 'x'.repeat(9_000) } })),
];

const componentCases: HostileCase[] = [
  hostile('signature does not cover @method', 'bad-signature', () => post({ components: ['@target-uri', 'content-digest', 'content-type'] })),
  hostile('signature does not cover @target-uri', 'bad-signature', () => post({ components: ['@method', 'content-digest', 'content-type'] })),
  hostile('signature does not cover content-type', 'bad-signature', () => post({ components: ['@method', '@target-uri', 'content-digest'] })),
  hostile('signature does not cover content-digest', 'bad-signature', () => post({ components: ['@method', '@target-uri', 'content-type'] })),
  hostile('signature covers @path and @authority instead of @target-uri', 'bad-signature', () => post({ components: ['@method', '@path', '@authority', 'content-digest', 'content-type'] })),
  hostile('signature covers only @method', 'bad-signature', () => post({ components: ['@method'] })),
  hostile('signature covers a bodiless GET set on a POST', 'bad-signature', () => post({ components: ['@method', '@target-uri'] })),
  hostile('a required component in uppercase', 'bad-signature', () => post({ components: ['@method', '@target-uri', 'Content-Digest', 'content-type'] })),
  hostile('a component listed twice', 'bad-signature', () => post({ components: [...defaultBodyComponents, 'content-type'] })),
  hostile('a component with a parameter (;sf)', 'bad-signature', () => post({ editSignatureInput: (honest) => honest.replace('"content-type"', '"content-type";sf') })),
  hostile('an unsupported derived component (@query-param)', 'bad-signature', () => post({ components: [...defaultBodyComponents, '@query-param'] })),
  hostile('a response-only derived component (@status)', 'bad-signature', () => post({ components: [...defaultBodyComponents, '@status'] })),
  hostile('a covered header that is absent', 'bad-signature', () => post({ components: [...defaultBodyComponents, 'x-partner-trace'] })),
  hostile('33 covered components', 'bad-signature', () => post({ components: [...defaultBodyComponents, ...Array.from({ length: 29 }, (_, index) => `x-h${index}`)] })),
  hostile('signed as GET, sent as POST', 'bad-signature', () => post({ signedAs: { method: 'GET' } })),
  hostile('signed for another path', 'bad-signature', () => post({ signedAs: { url: `${gatewayUrl}/v1/payment` } })),
  hostile('signed for another host', 'bad-signature', () => post({ signedAs: { url: 'https://evil.example/v1/payments' } })),
  hostile('signed for http://, sent over https://', 'bad-signature', () => post({ signedAs: { url: paymentsUrl.replace('https:', 'http:') } })),
  hostile('signed without a query string, sent with one', 'bad-signature', () => post({ url: `${paymentsUrl}?dry_run=1`, signedAs: { url: paymentsUrl } })),
  hostile('Content-Type changed after signing', 'bad-signature', () => post({ signedAs: { headers: { 'content-type': 'application/jose; charset=utf-8' } } })),
  hostile('signature by Alpha under Charlie\'s keyid', 'bad-signature', () => post({ params: { keyid: charlie.keyid } })),
];

const digestCases: HostileCase[] = [
  hostile('Content-Digest of another body', 'content-digest-mismatch', () => post({ digestOf: 'another body' })),
  hostile('Content-Digest of 32 zero bytes', 'content-digest-mismatch', () => post({ contentDigest: `sha-256=:${base64Encode(new Uint8Array(32))}:` })),
  hostile('Content-Digest sha-256 of the wrong length', 'content-digest-mismatch', () => post({ contentDigest: `sha-256=:${base64Encode(new Uint8Array(16))}:` })),
  hostile('Content-Digest with a right sha-256 and a wrong sha-512', 'content-digest-mismatch', async () => {
    const body = await validJws();
    return craftRequest({ body, contentDigest: `sha-256=:${await sha256Base64(utf8(body))}:, sha-512=:${base64Encode(new Uint8Array(64))}:` });
  }),
  hostile('Content-Digest with a wrong sha-256 next to an unknown algorithm', 'content-digest-mismatch', () => post({ contentDigest: `md5=:AAAAAAAAAAAAAAAAAAAAAA==:, sha-256=:${base64Encode(new Uint8Array(32))}:` })),
  hostile('body and Content-Digest both replaced after signing', 'bad-signature', async () => {
    const signed = await post();
    const otherBody = await validJws();
    const headers = new Headers(signed.headers);
    headers.set('content-digest', `sha-256=:${await sha256Base64(utf8(otherBody))}:`);
    return new Request(signed.url, { method: 'POST', headers, body: otherBody });
  }),
  hostile('Content-Digest missing although covered', 'bad-signature', () => post({ contentDigest: null })),
  hostile('Content-Digest not base64', 'bad-signature', () => post({ contentDigest: 'sha-256=:###:' })),
  hostile('Content-Digest as a token', 'bad-signature', () => post({ contentDigest: 'sha-256=abc' })),
  hostile('Content-Digest as a string', 'bad-signature', () => post({ contentDigest: 'sha-256="abc"' })),
  hostile('Content-Digest with only md5', 'bad-signature', () => post({ contentDigest: 'md5=:AAAAAAAAAAAAAAAAAAAAAA==:' })),
  hostile('Content-Digest in the legacy Digest syntax', 'bad-signature', () => post({ contentDigest: 'SHA-256=abc=' })),
  hostile('Content-Digest empty', 'bad-signature', () => post({ contentDigest: '' })),
];

const parameterCases: HostileCase[] = [
  hostile('keyid unknown', 'unknown-partner', () => post({ params: { keyid: 'nobody-2026-11' } })),
  hostile('keyid empty', 'unknown-partner', () => post({ params: { keyid: '' } })),
  hostile('keyid of 1,000 characters', 'unknown-partner', () => post({ params: { keyid: 'k'.repeat(1_000) } })),
  hostile('keyid in another case', 'unknown-partner', () => post({ params: { keyid: alpha.keyid.toUpperCase() } })),
  hostile('keyid missing', 'bad-signature', () => post({ params: { keyid: undefined } })),
  hostile('keyid as a token', 'bad-signature', () => post({ params: { keyid: new Token('alpha') } })),
  hostile('alg missing', 'bad-signature', () => post({ params: { alg: undefined } })),
  hostile('alg rsa-pss-sha512', 'bad-signature', () => post({ params: { alg: 'rsa-pss-sha512' } })),
  hostile('alg hmac-sha256', 'bad-signature', () => post({ params: { alg: 'hmac-sha256' } })),
  hostile('alg ecdsa-p256-sha256', 'bad-signature', () => post({ params: { alg: 'ecdsa-p256-sha256' } })),
  hostile('alg ED25519 (wrong case)', 'bad-signature', () => post({ params: { alg: 'ED25519' } })),
  hostile('alg ml-dsa-65 on sig1', 'bad-signature', () => post({ params: { alg: 'ml-dsa-65' } })),
  hostile('alg as a token', 'bad-signature', () => post({ params: { alg: new Token('ed25519') } })),
  hostile('nonce missing', 'bad-signature', () => post({ params: { nonce: undefined } })),
  hostile('nonce empty', 'bad-signature', () => post({ params: { nonce: '' } })),
  hostile('nonce of 15 characters', 'bad-signature', () => post({ params: { nonce: 'n'.repeat(15) } })),
  hostile('nonce of 129 characters', 'bad-signature', () => post({ params: { nonce: 'n'.repeat(129) } })),
  hostile('nonce as an integer', 'bad-signature', () => post({ params: { nonce: 123456789012345 } })),
  hostile('created missing', 'bad-signature', () => post({ params: { created: undefined } })),
  hostile('created as a string', 'bad-signature', () => post({ params: { created: String(nowS()) } })),
  hostile('created as a decimal', 'bad-signature', () => post({ params: { created: nowS() + 0.5 } })),
  hostile('created with 16 digits (beyond an sf-integer)', 'bad-signature', () => post({ editSignatureInput: (honest) => honest.replace(/created=\d+/, 'created=1234567890123456') })),
  hostile('a signature parameter repeated (two nonces, the honest one first)', 'bad-signature', () => post({ editSignatureInput: (honest) => honest.replace(';keyid=', ';nonce="zzzzzzzzzzzzzzzzzzzz";keyid=') })),
  hostile('a signature parameter repeated (two created)', 'bad-signature', () => post({ editSignatureInput: (honest) => honest.replace(';nonce=', `;created=${nowS()};nonce=`) })),
  hostile('an unknown signature parameter', 'bad-signature', () => post({ params: { foo: 'bar' } })),
  hostile('expires as a string', 'bad-signature', () => post({ params: { expires: 'never' } })),
  hostile('created 301 s in the future', 'stale-signature', () => post({ params: { created: nowS() + 301 } })),
  hostile('created 1 h in the future', 'stale-signature', () => post({ params: { created: nowS() + 3_600 } })),
  hostile('created 301 s in the past', 'stale-signature', () => post({ params: { created: nowS() - 301 } })),
  hostile('created 25 h in the past (beyond the nonce window)', 'stale-signature', () => post({ params: { created: nowS() - 25 * 3_600 } })),
  hostile('created 0', 'stale-signature', () => post({ params: { created: 0 } })),
  hostile('created negative', 'stale-signature', () => post({ params: { created: -1 } })),
  hostile('created at the largest sf-integer', 'stale-signature', () => post({ params: { created: 999_999_999_999_999 } })),
  hostile('expires 1 s ago', 'stale-signature', () => post({ params: { expires: nowS() - 1 } })),
  hostile('expires now', 'stale-signature', () => post({ params: { expires: nowS() } })),
  hostile('expires long ago', 'stale-signature', () => post({ params: { created: nowS(), expires: 1 } })),
];

const replayCases: HostileCase[] = [
  hostile('the nonce of an accepted request, on a new request', 'replayed-nonce', async () => {
    const nonce = 'replay-nonce-' + crypto.randomUUID();
    const first = await SELF.fetch(await post({ params: { nonce } }));
    if (first.status !== 202) throw new Error(`setup: the first request was not accepted (${first.status})`);
    return post({ params: { nonce } });
  }),
  hostile('the nonce of a refused-but-verified request, on a new request', 'replayed-nonce', async () => {
    const nonce = 'replay-nonce-' + crypto.randomUUID();
    // Verified signature, invalid instruction: the nonce is claimed before the instruction is read.
    await SELF.fetch(await craftRequest({ body: await signInstruction(alpha, { ...eurPayment(), uetr: 'x' }), params: { nonce } }));
    return post({ params: { nonce } });
  }),
];

const uetr = '7c1e7d6a-2f43-4c1e-9a55-0d3f1b2c4e5f';
const methodAndPathCases: HostileCase[] = [
  hostile('GET /v1/payments', 'method-not-allowed', () => craftRequest({ method: 'GET' })),
  hostile('PUT /v1/payments', 'method-not-allowed', () => post({ method: 'PUT' })),
  hostile('PATCH /v1/payments', 'method-not-allowed', () => post({ method: 'PATCH' })),
  hostile('DELETE /v1/payments', 'method-not-allowed', () => craftRequest({ method: 'DELETE' })),
  hostile('OPTIONS /v1/payments', 'method-not-allowed', () => craftRequest({ method: 'OPTIONS' })),
  hostile('POST /v1/payments/{uetr}', 'method-not-allowed', () => post({ url: `${paymentsUrl}/${uetr}` })),
  hostile('PUT /v1/payments/{uetr}', 'method-not-allowed', () => post({ method: 'PUT', url: `${paymentsUrl}/${uetr}` })),
  hostile('DELETE /v1/payments/{uetr}', 'method-not-allowed', () => craftRequest({ method: 'DELETE', url: `${paymentsUrl}/${uetr}` })),
  hostile('POST /.well-known/meridian', 'method-not-allowed', () => post({ url: `${gatewayUrl}/.well-known/meridian` })),
  hostile('DELETE /.well-known/jwks.json', 'method-not-allowed', () => craftRequest({ method: 'DELETE', url: `${gatewayUrl}/.well-known/jwks.json` })),
  hostile('POST /healthz', 'method-not-allowed', () => post({ url: `${gatewayUrl}/healthz` })),
  hostile('PUT /openapi.json', 'method-not-allowed', () => post({ method: 'PUT', url: `${gatewayUrl}/openapi.json` })),
  hostile('POST /v1/payment (singular)', 'not-found', () => post({ url: `${gatewayUrl}/v1/payment` })),
  hostile('POST /v2/payments', 'not-found', () => post({ url: `${gatewayUrl}/v2/payments` })),
  hostile('POST /V1/PAYMENTS (case)', 'not-found', () => post({ url: `${gatewayUrl}/V1/PAYMENTS` })),
  hostile('GET /', 'not-found', () => craftRequest({ method: 'GET', url: `${gatewayUrl}/` })),
  hostile('GET /.well-known/unknown', 'not-found', () => craftRequest({ method: 'GET', url: `${gatewayUrl}/.well-known/unknown` })),
  hostile('GET /v1/payments/{uetr}/receipt', 'not-found', () => craftRequest({ method: 'GET', url: `${paymentsUrl}/${uetr}/receipt` })),
  hostile('GET a path of 8,000 characters', 'not-found', () => craftRequest({ method: 'GET', url: `${gatewayUrl}/${'a'.repeat(8_000)}` })),
  hostile('GET a path with an encoded NUL', 'not-found', () => craftRequest({ method: 'GET', url: `${gatewayUrl}/v1/%00` })),
  hostile('GET /v1/payments/{uetr} unsigned', 'bad-signature', () => craftRequest({ method: 'GET', url: `${paymentsUrl}/${uetr}`, signatureInput: null, signature: null })),
  hostile('GET /v1/payments/{uetr} signed for another UETR', 'bad-signature', () => craftRequest({ method: 'GET', url: `${paymentsUrl}/${uetr}`, signedAs: { url: `${paymentsUrl}/${crypto.randomUUID()}` } })),
  hostile('GET /v1/payments/{uetr} for a UETR nobody submitted', 'not-found', () => craftRequest({ method: 'GET', url: `${paymentsUrl}/${crypto.randomUUID()}` })),
  hostile('GET /v1/payments/{uetr} with an uppercase UETR', 'not-found', () => craftRequest({ method: 'GET', url: `${paymentsUrl}/${uetr.toUpperCase()}` })),
  hostile('GET /v1/payments/{uetr} with a path traversal', 'not-found', () => craftRequest({ method: 'GET', url: `${paymentsUrl}/..%2f..%2fhealthz` })),
  hostile('GET /v1/payments/{uetr} with a stale signature', 'stale-signature', () => craftRequest({ method: 'GET', url: `${paymentsUrl}/${uetr}`, params: { created: nowS() - 600 } })),
];

describe('hostile input: controls', () => {
  it('accepts the unmodified crafted request, so each case below is refused for the one thing it breaks', async () => {
    const response = await SELF.fetch(await post());
    expect(response.status, await response.clone().text()).toBe(202);
  });

  it('accepts an honest GET of an accepted payment built the same way', async () => {
    const instruction = eurPayment();
    expect((await SELF.fetch(await craftRequest({ body: await signInstruction(alpha, instruction) }))).status).toBe(202);
    expect((await SELF.fetch(await craftRequest({ method: 'GET', url: `${paymentsUrl}/${instruction.uetr}` }))).status).toBe(200);
  });
});

describe('hostile input: media types', () => runHostileCases(mediaTypeCases, it));
describe('hostile input: body size and truncation', () => runHostileCases(bodySizeCases, it));
describe('hostile input: Signature-Input and Signature syntax', () => runHostileCases(signatureHeaderCases, it));
describe('hostile input: covered components', () => runHostileCases(componentCases, it));
describe('hostile input: Content-Digest', () => runHostileCases(digestCases, it));
describe('hostile input: signature parameters and freshness', () => runHostileCases(parameterCases, it));
describe('hostile input: replay', () => runHostileCases(replayCases, it));
describe('hostile input: methods and paths', () => runHostileCases(methodAndPathCases, it));

