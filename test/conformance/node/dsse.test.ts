/**
 * DSSE v1 against secure-systems-lab/dsse's test vector (copied into test/conformance/vectors/dsse):
 * the PAE bytes, and the ECDSA P-256 envelope verified through WebCrypto (the runtime-neutral path
 * core/dsse.ts uses). Then Ed25519 round trips and tampering.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { base64Encode, utf8 } from '../../../core/digest.ts';
import { ecdsaP256DsseVerifier, ed25519DsseVerifier, parseEnvelope, preAuthEncoding, serializeEnvelope, signEnvelope, verifyEnvelope, type DsseEnvelope } from '../../../core/dsse.ts';

const vector = JSON.parse(readFileSync(join(import.meta.dirname, '../vectors/dsse/vector.json'), 'utf8')) as {
  payloadType: string;
  payload_utf8: string;
  pae_utf8: string;
  key: { x: string; y: string; d: string };
  envelope: DsseEnvelope;
};

function bigEndian32(decimal: string): Uint8Array {
  return Uint8Array.from(BigInt(decimal).toString(16).padStart(64, '0').match(/../g)!, (pair) => parseInt(pair, 16));
}

const vectorPublicKey = Uint8Array.from([0x04, ...bigEndian32(vector.key.x), ...bigEndian32(vector.key.y)]);

describe('DSSE v1 (secure-systems-lab/dsse vector)', () => {
  it('computes the pre-authentication encoding', () => {
    expect(new TextDecoder().decode(preAuthEncoding(vector.payloadType, utf8(vector.payload_utf8)))).toBe(vector.pae_utf8);
  });

  it('verifies the ECDSA P-256 envelope with WebCrypto', async () => {
    const parsed = parseEnvelope(JSON.stringify(vector.envelope));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const verified = await verifyEnvelope(parsed.value, [await ecdsaP256DsseVerifier('66301bbf', vectorPublicKey)]);
    expect(verified.ok).toBe(true);
    if (!verified.ok) return;
    expect(verified.value.payloadType).toBe(vector.payloadType);
    expect(new TextDecoder().decode(verified.value.payload)).toBe(vector.payload_utf8);
    expect(verified.value.verifiedKeyids).toEqual(['66301bbf']);
  });

  it('reproduces the vector signature with the vector key (deterministic RFC 6979 ECDSA)', () => {
    const signature = p256.sign(preAuthEncoding(vector.payloadType, utf8(vector.payload_utf8)), bigEndian32(vector.key.d), { lowS: false });
    expect(base64Encode(signature)).toBe(vector.envelope.signatures[0]!.sig);
  });

  it('rejects the envelope once its payload type or payload changes (both are under the signature)', async () => {
    const keys = [await ecdsaP256DsseVerifier('66301bbf', vectorPublicKey)];
    expect((await verifyEnvelope({ ...vector.envelope, payloadType: 'http://example.com/HelloWorlds' }, keys)).ok).toBe(false);
    expect((await verifyEnvelope({ ...vector.envelope, payload: base64Encode(utf8('hello worle')) }, keys)).ok).toBe(false);
  });

  it('does not accept a signature because of its keyid: an untrusted key with the same keyid fails', async () => {
    const stranger = p256.getPublicKey(p256.utils.randomSecretKey(), false);
    expect(await verifyEnvelope(vector.envelope, [await ecdsaP256DsseVerifier('66301bbf', stranger)])).toMatchObject({ ok: false, reason: { kind: 'no-trusted-signature' } });
  });
});

describe('DSSE with Ed25519', () => {
  const seed = ed25519.utils.randomSecretKey();
  const publicKey = ed25519.getPublicKey(seed);
  const signer = { keyid: 'regional-key-1', sign: async (encoded: Uint8Array) => ed25519.sign(encoded, seed) };

  it('signs over PAE bytes, serializes canonically and verifies after a parse', async () => {
    const envelope = await signEnvelope('application/vnd.in-toto+json', utf8('{"a":1}'), [signer]);
    const text = serializeEnvelope(envelope);
    expect(text.startsWith('{"payload":"eyJhIjoxfQ==","payloadType":"application/vnd.in-toto+json","signatures":[{"keyid":"regional-key-1","sig":"')).toBe(true);
    expect(ed25519.verify(base64ToBytes(envelope.signatures[0]!.sig), preAuthEncoding('application/vnd.in-toto+json', utf8('{"a":1}')), publicKey)).toBe(true);
    const parsed = parseEnvelope(text);
    expect(parsed.ok && (await verifyEnvelope(parsed.value, [ed25519DsseVerifier('regional-key-1', publicKey)])).ok).toBe(true);
  });

  it('fails under another key', async () => {
    const envelope = await signEnvelope('application/vnd.in-toto+json', utf8('{}'), [signer]);
    const otherKey = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
    expect((await verifyEnvelope(envelope, [ed25519DsseVerifier('regional-key-1', otherKey)])).ok).toBe(false);
  });

  it.each([
    ['not JSON', '{'],
    ['no signatures', '{"payload":"","payloadType":"t","signatures":[]}'],
    ['an unknown field', '{"payload":"","payloadType":"t","signatures":[{"sig":"AA=="}],"extra":1}'],
    ['bad base64', '{"payload":"!!","payloadType":"t","signatures":[{"sig":"AA=="}]}'],
  ])('rejects an envelope with %s', (_label, text) => {
    expect(parseEnvelope(text)).toMatchObject({ ok: false, reason: { kind: 'malformed-envelope' } });
  });
});

function base64ToBytes(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, 'base64'));
}
