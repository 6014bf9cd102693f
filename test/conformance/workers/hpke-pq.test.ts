/**
 * draft-ietf-hpke-pq vectors for KEM 0x647A (X-Wing) inside workerd. The gateway's session suite is
 * X-Wing + HKDF-SHA256 + AES-256-GCM; the vectors pair X-Wing with ChaCha20-Poly1305 (0x0003), which
 * only changes the suite id and the AEAD, so the HKDF-SHA256 vector checks everything of ours that
 * is not AES-GCM: KEM decapsulation, the RFC 9180 key schedule (through @hpke/core, the code the
 * gateway and SDK run) and the exporter (our payload and confirm keys are exports). ChaCha20-Poly1305
 * comes from @noble/ciphers, wrapped as an @hpke/core AEAD. The 0x0011 vector uses a one-stage KDF
 * that @hpke/core does not implement; for it the KEM shared secret is checked.
 */
import { CipherSuite, HkdfSha256, type AeadEncryptionContext, type AeadInterface } from '@hpke/core';
import { XWing } from '@hpke/hybridkem-x-wing';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ml_kem768_x25519 as nobleXWing } from '@noble/post-quantum/hybrid.js';
import { describe, expect, it } from 'vitest';
import vectors from '../vectors/hpke-pq/test-vectors.json';

interface HpkeVector {
  mode: number;
  kem_id: number;
  kdf_id: number;
  aead_id: number;
  info: string;
  ikmE: string;
  skRm: string;
  pkRm: string;
  enc: string;
  shared_secret: string;
  encryptions: Array<{ aad: string; ct: string; nonce: string; pt: string }>;
  exports: Array<{ exporter_context: string; L: number; exported_value: string }>;
}

const hex = (text: string): Uint8Array<ArrayBuffer> => Uint8Array.from(text.match(/../g) ?? [], (byte) => Number.parseInt(byte, 16));
const toHex = (bytes: ArrayBuffer | Uint8Array): string => Array.from(new Uint8Array(bytes), (byte) => byte.toString(16).padStart(2, '0')).join('');
const bytesOf = (data: ArrayBufferLike | ArrayBufferView): Uint8Array => (ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data));

/** ChaCha20-Poly1305 (AEAD 0x0003) for @hpke/core, from @noble/ciphers. */
const chaCha20Poly1305: AeadInterface = {
  id: 0x0003,
  keySize: 32,
  nonceSize: 12,
  tagSize: 16,
  createEncryptionContext(key): AeadEncryptionContext {
    const rawKey = bytesOf(key).slice();
    return {
      seal: async (iv, data, aad) => chacha20poly1305(rawKey, bytesOf(iv), bytesOf(aad)).encrypt(bytesOf(data)).slice().buffer,
      open: async (iv, data, aad) => chacha20poly1305(rawKey, bytesOf(iv), bytesOf(aad)).decrypt(bytesOf(data)).slice().buffer,
    };
  },
};

const xwingVectors = (vectors as HpkeVector[]).filter((vector) => vector.kem_id === 0x647a);

describe('hpke-pq KEM 0x647A vectors', () => {
  it('has the two X-Wing vectors, base mode', () => {
    expect(xwingVectors.map((vector) => [vector.mode, vector.kdf_id, vector.aead_id])).toEqual([[0, 0x0001, 0x0003], [0, 0x0011, 0x0003]]);
  });

  for (const vector of xwingVectors) {
    it(`kdf 0x${vector.kdf_id.toString(16).padStart(4, '0')}: the recipient key from skRm gives pkRm, and enc decapsulates to shared_secret (@hpke and noble)`, async () => {
      const kem = new XWing();
      const derived = await kem.generateKeyPairDerand(hex(vector.skRm));
      expect(toHex(await kem.serializePublicKey(derived.publicKey))).toBe(vector.pkRm);
      const recipientKey = await kem.importKey('raw', hex(vector.skRm).buffer, false);
      expect(toHex(await kem.decap({ enc: hex(vector.enc), recipientKey }))).toBe(vector.shared_secret);
      expect(toHex(nobleXWing.decapsulate(hex(vector.enc), hex(vector.skRm)))).toBe(vector.shared_secret);
    });
  }

  const hkdfVector = xwingVectors.find((vector) => vector.kdf_id === 0x0001) as HpkeVector;
  const suite = new CipherSuite({ kem: new XWing(), kdf: new HkdfSha256(), aead: chaCha20Poly1305 });

  it('HKDF-SHA256: the recipient context opens every encryption in sequence', async () => {
    const recipientKey = await suite.kem.importKey('raw', hex(hkdfVector.skRm).buffer, false);
    const recipient = await suite.createRecipientContext({ recipientKey, enc: hex(hkdfVector.enc), info: hex(hkdfVector.info) });
    expect(hkdfVector.encryptions.length).toBeGreaterThan(0);
    for (const encryption of hkdfVector.encryptions) {
      expect(toHex(await recipient.open(hex(encryption.ct), hex(encryption.aad)))).toBe(encryption.pt);
    }
  });

  it('HKDF-SHA256: every export matches (the mechanism behind the payload and confirm keys)', async () => {
    const recipientKey = await suite.kem.importKey('raw', hex(hkdfVector.skRm).buffer, false);
    const recipient = await suite.createRecipientContext({ recipientKey, enc: hex(hkdfVector.enc), info: hex(hkdfVector.info) });
    expect(hkdfVector.exports).toHaveLength(5);
    for (const exported of hkdfVector.exports) {
      expect(toHex(await recipient.export(hex(exported.exporter_context), exported.L))).toBe(exported.exported_value);
    }
  });

  it('HKDF-SHA256: a different info gives different exports (info is bound into the key schedule)', async () => {
    const recipientKey = await suite.kem.importKey('raw', hex(hkdfVector.skRm).buffer, false);
    const recipient = await suite.createRecipientContext({ recipientKey, enc: hex(hkdfVector.enc), info: new TextEncoder().encode('meridian/v1 session') });
    const first = hkdfVector.exports[0] as HpkeVector['exports'][number];
    expect(toHex(await recipient.export(hex(first.exporter_context), first.L))).not.toBe(first.exported_value);
  });

  it('HKDF-SHA256: the sender side, encapsulating with ikmE as the X-Wing eseed, reproduces enc and seals the first ciphertext', async () => {
    const recipientPublicKey = await suite.kem.deserializePublicKey(hex(hkdfVector.pkRm));
    const sender = await suite.createSenderContext({ recipientPublicKey, info: hex(hkdfVector.info), ekm: hex(hkdfVector.ikmE) });
    expect(toHex(sender.enc)).toBe(hkdfVector.enc);
    const first = hkdfVector.encryptions[0] as HpkeVector['encryptions'][number];
    expect(toHex(await sender.seal(hex(first.pt), hex(first.aad)))).toBe(first.ct);
  });
});
