import { describe, expect, it } from 'vitest';
import { parsePaymentInstruction } from '../../core/instruction.ts';

function validInstruction(): any {
  return {
    uetr: '3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
    end_to_end_id: 'INV-2026/0042',
    instructed_at: '2026-03-02T09:15:00.123+01:00',
    settlement_date: '2026-03-02',
    amount: { value: '1250.50', currency: 'EUR' },
    target_currency: 'USD',
    charge_bearer: 'SHAR',
    debtor: { name: 'Müller Maschinenbau GmbH', country: 'DE', account: 'DE89370400440532013000' },
    debtor_agent: { bic: 'DEUTDEFF' },
    creditor: { name: 'Acme Tools Inc.', country: 'US', account: '000123456789' },
    creditor_agent: { bic: 'BOFAUS3NXXX' },
    remittance_info: 'Invoice 0042, March',
    purpose: 'GDDS',
  };
}

function issuesOf(mutate: (instruction: any) => void): string[] {
  const instruction = validInstruction();
  mutate(instruction);
  const parsed = parsePaymentInstruction(instruction);
  if (parsed.ok) return [];
  expect(parsed.reason.kind).toBe('invalid-instruction');
  return parsed.reason.issues;
}

describe('parsePaymentInstruction', () => {
  it('accepts a full pacs.008-shaped instruction and derives minor units and corridor', () => {
    const parsed = parsePaymentInstruction(validInstruction());
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.amountMinor).toBe(125050n);
    expect(parsed.value.corridor).toBe('EUR-USD');
    expect(parsed.value.instruction).toEqual(validInstruction());
  });

  it('accepts the optional fields absent, Z time zone, JPY without decimals and Kosovo-free BIC rules', () => {
    const parsed = parsePaymentInstruction({
      ...validInstruction(),
      remittance_info: undefined,
      purpose: undefined,
      instructed_at: '2026-03-02T08:15:00Z',
      amount: { value: '1500', currency: 'JPY' },
      target_currency: 'JPY',
    });
    expect(parsed).toMatchObject({ ok: true, value: { amountMinor: 1500n, corridor: 'JPY-JPY' } });
  });

  const invalid: Array<[string, (instruction: any) => void, string]> = [
    ['uppercase UETR', (i) => { i.uetr = i.uetr.toUpperCase(); }, 'uetr: not a lowercase UUID v4'],
    ['UUID v1', (i) => { i.uetr = '3f1c2a4e-5b6d-1e7f-8a9b-0c1d2e3f4a5b'; }, 'uetr: not a lowercase UUID v4'],
    ['UUID with a wrong variant', (i) => { i.uetr = '3f1c2a4e-5b6d-4e7f-ca9b-0c1d2e3f4a5b'; }, 'uetr: not a lowercase UUID v4'],
    ['end_to_end_id of 36 characters', (i) => { i.end_to_end_id = 'X'.repeat(36); }, 'end_to_end_id: longer than 35 characters'],
    ['empty end_to_end_id', (i) => { i.end_to_end_id = ''; }, 'end_to_end_id: must be 1 or more printable ASCII characters'],
    ['non-ASCII end_to_end_id', (i) => { i.end_to_end_id = 'Rechnung-Nr-ä'; }, 'end_to_end_id: must be 1 or more printable ASCII characters'],
    ['end_to_end_id with a newline', (i) => { i.end_to_end_id = 'A\nB'; }, 'end_to_end_id: must be 1 or more printable ASCII characters'],
    ['instructed_at without offset', (i) => { i.instructed_at = '2026-03-02T09:15:00'; }, 'instructed_at: not an RFC 3339 date-time with a time zone offset'],
    ['instructed_at on 30 February', (i) => { i.instructed_at = '2026-02-30T09:15:00Z'; }, 'instructed_at: not an RFC 3339 date-time with a time zone offset'],
    ['instructed_at at 24:00', (i) => { i.instructed_at = '2026-03-02T24:00:00Z'; }, 'instructed_at: not an RFC 3339 date-time with a time zone offset'],
    ['settlement_date on 29 February of a common year', (i) => { i.settlement_date = '2026-02-29'; }, 'settlement_date: not a calendar date (YYYY-MM-DD)'],
    ['settlement_date with a time', (i) => { i.settlement_date = '2026-03-02T00:00:00Z'; }, 'settlement_date: not a calendar date (YYYY-MM-DD)'],
    ['too many decimals', (i) => { i.amount.value = '1250.505'; }, 'amount.value: more decimals than EUR allows (2)'],
    ['decimals on JPY', (i) => { i.amount = { value: '1.5', currency: 'JPY' }; }, 'amount.value: more decimals than JPY allows (0)'],
    ['negative amount', (i) => { i.amount.value = '-1'; }, 'amount.value: not a plain decimal number (digits, optional "." and digits; no sign, exponent or spaces)'],
    ['exponent amount', (i) => { i.amount.value = '1e5'; }, 'amount.value: not a plain decimal number (digits, optional "." and digits; no sign, exponent or spaces)'],
    ['zero amount', (i) => { i.amount.value = '0.00'; }, 'amount.value: must be greater than zero'],
    ['amount as a JSON number', (i) => { i.amount.value = 1250.5; }, 'amount.value: Invalid input: expected string, received number'],
    ['amount in gold', (i) => { i.amount.currency = 'XAU'; }, 'amount.currency: not a payable ISO 4217 currency code'],
    ['lowercase target currency', (i) => { i.target_currency = 'usd'; }, 'target_currency: not a payable ISO 4217 currency code'],
    ['withdrawn target currency', (i) => { i.target_currency = 'HRK'; }, 'target_currency: not a payable ISO 4217 currency code'],
    ['charge bearer SLEV', (i) => { i.charge_bearer = 'SLEV'; }, 'charge_bearer: must be DEBT, CRED or SHAR'],
    ['empty debtor name', (i) => { i.debtor.name = ''; }, 'debtor.name: must not be empty'],
    ['blank creditor name', (i) => { i.creditor.name = '   '; }, 'creditor.name: must not be empty'],
    ['debtor name of 141 characters', (i) => { i.debtor.name = 'é'.repeat(141); }, 'debtor.name: longer than 140 characters'],
    ['debtor name with a zero-width space', (i) => { i.debtor.name = 'Ivan\u200bPetrov'; }, 'debtor.name: control or invisible characters are not allowed'],
    ['creditor name with a bidi override', (i) => { i.creditor.name = 'Acme \u202eInc'; }, 'creditor.name: control or invisible characters are not allowed'],
    ['creditor name with a lone surrogate', (i) => { i.creditor.name = 'Acme \ud800'; }, 'creditor.name: control or invisible characters are not allowed'],
    ['debtor name with trailing space', (i) => { i.debtor.name = 'Müller '; }, 'debtor.name: leading or trailing whitespace'],
    ['debtor country XK', (i) => { i.debtor.country = 'XK'; }, 'debtor.country: not an ISO 3166-1 alpha-2 country code'],
    ['lowercase creditor country', (i) => { i.creditor.country = 'us'; }, 'creditor.country: not an ISO 3166-1 alpha-2 country code'],
    ['account with spaces', (i) => { i.debtor.account = 'DE89 3704 0044 0532 0130 00'; }, 'debtor.account: 1 to 34 letters and digits (IBAN or other account id, no spaces)'],
    ['account of 35 characters', (i) => { i.creditor.account = '1'.repeat(35); }, 'creditor.account: 1 to 34 letters and digits (IBAN or other account id, no spaces)'],
    ['lowercase debtor agent BIC', (i) => { i.debtor_agent.bic = 'deutdeff'; }, 'debtor_agent.bic: not a valid BIC (ISO 9362, uppercase)'],
    ['creditor agent BIC of 9 characters', (i) => { i.creditor_agent.bic = 'BOFAUS3NX'; }, 'creditor_agent.bic: not a valid BIC (ISO 9362, uppercase)'],
    ['remittance info of 141 characters', (i) => { i.remittance_info = 'r'.repeat(141); }, 'remittance_info: longer than 140 characters'],
    ['remittance info as null', (i) => { i.remittance_info = null; }, 'remittance_info: Invalid input: expected string, received null'],
    ['lowercase purpose', (i) => { i.purpose = 'gdds'; }, 'purpose: not an ISO 20022 purpose code (4 uppercase letters)'],
    ['five-letter purpose', (i) => { i.purpose = 'GDDSX'; }, 'purpose: not an ISO 20022 purpose code (4 uppercase letters)'],
    ['unknown top-level field', (i) => { i.priority = 'HIGH'; }, "(root): unknown field 'priority'"],
    ['unknown field in amount', (i) => { i.amount.fx_rate = '1.1'; }, "amount: unknown field 'fx_rate'"],
    ['unknown field in debtor', (i) => { i.debtor.address = 'Berlin'; }, "debtor: unknown field 'address'"],
    ['unknown field in agent', (i) => { i.creditor_agent.name = 'BofA'; }, "creditor_agent: unknown field 'name'"],
    ['missing uetr', (i) => { delete i.uetr; }, 'uetr: required'],
    ['missing creditor', (i) => { delete i.creditor; }, 'creditor: required'],
  ];

  it.each(invalid)('rejects %s', (_name, mutate, issue) => {
    expect(issuesOf(mutate)).toEqual([issue]);
  });

  it('reports several problems at once, each with its path', () => {
    const issues = issuesOf((i) => {
      i.uetr = 'nope';
      i.debtor.country = 'ZZ';
      i.purpose = 'x';
    });
    expect(issues).toEqual(['uetr: not a lowercase UUID v4', 'debtor.country: not an ISO 3166-1 alpha-2 country code', 'purpose: not an ISO 20022 purpose code (4 uppercase letters)']);
  });

  it('rejects non-objects with a root issue and never throws', () => {
    for (const input of [null, undefined, 'instruction', 42, [], true]) {
      const parsed = parsePaymentInstruction(input);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.reason.issues[0]).toMatch(/^\(root\): /);
    }
  });

  it('names at most five unknown fields and counts the rest', () => {
    const issues = issuesOf((i) => {
      for (let index = 0; index < 500; index++) i[`field${index}`] = index;
    });
    expect(issues).toEqual(["(root): unknown fields 'field0', 'field1', 'field2', 'field3', 'field4' and 495 more"]);
  });
});
