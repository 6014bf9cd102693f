/**
 * The request bodies of the partner API as the document shows them. The instruction is the
 * validator itself (core/instruction.ts) with descriptions attached: `safeExtend` keeps every
 * field's checks, so the documented schema parses exactly what the gateway parses (the test holds
 * it to that on the signed examples). What JSON Schema cannot say (ISO tables, BIC country codes,
 * amount digits per currency) is described in words on the field it constrains.
 */
import { z } from '@hono/zod-openapi';
import { headerBytesMax, signaturesMax } from '../../core/hybrid-jws.ts';
import { amountDigitsMax } from '../../core/money.ts';
import { paymentInstructionSchema } from '../../core/instruction.ts';
import { compactJwePattern, compactJwsPattern } from '../../core/api-responses.ts';
import { jwsBytesMax } from '../payments/instruction-jws.ts';
import { paymentBodyBytesMax } from '../payments/payment-routes.ts';

const fields = paymentInstructionSchema.shape;
const currency = { pattern: '^[A-Z]{3}$', description: 'A payable ISO 4217 code (one with a minor unit; funds such as CLF included, XAU/XDR/XTS/XXX refused).' };

function describedParty(party: typeof fields.debtor) {
  return party.safeExtend({
    name: party.shape.name.meta({ description: 'At most 140 characters; no control or invisible characters; no leading or trailing whitespace.' }),
    country: party.shape.country.meta({ pattern: '^[A-Z]{2}$', description: 'An officially assigned ISO 3166-1 alpha-2 code.' }),
  });
}

function describedAgent(agent: typeof fields.debtor_agent, debtor: boolean) {
  return agent.safeExtend({
    bic: agent.shape.bic.meta({
      pattern: '^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$',
      description: `ISO 9362 BIC, uppercase, with a real country code.${debtor ? " Must be the submitting partner's BIC." : ''}`,
    }),
  });
}

export const documentedInstructionSchema = paymentInstructionSchema.safeExtend({
  uetr: fields.uetr.meta({ format: 'uuid', description: 'UUID v4, lowercase (SWIFT gpi UETR). Idempotency key: the same UETR with the same instruction returns the original answer.' }),
  end_to_end_id: fields.end_to_end_id.meta({ description: 'Printable ASCII, no leading or trailing whitespace.' }),
  instructed_at: fields.instructed_at.meta({ format: 'date-time', description: 'RFC 3339 date-time with an offset (uppercase T and Z); leap seconds refused.' }),
  settlement_date: fields.settlement_date.meta({ format: 'date', description: 'Calendar date YYYY-MM-DD.' }),
  amount: fields.amount.safeExtend({
    value: fields.amount.shape.value.meta({
      pattern: '^(0|[1-9][0-9]*)(\\.[0-9]+)?$',
      description: `Decimal string: no sign, exponent, whitespace or leading zeros; at most the currency's minor-unit digits; greater than zero; fewer than ${amountDigitsMax + 1} digits in minor units.`,
    }),
    currency: fields.amount.shape.currency.meta(currency),
  }),
  target_currency: fields.target_currency.meta(currency),
  charge_bearer: fields.charge_bearer.meta({ description: 'ISO 20022 ChargeBearerType1Code.' }),
  debtor: describedParty(fields.debtor),
  debtor_agent: describedAgent(fields.debtor_agent, true),
  creditor: describedParty(fields.creditor),
  creditor_agent: describedAgent(fields.creditor_agent, false),
  remittance_info: fields.remittance_info.meta({ description: 'At most 140 characters; no control, format (bidi, zero-width) or private-use characters; no leading or trailing whitespace.' }),
  purpose: fields.purpose.meta({ description: 'ISO 20022 external purpose code.' }),
}).meta({
  description: 'The payload of the instruction JWS (DESIGN.md "Payment instruction"), derived from ISO 20022 pacs.008 (CBPR+). Unknown fields are refused at every level. The corridor is amount.currency-target_currency.',
});

const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/);

export const compactJwsSchema = z.string().regex(compactJwsPattern).max(jwsBytesMax).meta({
  title: 'compact JWS',
  description: `Compact JWS, at most ${jwsBytesMax} bytes, protected header {"alg":"EdDSA","kid":<partner Ed25519 keyid>}; its payload is a PaymentInstruction. Not for hybrid partners, who must send both signatures.`,
});

export const sealedJweSchema = z.string().regex(compactJwePattern).max(paymentBodyBytesMax).meta({
  title: 'sealed compact JWE',
  description: 'The instruction JWS (compact, or the JSON serialization for hybrid partners) sealed under a PQ session: compact JWE, protected header {"alg":"dir","enc":"A256GCM","kid":<session_id>}, no zip, under the session payload key.',
});

export const hybridInstructionJwsSchema = z.strictObject({
  payload: base64url.meta({
    description: 'base64url of the PaymentInstruction JSON.',
    contentEncoding: 'base64url',
    contentMediaType: 'application/json',
    contentSchema: { $ref: '#/components/schemas/PaymentInstruction' },
  }),
  signatures: z.array(z.strictObject({
    protected: base64url.max(headerBytesMax).meta({ description: '{"alg":"EdDSA"|"ML-DSA-65","kid":<the partner key id of that algorithm>}' }),
    signature: base64url,
  })).min(1).max(signaturesMax),
}).meta({
  description: 'RFC 7515 general JSON serialization for hybrid partners: exactly one EdDSA and one ML-DSA-65 signature over the same payload, fully protected headers (no unprotected `header`). The ML-DSA-65 signature is over the standard JWS signing input (pure ML-DSA, empty context).',
});
