/**
 * GETs for the exporter, bounded: a timeout per request, a size cap per answer, and the regional
 * backends' load shedding honoured (503 + Retry-After, a few attempts). `fetch` is injectable so a
 * test can route to in-process apps; the CLI uses the global one.
 */
export const exportRequestTimeoutMs = 15_000;
export const exportAnswerBytesMax = 64 * 1024 * 1024;
const busyAttemptsMax = 5;
const busyRetryAfterMsMax = 5_000;

export class ExportFailure extends Error {
  readonly kind = 'export-failure';
}

export interface HttpAnswer {
  status: number;
  text: string;
  contentType: string;
}

export interface HttpSource {
  get(baseUrl: string, path: string, headers?: Record<string, string>): Promise<HttpAnswer>;
}

export function httpSource(fetcher: typeof fetch = fetch): HttpSource {
  return {
    async get(baseUrl, path, headers = {}) {
      const url = new URL(path.replace(/^\//, ''), baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).toString();
      for (let attempt = 1; ; attempt++) {
        let response: Response;
        try {
          response = await fetcher(url, { headers, signal: AbortSignal.timeout(exportRequestTimeoutMs), redirect: 'error' });
        } catch (error) {
          throw new ExportFailure(`GET ${url}: ${(error as Error).message}`);
        }
        const text = await response.text();
        if (text.length > exportAnswerBytesMax) throw new ExportFailure(`GET ${url}: answer larger than ${exportAnswerBytesMax} bytes`);
        const retryAfter = response.headers.get('retry-after');
        if (response.status === 503 && retryAfter !== null && /^[0-9]{1,4}$/.test(retryAfter) && attempt < busyAttemptsMax) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(Number(retryAfter) * 1000, busyRetryAfterMsMax)));
          continue;
        }
        return { status: response.status, text, contentType: response.headers.get('content-type') ?? '' };
      }
    },
  };
}

export async function getJson(source: HttpSource, baseUrl: string, path: string, headers?: Record<string, string>): Promise<unknown> {
  const answer = await source.get(baseUrl, path, headers);
  if (answer.status !== 200) throw new ExportFailure(`GET ${baseUrl} ${path}: HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
  try {
    return JSON.parse(answer.text) as unknown;
  } catch {
    throw new ExportFailure(`GET ${baseUrl} ${path}: not JSON`);
  }
}

export async function getText(source: HttpSource, baseUrl: string, path: string): Promise<string> {
  const answer = await source.get(baseUrl, path);
  if (answer.status !== 200) throw new ExportFailure(`GET ${baseUrl} ${path}: HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
  return answer.text;
}

/** Runs `work` over `inputs` with at most `concurrency` in flight, results in input order. */
export async function inPool<T, R>(inputs: readonly T[], concurrency: number, work: (input: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(inputs.length);
  let next = 0;
  const worker = async () => {
    while (next < inputs.length) {
      const index = next++;
      results[index] = await work(inputs[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, inputs.length) }, worker));
  return results;
}
