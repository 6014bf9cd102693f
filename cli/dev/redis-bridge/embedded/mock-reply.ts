/**
 * ioredis-mock answers with JavaScript values (ioredis' reply shapes, after Lua through fengari);
 * the bridge speaks Redis replies. The mapping follows Redis' own conversions:
 *
 *   string, Buffer        → bulk string          number → integer (a Lua number is truncated, as Redis does)
 *   null, undefined, false → nil (Lua false)      true   → integer 1 (Lua true)
 *   array                 → array                plain object (HGETALL) → flat [field, value, …] array
 *   thrown Error          → error reply, with Redis' "ERR " prefix when the mock omits a code
 *
 * One deviation stays visible instead of being papered over: ioredis-mock keeps integers as JS
 * numbers, so a counter is exact only up to 2^53 (9.007e15 minor units) and INCR on a non-number
 * yields NaN rather than Redis' error; a NaN or infinite reply becomes that error here.
 */
import { arrayReply, errorReply, integerReply, nilReply, redisErrors, stringReply, type RedisReply } from '../reply.ts';

export function mockValueReply(value: unknown): RedisReply {
  if (value === null || value === undefined || value === false) return nilReply;
  if (value === true) return integerReply(1);
  if (typeof value === 'string') return stringReply(value);
  if (Buffer.isBuffer(value)) return { kind: 'string', bytes: new Uint8Array(value) };
  if (typeof value === 'number') return Number.isFinite(value) ? integerReply(BigInt(Math.trunc(value))) : errorReply(redisErrors.notInteger);
  if (Array.isArray(value)) return arrayReply(value.map(mockValueReply));
  if (typeof value === 'object') return arrayReply(Object.entries(value).flatMap(([field, fieldValue]) => [stringReply(field), mockValueReply(fieldValue)]));
  throw new TypeError(`redis-bridge: unexpected reply type from ioredis-mock: ${typeof value}`);
}

/** Redis error replies start with a code word (ERR, WRONGTYPE, NOSCRIPT…); the mock's sometimes do not. */
export function mockErrorReply(error: unknown): RedisReply {
  const message = error instanceof Error ? error.message : String(error);
  return errorReply(/^[A-Z]{2,}[A-Z_]* /.test(message) ? message : `ERR ${message}`);
}
