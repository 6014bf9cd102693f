/**
 * The assertions and classifications the commit relies on where money moves. They cannot be
 * reached through the HTTP API with a verified batch (that is the point of them), so they are
 * exercised directly.
 */
import { DrizzleQueryError } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../../regional/db/backoff.ts';
import { classifyTransactionFailure } from '../../regional/db/transaction-errors.ts';
import { assertJournalBalanced, journalEntriesForLegs } from '../../regional/ledger/journal.ts';
import { rfc6962LeafHash } from '../../regional/log/leaf.ts';
import { sampleBatch } from './support/batches.ts';
import { injectedDriverError } from './support/faults.ts';

describe('journal', () => {
  it('debits the payer and credits the payee of every leg, balanced per currency', () => {
    const { batch } = sampleBatch({ payments: 2 });
    const entries = journalEntriesForLegs(batch.legs);
    expect(entries).toHaveLength(batch.legs.length * 2);
    expect(entries[0]).toEqual({ legIndex: 0, entryIndex: 0, account: `settlement:${batch.legs[0]!.payer}:${batch.legs[0]!.currency}`, currency: batch.legs[0]!.currency, debitMinor: BigInt(batch.legs[0]!.amount_minor), creditMinor: 0n });
    expect(() => assertJournalBalanced(entries, batch.positions, batch.batch_id)).not.toThrow();
  });

  it('refuses a journal that does not balance or does not match the positions', () => {
    const { batch } = sampleBatch({ payments: 2 });
    const entries = journalEntriesForLegs(batch.legs);
    const unbalanced = entries.map((entry, index) => (index === 1 ? { ...entry, creditMinor: entry.creditMinor + 1n } : entry));
    expect(() => assertJournalBalanced(unbalanced, batch.positions, batch.batch_id)).toThrow(/debits .* ≠ credits/);
    const positions = batch.positions.map((position, index) => (index === 0 ? { ...position, net_minor: String(BigInt(position.net_minor) + 1n) } : position));
    expect(() => assertJournalBalanced(entries, positions, batch.batch_id)).toThrow(/net position says/);
    expect(() => assertJournalBalanced(entries, batch.positions.slice(1), batch.batch_id)).toThrow(/has no net position/);
  });
});

describe('transaction failure classification', () => {
  it('finds the SQLSTATE under drizzle’s wrapper', () => {
    const wrapped = new DrizzleQueryError('insert into log_leaves …', [], injectedDriverError('40001'));
    expect(classifyTransactionFailure(wrapped)).toEqual({ kind: 'retryable', code: '40001' });
    expect(classifyTransactionFailure(injectedDriverError('40003'))).toEqual({ kind: 'outcome-unknown', code: '40003' });
    expect(classifyTransactionFailure(injectedDriverError('ECONNRESET'))).toEqual({ kind: 'outcome-unknown', code: 'ECONNRESET' });
    expect(classifyTransactionFailure(injectedDriverError('23514'))).toEqual({ kind: 'fatal' });
    expect(classifyTransactionFailure(new Error('no code'))).toEqual({ kind: 'fatal' });
  });
});

describe('backoff', () => {
  it('grows exponentially, stays under the cap, and is jittered from zero', () => {
    const policy = { retriesMax: 8, backoffBaseMs: 10, backoffCapMs: 1_000 };
    expect([0, 1, 2, 3].map((attempt) => backoffDelayMs(policy, attempt, () => 0.999))).toEqual([9, 19, 39, 79]);
    expect(backoffDelayMs(policy, 20, () => 0.999)).toBe(999);
    expect(backoffDelayMs(policy, 5, () => 0)).toBe(0);
  });
});

describe('RFC 6962 leaf hash', () => {
  it('is SHA-256 of 0x00 followed by the leaf bytes (RFC 6962 test vector: empty leaf)', () => {
    // SHA-256(0x00): the hash of an empty leaf in certificate-transparency's test vectors.
    expect(rfc6962LeafHash(new Uint8Array())).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  });
});
