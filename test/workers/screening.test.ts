/**
 * The screening stage inside workerd, with the Worker's real bindings: the bundled dev OFAC list
 * imported as text (wrangler.toml rules), talisman and any-ascii running in workerd, the provider
 * chosen by env, and World-Check One against the local server (test/support/world-check-server.ts,
 * started by test/support/world-check-global-setup.ts). Fail closed: every way the provider can
 * be unavailable must come out as a hold, never clear and never a throw.
 */
import { env } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import { devExcerptListVersion } from '../../workers/screening/bundled-list.ts';
import { screenPayment, screeningTimeoutMsDefault, type ScreeningOutcome } from '../../workers/screening/screen-payment.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    worldCheckUrl: string;
  }
}

const worldCheckCredentials = { WORLD_CHECK_API_KEY: 'test-api-key-0b9f66af', WORLD_CHECK_API_SECRET: 'test-api-secret-/kiC/8E6YWlb+Rszt24N', WORLD_CHECK_GROUP_ID: 'test-group-5jb85ffp' };
const payment = (debtor: string, creditor: string) => ({ debtor: { name: debtor }, creditor: { name: creditor } });
const ordinaryCreditor = 'Bravo Handelsgesellschaft mbH';
const worldCheckUrl = () => inject('worldCheckUrl');

function expectHold(outcome: ScreeningOutcome, cause: 'possible-match' | 'provider-unavailable') {
  expect(outcome.kind, JSON.stringify(outcome)).toBe('hold');
  if (outcome.kind !== 'hold') throw new Error('not held');
  expect(outcome.cause).toBe(cause);
  return outcome.result;
}

describe('screenPayment with the in-process provider (default)', () => {
  it('holds a listed name and records entry, alias, score, algorithm, list version and threshold', async () => {
    const result = expectHold(await screenPayment(env, payment('Usama bin Laden', ordinaryCreditor)), 'possible-match');
    expect(result).toMatchObject({ outcome: 'possible-match', providerId: 'in-process', threshold: 0.85, listVersion: { digest: devExcerptListVersion } });
    expect(result.matches[0]).toMatchObject({ party: 'debtor', entryId: 'ofac-sdn:6365', listedName: 'BIN LADIN, Usama bin Muhammad bin Awad', score: 1, algorithm: 'meridian-jw-dmetaphone/3' });
    expect(Date.parse(result.screenedAt)).not.toBeNaN();
  });

  it('holds disguised variants of listed names, on either side of the payment', async () => {
    const disguised = [
      'Joaquín Guzmán Loera', // diacritics
      'LOERA Joaquin GUZMAN', // token order
      'Joaqin Guzman Loera', // typo
      'Mr. Nicolas Maduro', // honorific, missing second surname
      'Сечин Игорь', // Cyrillic, surname first
      'قاسم سليماني', // Arabic script
      'Bank Melli Iran PLC', // legal form
      'Hizbollah', // spelling
      'Kim Jong-un',
    ];
    for (const name of disguised) {
      expectHold(await screenPayment(env, payment(ordinaryCreditor, name)), 'possible-match');
      expect((await screenPayment(env, payment(name, ordinaryCreditor))).kind, name).toBe('hold');
    }
  });

  it('clears ordinary names from many cultures', async () => {
    const ordinary = [
      ['Maria Fernanda Oliveira', 'Nordwind Logistik GmbH'],
      ['Aiko Tanaka', 'Chen Wei Trading Co Ltd'],
      ['Oluwaseun Adeyemi', 'Kowalski i Synowie sp. z o.o.'],
      ['Fatima Zahra Benali', 'Priya Raghavan'],
      ['Jean-Pierre Dubois', 'Siobhan O’Connor'],
      ['فاطمة حسن', 'Анна Кузнецова'],
    ] as const;
    for (const [debtor, creditor] of ordinary) {
      const outcome = await screenPayment(env, payment(debtor, creditor));
      expect(outcome, `${debtor} / ${creditor}`).toMatchObject({ kind: 'clear', result: { outcome: 'clear', matches: [], providerId: 'in-process', listVersion: { digest: devExcerptListVersion } } });
    }
  });

  it('takes the threshold from env', async () => {
    const strict = await screenPayment({ ...env, SANCTIONS_THRESHOLD: '1' }, payment('Joaqin Guzman Loera', ordinaryCreditor));
    expect(strict).toMatchObject({ kind: 'clear', result: { threshold: 1 } });
  });

  it('holds (never clears) on a configuration it cannot screen with', async () => {
    for (const broken of [{ SANCTIONS_PROVIDER: 'in-proces' }, { SANCTIONS_THRESHOLD: '0.9x' }, { SANCTIONS_THRESHOLD: '0' }, { SANCTIONS_PROVIDER: 'world-check' }]) {
      const result = expectHold(await screenPayment({ ...env, ...broken }, payment('Aiko Tanaka', ordinaryCreditor)), 'provider-unavailable');
      expect(result.failure?.kind, JSON.stringify(broken)).toBe('provider-misconfigured');
    }
  });

  it('refuses the bundled dev excerpt outside local-dev: holds with provider-misconfigured', async () => {
    const result = expectHold(await screenPayment({ ...env, MERIDIAN_POSTURE: undefined }, payment('Aiko Tanaka', ordinaryCreditor)), 'provider-unavailable');
    expect(result.failure).toMatchObject({ kind: 'provider-misconfigured', detail: expect.stringContaining('dev excerpt') });
  });
});

