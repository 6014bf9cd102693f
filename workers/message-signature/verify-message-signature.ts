/**
 * verifyMessageSignature(): proves which partner sent this exact request (RFC 9421 + RFC 9530),
 * and that it was not sent before. Order matters: cheap syntax checks, then the body digest,
 * then the signature, and only then the nonce claim, so unauthenticated traffic cannot fill a
 * partner's replay cache.
 *
 * The nonce claim lives in the partner's PartnerState Durable Object: KV has no compare-and-set,
 * so two replays could both pass there; a DO serializes the claim.
 */
import { createMiddleware } from 'hono/factory';
import { parseMessageSignatures, signatureBase, type MessageSignature } from '../../core/message-signature.ts';
import { ProblemError } from '../../core/problem.ts';
import type { Env } from '../env.ts';
import { keyValidAt, partnerRegistry, type PartnerKey, type PartnerProfile } from '../config/partners.ts';
import { verifyContentDigest } from './content-digest.ts';

export const signatureLabel = 'sig1';
export const createdSkewMaxMs = 300_000;
export const nonceTtlMs = 24 * 60 * 60 * 1000;
const nonceLengthMin = 16;
const nonceLengthMax = 128;
const bodyComponents = ['@method', '@target-uri', 'content-digest', 'content-type'];
const bodylessComponents = ['@method', '@target-uri'];

export interface SignedRequestVariables {
  partner: PartnerProfile;
  partnerKey: PartnerKey;
  /** The exact request body bytes, covered by Content-Digest. */
  body: Uint8Array;
}

export interface VerifyMessageSignatureOptions {
  /** Injected clock for conformance tests with fixed `created` values. */
  nowMs?: () => number;
}

export function verifyMessageSignature(options: VerifyMessageSignatureOptions = {}) {
  const nowMs = options.nowMs ?? Date.now;
  return createMiddleware<{ Bindings: Env; Variables: SignedRequestVariables }>(async (c, next) => {
    const parsed = parseMessageSignatures(c.req.header('signature-input') ?? null, c.req.header('signature') ?? null);
    if (!parsed.ok) throw new ProblemError('bad-signature', parsed.reason.detail);
    const signature = parsed.value.get(signatureLabel);
    if (signature === undefined) throw new ProblemError('bad-signature', `signature label ${signatureLabel} is required`);

    const body = new Uint8Array(await c.req.arrayBuffer());
    const required = body.length > 0 || c.req.header('content-type') !== undefined ? bodyComponents : bodylessComponents;
    for (const component of required) {
      if (!signature.components.includes(component)) throw new ProblemError('bad-signature', `${signatureLabel} must cover ${component}`);
    }
    if (signature.components.includes('content-digest')) {
      const digest = await verifyContentDigest(c.req.header('content-digest') ?? null, body);
      if (!digest.ok) throw new ProblemError(digest.reason.kind === 'digest-mismatch' ? 'content-digest-mismatch' : 'bad-signature', digest.reason.detail);
    }

    const { partner, key } = signerOf(c.env, signature);
    checkFreshness(signature, nowMs());
    const base = signatureBase({ method: c.req.method, url: c.req.url, headers: c.req.raw.headers }, signature.components, signature.signatureParams);
    if (!base.ok) throw new ProblemError('bad-signature', base.reason.detail);
    const verified = await verifyEd25519(key, signature.signature, base.value);
    if (!verified) throw new ProblemError('bad-signature', `${signatureLabel} does not verify under ${key.keyid}`);

    const nonce = signature.params.nonce as string;
    const partnerState = c.env.PARTNER_STATE.get(c.env.PARTNER_STATE.idFromName(partner.partner_id));
    const claimed = await partnerState.claimNonce(key.keyid, nonce, nowMs() + nonceTtlMs);
    if (!claimed) throw new ProblemError('replayed-nonce', `nonce already used with ${key.keyid} in the last 24 h`);

    c.set('partner', partner);
    c.set('partnerKey', key);
    c.set('body', body);
    await next();
  });
}

function signerOf(env: Env, signature: MessageSignature): { partner: PartnerProfile; key: PartnerKey } {
  const { keyid, alg, nonce } = signature.params;
  if (keyid === undefined) throw new ProblemError('bad-signature', 'signature parameter keyid is required');
  if (alg !== 'ed25519') throw new ProblemError('bad-signature', `${signatureLabel} alg must be ed25519`);
  if (nonce === undefined || nonce.length < nonceLengthMin || nonce.length > nonceLengthMax) {
    throw new ProblemError('bad-signature', `signature parameter nonce is required (${nonceLengthMin}..${nonceLengthMax} characters)`);
  }
  const entry = partnerRegistry(env.PARTNERS).byKeyId(keyid);
  if (entry === undefined) throw new ProblemError('unknown-partner', `no partner key ${keyid}`);
  return entry;
}

function checkFreshness(signature: MessageSignature, nowMs: number): void {
  const { created, expires } = signature.params;
  if (created === undefined) throw new ProblemError('bad-signature', 'signature parameter created is required');
  if (Math.abs(nowMs - created * 1000) > createdSkewMaxMs) {
    throw new ProblemError('stale-signature', `created ${created} is more than ${createdSkewMaxMs / 1000} s from the gateway clock`);
  }
  if (expires !== undefined && expires * 1000 <= nowMs) throw new ProblemError('stale-signature', `signature expired at ${expires}`);
}

async function verifyEd25519(key: PartnerKey, signature: Uint8Array, base: string): Promise<boolean> {
  if (!keyValidAt(key, Date.now())) throw new ProblemError('unknown-partner', `key ${key.keyid} is outside its validity period`);
  if (signature.length !== 64) return false;
  const publicKey = await crypto.subtle.importKey('jwk', key.public_jwk, { name: 'Ed25519' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'Ed25519' }, publicKey, signature, new TextEncoder().encode(base));
}
