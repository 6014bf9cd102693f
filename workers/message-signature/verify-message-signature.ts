/**
 * verifyMessageSignature(): proves which partner sent this exact request (RFC 9421 + RFC 9530),
 * and that it was not sent before. Order matters: cheap syntax checks, then the body digest,
 * then the signatures, and only then the nonce claim, so unauthenticated traffic cannot fill a
 * partner's replay cache.
 *
 * `sig1` is Ed25519 (WebCrypto). Hybrid partners (an ML-DSA-65 key in their profile) must also send
 * `sig2`: the same covered components, `alg="ml-dsa-65"`, `keyid` = their ML-DSA-65 key id, verified
 * natively where the runtime can, with @noble/post-quantum otherwise (ml-dsa-65.ts). A hybrid partner's request without a valid `sig2` is refused: Ed25519
 * alone is exactly what a quantum-capable forger could produce.
 *
 * The nonce claim lives in the partner's PartnerState Durable Object: KV has no compare-and-set,
 * so two replays could both pass there; a DO serializes the claim. Each (keyid, nonce) pair is
 * claimed in the shard its own hash names (nonceShardOf), whatever the route: a pair claimed
 * anywhere else would not meet its earlier use, so a nonce spent on /v1/sessions could be spent
 * again on /v1/payments. The pairs that fall into one shard are claimed in one transaction, all of
 * them or none. A route that can name the
 * payment the request is about asks for `deferNonceClaim`: the claim then travels inside that
 * route's first PartnerState call, at the payment's shard (durable-objects/partner-state/
 * partner-shards.ts says why that stays exact), instead of costing a round trip of its own here.
 *
 * Keys come from Control's partner directory, cached per isolate for up to two seconds
 * (partner-directory.ts), so a just-revoked key may still be listed here. The claim is where a
 * revoked key is refused, at once: PartnerState learns of the revocation before the approving
 * operator is answered, and answers which of the profile's keys are revoked, so the profile this
 * request carries on (the instruction JWS is verified against it) lists none of them. A revoked
 * key is `unknown-partner`, as it is once the directory no longer lists it and as a key outside its
 * validity period is: the answer does not depend on how old an isolate's cache is.
 */
import { createMiddleware } from 'hono/factory';
import { parseMessageSignatures, signatureBase, type MessageSignature } from '../../core/message-signature.ts';
import { verifyEd25519 } from '../../core/ed25519.ts';
import { ProblemError } from '../../core/problem.ts';
import type { Env } from '../env.ts';
import { ed25519VerifyKey, isHybridPartner, keyValidAt, partnerKey, type Ed25519PartnerKey, type PartnerProfile } from '../config/partners.ts';
import type { NonceClaim, RequestClaim, RequestClaimOutcome } from '../../durable-objects/partner-state/partner-state.ts';
import { verifyContentDigest } from './content-digest.ts';
import { verifyPartnerMlDsa65 } from './ml-dsa-65.ts';
import { partnerDirectory } from './partner-directory.ts';
import { nonceShardOf, partnerStateShard } from '../../durable-objects/partner-state/partner-shards.ts';

export const signatureLabel = 'sig1';
export const pqSignatureLabel = 'sig2';
export const createdSkewMaxMs = 300_000;
export const nonceTtlMs = 24 * 60 * 60 * 1000;
export const nonceLengthMin = 16;
export const nonceLengthMax = 128;
const bodyComponents = ['@method', '@target-uri', 'content-digest', 'content-type'];
const bodylessComponents = ['@method', '@target-uri'];

export interface SignedRequestVariables {
  partner: PartnerProfile;
  partnerKey: Ed25519PartnerKey;
  /** The exact request body bytes, covered by Content-Digest. */
  body: Uint8Array;
  /** The algorithms that signed this request, in label order: ['ed25519'] or ['ed25519', 'ml-dsa-65']. */
  signatureAlgorithms: string[];
  /** Set only under `deferNonceClaim`: the claim the route must make before it acts on the request. */
  requestClaim?: RequestClaim;
}

