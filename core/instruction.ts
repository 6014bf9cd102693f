import { z } from 'zod';
import { isBic } from './bic.ts';
import { isCountryCode } from './iso3166.ts';
import { currencyExponent } from './iso4217.ts';
import { parseAmount } from './money.ts';
import { err, ok, type Result } from './result.ts';
import { isCalendarDate, isRfc3339DateTime } from './rfc3339.ts';
import { formatIssues } from './zod-issues.ts';

/*
 * The payment instruction a partner signs (DESIGN.md "Payment instruction"), mapped 1:1 from
 * ISO 20022 pacs.008 / CBPR+. Every object is strict: an unknown field is an error, not ignored,
 * because the signed JWS is non-repudiation evidence — a field we silently dropped would be one
 * the partner signed and we never acted on.
 */

export const endToEndIdLengthMax = 35;
export const partyNameLengthMax = 140;
export const accountLengthMax = 34;
export const remittanceInfoLengthMax = 140;

const uuidV4Pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const printableAsciiPattern = /^[\x20-\x7e]+$/;
const accountPattern = new RegExp(`^[A-Za-z0-9]{1,${accountLengthMax}}$`);
const purposePattern = /^[A-Z]{4}$/;
/**
 * Controls, format characters (zero-width joiners, bidi overrides), surrogates, private use and
 * line/paragraph separators. Free text reaches sanctions screening and the ops console; an
 * invisible character there can split a name past a screening match or reorder what an operator
 * reads. Trade-off: a few scripts that need ZWJ/ZWNJ must be sent without them.
 */
const invisibleCharacterPattern = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}]/u;

function visibleText(lengthMax: number) {
  return z
    .string()
    .check((context) => {
      const text = context.value;
      const length = Array.from(text).length;
      if (length === 0 || text.trim().length === 0) context.issues.push({ code: 'custom', input: text, message: 'must not be empty' });
      else if (length > lengthMax) context.issues.push({ code: 'custom', input: text, message: `longer than ${lengthMax} characters` });
      else if (text !== text.trim()) context.issues.push({ code: 'custom', input: text, message: 'leading or trailing whitespace' });
      else if (invisibleCharacterPattern.test(text)) context.issues.push({ code: 'custom', input: text, message: 'control or invisible characters are not allowed' });
    });
}

const currencySchema = z.string().refine((code) => currencyExponent(code) !== undefined, { error: 'not a payable ISO 4217 currency code' });
const bicSchema = z.string().refine(isBic, { error: 'not a valid BIC (ISO 9362, uppercase)' });

const partySchema = z.strictObject({
  name: visibleText(partyNameLengthMax),
  country: z.string().refine(isCountryCode, { error: 'not an ISO 3166-1 alpha-2 country code' }),
  account: z.string().regex(accountPattern, { error: `1 to ${accountLengthMax} letters and digits (IBAN or other account id, no spaces)` }),
});

const agentSchema = z.strictObject({ bic: bicSchema });

const amountSchema = z
  .strictObject({
    value: z.string(),
    currency: currencySchema,
  })
  .check((context) => {
    // An unknown currency is already reported on amount.currency; saying it twice helps nobody.
    if (currencyExponent(context.value.currency) === undefined) return;
    const parsed = parseAmount(context.value.value, context.value.currency);
    if (!parsed.ok) context.issues.push({ code: 'custom', input: context.value.value, path: ['value'], message: parsed.reason.detail });
  });

export const paymentInstructionSchema = z.strictObject({
  uetr: z.string().regex(uuidV4Pattern, { error: 'not a lowercase UUID v4' }),
  end_to_end_id: z
    .string()
    .max(endToEndIdLengthMax, { error: `longer than ${endToEndIdLengthMax} characters` })
    .regex(printableAsciiPattern, { error: 'must be 1 or more printable ASCII characters' })
    .refine((text) => text === text.trim(), { error: 'leading or trailing whitespace' }),
  instructed_at: z.string().refine(isRfc3339DateTime, { error: 'not an RFC 3339 date-time with a time zone offset' }),
  settlement_date: z.string().refine(isCalendarDate, { error: 'not a calendar date (YYYY-MM-DD)' }),
  amount: amountSchema,
  target_currency: currencySchema,
  charge_bearer: z.enum(['DEBT', 'CRED', 'SHAR'], { error: 'must be DEBT, CRED or SHAR' }),
  debtor: partySchema,
  debtor_agent: agentSchema,
  creditor: partySchema,
  creditor_agent: agentSchema,
  remittance_info: visibleText(remittanceInfoLengthMax).optional(),
  purpose: z.string().regex(purposePattern, { error: 'not an ISO 20022 purpose code (4 uppercase letters)' }).optional(),
});

export type PaymentInstruction = z.infer<typeof paymentInstructionSchema>;

export type InvalidInstruction = { kind: 'invalid-instruction'; issues: string[] };

export interface ParsedInstruction {
  instruction: PaymentInstruction;
  /** `amount.value` in minor units of `amount.currency`. */
  amountMinor: bigint;
  /** `<amount.currency>-<target_currency>`, e.g. "EUR-USD". */
  corridor: string;
}

/** Validates a decoded instruction; issues read "<field path>: <problem>", at most `issuesMax`. */
export function parsePaymentInstruction(input: unknown): Result<ParsedInstruction, InvalidInstruction> {
  const parsed = paymentInstructionSchema.safeParse(input);
  if (!parsed.success) return err({ kind: 'invalid-instruction', issues: formatIssues(parsed.error.issues) });
  const instruction = parsed.data;
  const amountMinor = parseAmount(instruction.amount.value, instruction.amount.currency);
  // The schema already ran parseAmount; a failure here would mean the two disagree.
  if (!amountMinor.ok) throw new Error(`parsePaymentInstruction: schema accepted amount ${instruction.amount.value} that parseAmount rejects`);
  return ok({ instruction, amountMinor: amountMinor.value, corridor: `${instruction.amount.currency}-${instruction.target_currency}` });
}
