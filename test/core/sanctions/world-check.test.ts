import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex, utf8 } from '../../../core/digest.ts';
import { createWorldCheckProvider, type WorldCheckConfig } from '../../../core/sanctions/world-check.ts';
import { parseWorldCheckAuthorization, worldCheckAuthorization, worldCheckStringToSign } from '../../../core/sanctions/world-check-signature.ts';
import { startWorldCheckServer, worldCheckTestCredentials, type WorldCheckServer } from '../../support/world-check-server.ts';

const parties = (debtor: string, creditor: string) => [
  { role: 'debtor' as const, name: debtor },
  { role: 'creditor' as const, name: creditor },
];
const noDeadline = () => new AbortController().signal;

describe('World-Check One request signature', () => {
  const parts = { method: 'POST', target: '/v2/cases/screeningRequest', host: 'api-worldcheck.refinitiv.com', date: 'Tue, 07 Jun 2022 20:51:35 GMT' };

  it('signs (request-target) host date content-type content-length, then the body bytes (UTF-8 length)', () => {
    const body = utf8('{"name":"Müller"}');
    const signed = new TextDecoder().decode(worldCheckStringToSign({ ...parts, body: { contentType: 'application/json', bytes: body } }));
    expect(signed).toBe(
      '(request-target): post /v2/cases/screeningRequest\nhost: api-worldcheck.refinitiv.com\ndate: Tue, 07 Jun 2022 20:51:35 GMT\n' +
        'content-type: application/json\ncontent-length: 18\n{"name":"Müller"}',
    );
    expect(new TextDecoder().decode(worldCheckStringToSign({ ...parts, method: 'GET', target: '/v2/cases/abc/results' }))).toBe(
      '(request-target): get /v2/cases/abc/results\nhost: api-worldcheck.refinitiv.com\ndate: Tue, 07 Jun 2022 20:51:35 GMT',
    );
  });

  it('writes the Authorization header World-Check expects, and a changed body changes the signature', () => {
    const header = worldCheckAuthorization('key-1', 'secret', { ...parts, body: { contentType: 'application/json', bytes: utf8('{"a":1}') } });
    expect(header).toMatch(/^Signature keyId="key-1",algorithm="hmac-sha256",headers="\(request-target\) host date content-type content-length",signature="[A-Za-z0-9+/]{43}="$/);
    const tampered = worldCheckAuthorization('key-1', 'secret', { ...parts, body: { contentType: 'application/json', bytes: utf8('{"a":2}') } });
    expect(parseWorldCheckAuthorization(tampered)?.signature).not.toBe(parseWorldCheckAuthorization(header)?.signature);
    expect(worldCheckAuthorization('key-1', 'secret', { ...parts, method: 'GET' })).toContain('headers="(request-target) host date"');
  });
});

