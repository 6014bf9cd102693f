/**
 * A Redis reply as both backends produce it (RESP2 shapes, which is what the Upstash REST API
 * returns as JSON). Strings are bytes, integers are `bigint` so a 64-bit counter (velocity limits
 * sum minor units) crosses the bridge without rounding through a double.
 *
 * There is no separate "status" kind: on the Upstash wire a status reply ("OK", "PONG") and a
 * bulk string with the same bytes are indistinguishable to the client, so one kind suffices.
 */
export type RedisReply =
  | { kind: 'string'; bytes: Uint8Array }
  | { kind: 'integer'; value: bigint }
  | { kind: 'nil' }
  | { kind: 'array'; items: RedisReply[] }
  | { kind: 'error'; message: string };

const utf8 = new TextEncoder();

export function stringReply(text: string): RedisReply {
  return { kind: 'string', bytes: utf8.encode(text) };
}

export function integerReply(value: bigint | number): RedisReply {
  return { kind: 'integer', value: BigInt(value) };
}

export const nilReply: RedisReply = { kind: 'nil' };

export const okReply: RedisReply = stringReply('OK');

export function arrayReply(items: RedisReply[]): RedisReply {
  return { kind: 'array', items };
}

export function errorReply(message: string): RedisReply {
  return { kind: 'error', message };
}

/** Redis error texts the bridge writes itself (byte-for-byte as Redis 7 words them). */
export const redisErrors = {
  notInteger: 'ERR value is not an integer or out of range',
  execAbort: 'EXECABORT Transaction discarded because of previous errors.',
  wrongArity: (commandName: string) => `ERR wrong number of arguments for '${commandName}' command`,
  outOfMemory: "OOM command not allowed when used memory > 'maxmemory'.",
} as const;

/** Redis 7's unknown-command text: the name and up to 128 characters of arguments, each quoted. */
export function unknownCommandError(command: readonly string[]): string {
  const argumentPreviewCharsMax = 128;
  const [name = '', ...args] = command;
  let preview = '';
  for (const arg of args) {
    if (preview.length >= argumentPreviewCharsMax) break;
    preview += `'${arg.slice(0, argumentPreviewCharsMax - preview.length)}' `;
  }
  return `ERR unknown command '${name.slice(0, argumentPreviewCharsMax)}', with args beginning with: ${preview}`;
}
