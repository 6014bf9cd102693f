/**
 * The partner API as an OpenAPI 3.1 document, served at GET /openapi.json.
 *
 * Hand-written and typed rather than generated with @hono/zod-openapi: the routes' real inputs are
 * not JSON bodies a zod schema could describe (a JWS, a JWE, RFC 9421 headers verified by
 * middleware), so wrapping every route in createRoute() would add a dependency and still leave the
 * interesting parts as prose. What can drift is pinned instead:
 * - the instruction schema (the JWS payload) is generated from core/instruction.ts with
 *   z.toJSONSchema, so field names, required fields, lengths, patterns and "no unknown fields"
 *   come from the validator itself; only the checks zod cannot express (ISO tables, BIC, amounts)
 *   are described here;
 * - test/workers/openapi.test.ts fails when the app serves a route the document lacks (or the
 *   reverse), or when the edge can answer a problem slug the document does not list.
 * The same path table answers 405 for a known path under another method (workers/problem/).
 */
import { z } from 'zod';
import { amountDigitsMax } from '../../core/money.ts';
import { paymentInstructionSchema } from '../../core/instruction.ts';
import { sessionSuite, sessionTtlMaxMs, xwingEncBytes } from '../../core/pq-session.ts';
import { problemStatus, problemTypePrefix, type ProblemSlug } from '../../core/problem.ts';
import { createdSkewMaxMs, nonceTtlMs } from '../message-signature/verify-message-signature.ts';
import type { JsonSchema, OpenApiDocument, ResponseObject } from './openapi-types.ts';

const bodyBytesMax = 64 * 1024;
const jwsBytesMax = 32 * 1024;
const sessionBodyBytesMax = 8 * 1024;

/** Every problem the edge answers on the partner API, with what it means for the integration engineer. */
export const partnerProblems = {
  'bad-signature': 'The RFC 9421 message signature (sig1, and sig2 for hybrid partners) or the instruction JWS is missing, malformed or does not verify (wrong components, parameters, alg, key or bytes); or a sealed body does not open: its session ticket is unknown, expired or issued to another partner, or its ciphertext or tag was altered.',
  'stale-signature': `The signature's \`created\` lies more than ${createdSkewMaxMs / 1000} s from the gateway clock, or its \`expires\` has passed.`,
  'replayed-nonce': 'This (keyid, nonce) pair was already used in the last 24 h. Send a fresh nonce with every request.',
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
  'velocity-exceeded': "The partner's global submission rate limit is exhausted; retry later.",
  'payload-too-large': `The body exceeds its limit (${bodyBytesMax} bytes for payments, ${sessionBodyBytesMax} for sessions), or the instruction JWS exceeds ${jwsBytesMax} bytes.`,
  'unsupported-media-type': 'The Content-Type is not one this route accepts.',
  'not-found': 'No such route, or no payment with this UETR for this partner (another partner\'s payment is not found, by design).',
  'method-not-allowed': 'The path exists under other methods, listed in the Allow header.',
  'misconfigured': 'The deployment is misconfigured (outside local-dev: a committed dev key, or a plain-http or loopback backend); `setting` names what the operator must fix. Nothing was processed.',
  'internal': 'A bug in the gateway, logged with context. No input should ever produce it.',
} as const satisfies Partial<Record<ProblemSlug, string>>;

export type PartnerProblemSlug = keyof typeof partnerProblems;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function problemSchemaName(slug: PartnerProblemSlug): string {
  return `problem-${slug}`;
}

function problemSchemas(): Record<string, JsonSchema> {
  const schemas: Record<string, JsonSchema> = {};
  for (const [slug, description] of Object.entries(partnerProblems) as Array<[PartnerProblemSlug, string]>) {
    schemas[problemSchemaName(slug)] = {
      description,
      allOf: [ref('Problem'), { type: 'object', properties: { type: { const: problemTypePrefix + slug }, status: { const: problemStatus[slug] } } }],
    };
  }
  return schemas;
}

