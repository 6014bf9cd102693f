/**
 * String commands of the embedded store: GET, SET, DEL, EXISTS, MGET, INCR, DECR, INCRBY,
 * DECRBY and PING, with Redis 7 semantics and error texts. Arity is checked by the command table
 * before these run, so `args` (the command's arguments, without its name) has the right length.
 */
import { arrayReply, errorReply, integerReply, nilReply, okReply, redisErrors, stringReply, type RedisReply } from '../reply.ts';
import { int64Max, int64Min, parseInt64 } from './int64.ts';
import type { Keyspace } from './keyspace.ts';
import { parseSetOptions } from './set-options.ts';

export function get(keyspace: Keyspace, [key]: readonly string[]): RedisReply {
  const entry = keyspace.read(key!);
  return entry === undefined ? nilReply : stringReply(entry.value);
}

export function mget(keyspace: Keyspace, keys: readonly string[]): RedisReply {
  return arrayReply(keys.map((key) => get(keyspace, [key])));
}

export function set(keyspace: Keyspace, [key, value, ...optionArgs]: readonly string[]): RedisReply {
  const options = parseSetOptions(optionArgs, keyspace.now());
  if (options.kind === 'invalid') return errorReply(options.message);
  const previous = keyspace.read(key!);
  const previousReply = previous === undefined ? nilReply : stringReply(previous.value);
  const conditionFails = (options.condition === 'nx' && previous !== undefined) || (options.condition === 'xx' && previous === undefined);
  if (conditionFails) return options.returnPrevious ? previousReply : nilReply;
  const expiresAtMs = options.expiry.kind === 'keep' ? previous?.expiresAtMs : options.expiry.kind === 'at' ? options.expiry.expiresAtMs : undefined;
  if (!keyspace.write(key!, value!, expiresAtMs)) return errorReply(redisErrors.outOfMemory);
  return options.returnPrevious ? previousReply : okReply;
}

export function del(keyspace: Keyspace, keys: readonly string[]): RedisReply {
  let deletedCount = 0;
  for (const key of keys) {
    if (keyspace.read(key) !== undefined && keyspace.delete(key)) deletedCount += 1;
  }
  return integerReply(deletedCount);
}

export function exists(keyspace: Keyspace, keys: readonly string[]): RedisReply {
  return integerReply(keys.filter((key) => keyspace.read(key) !== undefined).length);
}

export function incr(keyspace: Keyspace, [key]: readonly string[]): RedisReply {
  return incrementBy(keyspace, key!, 1n);
}

export function decr(keyspace: Keyspace, [key]: readonly string[]): RedisReply {
  return incrementBy(keyspace, key!, -1n);
}

export function incrby(keyspace: Keyspace, [key, increment]: readonly string[]): RedisReply {
  const delta = parseInt64(increment!);
  return delta === undefined ? errorReply(redisErrors.notInteger) : incrementBy(keyspace, key!, delta);
}

export function decrby(keyspace: Keyspace, [key, decrement]: readonly string[]): RedisReply {
  const delta = parseInt64(decrement!);
  if (delta === undefined) return errorReply(redisErrors.notInteger);
  if (delta === int64Min) return errorReply(redisErrors.decrementOverflow);
  return incrementBy(keyspace, key!, -delta);
}

/** INCR and friends keep the key's expiry, as Redis does. */
function incrementBy(keyspace: Keyspace, key: string, delta: bigint): RedisReply {
  const entry = keyspace.read(key);
  const current = entry === undefined ? 0n : parseInt64(entry.value);
  if (current === undefined) return errorReply(redisErrors.notInteger);
  const next = current + delta;
  if (next < int64Min || next > int64Max) return errorReply(redisErrors.overflow);
  if (!keyspace.write(key, next.toString(), entry?.expiresAtMs)) return errorReply(redisErrors.outOfMemory);
  return integerReply(next);
}

export function ping(_keyspace: Keyspace, [message]: readonly string[]): RedisReply {
  return message === undefined ? stringReply('PONG') : stringReply(message);
}