export interface VerifyMessageSignatureOptions {
  /** Injected clock for conformance tests with fixed `created` values. */
  nowMs?: () => number;
  /** The route claims the nonce itself (`requestClaim`), folded into its first PartnerState call; `partner` is then the listed profile. */
  deferNonceClaim?: boolean;
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
      const digest = verifyContentDigest(c.req.header('content-digest') ?? null, body);
      if (!digest.ok) throw new ProblemError(digest.reason.kind === 'digest-mismatch' ? 'content-digest-mismatch' : 'bad-signature', digest.reason.detail);
    }

    const { partner: listed, key } = await signerOf(c.env, signature);
    const now = nowMs();
    checkParams(signature, now);
    if (!keyValidAt(key, now)) throw new ProblemError('unknown-partner', `key ${key.keyid} is outside its validity period`);
    const message = { method: c.req.method, url: c.req.url, headers: c.req.raw.headers };
    if (!(await verifyEd25519(await ed25519VerifyKey(key), signature.signature, new TextEncoder().encode(baseOf(message, signature))))) {
      throw new ProblemError('bad-signature', `${signatureLabel} does not verify under ${key.keyid}`);
    }
    const claims = [{ keyid: key.keyid, nonce: signature.params.nonce as string }];
    const signatureAlgorithms = ['ed25519'];
    const pqSignature = parsed.value.get(pqSignatureLabel);
    if (isHybridPartner(listed)) {
      claims.push(verifyPqSignature(listed, signature, pqSignature, message, now));
      signatureAlgorithms.push('ml-dsa-65');
    } else if (pqSignature !== undefined) {
      throw new ProblemError('bad-signature', `${pqSignatureLabel} is for hybrid partners; ${listed.partner_id} has no ML-DSA-65 key`);
    }
    const requestClaim: RequestClaim = { claims, expiresAtMs: now + nonceTtlMs, profileKeyids: listed.keys.map((listedKey) => listedKey.keyid) };
    if (options.deferNonceClaim === true) c.set('requestClaim', requestClaim);
    const partner = options.deferNonceClaim === true ? listed : await claimAtPartnerState(c.env, listed, requestClaim);

    c.set('partner', partner);
    c.set('partnerKey', key);
    c.set('body', body);
    c.set('signatureAlgorithms', signatureAlgorithms);
    await next();
  });
}

type SignedMessage = { method: string; url: string; headers: Headers };

function baseOf(message: SignedMessage, signature: MessageSignature): string {
  const base = signatureBase(message, signature.components, signature.signatureParams);
  if (!base.ok) throw new ProblemError('bad-signature', `${signature.label}: ${base.reason.detail}`);
  return base.value;
}

async function signerOf(env: Env, signature: MessageSignature): Promise<{ partner: PartnerProfile; key: Ed25519PartnerKey }> {
  const { keyid, alg } = signature.params;
  if (keyid === undefined) throw new ProblemError('bad-signature', 'signature parameter keyid is required');
  if (alg !== 'ed25519') throw new ProblemError('bad-signature', `${signatureLabel} alg must be ed25519`);
  checkNonceShape(signature);
  const entry = (await partnerDirectory(env)).byKeyId(keyid);
  if (entry === undefined) throw new ProblemError('unknown-partner', `no partner key ${keyid}`);
  if (entry.key.alg !== 'ed25519') throw new ProblemError('bad-signature', `${signatureLabel} keyid ${keyid} is not an Ed25519 key`);
  return { partner: entry.partner, key: entry.key };
}

/**
 * The replay and revocation check in the partner's PartnerState: each group of pairs in its nonce
 * shard, the groups at once (a hybrid request's two pairs may fall into two shards). Returns the
 * profile the request carries on with: the listed one, less any key PartnerState knows to be
 * revoked. The signing keys are not revoked (or the claim refused), so it keeps its Ed25519 key
 * and, for a hybrid partner, the ML-DSA-65 key of `sig2`: hybrid-ness cannot change here.
 */
async function claimAtPartnerState(env: Env, partner: PartnerProfile, claim: RequestClaim): Promise<PartnerProfile> {
  const outcomes = await Promise.all(
    [...claimsByNonceShard(claim.claims)].map(([shard, pairs]) => partnerStateShard(env, partner.jurisdiction, partner.partner_id, shard).claimRequest({ ...claim, claims: pairs })),
  );
  return profileAfterClaim(partner, claim.claims, combinedClaimOutcome(outcomes));
}

/** A request's pairs grouped by the PartnerState shard that claims them (partner-shards.ts). */
export function claimsByNonceShard(claims: readonly NonceClaim[]): Map<number, NonceClaim[]> {
  const groups = new Map<number, NonceClaim[]>();
  for (const pair of claims) {
    const shard = nonceShardOf(pair);
    const group = groups.get(shard);
    if (group === undefined) groups.set(shard, [pair]);
    else group.push(pair);
  }
  return groups;
}

