/**
 * The gateway's X-Wing key for PQ sessions (DESIGN.md "PQ session"). The binding holds the 32-byte
 * X-Wing seed (which is the X-Wing private key) and its key id; the public key published by
 * discovery is derived from it, so the two can never disagree.
 */
import { base64urlDecode, base64urlEncode } from '../../core/digest.ts';
import { hpkeSessionSuite, xwingPublicKeyFromSeed, xwingSeedBytes } from '../../core/pq-session.ts';

export interface GatewayKemKey {
  kid: string;
  /** base64url of the 1216-byte X-Wing public key. */
  publicKey: string;
  /** The recipient key for @hpke/core. */
  privateKey: CryptoKey;
}

let cached: { source: string; key: Promise<GatewayKemKey> } | undefined;

export function gatewayKemKey(source: string): Promise<GatewayKemKey> {
  if (cached?.source === source) return cached.key;
  const key = importGatewayKemKey(source);
  cached = { source, key };
  return key;
}

/** A malformed key binding is an operator error: it fails loudly (the request gets a logged 500). */
async function importGatewayKemKey(source: string): Promise<GatewayKemKey> {
  const parsed = JSON.parse(source) as { kid?: unknown; seed?: unknown };
  if (typeof parsed.kid !== 'string' || parsed.kid.length === 0 || typeof parsed.seed !== 'string') {
    throw new Error('GATEWAY_XWING_KEY must be JSON {"kid", "seed"}');
  }
  const seed = base64urlDecode(parsed.seed);
  if (seed.length !== xwingSeedBytes) throw new Error(`GATEWAY_XWING_KEY seed must be ${xwingSeedBytes} bytes`);
  const privateKey = await hpkeSessionSuite().kem.importKey('raw', seed.slice().buffer, false);
  return { kid: parsed.kid, publicKey: base64urlEncode(await xwingPublicKeyFromSeed(seed)), privateKey };
}
