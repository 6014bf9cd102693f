/** Builds well-formed pacs.008-derived instructions (DESIGN.md "Payment instruction") for the demo, the CLI and tests. */
export interface InstructionInput {
  debtorBic: string;
  debtorCountry: string;
  creditorBic: string;
  creditorCountry: string;
  amount: string;
  currency: string;
  targetCurrency: string;
  uetr?: string;
  endToEndId?: string;
  remittanceInfo?: string;
}

/** The instruction `buildInstruction` returns: what `signInstruction` and `pay` take. */
export type PaymentInstruction = ReturnType<typeof buildInstruction>;

export function buildInstruction(input: InstructionInput) {
  const now = new Date();
  const uetr = input.uetr ?? crypto.randomUUID();
  return {
    uetr,
    end_to_end_id: input.endToEndId ?? `E2E-${uetr.slice(0, 8).toUpperCase()}`,
    instructed_at: now.toISOString(),
    settlement_date: now.toISOString().slice(0, 10),
    amount: { value: input.amount, currency: input.currency },
    target_currency: input.targetCurrency,
    charge_bearer: 'SHAR',
    debtor: { name: 'Ordering Customer GmbH', country: input.debtorCountry, account: `${input.debtorCountry}00DEBT${uetr.slice(0, 8).toUpperCase()}` },
    debtor_agent: { bic: input.debtorBic },
    creditor: { name: 'Beneficiary Ltd', country: input.creditorCountry, account: `${input.creditorCountry}00CRED${uetr.slice(24, 32).toUpperCase()}` },
    creditor_agent: { bic: input.creditorBic },
    ...(input.remittanceInfo === undefined ? {} : { remittance_info: input.remittanceInfo }),
  };
}
