import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64Decode, base64Encode, base64urlDecode, base64urlEncode, sha256, sha256Hex, utf8 } from '../../core/digest.ts';

describe('sha256', () => {
  it('matches the FIPS 180-2 vectors, lowercase hex', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('hashes strings as UTF-8, the same as the bytes', () => {
    expect(sha256Hex('€')).toBe(sha256Hex(new Uint8Array([0xe2, 0x82, 0xac])));
    expect(sha256('€')).toHaveLength(32);
    expect(utf8('€')).toEqual(new Uint8Array([0xe2, 0x82, 0xac]));
  });
});

describe('base64 / base64url', () => {
  it('encodes the RFC 4648 §10 vectors', () => {
    const vectors: Array<[string, string]> = [['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foob', 'Zm9vYg=='], ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy']];
    for (const [plain, encoded] of vectors) {
      expect(base64Encode(utf8(plain))).toBe(encoded);
      expect(base64urlEncode(utf8(plain))).toBe(encoded.replaceAll('=', ''));
    }
    expect(base64Encode(new Uint8Array([0xfb, 0xff]))).toBe('+/8=');
    expect(base64urlEncode(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
  });

  it('round-trips any bytes and agrees with Node Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(base64Encode(bytes)).toBe(Buffer.from(bytes).toString('base64'));
        expect(base64urlEncode(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
        expect(base64Decode(base64Encode(bytes))).toEqual(bytes);
        expect(base64urlDecode(base64urlEncode(bytes))).toEqual(bytes);
      }),
    );
  });

  it('base64url rejects padding, the standard alphabet, whitespace and non-canonical tails', () => {
    for (const bad of ['Zg==', 'Zg=', '+/8', 'a/b', 'Zm 9v', 'Zm9v\n', 'Z', 'Zh', 'Zm9=', 'é']) {
      expect(() => base64urlDecode(bad), bad).toThrow();
    }
  });

  it('base64 requires padding and rejects the url alphabet, misplaced = and non-canonical tails', () => {
    for (const bad of ['Zg', 'Zg=', 'Z===', 'Zh==', 'Zm9=', '-_8=', 'Zg==Zg==', '=Zg=', 'Zm9v ', ' Zm9v']) {
      expect(() => base64Decode(bad), bad).toThrow();
    }
    expect(base64Decode('+/8=')).toEqual(new Uint8Array([0xfb, 0xff]));
  });
});
