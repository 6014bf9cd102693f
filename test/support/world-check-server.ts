/**
 * A local server that speaks the part of World-Check One API v2 the adapter uses
 * (core/sanctions/world-check.ts), for the Node tests and the workerd screening suite:
 *
 *   POST {prefix}/v2/cases/screeningRequest   verifies the HMAC HTTP signature, screens `name`
 *                                              with the in-process matcher over the dev OFAC list,
 *                                              stores the case → 201 {caseId, caseSystemId, …}
 *   GET  {prefix}/v2/cases/{caseSystemId}/results → 200 [{resultId, referenceId, matchStrength,
 *                                              matchScore, matchedTerm, primaryName, categories}]
 *
 * Signature checks follow World-Check's: `Authorization: Signature keyId=…,algorithm="hmac-sha256",
 * headers=…,signature=…` with the right header list for the method, the Date within ±15 min, the
 * Host and Content-Length the client actually sent, and the HMAC over the exact body bytes. Any
 * failure is 401, as World-Check answers it.
 *
 * Misbehaviour is chosen per request by a path prefix, so parallel tests cannot disturb each other:
 *   /behave/slow-<ms>/v2/…             answers after <ms>
 *   /behave/status-<code>/v2/…         answers <code> (401, 429 with Retry-After: 0, 500, …)
 *   /behave/fail-once-<code>-<token>/v2/…  answers <code> the first time a token is seen, then normally
 * No prefix (`/v2/…`) behaves.
 *
 * Run alone (`node test/support/world-check-server.ts [port]`) it prints `world-check-server: ready <port>`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { loadOfacCsv } from '../../core/sanctions/lists.ts';
import { createSanctionsMatcher } from '../../core/sanctions/matcher.ts';
import {
  parseWorldCheckAuthorization,
  worldCheckSignature,
  worldCheckSignatureMatches,
  worldCheckSignedHeadersWithBody,
  worldCheckSignedHeadersWithoutBody,
} from '../../core/sanctions/world-check-signature.ts';

export const worldCheckTestCredentials = { apiKey: 'test-api-key-0b9f66af', apiSecret: 'test-api-secret-/kiC/8E6YWlb+Rszt24N', groupId: 'test-group-5jb85ffp' } as const;

/** World-Check refuses a Date further than this from its clock. */
const dateSkewMsMax = 15 * 60 * 1_000;
const requestBytesMax = 64 * 1024;
/** The server's matcher reports results from this score; World-Check's "WEAK" floor. */
const resultScoreMin = 0.7;

export interface ReceivedRequest {
  method: string;
  path: string;
  status: number;
}

