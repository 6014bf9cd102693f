/** Verifies a receipt the way an auditor would: with the key published at GET /v1/keys, via jose. */
import type { Hono } from 'hono';
import { compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import { base64Decode, base64urlEncode } from '../../../core/digest.ts';
import type { SettlementReceiptClaims } from '../../../core/settlement-batch.ts';

import type { PublishedKey } from '../../../regional/routes/keys.ts';

export type { PublishedKey };

export async function publishedKeys(app: Hono): Promise<PublishedKey[]> {
  const response = await app.request('/v1/keys');
  if (response.status !== 200) throw new Error(`GET /v1/keys answered ${response.status}`);
  return ((await response.json()) as { keys: PublishedKey[] }).keys;
}

export async function verifyReceipt(app: Hono, receipt: string): Promise<SettlementReceiptClaims> {
  const { kid } = decodeProtectedHeader(receipt);
  const published = (await publishedKeys(app)).find((key) => key.kid === kid);
  if (published === undefined) throw new Error(`receipt kid ${kid} is not published at /v1/keys`);
  const key = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: base64urlEncode(base64Decode(published.public_key)) }, 'EdDSA');
  const { payload } = await compactVerify(receipt, key, { algorithms: ['EdDSA'] });
  return JSON.parse(new TextDecoder().decode(payload)) as SettlementReceiptClaims;
}