/** Groups slugs by HTTP status into response objects: one `oneOf` of per-slug schemas per status. */
function problemResponses(slugs: readonly PartnerProblemSlug[]): Record<string, ResponseObject> {
  const byStatus = new Map<number, PartnerProblemSlug[]>();
  for (const slug of slugs) byStatus.set(problemStatus[slug], [...(byStatus.get(problemStatus[slug]) ?? []), slug]);
  const responses: Record<string, ResponseObject> = {};
  for (const [status, group] of [...byStatus].sort(([left], [right]) => left - right)) {
    const schemas = group.map((slug) => ref(problemSchemaName(slug)));
    responses[String(status)] = {
      description: group.join(' | '),
      ...(status === 405 ? { headers: { Allow: { description: 'The methods this path accepts.', schema: { type: 'string' } } } } : {}),
      content: { 'application/problem+json': { schema: schemas.length === 1 ? schemas[0]! : { oneOf: schemas } } },
    };
  }
  return responses;
}

const signatureProblems = ['bad-signature', 'stale-signature', 'replayed-nonce', 'unknown-partner', 'downgrade-detected'] as const;
const alwaysPossible = ['method-not-allowed', 'misconfigured'] as const;

/** The instruction schema, generated from the validator; refinements zod cannot express are described. */
function paymentInstructionJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(paymentInstructionSchema, { target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchema;
  delete generated.$schema;
  const properties = generated.properties as Record<string, JsonSchema>;
  const currency = { pattern: '^[A-Z]{3}$', description: 'A payable ISO 4217 code (one with a minor unit; funds such as CLF included, XAU/XDR/XTS/XXX refused).' };
  const describe = (schema: JsonSchema | undefined, extra: JsonSchema) => Object.assign(schema ?? {}, extra);
  describe(properties.uetr, { format: 'uuid', description: 'UUID v4, lowercase (SWIFT gpi UETR). Idempotency key: the same UETR with the same instruction returns the original answer.' });
  describe(properties.end_to_end_id, { description: 'Printable ASCII, no leading or trailing whitespace.' });
  describe(properties.instructed_at, { format: 'date-time', description: 'RFC 3339 date-time with an offset (uppercase T and Z); leap seconds refused.' });
  describe(properties.settlement_date, { format: 'date', description: 'Calendar date YYYY-MM-DD.' });
  describe(properties.target_currency, currency);
  describe(properties.remittance_info, { description: 'At most 140 characters; no control, format (bidi, zero-width) or private-use characters; no leading or trailing whitespace.' });
  describe(properties.charge_bearer, { description: 'ISO 20022 ChargeBearerType1Code.' });
  describe(properties.purpose, { description: 'ISO 20022 external purpose code.' });
  const amount = properties.amount?.properties as Record<string, JsonSchema> | undefined;
  describe(amount?.value, {
    pattern: '^(0|[1-9][0-9]*)(\\.[0-9]+)?$',
    description: `Decimal string: no sign, exponent, whitespace or leading zeros; at most the currency's minor-unit digits; greater than zero; fewer than ${amountDigitsMax + 1} digits in minor units.`,
  });
  describe(amount?.currency, currency);
  for (const party of ['debtor', 'creditor']) {
    const fields = properties[party]?.properties as Record<string, JsonSchema> | undefined;
    describe(fields?.name, { description: 'At most 140 characters; no control or invisible characters; no leading or trailing whitespace.' });
    describe(fields?.country, { pattern: '^[A-Z]{2}$', description: 'An officially assigned ISO 3166-1 alpha-2 code.' });
  }
  for (const agent of ['debtor_agent', 'creditor_agent']) {
    const fields = properties[agent]?.properties as Record<string, JsonSchema> | undefined;
    describe(fields?.bic, { pattern: '^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$', description: `ISO 9362 BIC, uppercase, with a real country code.${agent === 'debtor_agent' ? " Must be the submitting partner's BIC." : ''}` });
  }
  generated.description = 'The payload of the instruction JWS (DESIGN.md "Payment instruction"), derived from ISO 20022 pacs.008 (CBPR+). Unknown fields are refused at every level. The corridor is amount.currency-target_currency.';
  return generated;
}

const compactJwsPattern = '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$';
const compactJwePattern = '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$';

export const openApiDocument: OpenApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Meridian partner API',
    version: '1.0.0',
    description: [
      'The edge gateway of Meridian, for partner banks. Contract: DESIGN.md "Partner protocol".',
      '',
      'Every `/v1` request is signed per RFC 9421 with label `sig1` (Ed25519, `alg="ed25519"`) covering at least',
      '`("@method" "@target-uri" "content-digest" "content-type")` — `("@method" "@target-uri")` for a bodiless GET —',
      `with parameters \`created\` (within ±${createdSkewMaxMs / 1000} s of the gateway clock), \`nonce\` (16–128 characters, single-use per keyid for ${nonceTtlMs / 3_600_000} h),`,
      '`keyid` and `alg`. Hybrid partners add `sig2` (`alg="ml-dsa-65"`, their ML-DSA-65 keyid, the same components). Bodies carry an RFC 9530',
      '`Content-Digest: sha-256=:…:`.',
      '',
      'Instructions are JWS: compact EdDSA (`application/jose`), or for hybrid partners the general JSON serialization with one EdDSA and one',
      'ML-DSA-65 signature (`application/jose+json`). Under a PQ session (`POST /v1/sessions`) the JWS travels sealed as a compact JWE',
      '(`alg: dir`, `enc: A256GCM`, `kid` = session id) under `application/jose`; partners whose profile says `pq: required` must seal.',
      '',
      'Every error is RFC 9457 `application/problem+json` with `type` `urn:meridian:problem:<slug>`; the slugs are the `problem-*` schemas.',
    ].join('\n'),
    license: { name: 'Proprietary' },
  },
  jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
  servers: [
    { url: 'https://gateway.meridian.example', description: 'production (placeholder)' },
    { url: 'http://127.0.0.1:8787', description: 'local `npm start`' },
  ],
  tags: [
    { name: 'payments', description: 'Submitting payment instructions and reading their status.' },
    { name: 'sessions', description: 'Post-quantum sessions that seal instruction bodies.' },
    { name: 'discovery', description: 'Unsigned, public metadata.' },
  ],
  paths: {
    '/healthz': {
      get: {
        operationId: 'getHealth',
        summary: 'Liveness of the gateway',
        tags: ['discovery'],
        responses: {
          '200': { description: 'The gateway answers.', content: { 'application/json': { schema: ref('Health') } } },
          ...problemResponses(alwaysPossible),
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'getOpenApiDocument',
        summary: 'This document',
        tags: ['discovery'],
        responses: {
          '200': { description: 'The OpenAPI 3.1 document of the partner API.', content: { 'application/json': { schema: { type: 'object' } } } },
          ...problemResponses(alwaysPossible),
        },
      },
    },
    '/.well-known/meridian': {
      get: {
        operationId: 'getDiscovery',
        summary: 'Gateway discovery',
        description: 'Gateway id, the JWKS that verifies acceptance receipts, supported signature algorithms and the allowed clock skew.',
        tags: ['discovery'],
        responses: {
          '200': { description: 'Discovery document.', content: { 'application/json': { schema: ref('Discovery') } } },
          ...problemResponses(alwaysPossible),
        },
      },
    },
    '/.well-known/jwks.json': {
      get: {
        operationId: 'getJwks',
        summary: "The gateway's public keys",
        description: 'Verifies acceptance receipts. Settlement tokens are signed with a separate key: /.well-known/settlement-token-jwks.json.',
        tags: ['discovery'],
        responses: {
          '200': { description: 'JWK Set.', content: { 'application/json': { schema: ref('Jwks') } } },
          ...problemResponses(alwaysPossible),
        },
      },
    },
    '/.well-known/settlement-token-jwks.json': {
      get: {
        operationId: 'getSettlementTokenJwks',
        summary: "The gateway's settlement-token keys",
        description: 'Verifies the short-lived settlement tokens the edge mints per call to a regional backend (POST /v1/settlements). Regional backends point EDGE_JWKS_URL here; it never verifies acceptance receipts.',
        tags: ['discovery'],
        responses: {
          '200': { description: 'JWK Set.', content: { 'application/json': { schema: ref('Jwks') } } },
          ...problemResponses(alwaysPossible),
        },
      },
    },
    '/v1/payments': {
      post: {
        operationId: 'submitPayment',
        summary: 'Submit a signed payment instruction',
        description: [
          'The pipeline: media type → body size → Content-Digest → message signature and freshness → nonce claim →',
          'instruction JWS (EdDSA, `kid` = a key of the same partner) → instruction schema → corridor and residency →',
          'idempotent admission on UETR → `202` with a receipt signed by the gateway.',
        ].join(' '),
        tags: ['payments'],
        parameters: [{ $ref: '#/components/parameters/SignatureInput' }, { $ref: '#/components/parameters/Signature' }, { $ref: '#/components/parameters/ContentDigest' }],
        requestBody: {
          description: `The instruction as a JWS; at most ${bodyBytesMax} bytes of body and ${jwsBytesMax} bytes of JWS. The JWS payload is a PaymentInstruction.`,
          required: true,
          content: {
            'application/jose': {
              schema: {
                oneOf: [
                  { type: 'string', title: 'compact JWS', pattern: compactJwsPattern, maxLength: jwsBytesMax, description: 'Compact JWS, protected header {"alg":"EdDSA","kid":<partner Ed25519 keyid>}. Not for hybrid partners, who must send both signatures.', 'x-jws-payload': ref('PaymentInstruction') },
                  { type: 'string', title: 'sealed compact JWE', pattern: compactJwePattern, description: 'The instruction JWS (compact, or the JSON serialization for hybrid partners) sealed under a PQ session: compact JWE, protected header {"alg":"dir","enc":"A256GCM","kid":<session_id>}, no zip, under the session payload key.' },
                ],
              },
            },
            'application/jose+json': {
              schema: ref('HybridInstructionJws'),
            },
          },
        },
        responses: {
          '202': {
            description: 'Accepted (or held) into a netting window. A repeat of the same UETR with the same instruction returns this original answer.',
            content: { 'application/json': { schema: ref('PaymentAnswer') } },
          },
          ...problemResponses([
            ...signatureProblems, 'content-digest-mismatch', 'invalid-instruction', 'pq-required', 'duplicate-uetr-mismatch', 'corridor-closed',
            'residency-denied', 'limit-exceeded', 'velocity-exceeded', 'payload-too-large', 'unsupported-media-type', 'unavailable', ...alwaysPossible,
          ]),
          default: { $ref: '#/components/responses/Internal' },
        },
      },
    },
    '/v1/sessions': {
      post: {
        operationId: 'openSession',
        summary: 'Open a post-quantum session (HPKE X-Wing)',
        description: [
          'Signed like every request. HPKE (RFC 9180) base mode to the gateway X-Wing key from /.well-known/meridian: KEM 0x647A, KDF 0x0001,',
          'AEAD 0x0002, info "meridian/v1 session". Both sides export payload key = Export("meridian/v1 payload key", 32) and confirm key =',
          'Export("meridian/v1 confirm", 32). `confirm` = base64url(HMAC-SHA256(confirm key, SHA-256(request body bytes))): abandon the session',
          'if it does not match. The offer must list the selected suite first among what the gateway supports and every algorithm that signs',
          'this request, in label order; offer.tls must equal the TLS version the edge observed — otherwise 403 downgrade-detected.',
        ].join(' '),
        tags: ['sessions'],
        parameters: [{ $ref: '#/components/parameters/SignatureInput' }, { $ref: '#/components/parameters/Signature' }, { $ref: '#/components/parameters/ContentDigest' }],
        requestBody: {
          description: `At most ${sessionBodyBytesMax} bytes.`,
          required: true,
          content: { 'application/json': { schema: ref('SessionRequest') } },
        },
        responses: {
          '201': { description: 'The session: a stateless ticket, usable as the `kid` of sealed bodies until `expires_at`.', content: { 'application/json': { schema: ref('SessionAnswer') } } },
          ...problemResponses([...signatureProblems, 'content-digest-mismatch', 'invalid-request', 'payload-too-large', 'unsupported-media-type', ...alwaysPossible]),
          default: { $ref: '#/components/responses/Internal' },
        },
      },
    },
    '/v1/payments/{uetr}': {
      get: {
        operationId: 'getPaymentStatus',
        summary: "A payment's status (owner only)",
        description: "Signed like every request, bodiless: sig1 covers (\"@method\" \"@target-uri\"). Another partner's UETR answers 404, not 403.",
        tags: ['payments'],
        parameters: [
          { name: 'uetr', in: 'path', required: true, description: 'The payment UETR (lowercase UUID v4).', schema: { type: 'string', format: 'uuid' } },
          { $ref: '#/components/parameters/SignatureInput' },
          { $ref: '#/components/parameters/Signature' },
        ],
        responses: {
          '200': { description: 'The payment status; the last four fields are set once settled.', content: { 'application/json': { schema: ref('PaymentStatus') } } },
          ...problemResponses([...signatureProblems, 'not-found', ...alwaysPossible]),
          default: { $ref: '#/components/responses/Internal' },
        },
      },
    },
  },
  components: {
    parameters: {
      SignatureInput: {
        name: 'Signature-Input',
        in: 'header',
        required: true,
        description: 'RFC 9421 §4.1. Label `sig1`: the covered components and the parameters created, nonce, keyid, alg="ed25519"; hybrid partners also `sig2` with alg="ml-dsa-65", their ML-DSA-65 keyid and the same components. Each label appears once. Example: `sig1=("@method" "@target-uri" "content-digest" "content-type");created=1795330000;nonce="b3k2pZ7xQ9fLmN1c";keyid="alpha-bank-2026-11";alg="ed25519"`.',
        schema: { type: 'string', maxLength: 8192 },
      },
      Signature: {
        name: 'Signature',
        in: 'header',
        required: true,
        description: 'RFC 9421 §4.2. `sig1=:<base64 Ed25519 signature over the signature base>:` (64 bytes); hybrid partners add `sig2=:<base64 ML-DSA-65 signature>:` (3309 bytes).',
        schema: { type: 'string', maxLength: 8192 },
      },
      ContentDigest: {
        name: 'Content-Digest',
        in: 'header',
        required: true,
        description: 'RFC 9530: `sha-256=:<base64 SHA-256 of the body>:` (sha-512 also accepted; every listed sha-256/sha-512 digest must match).',
        schema: { type: 'string' },
      },
    },
    headers: {},
    responses: {
      Internal: {
        description: 'internal: a gateway bug, logged with context; never the expected answer to any input.',
        content: { 'application/problem+json': { schema: ref(problemSchemaName('internal')) } },
      },
    },
    schemas: {
      Problem: {
        type: 'object',
        description: 'RFC 9457 problem details.',
        required: ['type', 'title', 'status'],
        properties: {
          type: { type: 'string', description: '`urn:meridian:problem:<slug>`: the stable, machine-readable reason.' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string', description: 'Human-readable detail; not stable, do not parse.' },
          instance: { type: 'string', description: 'The request path.' },
          issues: { type: 'array', items: { type: 'string' }, description: 'invalid-instruction only: "<field path>: <problem>" lines, at most 20.' },
          allow: { type: 'array', items: { type: 'string' }, description: 'method-not-allowed only: the allowed methods.' },
        },
      },
      ...problemSchemas(),
      PaymentInstruction: paymentInstructionJsonSchema(),
      PaymentAnswer: {
        type: 'object',
        required: ['uetr', 'status', 'window', 'receipt'],
        additionalProperties: false,
        properties: {
          uetr: { type: 'string', format: 'uuid' },
          status: { enum: ['accepted', 'held'] },
          window: { type: 'string', description: 'The netting window: `<corridor>.<jurisdiction>.<shard>.<start ms>`; also the settlement batch id.' },
          receipt: {
            type: 'string',
            pattern: compactJwsPattern,
            description: 'Acceptance receipt: compact JWS by the gateway (typ `meridian-acceptance+jws`, verify with /.well-known/jwks.json) over {gateway, partner_id, uetr, instruction_sha256, status, window, accepted_at}; instruction_sha256 is the SHA-256 of the exact JWS bytes.',
          },
        },
      },
      PaymentStatus: {
        type: 'object',
        required: ['uetr', 'status', 'batch_id', 'jurisdiction', 'region', 'log_index'],
        additionalProperties: false,
        properties: {
          uetr: { type: 'string', format: 'uuid' },
          status: { enum: ['accepted', 'held', 'rejected', 'settled'] },
          batch_id: { type: ['string', 'null'] },
          jurisdiction: { type: ['string', 'null'] },
          region: { type: ['string', 'null'] },
          log_index: { type: ['integer', 'null'], minimum: 0 },
        },
      },
      Health: {
        type: 'object',
        required: ['status', 'gateway_id'],
        properties: { status: { const: 'ok' }, gateway_id: { type: 'string' } },
      },
      Discovery: {
        type: 'object',
        required: ['gateway_id', 'xwing', 'session_suite', 'session_ttl_s', 'receipts_jwks', 'jwks_uri', 'signature_algorithms', 'instruction_jws_algorithms', 'signature_created_skew_s', 'nonce_ttl_s', 'min_tls_version'],
        properties: {
          gateway_id: { type: 'string' },
          xwing: { type: 'object', required: ['kid', 'public_key'], properties: { kid: { type: 'string' }, public_key: { type: 'string', description: 'base64url X-Wing public key (1216 bytes).' } } },
          session_suite: ref('SessionSuite'),
          session_ttl_s: { type: 'integer', maximum: sessionTtlMaxMs / 1000 },
          receipts_jwks: ref('Jwks'),
          jwks_uri: { type: 'string', format: 'uri' },
          signature_algorithms: { type: 'array', items: { type: 'string' }, description: 'RFC 9421 algorithms: ed25519 (sig1), ml-dsa-65 (sig2).' },
          instruction_jws_algorithms: { type: 'array', items: { type: 'string' } },
          signature_created_skew_s: { type: 'integer' },
          nonce_ttl_s: { type: 'integer' },
          min_tls_version: { type: 'string', description: 'TLS below this passes only under a registered exception with owner, reason and expiry.' },
        },
      },
      SessionSuite: {
        type: 'object',
        required: ['kem', 'kdf', 'aead'],
        additionalProperties: false,
        properties: { kem: { const: sessionSuite.kem }, kdf: { const: sessionSuite.kdf }, aead: { const: sessionSuite.aead } },
      },
      SessionRequest: {
        type: 'object',
        required: ['suite', 'enc', 'offer'],
        additionalProperties: false,
        properties: {
          suite: ref('SessionSuite'),
          enc: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', description: `base64url HPKE encapsulation to the gateway X-Wing key (${xwingEncBytes} bytes).` },
          offer: {
            type: 'object',
            required: ['kems', 'aeads', 'sigs', 'tls'],
            additionalProperties: false,
            properties: {
              kems: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 16, description: 'KEMs the client supports, most preferred first.' },
              aeads: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 16 },
              sigs: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 16, description: 'Must list every algorithm that signs this request, in label order.' },
              tls: { enum: ['TLSv1.3', 'TLSv1.2', 'TLSv1.1', 'TLSv1', 'none'], description: "The TLS version the client's own stack negotiated." },
            },
          },
        },
      },
      SessionAnswer: {
        type: 'object',
        required: ['session_id', 'expires_at', 'suite', 'confirm'],
        additionalProperties: false,
        properties: {
          session_id: { type: 'string', description: 'Opaque stateless ticket; the `kid` of sealed bodies.' },
          expires_at: { type: 'string', format: 'date-time', description: `At most ${sessionTtlMaxMs / 60_000} min after issue.` },
          suite: ref('SessionSuite'),
          confirm: { type: 'string', description: 'base64url(HMAC-SHA256(confirm key, SHA-256(request body bytes))).' },
        },
      },
      HybridInstructionJws: {
        type: 'object',
        required: ['payload', 'signatures'],
        additionalProperties: false,
        description: 'RFC 7515 general JSON serialization for hybrid partners: exactly one EdDSA and one ML-DSA-65 signature over the same payload, fully protected headers (no unprotected `header`). The ML-DSA-65 signature is over the standard JWS signing input (pure ML-DSA, empty context).',
        'x-jws-payload': ref('PaymentInstruction'),
        properties: {
          payload: { type: 'string', pattern: '^[A-Za-z0-9_-]+$' },
          signatures: {
            type: 'array',
            minItems: 2,
            maxItems: 2,
            items: {
              type: 'object',
              required: ['protected', 'signature'],
              additionalProperties: false,
              properties: {
                protected: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', description: '{"alg":"EdDSA"|"ML-DSA-65","kid":<the partner key id of that algorithm>}' },
                signature: { type: 'string', pattern: '^[A-Za-z0-9_-]+$' },
              },
            },
          },
        },
      },
      Jwks: {
        type: 'object',
        required: ['keys'],
        properties: {
          keys: {
            type: 'array',
            items: { type: 'object', required: ['kty', 'kid'], properties: { kty: { type: 'string' }, crv: { type: 'string' }, x: { type: 'string' }, kid: { type: 'string' }, alg: { type: 'string' }, use: { type: 'string' } } },
          },
        },
      },
    },
  },
};
