/**
 * The instruction is a JWS by the same partner whose key signed the HTTP message: compact EdDSA
 * (`application/jose`), or — for hybrid partners — the general JSON serialization with one EdDSA and
 * one ML-DSA-65 signature (`application/jose+json`). We keep the exact JWS text as non-repudiation
 * evidence: anyone with the partner's public keys can later prove what the partner committed to.
 *
 * A hybrid partner must send both signatures and both must verify: accepting the EdDSA one alone
 * would let an attacker who can forge Ed25519 (the quantum threat) strip the ML-DSA-65 signature.
 */
import { base64urlDecode } from '../../core/digest.ts';
import { verifyEdDsaJwsSignature } from '../../core/ed25519.ts';
import { jwsSigningInput, parseGeneralJws, type ParsedJwsSignature } from '../../core/hybrid-jws.ts';
import { parseStrictJson } from '../../core/strict-json.ts';
import { ProblemError } from '../../core/problem.ts';
import { verifyPartnerMlDsa65 } from '../message-signature/ml-dsa-65.ts';
import { ed25519VerifyKey, isHybridPartner, keyValidAt, partnerKey, type Ed25519PartnerKey, type PartnerProfile } from '../config/partners.ts';

export const jwsBytesMax = 32 * 1024;
// The signature segment may be empty here: an Unsecured JWS ("alg": "none") is a well-formed JWS whose signature fails.
const compactJwsPattern = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export type InstructionJws = { form: 'compact'; text: string } | { form: 'json'; text: string };

/** Verifies every signature the partner's profile requires and returns the decoded instruction payload. */
export async function verifyInstructionJws(jws: InstructionJws, partner: PartnerProfile, nowMs: number = Date.now()): Promise<unknown> {
  if (jws.text.length > jwsBytesMax) throw new ProblemError('payload-too-large', `the instruction JWS exceeds ${jwsBytesMax} bytes`);
  const payload = jws.form === 'compact' ? await verifyCompact(jws.text, partner, nowMs) : await verifyGeneralJson(jws.text, partner, nowMs);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(payload);
  } catch {
    throw new ProblemError('invalid-instruction', 'the JWS payload is not UTF-8');
  }
  const parsed = parseStrictJson(text);
  if (!parsed.ok) throw new ProblemError('invalid-instruction', `the JWS payload is not JSON without duplicate members: ${parsed.reason.detail}`);
  return parsed.value;
}

/** A payload segment that is not strict base64url makes a malformed JWS, whatever its signature says. */
function decodePayloadSegment(segment: string): Uint8Array {
  try {
    return base64urlDecode(segment);
  } catch {
    throw new ProblemError('invalid-instruction', 'the JWS payload segment is not base64url');
  }
}

/**
 * We implement no JWS extension, so a critical header parameter (RFC 7515 §4.1.11) or an unencoded
 * payload (RFC 7797 `b64`) is refused outright rather than half-understood.
 */
function refuseExtensions(header: Record<string, unknown>, where: string): void {
  if (Object.hasOwn(header, 'crit') || Object.hasOwn(header, 'b64')) throw new ProblemError('bad-signature', `${where}: crit and b64 are not supported`);
}

async function verifyCompact(jws: string, partner: PartnerProfile, nowMs: number): Promise<Uint8Array> {
  if (!compactJwsPattern.test(jws)) throw new ProblemError('invalid-instruction', 'body is not a compact JWS (three base64url segments)');
  const [headerSegment, payloadSegment, signatureSegment] = jws.split('.') as [string, string, string];
  let headerText: string;
  try {
    headerText = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(base64urlDecode(headerSegment));
  } catch {
    throw new ProblemError('invalid-instruction', 'the JWS protected header is not base64url UTF-8');
  }
  const parsedHeader = parseStrictJson(headerText);
  if (!parsedHeader.ok) throw new ProblemError('invalid-instruction', `the JWS protected header is not JSON without duplicate members: ${parsedHeader.reason.detail}`);
  if (typeof parsedHeader.value !== 'object' || parsedHeader.value === null || Array.isArray(parsedHeader.value)) {
    throw new ProblemError('bad-signature', 'the JWS protected header must be an object naming alg EdDSA');
  }
  const header = parsedHeader.value as Record<string, unknown>;
  if (header.alg !== 'EdDSA') throw new ProblemError('bad-signature', 'instruction JWS alg must be EdDSA');
  const payload = decodePayloadSegment(payloadSegment);
  if (isHybridPartner(partner)) {
    throw new ProblemError('bad-signature', `hybrid partner ${partner.partner_id} must sign instructions with EdDSA and ML-DSA-65 (JWS JSON serialization, application/jose+json)`);
  }
  refuseExtensions(header, 'instruction JWS');
  const key = ed25519KeyFor(partner, header.kid, nowMs);
  if (!(await verifyEdDsaJwsSignature(await ed25519VerifyKey(key), headerSegment, payloadSegment, signatureSegment))) {
    throw new ProblemError('bad-signature', `instruction JWS: signature does not verify under ${key.keyid}`);
  }
  return payload;
}