describe('World-Check One adapter against the local server', () => {
  let server: WorldCheckServer;
  beforeAll(async () => {
    server = await startWorldCheckServer();
  });
  afterAll(() => server.close());

  const provider = (overrides: Partial<WorldCheckConfig> = {}, prefix = '') =>
    createWorldCheckProvider({ baseUrl: `${server.url}${prefix}/v2`, ...worldCheckTestCredentials, threshold: 0.85, requestTimeoutMs: 1_000, retryDelayMs: 5, ...overrides });
  const requestsUnder = (prefix: string) => server.requests.filter((request) => request.path.startsWith(prefix));

  it('screens both parties: a listed name is a possible match with the vendor reference, an ordinary name is clear', async () => {
    const screened = await provider().screen(parties('Osama bin Laden', 'Helga Johansson'), noDeadline());
    if (!screened.ok) throw new Error(JSON.stringify(screened.reason));
    expect(screened.value.outcome).toBe('possible-match');
    expect(screened.value.providerId).toBe('world-check-one');
    expect(screened.value.threshold).toBe(0.85);
    expect(screened.value.matches[0]).toMatchObject({
      party: 'debtor',
      screenedName: 'Osama bin Laden',
      entryId: 'world-check:e_tr_wci_6365',
      listedName: 'BIN LADIN, Usama bin Muhammad bin Awad',
      matchedAlias: 'BIN LADEN, Osama',
      score: 1,
      algorithm: 'world-check-one/EXACT',
    });
    expect(screened.value.matches.every((match) => match.party === 'debtor')).toBe(true);
    expect(screened.value.listVersion.digest).toMatch(/^[0-9a-f]{64}$/);

    const clear = await provider().screen(parties('Helga Johansson', 'Acme Widgets GmbH'), noDeadline());
    expect(clear).toMatchObject({ ok: true, value: { outcome: 'clear', matches: [] } });
  });

  it('applies the threshold to the vendor score: a weak vendor hit below it is clear', async () => {
    const lenient = await provider({ threshold: 0.7 }).screen(parties('Joaquin Guzman Lopez', 'Jane Doe'), noDeadline());
    const strict = await provider({ threshold: 0.99 }).screen(parties('Joaquin Guzman Lopez', 'Jane Doe'), noDeadline());
    expect(lenient).toMatchObject({ ok: true, value: { outcome: 'possible-match' } });
    expect(strict).toMatchObject({ ok: true, value: { outcome: 'clear' } });
  });

  it('is refused with a wrong secret, and does not retry a 401', async () => {
    const before = server.requests.length;
    const screened = await provider({ apiSecret: 'not-the-secret' }).screen(parties('Jane Doe', 'John Roe'), noDeadline());
    expect(screened).toEqual({ ok: false, reason: { kind: 'provider-auth-refused', providerId: 'world-check-one', status: 401 } });
    // Two parties in parallel, one POST each, none retried.
    expect(server.requests.slice(before).map((request) => request.status)).toEqual([401, 401]);
  });

  it('refuses a request whose body changed after it was signed (the server verifies the body)', async () => {
    const url = new URL(`${server.url}/v2/cases/screeningRequest`);
    const date = new Date().toUTCString();
    const signedBody = utf8(JSON.stringify({ groupId: worldCheckTestCredentials.groupId, name: 'Jane Doe' }));
    const sentBody = JSON.stringify({ groupId: worldCheckTestCredentials.groupId, name: 'Jane Dot' });
    const authorization = worldCheckAuthorization(worldCheckTestCredentials.apiKey, worldCheckTestCredentials.apiSecret, {
      method: 'POST',
      target: url.pathname,
      host: url.host,
      date,
      body: { contentType: 'application/json', bytes: signedBody },
    });
    const response = await fetch(url, { method: 'POST', headers: { date, authorization, 'content-type': 'application/json' }, body: sentBody });
    expect(response.status).toBe(401);
  });

  it('retries 429 and 500 a bounded number of times, then fails with what it saw', async () => {
    const limited = await provider({ attemptsMax: 3 }, '/behave/status-429').screen(parties('Jane Doe', 'John Roe').slice(0, 1), noDeadline());
    expect(limited).toEqual({ ok: false, reason: { kind: 'provider-rate-limited', providerId: 'world-check-one', attempts: 3 } });
    expect(requestsUnder('/behave/status-429')).toHaveLength(3);
    const broken = await provider({ attemptsMax: 2 }, '/behave/status-500').screen(parties('Jane Doe', 'John Roe').slice(0, 1), noDeadline());
    expect(broken).toEqual({ ok: false, reason: { kind: 'provider-server-error', providerId: 'world-check-one', attempts: 2, status: 500 } });
    expect(requestsUnder('/behave/status-500')).toHaveLength(2);
  });

  it('recovers from one 500 by retrying', async () => {
    const prefix = '/behave/fail-once-500-recover1';
    const screened = await provider({}, prefix).screen(parties('Bank Melli Iran', 'John Roe').slice(0, 1), noDeadline());
    expect(screened).toMatchObject({ ok: true, value: { outcome: 'possible-match', matches: [{ entryId: 'world-check:e_tr_wci_25578' }] } });
    expect(requestsUnder(prefix).map((request) => request.status)).toEqual([500, 201, 200]);
  });

  it('times out a slow server per request, and stops at the caller’s deadline', async () => {
    const slow = await provider({ requestTimeoutMs: 200 }, '/behave/slow-5000').screen(parties('Jane Doe', 'John Roe'), noDeadline());
    expect(slow).toEqual({ ok: false, reason: { kind: 'provider-timeout', providerId: 'world-check-one', timeoutMs: 200 } });
    const deadline = AbortSignal.timeout(150);
    const stopped = await provider({ requestTimeoutMs: 10_000 }, '/behave/slow-5000').screen(parties('Jane Doe', 'John Roe'), deadline);
    expect(stopped).toMatchObject({ ok: false, reason: { kind: 'provider-timeout' } });
    expect(deadline.aborted).toBe(true);
  });

  it('reports a dead port as unreachable after its attempts', async () => {
    const dead = createWorldCheckProvider({ baseUrl: 'http://127.0.0.1:9/v2', ...worldCheckTestCredentials, threshold: 0.85, retryDelayMs: 1, attemptsMax: 2 });
    const screened = await dead.screen(parties('Jane Doe', 'John Roe').slice(0, 1), noDeadline());
    expect(screened).toMatchObject({ ok: false, reason: { kind: 'provider-unreachable', attempts: 2 } });
  });

  it('rejects an answer that is not World-Check’s shape instead of reading it as clear', async () => {
    const notFound = await provider({}, '/behave/status-404').screen(parties('Jane Doe', 'John Roe').slice(0, 1), noDeadline());
    expect(notFound).toMatchObject({ ok: false, reason: { kind: 'provider-bad-response' } });
  });

  it('versions the answer: the digest is the SHA-256 of the results as received', async () => {
    const screened = await provider().screen(parties('Jane Doe', 'John Roe').slice(0, 1), noDeadline());
    expect(screened).toMatchObject({ ok: true, value: { listVersion: { digest: sha256Hex('[]') } } });
  });
});
