/**
 * Wycheproof ML-DSA-65 verification (160 cases) inside workerd, through the gateway's own wrapper
 * (core/ml-dsa.ts: the function behind sig2 and the ML-DSA-65 instruction signature). Every valid
 * case must verify and every invalid one must be refused — including wrong key and signature
 * lengths, which the wrapper must answer with `false`, never an exception.
 *
 * The vector file ships gzipped and base64-encoded (Vite imports text only); it is checked against
 * its recorded SHA-256 and decompressed with workerd's DecompressionStream.
 */
import { describe, expect, it } from 'vitest';
import encodedGzip from '../vectors/wycheproof/mldsa_65_verify_test.json.gz.b64?raw';
import { base64Decode, sha256Hex } from '../../../core/digest.ts';
import { verifyMlDsa65 } from '../../../core/ml-dsa.ts';

interface WycheproofFile {
  algorithm: string;
  numberOfTests: number;
  testGroups: Array<{ type: string; publicKey: string; tests: Array<{ tcId: string | number; comment: string; msg: string; sig: string; ctx?: string; result: 'valid' | 'invalid' | 'acceptable'; flags: unknown }> }>;
}

const gzipSha256 = 'e549fbc65545fe203894a6d30fd607a970392437b1241654a8fe4ca0ed621088';
const hex = (text: string): Uint8Array => Uint8Array.from(text.match(/../g) ?? [], (byte) => Number.parseInt(byte, 16));

async function loadVectors(): Promise<WycheproofFile> {
  const gzip = base64Decode(encodedGzip.replace(/\s+/g, ''));
  expect(sha256Hex(gzip)).toBe(gzipSha256);
  const stream = new Blob([gzip]).stream().pipeThrough(new DecompressionStream('gzip'));
  return JSON.parse(await new Response(stream).text()) as WycheproofFile;
}

describe('Wycheproof ML-DSA-65 verify', async () => {
  const file = await loadVectors();
  const cases = file.testGroups.flatMap((group) => group.tests.map((test) => ({ ...test, publicKey: group.publicKey })));

  it('is the 160-case ML-DSA-65 file', () => {
    expect(file.algorithm).toBe('ML-DSA-65');
    expect(file.numberOfTests).toBe(160);
    expect(cases).toHaveLength(160);
    expect(cases.every((test) => test.result === 'valid' || test.result === 'invalid')).toBe(true);
  });

  it('agrees with every case (valid verifies, invalid is refused, nothing throws)', () => {
    const disagreements = cases
      .filter((test) => verifyMlDsa65(hex(test.publicKey), hex(test.msg), hex(test.sig), test.ctx === undefined ? undefined : hex(test.ctx)) !== (test.result === 'valid'))
      .map((test) => `tcId ${test.tcId} (${test.comment}): expected ${test.result}`);
    expect(disagreements).toEqual([]);
  });

  it('refuses every valid signature over a modified message', () => {
    const valid = cases.filter((test) => test.result === 'valid');
    expect(valid.length).toBeGreaterThan(70);
    for (const test of valid) {
      const message = new Uint8Array([...hex(test.msg), 0x00]);
      expect(verifyMlDsa65(hex(test.publicKey), message, hex(test.sig), test.ctx === undefined ? undefined : hex(test.ctx)), `tcId ${test.tcId}`).toBe(false);
    }
  });
});
