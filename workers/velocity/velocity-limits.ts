/**
 * Which velocity counters one payment moves, with their limits and windows. Pure: the store and
 * the script live beside it (velocity-store.ts, velocity-script.ts).
 *
 * Windows are fixed and aligned to UTC (a minute, a UTC day), like @upstash/ratelimit's
 * fixedWindow, so `Retry-After` is exactly the time until the refused counter's window ends. A
 * partner may thus place up to twice its per-minute limit across a minute boundary; the per-day
 * limits bound what that can add up to.
 *
 * Key layout in Upstash (prefix `velocity:v1:`; every counter expires `counterTtlGraceMs` after
 * its window ends, the admission marker after `admissionMarkerTtlMs`):
 *
 *   admitted:<partner_id>:<uetr>                 "1": this payment was counted (velocity-script.ts)
 *   partner:<partner_id>:m:<minute>              payments of the partner in a UTC minute
 *   partner:<partner_id>:d:<day>                 payments of the partner in a UTC day
 *   partner:<partner_id>:amount:<CUR>:d:<day>    minor units of CUR the partner sent in a UTC day
 *   debtor:<account digest>:m:<minute>           payments from one debtor account, across partners
 *   creditor:<account digest>:m:<minute>         payments to one creditor account, across partners
 *   corridor:<corridor>:m:<minute>               payments in a corridor, across partners
 *
 * <minute> and <day> are the window's index since the epoch. Accounts appear only as a SHA-256
 * digest: Upstash is a global store outside the payment's jurisdiction, and an IBAN is personal
 * data (an unkeyed digest of a low-entropy account number can still be guessed; see the report).
 */
import { velocityAmountPerDayMinor, type PartnerProfile } from '../../core/partner-profile.ts';

/**
 * Cross-partner limits. Corridor configuration does not carry them yet (core/corridor-config.ts
 * belongs to the policy work), so they are constants here: a burst screen far above what one
 * account sends in practice, and far above the demo and the benchmarks, whose accounts are
 * unique per payment. Move them into corridor config once it has room for them.
 */
export const debtorAccountPaymentsPerMinuteMax = 120n;
export const creditorAccountPaymentsPerMinuteMax = 120n;
export const corridorPaymentsPerMinuteMax = 600_000n;

export const minuteMs = 60_000;
export const dayMs = 86_400_000;
/** How long a counter outlives its window (clock skew between isolates, late scripts). */
export const counterTtlGraceMs = 60_000;
/** Longer than the longest window, so no repeat of a counted UETR is ever counted again in it. */
export const admissionMarkerTtlMs = 2 * dayMs;

const keyPrefix = 'velocity:v1:';

export type VelocityLimitName =
  | 'partner-payments-per-minute'
  | 'partner-payments-per-day'
  | 'partner-amount-per-day'
  | 'debtor-account-payments-per-minute'
  | 'creditor-account-payments-per-minute'
  | 'corridor-payments-per-minute';

/** What checkVelocity needs of a payment; amounts are minor units of `source_currency`. */
export interface VelocityPayment {
  uetr: string;
  corridor: string;
  amount_minor: bigint;
  source_currency: string;
  debtor_account: string;
  creditor_account: string;
}

export interface VelocityCounter {
  limit: VelocityLimitName;
  key: string;
  increment: bigint;
  /** The most the counter may hold after this payment. */
  limitValue: bigint;
  /** The currency of an amount limit, for the refusal's detail. */
  currency?: string;
  windowEndMs: number;
}

export function admissionMarkerKey(partnerId: string, uetr: string): string {
  return `${keyPrefix}admitted:${partnerId}:${uetr}`;
}

/** Every counter the payment moves, the partner's own first, in a fixed order. */
export function velocityCounters(partner: PartnerProfile, payment: VelocityPayment, accountDigests: { debtor: string; creditor: string }, nowMs: number): VelocityCounter[] {
  const minute = Math.floor(nowMs / minuteMs);
  const day = Math.floor(nowMs / dayMs);
  const minuteEndMs = (minute + 1) * minuteMs;
  const dayEndMs = (day + 1) * dayMs;
  const partnerKey = `${keyPrefix}partner:${partner.partner_id}`;
  const counters: VelocityCounter[] = [];
  const velocity = partner.velocity;
  if (velocity !== undefined) {
    counters.push({ limit: 'partner-payments-per-minute', key: `${partnerKey}:m:${minute}`, increment: 1n, limitValue: BigInt(velocity.payments_per_minute), windowEndMs: minuteEndMs });
    counters.push({ limit: 'partner-payments-per-day', key: `${partnerKey}:d:${day}`, increment: 1n, limitValue: BigInt(velocity.payments_per_day), windowEndMs: dayEndMs });
    const amountMax = velocityAmountPerDayMinor(velocity, payment.source_currency);
    if (amountMax !== undefined) {
      counters.push({ limit: 'partner-amount-per-day', key: `${partnerKey}:amount:${payment.source_currency}:d:${day}`, increment: payment.amount_minor, limitValue: amountMax, currency: payment.source_currency, windowEndMs: dayEndMs });
    }
  }
  counters.push({ limit: 'debtor-account-payments-per-minute', key: `${keyPrefix}debtor:${accountDigests.debtor}:m:${minute}`, increment: 1n, limitValue: debtorAccountPaymentsPerMinuteMax, windowEndMs: minuteEndMs });
  counters.push({ limit: 'creditor-account-payments-per-minute', key: `${keyPrefix}creditor:${accountDigests.creditor}:m:${minute}`, increment: 1n, limitValue: creditorAccountPaymentsPerMinuteMax, windowEndMs: minuteEndMs });
  counters.push({ limit: 'corridor-payments-per-minute', key: `${keyPrefix}corridor:${payment.corridor}:m:${minute}`, increment: 1n, limitValue: corridorPaymentsPerMinuteMax, windowEndMs: minuteEndMs });
  return counters;
}

/** Whole seconds until the window ends, at least 1: what `Retry-After` says. */
export function secondsUntil(windowEndMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((windowEndMs - nowMs) / 1000));
}
