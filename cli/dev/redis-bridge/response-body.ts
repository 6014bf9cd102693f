/**
 * Writing Upstash REST responses: `{"result": …}` or `{"error": "…"}` per command, an array of
 * those for /pipeline and /multi-exec.
 *
 * With `Upstash-Encoding: base64` (what @upstash/redis asks for by default) every string in a
 * result is the base64 of its bytes, except a bare "OK", which Upstash sends as is and the client
 * passes through; integers stay numbers, nil is null, errors are never encoded. Integers are
 * written digit for digit from a `bigint`, so a 64-bit counter is not rounded by the bridge.
 */
import type { RedisReply } from './reply.ts';

export type ResponseEncoding = 'base64' | 'plain';

const utf8 = new TextDecoder();

export function responseEncodingOf(upstashEncodingHeader: string | undefined): ResponseEncoding {
  return upstashEncodingHeader?.trim().toLowerCase() === 'base64' ? 'base64' : 'plain';
}

/** One command's entry: `{"error": …}` for an error reply, `{"result": …}` otherwise. */
export function encodeEntry(reply: RedisReply, encoding: ResponseEncoding): string {
  if (reply.kind === 'error') return encodeError(reply.message);
  return `{"result":${encodeResult(reply, encoding)}}`;
}

export function encodeEntries(replies: readonly RedisReply[], encoding: ResponseEncoding): string {
  return `[${replies.map((reply) => encodeEntry(reply, encoding)).join(',')}]`;
}

export function encodeError(message: string): string {
  return JSON.stringify({ error: message });
}

function encodeResult(reply: RedisReply, encoding: ResponseEncoding): string {
  switch (reply.kind) {
    case 'string':
      return JSON.stringify(encodeBytes(reply.bytes, encoding));
    case 'integer':
      return reply.value.toString();
    case 'nil':
      return 'null';
    case 'array':
      return `[${reply.items.map((item) => encodeResult(item, encoding)).join(',')}]`;
    case 'error':
      // Only reachable nested inside an array; top-level errors become `{"error": …}` entries.
      return JSON.stringify(reply.message);
  }
}

function encodeBytes(bytes: Uint8Array, encoding: ResponseEncoding): string {
  if (encoding === 'plain') return utf8.decode(bytes);
  const isOk = bytes.length === 2 && bytes[0] === 0x4f && bytes[1] === 0x4b;
  return isOk ? 'OK' : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