/** A request's outcome from its shards' outcomes: a revoked key first, then a replay; otherwise every revoked profile key any shard named. */
export function combinedClaimOutcome(outcomes: readonly RequestClaimOutcome[]): RequestClaimOutcome {
  const refused = outcomes.find((outcome) => outcome.kind === 'revoked-key') ?? outcomes.find((outcome) => outcome.kind === 'replay');
  if (refused !== undefined) return refused;
  return { kind: 'claimed', revokedProfileKeyids: [...new Set(outcomes.flatMap((outcome) => (outcome.kind === 'claimed' ? outcome.revokedProfileKeyids : [])))] };
}

/** What a claim's outcome means for the request: a replay or a revoked signing key is refused here; otherwise the profile, less revoked keys. */
export function profileAfterClaim(partner: PartnerProfile, claims: readonly NonceClaim[], outcome: RequestClaimOutcome): PartnerProfile {
  switch (outcome.kind) {
    case 'replay':
      throw new ProblemError('replayed-nonce', `nonce already used with ${claims.map((claim) => claim.keyid).join(' / ')} in the last 24 h`);
    case 'revoked-key':
      throw new ProblemError('unknown-partner', `partner key ${outcome.keyid} was revoked at ${outcome.revokedAt}`);
    case 'claimed': {
      if (outcome.revokedProfileKeyids.length === 0) return partner;
      const revoked = new Set(outcome.revokedProfileKeyids);
      return { ...partner, keys: partner.keys.filter((key) => !revoked.has(key.keyid)) };
    }
  }
}

/** sig2: the partner's ML-DSA-65 signature over the same components as sig1. Returns its nonce claim. */
function verifyPqSignature(partner: PartnerProfile, sig1: MessageSignature, sig2: MessageSignature | undefined, message: SignedMessage, nowMs: number) {
  if (sig2 === undefined) throw new ProblemError('bad-signature', `hybrid partner ${partner.partner_id} must also sign with ${pqSignatureLabel} (ml-dsa-65)`);
  if (sig2.components.length !== sig1.components.length || sig2.components.some((component, index) => component !== sig1.components[index])) {
    throw new ProblemError('bad-signature', `${pqSignatureLabel} must cover the same components as ${signatureLabel}, in the same order`);
  }
  if (sig2.params.alg !== 'ml-dsa-65') throw new ProblemError('bad-signature', `${pqSignatureLabel} alg must be ml-dsa-65`);
  checkNonceShape(sig2);
  const key = partnerKey(partner, sig2.params.keyid, 'ml-dsa-65');
  if (key === undefined) throw new ProblemError('bad-signature', `${pqSignatureLabel} keyid must be an ML-DSA-65 key of partner ${partner.partner_id}`);
  checkParams(sig2, nowMs);
  if (!keyValidAt(key, nowMs)) throw new ProblemError('unknown-partner', `key ${key.keyid} is outside its validity period`);
  const base = new TextEncoder().encode(baseOf(message, sig2));
  if (!verifyPartnerMlDsa65(key, base, sig2.signature)) {
    throw new ProblemError('bad-signature', `${pqSignatureLabel} does not verify under ${key.keyid}`);
  }
  return { keyid: key.keyid, nonce: sig2.params.nonce as string };
}

function checkNonceShape(signature: MessageSignature): void {
  const { nonce } = signature.params;
  if (nonce === undefined || nonce.length < nonceLengthMin || nonce.length > nonceLengthMax) {
    throw new ProblemError('bad-signature', `${signature.label}: signature parameter nonce is required (${nonceLengthMin}..${nonceLengthMax} characters)`);
  }
}

function checkParams(signature: MessageSignature, nowMs: number): void {
  const { created, expires } = signature.params;
  if (created === undefined) throw new ProblemError('bad-signature', `${signature.label}: signature parameter created is required`);
  if (Math.abs(nowMs - created * 1000) > createdSkewMaxMs) {
    throw new ProblemError('stale-signature', `${signature.label}: created ${created} is more than ${createdSkewMaxMs / 1000} s from the gateway clock`);
  }
  if (expires !== undefined && expires * 1000 <= nowMs) throw new ProblemError('stale-signature', `${signature.label}: signature expired at ${expires}`);
}
