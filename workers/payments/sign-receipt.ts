/**
 * Stage `receipt`: the gateway-signed acceptance receipt of a payment's answer, signed here in the
 * Worker from the record PartnerState stored (core/acceptance-receipt.ts). Signing here keeps the
 * Ed25519 signature out of the serialised PartnerState shard, whose time per admission is what one
 * partner's throughput is bounded by; the key is imported once per isolate (core/gateway-key.ts).
 *
 * Meaning kept: the record reaches this stage only in the answer of PartnerState's `admit` or
 * `priorAnswer`, and a Durable Object's answer is released only after the writes before it are
 * durable (its output gate), so a receipt is never signed for an admission that is not stored.
 */
import { signAcceptanceRecord } from '../../core/acceptance-receipt.ts';
import { gatewayKey } from '../../core/gateway-key.ts';
import type { PaymentAnswer, StoredAnswer } from '../../durable-objects/partner-state/partner-state.ts';
import type { Env } from '../env.ts';

export async function signedAnswer(env: Env, stored: StoredAnswer): Promise<PaymentAnswer> {
  if (stored.kind === 'signed') return stored.answer;
  const { record } = stored;
  const receipt = await signAcceptanceRecord(await gatewayKey(env.GATEWAY_SIGNING_JWK), env.GATEWAY_ID, record);
  return { uetr: record.uetr, status: record.status, window: record.window, receipt };
}
