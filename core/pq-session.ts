/**
 * The PQ session of the partner protocol (DESIGN.md "PQ session"), the parts both sides compute:
 * the HPKE suite (RFC 9180 base mode, X-Wing KEM 0x647A, HKDF-SHA256 0x0001, AES-256-GCM 0x0002),
 * the `info` and exporter labels, and the key confirmation value. Runtime-neutral: @hpke/core runs
 * on WebCrypto (workerd, Node ≥ 20, browsers), HMAC and SHA-256 come from @noble/hashes.
 */
import { Aes256Gcm, CipherSuite, HkdfSha256 } from '@hpke/core';
import { XWing } from '@hpke/hybridkem-x-wing';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { base64urlEncode, utf8 } from './digest.ts';

/** The one suite the gateway speaks, spelled as it appears in the session request and answer. */
export const sessionSuite = { kem: 'X-Wing', kdf: 'HKDF-SHA256', aead: 'AES-256-GCM' } as const;
export type SessionSuite = typeof sessionSuite;

export const sessionInfo = utf8('meridian/v1 session');
export const payloadKeyContext = utf8('meridian/v1 payload key');
export const confirmKeyContext = utf8('meridian/v1 confirm');
export const exportedKeyBytes = 32;

/** X-Wing sizes (draft-connolly-cfrg-xwing-kem): encapsulation 1120 bytes, public key 1216, seed 32. */
export const xwingEncBytes = 1120;
export const xwingPublicKeyBytes = 1216;
export const xwingSeedBytes = 32;

/** A session lives at most one hour (the ticket carries its own expiry; nothing is stored). */
export const sessionTtlMaxMs = 60 * 60 * 1000;

export function hpkeSessionSuite(): CipherSuite {
  return new CipherSuite({ kem: new XWing(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
}

/** The X-Wing public key of a 32-byte seed (the private key *is* the seed in X-Wing). */
export async function xwingPublicKeyFromSeed(seed: Uint8Array): Promise<Uint8Array> {
  if (seed.length !== xwingSeedBytes) throw new Error(`X-Wing seed must be ${xwingSeedBytes} bytes, got ${seed.length}`);
  const kem = new XWing();
  const keyPair = await kem.generateKeyPairDerand(seed);
  return new Uint8Array(await kem.serializePublicKey(keyPair.publicKey));
}

export interface SessionKeys {
  payloadKey: Uint8Array;
  confirmKey: Uint8Array;
}

/** Both exports of an HPKE context (sender or recipient alike). */
export async function exportSessionKeys(context: { export(exporterContext: ArrayBuffer | Uint8Array, length: number): Promise<ArrayBuffer> }): Promise<SessionKeys> {
  const payloadKey = new Uint8Array(await context.export(payloadKeyContext, exportedKeyBytes));
  const confirmKey = new Uint8Array(await context.export(confirmKeyContext, exportedKeyBytes));
  return { payloadKey, confirmKey };
}

/** confirm = base64url(HMAC-SHA256(confirm key, SHA-256(request body bytes))): binds the answer to the exact signed offer. */
export function sessionConfirm(confirmKey: Uint8Array, requestBody: Uint8Array): string {
  return base64urlEncode(hmac(sha256, confirmKey, sha256(requestBody)));
}
