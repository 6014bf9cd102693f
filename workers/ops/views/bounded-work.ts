/**
 * Bounded fan-out and bounded reads for the ops views: a view asks many Durable Objects and every
 * regional backend, and must answer quickly and in bounded memory even when some of them hang or
 * answer far more than expected. Nothing here throws for an operating error: a backend that is
 * down is a value (`unreachable`) the view reports, never a 5xx.
 */

/** Longest error text a view echoes (errors may quote remote bodies). */
export const viewErrorCharsMax = 300;

export function errorText(cause: unknown): string {
  const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return text.slice(0, viewErrorCharsMax);
}

/** `work` over `items`, at most `concurrency` at a time, results in input order. */
export async function mapBounded<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`mapBounded: concurrency ${concurrency} is not a positive integer`);
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

export type RemoteJson =
  | { kind: 'answered'; httpStatus: number; body: unknown }
  | { kind: 'unreachable'; error: string };

/**
 * GET `url` with a deadline and a body limit, parsed as JSON. A timeout, a refused connection, an
 * oversized or non-JSON body are all `unreachable` with the reason; any HTTP status is `answered`
 * (the caller decides what a 503 means). The options are passed explicitly: no library defaults.
 */
export async function fetchJsonBounded(url: URL, options: { timeoutMs: number; bodyBytesMax: number }): Promise<RemoteJson> {
  let response: Response;
  try {
    response = await fetch(url, { method: 'GET', headers: { accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs) });
  } catch (cause) {
    return { kind: 'unreachable', error: isTimeout(cause) ? `no answer within ${options.timeoutMs} ms` : errorText(cause) };
  }
  let text: string;
  try {
    text = await readTextBounded(response, options.bodyBytesMax);
  } catch (cause) {
    return { kind: 'unreachable', error: isTimeout(cause) ? `body not read within ${options.timeoutMs} ms` : errorText(cause) };
  }
  try {
    return { kind: 'answered', httpStatus: response.status, body: JSON.parse(text) as unknown };
  } catch {
    return { kind: 'unreachable', error: `HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 120)}` };
  }
}

function isTimeout(cause: unknown): boolean {
  return cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError');
}

async function readTextBounded(response: Response, bytesMax: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > bytesMax) {
      await reader.cancel();
      throw new Error(`body exceeds ${bytesMax} bytes`);
    }
    chunks.push(value);
  }
  const joined = new Uint8Array(bytes);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(joined);
}
