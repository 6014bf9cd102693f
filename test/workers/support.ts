import { SELF } from 'cloudflare:test';
import alphaBank from '../../dev/partners/alpha-bank.json';
import banqueBravo from '../../dev/partners/banque-bravo.json';
import charlieTrust from '../../dev/partners/charlie-trust.json';
import { PartnerClient, type PartnerCredentials } from '../../packages/partner-sdk/src/partner-client.ts';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';

export const gatewayUrl = 'https://gateway.meridian.test';
export const alpha = alphaBank as PartnerCredentials & { bic: string };
export const bravo = banqueBravo as PartnerCredentials & { bic: string };
export const charlie = charlieTrust as PartnerCredentials & { bic: string };

export function clientFor(partner: PartnerCredentials): PartnerClient {
  return new PartnerClient(partner, gatewayUrl, (request) => SELF.fetch(request));
}

/** A EUR→EUR payment from Alpha Bank (eu) to Banque Bravo. */
export function eurPayment(amount = '125.40', uetr?: string) {
  return buildInstruction({ debtorBic: alpha.bic, debtorCountry: 'DE', creditorBic: bravo.bic, creditorCountry: 'FR', amount, currency: 'EUR', targetCurrency: 'EUR', ...(uetr === undefined ? {} : { uetr }) });
}
