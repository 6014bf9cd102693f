/**
 * Read-back by aggregate: what the ledger holds for a digest, summarised by the database from the
 * rows it stored, against the same summary computed here from the delivered batch. One statement
 * instead of reading every leg back (10,000 rows, ~1 MB to decode and compare per batch):
 *   - legs: how many, and an MD5 over each leg's stored fields (uetr, instructing agent, payer,
 *     payee, currency, amount) in leg_index order, rendered the same way on both sides;
 *   - positions: how many, and an MD5 over (participant, currency, net) in position_index order;
 *   - the journal: accounts whose movement over the stored legs (credits to the payee, debits to
 *     the payer) differs from the stored net position, either way round, and currencies whose
 *     stored positions do not sum to zero — both must be 0.
 * A mismatch means corrupted storage or a bug in the writer, so it throws and the delivery fails
 * loudly rather than returning a receipt for different legs.
 *
 * MD5 is a checksum here, not a defence against forgery: the threat is a writer bug or storage
 * corruption (anyone able to craft MD5 collisions in these rows could write any row they liked).
 * It is chosen because md5(text) → lowercase hex is the same function on PostgreSQL, PGlite and
 * CockroachDB, where sha256 is not (bytea on PostgreSQL, string on CockroachDB). The fields cannot
 * contain the separators: UUIDs, BICs, ISO codes and integer strings, by the batch schema.
 * string_agg(… ORDER BY …), FULL JOIN, IS DISTINCT FROM and CTEs are common to both databases.
 */
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { SettlementBatch } from '../../core/settlement-batch.ts';
import type { RegionalQueryable } from '../db/client.ts';

export interface LedgerSummary {
  legCount: number;
  legsMd5: string;
  positionCount: number;
  positionsMd5: string;
  /** Accounts whose journal movement is not their net position (0 in a sound ledger). */
  accountsUnbalanced: number;
  /** Currencies whose net positions do not sum to zero (0 in a sound ledger). */
  currenciesUnbalanced: number;
}

/** As the statement below spells them: '|' between fields, chr(10) between rows. */
const fieldSeparator = '|';
const rowSeparator = '\n';

/** md5 of nothing: what the database's md5(string_agg(…)) of no rows would be, were it not NULL. */
const emptyMd5 = createHash('md5').update('').digest('hex');

export async function readLedgerSummary(db: RegionalQueryable, digest: string): Promise<LedgerSummary> {
  const rows = await db.execute<{
    leg_count: number;
    legs_md5: string | null;
    position_count: number;
    positions_md5: string | null;
    accounts_unbalanced: number;
    currencies_unbalanced: number;
  }>(sql`with legs as (
      select leg_index, uetr, instructing_agent, payer, payee, currency, amount_minor from settlement_legs where batch_digest = ${digest}
    ), positions as (
      select position_index, participant, currency, net_minor from net_positions where batch_digest = ${digest}
    ), movements as (
      select participant, currency, sum(movement_minor) as net_minor
      from (select payer as participant, currency, -amount_minor as movement_minor from legs
            union all select payee, currency, amount_minor from legs) as sides
      group by participant, currency
    )
    select
      (select count(*) from legs)::int4 as leg_count,
      (select md5(string_agg(cast(uetr as text) || '|' || instructing_agent || '|' || payer || '|' || payee || '|'
        || currency || '|' || cast(amount_minor as text), chr(10) order by leg_index)) from legs) as legs_md5,
      (select count(*) from positions)::int4 as position_count,
      (select md5(string_agg(participant || '|' || currency || '|' || cast(net_minor as text), chr(10) order by position_index)) from positions) as positions_md5,
      (select count(*) from movements full join positions on positions.participant = movements.participant and positions.currency = movements.currency
        where movements.net_minor is distinct from positions.net_minor)::int4 as accounts_unbalanced,
      (select count(*) from (select currency from positions group by currency having sum(net_minor) <> 0) as unbalanced)::int4 as currencies_unbalanced`);
  const row = [...rows][0]!;
  return {
    legCount: Number(row.leg_count),
    legsMd5: row.legs_md5 ?? emptyMd5,
    positionCount: Number(row.position_count),
    positionsMd5: row.positions_md5 ?? emptyMd5,
    accountsUnbalanced: Number(row.accounts_unbalanced),
    currenciesUnbalanced: Number(row.currencies_unbalanced),
  };
}

/** The summary a ledger holding exactly `batch` must produce. */
export function expectedLedgerSummary(batch: SettlementBatch): LedgerSummary {
  const legs = createHash('md5');
  batch.legs.forEach((leg, legIndex) => {
    if (legIndex > 0) legs.update(rowSeparator);
    legs.update([leg.uetr, leg.instructing_agent, leg.payer, leg.payee, leg.currency, leg.amount_minor].join(fieldSeparator));
  });
  const positions = createHash('md5');
  batch.positions.forEach((position, positionIndex) => {
    if (positionIndex > 0) positions.update(rowSeparator);
    positions.update([position.participant, position.currency, position.net_minor].join(fieldSeparator));
  });
  return {
    legCount: batch.legs.length,
    legsMd5: legs.digest('hex'),
    positionCount: batch.positions.length,
    positionsMd5: positions.digest('hex'),
    accountsUnbalanced: 0,
    currenciesUnbalanced: 0,
  };
}

export function assertLedgerSummaryMatches(stored: LedgerSummary, expected: LedgerSummary, context: string): void {
  const differing = (Object.keys(expected) as (keyof LedgerSummary)[]).filter((field) => stored[field] !== expected[field]);
  if (differing.length > 0) {
    throw new Error(`assertLedgerSummaryMatches: ${context}: the stored ledger differs from the batch in ${differing.join(', ')}: stored ${JSON.stringify(stored)}, expected ${JSON.stringify(expected)}`);
  }
}
