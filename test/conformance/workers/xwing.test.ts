/**
 * X-Wing KEM vectors (draft-connolly-cfrg-xwing-kem) inside workerd, through both X-Wing
 * implementations Meridian touches: @noble/post-quantum (dev key generation, the independent test
 * client) and @hpke/hybridkem-x-wing (the gateway's HPKE KEM and the SDK), and through our own
 * public-key derivation for discovery.
 */
import { ml_kem768_x25519 as nobleXWing } from '@noble/post-quantum/hybrid.js';
import { XWing } from '@hpke/hybridkem-x-wing';
import { describe, expect, it } from 'vitest';
import vectors from '../vectors/xwing/test-vectors.json';
import { xwingPublicKeyFromSeed } from '../../../core/pq-session.ts';

const hex = (text: string): Uint8Array => Uint8Array.from(text.match(/../g) ?? [], (byte) => Number.parseInt(byte, 16));
const toHex = (bytes: ArrayBuffer | Uint8Array): string => Array.from(new Uint8Array(bytes), (byte) => byte.toString(16).padStart(2, '0')).join('');

describe('X-Wing vectors', () => {
  it('has the three upstream vectors', () => {
    expect(vectors).toHaveLength(3);
  });

  for (const [index, vector] of vectors.entries()) {
    describe(`vector ${index}`, () => {
      it('@noble/post-quantum: KeyGen, EncapsulateDerand and Decapsulate match', () => {
        const keys = nobleXWing.keygen(hex(vector.seed));
        expect(toHex(keys.publicKey)).toBe(vector.pk);
        expect(toHex(keys.secretKey)).toBe(vector.sk);
        const encapsulated = nobleXWing.encapsulate(hex(vector.pk), hex(vector.eseed));
        expect(toHex(encapsulated.cipherText)).toBe(vector.ct);
        expect(toHex(encapsulated.sharedSecret)).toBe(vector.ss);
        expect(toHex(nobleXWing.decapsulate(hex(vector.ct), hex(vector.sk)))).toBe(vector.ss);
      });

      it('@hpke/hybridkem-x-wing (the HPKE KEM 0x647A of the gateway): derive, encap with eseed, decap', async () => {
        const kem = new XWing();
        const keyPair = await kem.generateKeyPairDerand(hex(vector.seed));
        expect(toHex(await kem.serializePublicKey(keyPair.publicKey))).toBe(vector.pk);
        expect(toHex(await kem.serializePrivateKey(keyPair.privateKey))).toBe(vector.sk);
        const recipientPublicKey = await kem.deserializePublicKey(hex(vector.pk));
        const encapsulated = await kem.encap({ recipientPublicKey, ekm: hex(vector.eseed) });
        expect(toHex(encapsulated.enc)).toBe(vector.ct);
        expect(toHex(encapsulated.sharedSecret)).toBe(vector.ss);
        const recipientKey = await kem.importKey('raw', hex(vector.sk).buffer as ArrayBuffer, false);
        expect(toHex(await kem.decap({ enc: hex(vector.ct), recipientKey }))).toBe(vector.ss);
      });

      it('the discovery key derivation (core/pq-session.ts) gives the vector public key', async () => {
        expect(toHex(await xwingPublicKeyFromSeed(hex(vector.seed)))).toBe(vector.pk);
      });

      it('a flipped ciphertext bit yields a different shared secret in both implementations (implicit rejection)', async () => {
        const tampered = hex(vector.ct);
        tampered[5] = (tampered[5] as number) ^ 0x01;
        expect(toHex(nobleXWing.decapsulate(tampered, hex(vector.sk)))).not.toBe(vector.ss);
        const kem = new XWing();
        const recipientKey = await kem.importKey('raw', hex(vector.sk).buffer as ArrayBuffer, false);
        const hpkeSecret = toHex(await kem.decap({ enc: tampered, recipientKey }));
        expect(hpkeSecret).not.toBe(vector.ss);
        expect(hpkeSecret).toBe(toHex(nobleXWing.decapsulate(tampered, hex(vector.sk))));
      });
    });
  }
});
