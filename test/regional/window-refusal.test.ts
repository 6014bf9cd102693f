/**
 * The regional side of a refused netting window: what the real backend answers to the deliveries
 * the edge's outbox makes, classified by the same core function the outbox uses
 * (core/netting-window.ts classifySettlementRefusal; durable-objects/corridor-window/deliver-batch.ts
 * acts on it). This ties the two sides: if the backend changed a slug, a status or where a check
 * runs, a batch would be refused that should retry, or retried forever that should be refused.
 *
 *   a foreign debtor leg            → content (residency-denied), and the read-back is a 404 not-found
 *   a content-invalid batch         → content (batch-rejected), which the edge re-checks itself
 *   the same batch id, other digest → maybe-committed (never content), the read-back shows the other digest
 *   a replay of a committed batch   → 200 with the stored receipt (regional answers no 409 for it)
 *   a token the backend refuses     → transient (an operator's problem, never the partners')
 *   a body that is not what the token names → transient (digest-mismatch: changed on the way)
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifySettlementRefusal } from '../../core/netting-window.ts';
import { problemSlugOf } from '../../core/problem.ts';
import { sealSettlementBatch, type SealedSettlementBatch, type SettlementLeg } from '../../core/settlement-batch.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { startTestbed, type Testbed } from './support/testbed.ts';

/** A same-currency batch with one leg per debtor country, in a slice no other suite uses. */
function batchFor(debtorCountries: string[], amountBase = 10_000, startsAtMs = Date.UTC(2026, 7, 1) + Math.floor(Math.random() * 1e9) * 1_000): SealedSettlementBatch {
  const legs: SettlementLeg[] = debtorCountries.map((country, index) => ({
    uetr: randomUUID(), instructing_agent: 'ALPHDEFFXXX', payer: 'ALPHDEFFXXX', payee: 'BRAVFRPPXXX', currency: 'EUR',
    amount_minor: String(amountBase + index), debtor_country: country, residency_exception: null,
  }));
  return sealSettlementBatch({
    batch_id: `EUR-EUR.eu.0.${startsAtMs}`, corridor: 'EUR-EUR', jurisdiction: 'eu',
    window: { starts_at: new Date(startsAtMs).toISOString(), ends_at: new Date(startsAtMs + 2_000).toISOString() }, legs,
  });
}

async function answer(response: Response): Promise<{ status: number; text: string }> {
  return { status: response.status, text: await response.text() };
}

describe.each(testDatabaseKinds())('what the edge makes of regional refusals, on %s', (kind) => {
  let database: TestDatabase;
  let eu: Testbed;

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'window_refusal');
    eu = await startTestbed(database, { region: 'eu-1', jurisdiction: 'eu' });
  });
  afterAll(async () => {
    await eu?.close();
    await database?.drop();
  });

  it('a batch with a foreign debtor is a content refusal, and the read-back proves it uncommitted', async () => {
    const sealed = batchFor(['DE', 'US']);
    const { status, text } = await answer(await eu.deliver(sealed));
    expect(classifySettlementRefusal(status, text)).toMatchObject({ kind: 'content', slug: 'residency-denied', reason: 'debtor-country-outside' });
    const readBack = await eu.app.request(`/v1/settlements/${sealed.batch.batch_id}`);
    expect(readBack.status).toBe(404);
    expect(problemSlugOf(((await readBack.json()) as { type: unknown }).type), 'the slug deliver-batch.ts reads as "absent"').toBe('not-found');
  });

  it('a batch whose positions do not follow from its legs is a content refusal (batch-rejected with its reason)', async () => {
    const sealed = batchFor(['DE', 'FR']);
    const tampered = JSON.parse(sealed.canonical) as { positions: Array<{ net_minor: string }> };
    tampered.positions[0]!.net_minor = String(BigInt(tampered.positions[0]!.net_minor) + 1n);
    const { status, text } = await answer(await eu.deliver(sealed, {}, JSON.stringify(tampered)));
    const refusal = classifySettlementRefusal(status, text);
    expect(refusal).toMatchObject({ kind: 'content', slug: 'batch-rejected' });
    expect(['not-zero-sum', 'positions-mismatch']).toContain(refusal.kind === 'content' ? refusal.reason : null);
  });

  it('the same batch id under another digest is never a content refusal: it may hold these payments', async () => {
    const startsAtMs = Date.UTC(2026, 7, 1) + Math.floor(Math.random() * 1e9) * 1_000;
    const first = batchFor(['DE'], 10_000, startsAtMs);
    const second = batchFor(['FR'], 20_000, startsAtMs);
    expect((await eu.deliver(first)).status).toBe(201);
    const { status, text } = await answer(await eu.deliver(second));
    expect(classifySettlementRefusal(status, text)).toMatchObject({ kind: 'maybe-committed', slug: 'batch-rejected' });
    const readBack = (await (await eu.app.request(`/v1/settlements/${second.batch.batch_id}`)).json()) as { digest: string };
    expect(readBack.digest, 'what deliver-batch.ts reports as a batch-id conflict').toBe(first.digest);
  });

  it('a replay of a committed batch answers 200 with the stored receipt, not a refusal', async () => {
    const sealed = batchFor(['DE']);
    const committed = (await (await eu.deliver(sealed)).json()) as { receipt: string };
    const replay = await eu.deliver(sealed);
    expect(replay.status).toBe(200);
    expect(((await replay.json()) as { receipt: string }).receipt).toBe(committed.receipt);
  });

  it('a token the backend does not accept and a body that is not the one the token names keep the window retrying', async () => {
    const sealed = batchFor(['DE']);
    const wrongAudience = await answer(await eu.deliver(sealed, { audience: 'eu-2' }));
    expect(wrongAudience.status).toBe(401);
    expect(classifySettlementRefusal(wrongAudience.status, wrongAudience.text).kind).toBe('transient');
    const other = batchFor(['FR']);
    const changed = await answer(await eu.deliver(sealed, { batchDigest: other.digest }));
    expect(changed.status).toBe(422);
    expect(classifySettlementRefusal(changed.status, changed.text)).toMatchObject({ kind: 'transient' });
    expect((await eu.app.request(`/v1/settlements/${sealed.batch.batch_id}`)).status, 'neither was committed').toBe(404);
  });
});

describe('classifySettlementRefusal on answers no backend route gives', () => {
  const problem = (slug: string, extra: Record<string, unknown> = {}) => JSON.stringify({ type: `urn:meridian:problem:${slug}`, title: slug, status: 0, detail: 'd', ...extra });

  it('keeps retrying a slug at a status it does not have, a body that is no problem, 5xx, 429 and 403 forbidden', () => {
    expect(classifySettlementRefusal(500, problem('residency-denied')).kind).toBe('transient');
    expect(classifySettlementRefusal(403, '<html>denied by proxy</html>').kind).toBe('transient');
    expect(classifySettlementRefusal(403, problem('forbidden')).kind).toBe('transient');
    expect(classifySettlementRefusal(503, problem('unavailable')).kind).toBe('transient');
    expect(classifySettlementRefusal(429, problem('velocity-exceeded')).kind).toBe('transient');
    expect(classifySettlementRefusal(413, problem('payload-too-large')).kind).toBe('transient');
  });

  it('reads back on any 409, whatever its body', () => {
    expect(classifySettlementRefusal(409, 'already committed').kind).toBe('maybe-committed');
    expect(classifySettlementRefusal(409, problem('duplicate-uetr-mismatch')).kind).toBe('maybe-committed');
  });
});
