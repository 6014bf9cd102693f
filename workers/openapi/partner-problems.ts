/**
 * Every problem the edge answers on the partner API, with what it means for the integration
 * engineer. Limits in the text are the constants the code enforces, imported, never restated.
 * test/workers/openapi.test.ts fails when the edge's code can answer a slug missing here.
 */
import type { ProblemSlug } from '../../core/problem.ts';
import { createdSkewMaxMs, nonceTtlMs } from '../message-signature/verify-message-signature.ts';
import { jwsBytesMax } from '../payments/instruction-jws.ts';
import { paymentBodyBytesMax } from '../payments/payment-routes.ts';
import { sessionBodyBytesMax } from '../sessions/session-routes.ts';

export const partnerProblems = {
  'bad-signature': 'The RFC 9421 message signature (sig1, and sig2 for hybrid partners) or the instruction JWS is missing, malformed or does not verify (wrong components, parameters, alg, key or bytes); or a sealed body does not open: its session ticket is unknown, expired or issued to another partner, or its ciphertext or tag was altered.',
  'stale-signature': `The signature's \`created\` lies more than ${createdSkewMaxMs / 1000} s from the gateway clock, or its \`expires\` has passed.`,
  'replayed-nonce': `This (keyid, nonce) pair was already used in the last ${nonceTtlMs / 3_600_000} h. Send a fresh nonce with every request.`,
  'content-digest-mismatch': 'The body does not match its Content-Digest.',
  'unknown-partner': 'The signature keyid names no partner key, or the key is outside its validity period.',
  'invalid-instruction': 'The body is not a well-formed JWS (or sealed JWE) of a valid payment instruction: `issues` lists each field path and problem; or the instruction breaks a business rule (settlement date, instructed_at, on-us), named in `rule` (all of them in `rules`).',
  'invalid-request': 'The session request is not valid: not UTF-8 JSON, unknown or missing fields, an unsupported suite, an enc that is not an X-Wing encapsulation, or an unknown offer.tls.',
  'downgrade-detected': 'A downgrade: TLS below the partner minimum without a live exception, a stripped or reordered handshake offer, or a client-reported TLS version that differs from what the edge saw.',
  'pq-required': 'The partner profile requires a post-quantum session, and the body was not sealed.',
  'duplicate-uetr-mismatch': 'The UETR was already used for a different instruction.',
  'corridor-closed': 'The corridor (amount.currency-target_currency) does not exist, or is paused or draining.',
  'residency-denied': "The corridor may not process data of the partner's jurisdiction and no exception applies.",
  'limit-exceeded': "The payment exceeds a corridor or partner limit (the corridor's payment_amount_max).",
  'unavailable': 'The policy decision could not be made (fail closed); nothing was admitted. Retry later.',
  'velocity-exceeded': "A velocity limit of the partner profile (payments per minute or per day, amount per day) or across partners is reached; nothing was counted. `limit` names it; retry after `Retry-After` seconds.",
  'velocity-unavailable': 'The velocity limits cannot be checked right now (the global store did not answer); nothing was accepted. Retry the same UETR after `Retry-After` seconds.',
  'payload-too-large': `The body exceeds its limit (${paymentBodyBytesMax} bytes for payments, ${sessionBodyBytesMax} for sessions), or the instruction JWS exceeds ${jwsBytesMax} bytes.`,
  'unsupported-media-type': 'The Content-Type is not one this route accepts.',
  'not-found': "No such route, or no payment with this UETR for this partner (another partner's payment is not found, by design).",
  'method-not-allowed': 'The path exists under other methods, listed in the Allow header.',
  'misconfigured': 'The deployment is misconfigured (outside local-dev: a committed dev key, or a plain-http or loopback backend); `setting` names what the operator must fix. Nothing was processed.',
  'internal': 'A bug in the gateway, logged with context. No input should ever produce it.',
} as const satisfies Partial<Record<ProblemSlug, string>>;

export type PartnerProblemSlug = keyof typeof partnerProblems;
