/**
 * SET's options (`NX | XX`, `GET`, `EX s | PX ms | EXAT s | PXAT ms | KEEPTTL`), accepted and
 * rejected exactly as Redis 7's `parseExtendedStringArgumentsOrReply` does: an option may repeat,
 * but two different expiry options, KEEPTTL with an expiry, or NX with XX are a syntax error.
 */
import { redisErrors } from '../reply.ts';
import { int64Max, parseInt64 } from './int64.ts';

type ExpiryUnit = 'EX' | 'PX' | 'EXAT' | 'PXAT';

export type SetExpiry = { kind: 'none' } | { kind: 'keep' } | { kind: 'at'; expiresAtMs: number };

export type SetOptions =
  | { kind: 'valid'; condition: 'always' | 'nx' | 'xx'; returnPrevious: boolean; expiry: SetExpiry }
  | { kind: 'invalid'; message: string };

const expiryUnits: ReadonlySet<string> = new Set<ExpiryUnit>(['EX', 'PX', 'EXAT', 'PXAT']);

export function parseSetOptions(optionArgs: readonly string[], nowMs: number): SetOptions {
  let condition: 'always' | 'nx' | 'xx' = 'always';
  let returnPrevious = false;
  let keepTtl = false;
  let expiry: { unit: ExpiryUnit; amount: string } | undefined;
  for (let index = 0; index < optionArgs.length; index += 1) {
    const option = optionArgs[index]!.toUpperCase();
    const next = optionArgs[index + 1];
    if (option === 'NX' && condition !== 'xx') condition = 'nx';
    else if (option === 'XX' && condition !== 'nx') condition = 'xx';
    else if (option === 'GET') returnPrevious = true;
    else if (option === 'KEEPTTL' && expiry === undefined) keepTtl = true;
    else if (expiryUnits.has(option) && !keepTtl && (expiry === undefined || expiry.unit === option) && next !== undefined) {
      expiry = { unit: option as ExpiryUnit, amount: next };
      index += 1;
    } else return { kind: 'invalid', message: redisErrors.syntax };
  }
  if (keepTtl) return { kind: 'valid', condition, returnPrevious, expiry: { kind: 'keep' } };
  if (expiry === undefined) return { kind: 'valid', condition, returnPrevious, expiry: { kind: 'none' } };
  const expiresAtMs = absoluteExpiryMs(expiry.unit, expiry.amount, nowMs);
  if (typeof expiresAtMs === 'string') return { kind: 'invalid', message: expiresAtMs };
  return { kind: 'valid', condition, returnPrevious, expiry: { kind: 'at', expiresAtMs } };
}

/** Redis' `getExpireMillisecondsOrReply`: the absolute deadline in ms, or the error text. */
function absoluteExpiryMs(unit: ExpiryUnit, amount: string, nowMs: number): number | string {
  const parsed = parseInt64(amount);
  if (parsed === undefined) return redisErrors.notInteger;
  const inSeconds = unit === 'EX' || unit === 'EXAT';
  if (parsed <= 0n || (inSeconds && parsed > int64Max / 1000n)) return redisErrors.invalidExpireTime('set');
  let milliseconds = inSeconds ? parsed * 1000n : parsed;
  if (unit === 'EX' || unit === 'PX') {
    if (milliseconds > int64Max - BigInt(nowMs)) return redisErrors.invalidExpireTime('set');
    milliseconds += BigInt(nowMs);
  }
  return Number(milliseconds);
}
