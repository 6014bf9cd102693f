/**
 * The partner API's answers (DESIGN.md "Partner protocol") as zod schemas: the OpenAPI document
 * (workers/openapi/) is generated from them, and test/workers/openapi-responses.test.ts parses
 * real answers of the gateway with them, so a field the gateway adds, drops or retypes fails a
 * test instead of making the document lie. Strict where the gateway's own code builds the object;
 * open (loose) only for the JWK, whose members RFC 7517 leaves extensible.
 */
import { z } from 'zod';
import { sessionSuite, sessionTtlMaxMs, xwingPublicKeyBytes } from './pq-session.ts';

const base64urlPattern = /^[A-Za-z0-9_-]+$/;
export const compactJwsPattern = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
export const compactJwePattern = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const uuidV4Pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const uetr = z.string().regex(uuidV4Pattern).meta({ format: 'uuid', description: 'The payment UETR (lowercase UUID v4).' });

export const paymentAnswerSchema = z.strictObject({
  uetr,
  status: z.enum(['accepted', 'held']).meta({ description: '`held`: admitted but stopped for review (a possible sanctions match); it settles only once released.' }),
  window: z.string().nullable().meta({ description: 'The netting window: `<corridor>.<jurisdiction>.<shard>.<start ms>`; also the settlement batch id. `null` while the payment is held: a held payment is in no window until two operators release it.' }),
  receipt: z.string().regex(compactJwsPattern).meta({
    description: 'Acceptance receipt: compact JWS by the gateway (typ `meridian-acceptance+jws`, verify with /.well-known/jwks.json) over {gateway, partner_id, uetr, instruction_sha256, status, window, accepted_at}; instruction_sha256 is the SHA-256 of the exact JWS bytes.',
  }),
}).meta({ description: 'The 202 answer to POST /v1/payments. A repeat of the same UETR with the same instruction returns these bytes again.' });

export const paymentStatusRecordSchema = z.strictObject({
  uetr,
  status: z.enum(['accepted', 'held', 'rejected', 'settled']),
  batch_id: z.string().nullable().meta({ description: 'Set once settled.' }),
  jurisdiction: z.string().nullable().meta({ description: 'Set once settled.' }),
  region: z.string().nullable().meta({ description: 'The regional backend that committed it; set once settled.' }),
  log_index: z.number().int().min(0).nullable().meta({ description: "The settlement's leaf in the jurisdiction's transparency log; set once settled." }),
  reason: z.string().optional().meta({ description: 'Why the payment reads `rejected` (absent otherwise).' }),
}).meta({ description: 'GET /v1/payments/{uetr}: the last four fields are null until the payment is settled.' });

export const sessionSuiteSchema = z.strictObject({
  kem: z.literal(sessionSuite.kem),
  kdf: z.literal(sessionSuite.kdf),
  aead: z.literal(sessionSuite.aead),
});

export const sessionAnswerSchema = z.strictObject({
  session_id: z.string().min(1).meta({ description: 'Opaque stateless ticket (`<version>.<ticket key id>.<sealed claims>`); the `kid` of sealed bodies. Do not parse it.' }),
  expires_at: z.iso.datetime().meta({ description: `At most ${sessionTtlMaxMs / 60_000} min after issue.` }),
  suite: sessionSuiteSchema,
  confirm: z.string().regex(base64urlPattern).meta({ description: 'base64url(HMAC-SHA256(confirm key, SHA-256(request body bytes))): abandon the session if it differs.' }),
}).meta({ description: 'The 201 answer to POST /v1/sessions.' });

/** A public JWK (RFC 7517): the members the gateway publishes, others allowed. */
export const publicJwkSchema = z.looseObject({
  kty: z.string(),
  kid: z.string(),
  crv: z.string().optional(),
  x: z.string().optional(),
  alg: z.string().optional(),
  use: z.string().optional(),
});

export const jwksSchema = z.strictObject({ keys: z.array(publicJwkSchema) }).meta({ description: 'A JWK Set (RFC 7517 §5).' });

export const gatewayHealthSchema = z.strictObject({ status: z.literal('ok'), gateway_id: z.string() });

export const discoverySchema = z.strictObject({
  gateway_id: z.string(),
  xwing: z.strictObject({
    kid: z.string(),
    public_key: z.string().regex(base64urlPattern).meta({ description: `base64url X-Wing public key (${xwingPublicKeyBytes} bytes).` }),
  }),
  session_suite: sessionSuiteSchema,
  session_ttl_s: z.number().int().positive().max(sessionTtlMaxMs / 1000),
  receipts_jwks: jwksSchema,
  jwks_uri: z.url(),
  signature_algorithms: z.array(z.string()).meta({ description: 'RFC 9421 algorithms: ed25519 (sig1), ml-dsa-65 (sig2).' }),
  instruction_jws_algorithms: z.array(z.string()),
  signature_created_skew_s: z.number().int().positive(),
  nonce_ttl_s: z.number().int().positive(),
  min_tls_version: z.string().meta({ description: 'TLS below this passes only under a registered exception with owner, reason and expiry.' }),
}).meta({ description: 'GET /.well-known/meridian: what a partner needs before its first request.' });
