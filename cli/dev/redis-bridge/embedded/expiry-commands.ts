/**
 * Expiry commands of the embedded store: EXPIRE and PEXPIRE (with Redis 7's NX | XX | GT | LT),
 * TTL and PTTL, following Redis 7's `expireGenericCommand` and `ttlGenericCommand`.
 * `EXPIRE key s NX` is what makes a fixed velocity window: the first hit of a window sets the
 * deadline, later hits in the same window leave it alone.
 */
import { errorReply, integerReply, redisErrors, type RedisReply } from '../reply.ts';
import { int64Max, int64Min, parseInt64 } from './int64.ts';
import type { Keyspace } from './keyspace.ts';

type ExpireFlag = 'NX' | 'XX' | 'GT' | 'LT';

const expireFlags: ReadonlySet<string> = new Set<ExpireFlag>(['NX', 'XX', 'GT', 'LT']);

export function expire(keyspace: Keyspace, args: readonly string[]): RedisReply {
  return setExpiry(keyspace, args, 'expire');
}

export function pexpire(keyspace: Keyspace, args: readonly string[]): RedisReply {
  return setExpiry(keyspace, args, 'pexpire');
}

export function ttl(keyspace: Keyspace, [key]: readonly string[]): RedisReply {
  return remainingLife(keyspace, key!, 'seconds');
}

export function pttl(keyspace: Keyspace, [key]: readonly string[]): RedisReply {
  return remainingLife(keyspace, key!, 'milliseconds');
}

function setExpiry(keyspace: Keyspace, [key, amount, ...flagArgs]: readonly string[], commandName: 'expire' | 'pexpire'): RedisReply {
  const flags = parseExpireFlags(flagArgs);
  if (typeof flags === 'string') return errorReply(flags);
  const parsed = parseInt64(amount!);
  if (parsed === undefined) return errorReply(redisErrors.notInteger);
  const nowMs = BigInt(keyspace.now());
  if (commandName === 'expire' && (parsed > int64Max / 1000n || parsed < int64Min / 1000n)) {
    return errorReply(redisErrors.invalidExpireTime(commandName));
  }
  const durationMs = commandName === 'expire' ? parsed * 1000n : parsed;
  if (durationMs > int64Max - nowMs) return errorReply(redisErrors.invalidExpireTime(commandName));
  const expiresAtMs = durationMs + nowMs;
  const entry = keyspace.read(key!);
  if (entry === undefined) return integerReply(0);
  const current = entry.expiresAtMs === undefined ? undefined : BigInt(entry.expiresAtMs);
  // A key without an expiry counts as living forever for GT and LT, as in Redis.
  if (flags.has('NX') && current !== undefined) return integerReply(0);
  if (flags.has('XX') && current === undefined) return integerReply(0);
  if (flags.has('GT') && (current === undefined || expiresAtMs <= current)) return integerReply(0);
  if (flags.has('LT') && current !== undefined && expiresAtMs >= current) return integerReply(0);
  if (expiresAtMs <= nowMs) keyspace.delete(key!);
  else keyspace.write(key!, entry.value, Number(expiresAtMs));
  return integerReply(1);
}

function parseExpireFlags(flagArgs: readonly string[]): ReadonlySet<ExpireFlag> | string {
  const flags = new Set<ExpireFlag>();
  for (const flagArg of flagArgs) {
    const flag = flagArg.toUpperCase();
    if (!expireFlags.has(flag)) return redisErrors.unsupportedOption(flagArg);
    flags.add(flag as ExpireFlag);
  }
  if (flags.has('NX') && (flags.has('XX') || flags.has('GT') || flags.has('LT'))) {
    return 'ERR NX and XX, GT or LT options at the same time are not compatible';
  }
  if (flags.has('GT') && flags.has('LT')) return 'ERR GT and LT options at the same time are not compatible';
  return flags;
}

function remainingLife(keyspace: Keyspace, key: string, unit: 'seconds' | 'milliseconds'): RedisReply {
  const entry = keyspace.read(key);
  if (entry === undefined) return integerReply(-2);
  if (entry.expiresAtMs === undefined) return integerReply(-1);
  const remainingMs = Math.max(0, entry.expiresAtMs - keyspace.now());
  return integerReply(unit === 'milliseconds' ? remainingMs : Math.floor((remainingMs + 500) / 1000));
}