async function verifyGeneralJson(text: string, partner: PartnerProfile, nowMs: number): Promise<Uint8Array> {
  const parsed = parseGeneralJws(text);
  if (!parsed.ok) throw new ProblemError(parsed.reason.kind === 'malformed' ? 'invalid-instruction' : 'bad-signature', parsed.reason.detail);
  const { jws, signatures } = parsed.value;
  const required = isHybridPartner(partner) ? ['EdDSA', 'ML-DSA-65'] : ['EdDSA'];
  const present = signatures.map((signature) => signature.alg);
  const missing = required.filter((alg) => !present.includes(alg as ParsedJwsSignature['alg']));
  if (missing.length > 0) throw new ProblemError('bad-signature', `instruction JWS lacks the ${missing.join(' and ')} signature that partner ${partner.partner_id} must send`);
  const unexpected = present.filter((alg) => !required.includes(alg));
  if (unexpected.length > 0) throw new ProblemError('bad-signature', `partner ${partner.partner_id} has no ${unexpected.join(', ')} key`);
  for (const signature of signatures) {
    if (signature.alg === 'EdDSA') await verifyEdDsaEntry(jws.payload, signature, partner, nowMs);
    else verifyMlDsaEntry(jws.payload, signature, partner, nowMs);
  }
  try {
    return base64urlDecode(jws.payload);
  } catch {
    throw new ProblemError('invalid-instruction', 'the JWS payload is not base64url');
  }
}

async function verifyEdDsaEntry(payload: string, signature: ParsedJwsSignature, partner: PartnerProfile, nowMs: number): Promise<void> {
  refuseExtensions(signature.header, 'instruction JWS (EdDSA)');
  const key = ed25519KeyFor(partner, signature.kid, nowMs);
  if (!(await verifyEdDsaJwsSignature(await ed25519VerifyKey(key), signature.protected, payload, signature.signature))) {
    throw new ProblemError('bad-signature', `instruction JWS (EdDSA) does not verify under ${key.keyid}`);
  }
}

/** The ML-DSA-65 entry, over the standard JWS signing input (core/hybrid-jws.ts), natively where the runtime can (../message-signature/ml-dsa-65.ts). */
function verifyMlDsaEntry(payload: string, signature: ParsedJwsSignature, partner: PartnerProfile, nowMs: number): void {
  refuseExtensions(signature.header, 'instruction JWS (ML-DSA-65)');
  const key = partnerKey(partner, signature.kid, 'ml-dsa-65');
  if (key === undefined) throw new ProblemError('bad-signature', `instruction JWS kid ${signature.kid.slice(0, 128)} is not an ML-DSA-65 key of partner ${partner.partner_id}`);
  if (!keyValidAt(key, nowMs)) throw new ProblemError('bad-signature', `key ${key.keyid} is outside its validity period`);
  let signatureBytes: Uint8Array;
  try {
    signatureBytes = base64urlDecode(signature.signature);
  } catch {
    throw new ProblemError('bad-signature', 'instruction JWS (ML-DSA-65): signature is not base64url');
  }
  if (!verifyPartnerMlDsa65(key, jwsSigningInput(signature.protected, payload), signatureBytes)) {
    throw new ProblemError('bad-signature', `instruction JWS (ML-DSA-65) does not verify under ${key.keyid}`);
  }
}

function ed25519KeyFor(partner: PartnerProfile, kid: unknown, nowMs: number): Ed25519PartnerKey {
  const key = partnerKey(partner, kid, 'ed25519');
  if (key === undefined) throw new ProblemError('bad-signature', `instruction JWS kid must be an Ed25519 key of partner ${partner.partner_id}`);
  if (!keyValidAt(key, nowMs)) throw new ProblemError('bad-signature', `key ${key.keyid} is outside its validity period`);
  return key;
}
