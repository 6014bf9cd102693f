/**
 * The instruction is a compact JWS (EdDSA) by the same partner whose key signed the HTTP message.
 * We keep the exact JWS bytes as non-repudiation evidence: anyone with the partner's public key can
 * later prove what the partner committed to.
 */
import { compactVerify, errors, importJWK } from 'jose';
import { base64urlDecode } from '../../core/digest.ts';
import { ProblemError } from '../../core/problem.ts';
import type { PartnerKey, PartnerProfile } from '../config/partners.ts';

export const jwsBytesMax = 32 * 1024;
const compactJwsPattern = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export async function verifyInstructionJws(jws: string, partner: PartnerProfile): Promise<unknown> {
  if (jws.length > jwsBytesMax) throw new ProblemError('payload-too-large', `the instruction JWS exceeds ${jwsBytesMax} bytes`);
  if (!compactJwsPattern.test(jws)) throw new ProblemError('invalid-instruction', 'body is not a compact JWS (three base64url segments)');
  const key = partnerKeyForJws(jws, partner);
  let payload: Uint8Array;
  try {
    const publicKey = await importJWK({ ...key.public_jwk, alg: 'EdDSA' }, 'EdDSA');
    ({ payload } = await compactVerify(jws, publicKey, { algorithms: ['EdDSA'] }));
  } catch (cause) {
    if (cause instanceof errors.JOSEError) throw new ProblemError('bad-signature', `instruction JWS: ${cause.message}`);
    throw cause;
  }
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(payload));
  } catch {
    throw new ProblemError('invalid-instruction', 'the JWS payload is not UTF-8 JSON');
  }
}

function partnerKeyForJws(jws: string, partner: PartnerProfile): PartnerKey {
  let header: { kid?: unknown; alg?: unknown };
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(base64urlDecode(jws.slice(0, jws.indexOf('.')))));
  } catch {
    throw new ProblemError('invalid-instruction', 'the JWS protected header is not base64url JSON');
  }
  if (header.alg !== 'EdDSA') throw new ProblemError('bad-signature', 'instruction JWS alg must be EdDSA');
  const key = partner.keys.find((candidate) => candidate.keyid === header.kid);
  if (key === undefined) throw new ProblemError('bad-signature', `instruction JWS kid must be a key of partner ${partner.partner_id}`);
  return key;
}
