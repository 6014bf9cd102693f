/**
 * A delivery whose edge token expires while its transaction runs must not COMMIT (regional/commit.ts
 * commitDeadlineMarginMs): the edge may already have given up on it, seen siblings refuse, read
 * back 404 and rejected the window's payments. Real app, real database (PGlite, and PostgreSQL
 * with DATABASE_URL); the backend's clock is a test clock that the signer moves forward while the
 * transaction signs the receipt and the log leaf — as a slow KMS call would take the time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProblemError } from '../../core/problem.ts';
import type { SettlementResponse } from '../../core/settlement-batch.ts';
import { commitDeadlineMarginMs, commitSettlement } from '../../regional/commit.ts';
import { loadOrCreateLocalSigner } from '../../regional/signer/local-signer.ts';
import type { Signer } from '../../regional/signer/signer.ts';
import { sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { startTestbed, type Testbed } from './support/testbed.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const tokenLifetimeSeconds = 30;

describe.each(testDatabaseKinds())('commit deadline (edge token expiry) on %s', (kind) => {
  let database: TestDatabase;
  let testbed: Testbed;
  let keyDirectory: string;
  let clockMs = Date.now();
  /** When set, the first Sign call inside a commit sets the backend's clock to this instant. */
  let clockAtSignMs: number | undefined;

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'commit_deadline');
    keyDirectory = await mkdtemp(join(tmpdir(), 'meridian-commit-deadline-'));
    const localSigner = await loadOrCreateLocalSigner({ keyFile: join(keyDirectory, 'eu-1.json') });
    const signer: Signer = {
      kid: localSigner.kid,
      alg: localSigner.alg,
      publicKey: localSigner.publicKey,
      createdAt: localSigner.createdAt,
      async sign(bytes) {
        if (clockAtSignMs !== undefined) clockMs = clockAtSignMs;
        return localSigner.sign(bytes);
      },
    };
    testbed = await startTestbed(database, { signer, now: () => new Date(clockMs) });
  });
  afterAll(async () => {
    await testbed?.close();
    await database?.drop();
    if (keyDirectory !== undefined) await rm(keyDirectory, { recursive: true, force: true });
  });

  /** A token issued now by the test clock, living tokenLifetimeSeconds; returns its exp in ms. */
  function freshToken(): { issuedAt: number; expiresAt: number; expiresAtMs: number } {
    clockAtSignMs = undefined;
    clockMs = Date.now();
    const issuedAt = Math.floor(clockMs / 1000);
    return { issuedAt, expiresAt: issuedAt + tokenLifetimeSeconds, expiresAtMs: (issuedAt + tokenLifetimeSeconds) * 1000 };
  }

  async function storedRows(digest: string, batchId: string): Promise<{ batches: number; legs: number; positions: number; leaves: number; auditorStatus: number }> {
    const [counts] = await testbed.database.sql`select
      (select count(*)::int from settlement_batches where digest = ${digest}) as batches,
      (select count(*)::int from settlement_legs where batch_digest = ${digest}) as legs,
      (select count(*)::int from net_positions where batch_digest = ${digest}) as positions,
      (select count(*)::int from log_leaves where batch_digest = ${digest}) as leaves`;
    const auditor = await testbed.app.request(`/v1/settlements/${encodeURIComponent(batchId)}`);
    return { ...(counts as { batches: number; legs: number; positions: number; leaves: number }), auditorStatus: auditor.status };
  }

  it('does not commit a batch whose token expires while the transaction signs; a fresh token commits it at the next log index', async () => {
    const sealed = sampleBatch({ payments: 6 });
    const token = freshToken();
    // Valid when verified (clock = iat), expired by the time the receipt is signed inside the transaction.
    clockAtSignMs = token.expiresAtMs + 1_000;
    const refused = await testbed.deliver(sealed, { issuedAt: token.issuedAt, expiresAt: token.expiresAt });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(await refused.json()).toMatchObject({ type: 'urn:meridian:problem:unavailable', status: 503, reason: 'edge-token-expired' });
    // Nothing of it is stored, and the auditor API (the edge's read-back) says so.
    expect(await storedRows(sealed.digest, sealed.batch.batch_id)).toEqual({ batches: 0, legs: 0, positions: 0, leaves: 0, auditorStatus: 404 });

    const [{ leaves: leavesBefore }] = (await testbed.database.sql`select count(*)::int as leaves from log_leaves where jurisdiction = 'eu'`) as unknown as [{ leaves: number }];
    const retry = freshToken();
    const committed = await testbed.deliver(sealed, { issuedAt: retry.issuedAt, expiresAt: retry.expiresAt });
    expect(committed.status).toBe(201);
    expect(((await committed.json()) as SettlementResponse).log_index).toBe(leavesBefore);
    expect(await storedRows(sealed.digest, sealed.batch.batch_id)).toEqual({ batches: 1, legs: sealed.batch.legs.length, positions: sealed.batch.positions.length, leaves: 1, auditorStatus: 200 });
  });

  it('commits with exactly the COMMIT margin left at the end of the transaction, and not with a millisecond less', async () => {
    const tooLate = sampleBatch({ payments: 2 });
    const late = freshToken();
    clockAtSignMs = late.expiresAtMs - commitDeadlineMarginMs + 1;
    const refused = await testbed.deliver(tooLate, { issuedAt: late.issuedAt, expiresAt: late.expiresAt });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ reason: 'edge-token-expired' });
    expect((await storedRows(tooLate.digest, tooLate.batch.batch_id)).batches).toBe(0);

    const inTime = sampleBatch({ payments: 2 });
    const onTime = freshToken();
    clockAtSignMs = onTime.expiresAtMs - commitDeadlineMarginMs;
    expect((await testbed.deliver(inTime, { issuedAt: onTime.issuedAt, expiresAt: onTime.expiresAt })).status).toBe(201);
  });

  it('still answers a replay of a committed batch after the deadline, with the stored receipt', async () => {
    const sealed = sampleBatch({ payments: 2 });
    const token = freshToken();
    const first = (await (await testbed.deliver(sealed, { issuedAt: token.issuedAt, expiresAt: token.expiresAt })).json()) as SettlementResponse;
    // A replay commits nothing, so an expired deadline does not stop it.
    const replayed = await commitSettlement(testbed.database.orm, sealed.batch, sealed.canonical, sealed.digest, 'eu-1', testbed.signer, { commitBy: new Date(Date.now() - 60_000) });
    expect(replayed).toEqual({ kind: 'replayed', response: first });
  });

  it('refuses a direct commit whose deadline has passed before it starts, and stores nothing', async () => {
    const sealed = sampleBatch({ payments: 2 });
    const committing = commitSettlement(testbed.database.orm, sealed.batch, sealed.canonical, sealed.digest, 'eu-1', testbed.signer, { commitBy: new Date(Date.now() - 1) });
    await expect(committing).rejects.toBeInstanceOf(ProblemError);
    await expect(committing).rejects.toMatchObject({ slug: 'unavailable', extensions: { reason: 'edge-token-expired' } });
    expect(await storedRows(sealed.digest, sealed.batch.batch_id)).toEqual({ batches: 0, legs: 0, positions: 0, leaves: 0, auditorStatus: 404 });
  });
});