export interface WorldCheckServer {
  url: string;
  port: number;
  /** Every request in arrival order, with the status it was answered. */
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

export async function startWorldCheckServer(options: { port?: number; host?: string } = {}): Promise<WorldCheckServer> {
  const devDirectory = new URL('../../dev/sanctions/', import.meta.url);
  const list = loadOfacCsv({ sdn: readFileSync(new URL('sdn.csv', devDirectory)), alt: readFileSync(new URL('alt.csv', devDirectory)), loadedAt: new Date().toISOString() });
  if (!list.ok) throw new Error(`dev list did not load: ${JSON.stringify(list.reason)}`);
  const matcher = createSanctionsMatcher(list.value, { threshold: resultScoreMin, matchesMax: 20 });
  const cases = new Map<string, { caseId: string; name: string; results: unknown[] }>();
  const failedTokens = new Set<string>();
  const requests: ReceivedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const server: Server = createServer((request, response) => {
    void handle(request, response).catch((cause: unknown) => answer(response, 500, { error: String(cause) }));
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const url = new URL(request.url ?? '/', 'http://local');
    const behaviour = /^\/behave\/([a-z0-9-]+)(\/v2\/.*)$/.exec(url.pathname);
    const path = behaviour === null ? url.pathname : behaviour[2]!;
    const record = (status: number) => void requests.push({ method: request.method ?? '', path: url.pathname, status });
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      record(status);
      answer(response, status, payload, headers);
    };

    if (behaviour !== null) {
      const name = behaviour[1]!;
      const slow = /^slow-(\d+)$/.exec(name);
      const status = /^status-(\d{3})$/.exec(name);
      const failOnce = /^fail-once-(\d{3})-([a-z0-9]+)$/.exec(name);
      if (slow !== null) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => (timers.delete(timer), resolve()), Number(slow[1]));
          timers.add(timer);
          response.once('close', () => (clearTimeout(timer), timers.delete(timer), resolve()));
        });
        if (response.destroyed) {
          record(0);
          return;
        }
      } else if (status !== null) {
        return send(Number(status[1]), { message: `told to answer ${status[1]}` }, status[1] === '429' ? { 'retry-after': '0' } : {});
      } else if (failOnce !== null && !failedTokens.has(failOnce[2]!)) {
        failedTokens.add(failOnce[2]!);
        return send(Number(failOnce[1]), { message: `told to answer ${failOnce[1]} once` });
      }
    }

    const refusal = authenticationRefusal(request, url.pathname + url.search, body);
    if (refusal !== null) return send(401, { message: refusal });

    if (request.method === 'POST' && path === '/v2/cases/screeningRequest') {
      let parsed: { groupId?: unknown; name?: unknown; entityType?: unknown };
      try {
        parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
      } catch {
        return send(400, [{ error: 'BAD_REQUEST', cause: 'body is not JSON' }]);
      }
      if (parsed.groupId !== worldCheckTestCredentials.groupId) return send(400, [{ error: 'BAD_REQUEST', cause: 'unknown groupId' }]);
      if (typeof parsed.name !== 'string' || parsed.name.trim() === '') return send(400, [{ error: 'BAD_REQUEST', cause: 'name is required' }]);
      const caseSystemId = randomUUID().replaceAll('-', '').slice(0, 25);
      const caseId = randomUUID();
      cases.set(caseSystemId, { caseId, name: parsed.name, results: screeningResults(parsed.name) });
      return send(201, { caseId, caseSystemId, name: parsed.name, entityType: parsed.entityType, groupId: parsed.groupId, caseScreeningState: { WATCHLIST: 'INITIAL' } });
    }
    const results = /^\/v2\/cases\/([A-Za-z0-9]+)\/results$/.exec(path);
    if (request.method === 'GET' && results !== null) {
      const stored = cases.get(results[1]!);
      if (stored === undefined) return send(404, [{ error: 'NOT_FOUND', cause: 'no such case' }]);
      return send(200, stored.results);
    }
    return send(404, [{ error: 'NOT_FOUND', cause: `${request.method} ${path}` }]);
  }

  function screeningResults(name: string): unknown[] {
    return matcher.screen(name).matches.map((match) => ({
      resultId: randomUUID(),
      referenceId: `e_tr_wci_${match.entryId.replace('ofac-sdn:', '')}`,
      matchStrength: match.score >= 0.97 ? 'EXACT' : match.score >= 0.9 ? 'STRONG' : match.score >= 0.8 ? 'MEDIUM' : 'WEAK',
      matchScore: Math.round(match.score * 100),
      matchedTerm: match.matchedName,
      submittedTerm: name,
      matchedNameType: match.matchedName === match.listedName ? 'PRIMARY' : 'AKA',
      primaryName: match.listedName,
      categories: ['Sanctions'],
      sources: ['b_trwc_4'],
    }));
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Why World-Check would refuse this request's authentication, or null. */
function authenticationRefusal(request: IncomingMessage, target: string, body: Buffer): string | null {
  const authorization = parseWorldCheckAuthorization(request.headers.authorization ?? '');
  if (authorization === null) return 'Authorization header is not an HTTP signature';
  if (authorization.keyId !== worldCheckTestCredentials.apiKey) return 'unknown keyId';
  if (authorization.algorithm !== 'hmac-sha256') return 'algorithm must be hmac-sha256';
  const hasBody = request.method !== 'GET';
  const expectedHeaders = hasBody ? worldCheckSignedHeadersWithBody : worldCheckSignedHeadersWithoutBody;
  if (authorization.headers !== expectedHeaders) return `headers must be "${expectedHeaders}"`;
  const date = request.headers.date ?? '';
  const dateMs = Date.parse(date);
  if (!Number.isFinite(dateMs) || Math.abs(Date.now() - dateMs) > dateSkewMsMax) return 'Date missing or too far from the server clock';
  const host = request.headers.host ?? '';
  const contentType = request.headers['content-type'] ?? '';
  if (hasBody && Number(request.headers['content-length']) !== body.byteLength) return 'Content-Length does not match the body';
  const expected = worldCheckSignature(worldCheckTestCredentials.apiSecret, {
    method: request.method ?? '',
    target,
    host,
    date,
    ...(hasBody ? { body: { contentType, bytes: new Uint8Array(body) } } : {}),
  });
  return worldCheckSignatureMatches(expected, authorization.signature) ? null : 'signature does not verify';
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > requestBytesMax) request.destroy(new Error('request too large'));
      else chunks.push(chunk);
    });
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

function answer(response: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  if (response.headersSent || response.destroyed) return;
  const text = JSON.stringify(payload);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startWorldCheckServer({ port: Number(process.argv[2] ?? 0) });
  console.log(`world-check-server: ready ${server.port}`);
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
}