describe('screenPayment with World-Check One', () => {
  const worldCheck = (url: string, extra: Record<string, string> = {}) => ({ ...env, SANCTIONS_PROVIDER: 'world-check', WORLD_CHECK_URL: url, ...worldCheckCredentials, ...extra });

  it('holds a listed name and clears an ordinary one through the signed API', async () => {
    const held = expectHold(await screenPayment(worldCheck(`${worldCheckUrl()}/v2`), payment(ordinaryCreditor, 'Bank Markazi Iran')), 'possible-match');
    expect(held.matches[0]).toMatchObject({ party: 'creditor', entryId: 'world-check:e_tr_wci_4632', algorithm: 'world-check-one/EXACT' });
    expect(held.providerId).toBe('world-check-one');
    const clear = await screenPayment(worldCheck(`${worldCheckUrl()}/v2`), payment('Aiko Tanaka', ordinaryCreditor));
    expect(clear).toMatchObject({ kind: 'clear', result: { providerId: 'world-check-one', listVersion: { digest: expect.stringMatching(/^[0-9a-f]{64}$/) } } });
  });

  it('holds with provider-unavailable when the provider is on a dead port', async () => {
    const result = expectHold(await screenPayment(worldCheck('http://127.0.0.1:9/v2'), payment('Aiko Tanaka', ordinaryCreditor)), 'provider-unavailable');
    expect(result).toMatchObject({ outcome: 'provider-unavailable', providerId: 'world-check-one', listVersion: null, matches: [], failure: { kind: 'provider-unreachable' } });
  });

  it('holds with provider-unavailable when the provider is slower than the screening budget', async () => {
    const slow = worldCheck(`${worldCheckUrl()}/behave/slow-20000/v2`, { SANCTIONS_SCREENING_TIMEOUT_MS: '300' });
    const result = expectHold(await screenPayment(slow, payment('Aiko Tanaka', ordinaryCreditor)), 'provider-unavailable');
    expect(result.failure).toMatchObject({ kind: 'provider-timeout' });
    expect(screeningTimeoutMsDefault).toBeGreaterThan(300);
  });

  it('holds with provider-unavailable on 401, 429 and 500', async () => {
    const expected = { '401': 'provider-auth-refused', '429': 'provider-rate-limited', '500': 'provider-server-error' } as const;
    for (const [status, kind] of Object.entries(expected)) {
      const result = expectHold(await screenPayment(worldCheck(`${worldCheckUrl()}/behave/status-${status}/v2`), payment('Aiko Tanaka', ordinaryCreditor)), 'provider-unavailable');
      expect(result.failure?.kind, status).toBe(kind);
    }
    const wrongSecret = expectHold(await screenPayment(worldCheck(`${worldCheckUrl()}/v2`, { WORLD_CHECK_API_SECRET: 'wrong' }), payment('Aiko Tanaka', ordinaryCreditor)), 'provider-unavailable');
    expect(wrongSecret.failure).toMatchObject({ kind: 'provider-auth-refused', status: 401 });
  });

  it('refuses a plain-http World-Check URL outside local-dev', async () => {
    const result = expectHold(await screenPayment({ ...worldCheck(`${worldCheckUrl()}/v2`), MERIDIAN_POSTURE: undefined }, payment('Aiko Tanaka', ordinaryCreditor)), 'provider-unavailable');
    expect(result.failure).toMatchObject({ kind: 'provider-misconfigured', detail: expect.stringContaining('https') });
  });
});
