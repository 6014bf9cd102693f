/**
 * RFC 9421 Appendix B.2.6 inside workerd: our signature base for the RFC's test request must be
 * byte-identical to the RFC's, and the RFC's Ed25519 signature must verify over it with WebCrypto.
 * The vector's `created` is in 2021, so nothing here depends on the clock.
 */
import { describe, expect, it } from 'vitest';
import vector from '../vectors/rfc9421/rfc9421-b26.txt?raw';
import { parseMessageSignatures, signatureBase } from '../../../core/message-signature.ts';

function section(title: string): string {
  const start = vector.indexOf(`---- ${title}`);
  const body = vector.slice(vector.indexOf('\n', start) + 1);
  return body.slice(0, body.indexOf('\n---- ') === -1 ? undefined : body.indexOf('\n---- '));
}

const expectedBase = section('B.2.6 signature base').trim();
const headerLines = section('B.2.6 header fields added').trim().split('\n');
const signatureInput = (headerLines.find((line) => line.startsWith('Signature-Input:')) as string).slice('Signature-Input: '.length);
const signature = (headerLines.find((line) => line.startsWith('Signature:')) as string).slice('Signature: '.length);
const jwk = JSON.parse((vector.match(/\{"kty":"OKP"[^\n]+\}/) as RegExpMatchArray)[0]) as JsonWebKey & { d?: string };

const request = {
  method: 'POST',
  url: 'https://example.com/foo?param=Value&Pet=dog',
  headers: new Headers({
    Host: 'example.com',
    Date: 'Tue, 20 Apr 2021 02:07:55 GMT',
    'Content-Type': 'application/json',
    'Content-Digest': 'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
    'Content-Length': '18',
  }),
};

describe('RFC 9421 B.2.6 (ed25519)', () => {
  const parsed = parseMessageSignatures(signatureInput, signature);
  if (!parsed.ok) throw new Error(parsed.reason.detail);
  const entry = parsed.value.get('sig-b26');
  if (entry === undefined) throw new Error('vector has no sig-b26');

  it('parses the signature parameters', () => {
    expect(entry.components).toEqual(['date', '@method', '@path', '@authority', 'content-type', 'content-length']);
    expect(entry.params).toEqual({ created: 1618884473, keyid: 'test-key-ed25519' });
  });

  it('builds the exact signature base of the RFC', () => {
    const base = signatureBase(request, entry.components, entry.signatureParams);
    expect(base.ok && base.value).toBe(expectedBase);
  });

  it('verifies the RFC signature with WebCrypto Ed25519, and not over a modified base', async () => {
    const { d: _private, ...publicJwk } = jwk;
    const key = await crypto.subtle.importKey('jwk', publicJwk, { name: 'Ed25519' }, false, ['verify']);
    const encode = (text: string) => new TextEncoder().encode(text);
    expect(await crypto.subtle.verify({ name: 'Ed25519' }, key, entry.signature, encode(expectedBase))).toBe(true);
    expect(await crypto.subtle.verify({ name: 'Ed25519' }, key, entry.signature, encode(expectedBase.replace('/foo', '/bar')))).toBe(false);
  });
});
