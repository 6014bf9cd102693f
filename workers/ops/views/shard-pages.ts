/**
 * One partner's evidence records (policy decisions, screening results) across its PartnerState
 * shards (durable-objects/partner-state/partner-shards.ts), paged by one number as before.
 *
 * Each shard numbers its rows itself, so the view's record id is `shard × 2^40 + local id`: unique
 * per partner, increasing along the walk, and an `after_id` names both the shard and the row. Pages
 * walk the shards in order, each oldest first, filling a page from the next shard when one runs
 * out, so every record within [from, to) is on exactly one page; a page is then ordered oldest
 * first across the shards it spans (`next_after_id` comes from the walk, not the last record). 2^40 local ids per shard and at most
 * partnerStateShardsMax shards stay below 2^53, so the ids are exact JSON numbers.
 */
import type { PartnerStateStub } from '../../../durable-objects/partner-state/partner-shards.ts';

const localIdSpan = 2 ** 40;

export interface ShardRecordPage<T> {
  records: T[];
  next_after_id: number | null;
}

export function shardRecordId(localId: number, shard: number): number {
  return shard * localIdSpan + localId;
}

/** `timeOf`: the record's RFC 3339 time, which orders a page. */
export async function pageAcrossShards<T extends { id: number }>(
  shards: ReadonlyArray<{ shard: number; stub: PartnerStateStub }>,
  afterId: number,
  limit: number,
  read: (stub: PartnerStateStub, afterLocalId: number, limit: number) => Promise<ShardRecordPage<T>>,
  timeOf: (record: T) => string,
): Promise<ShardRecordPage<T>> {
  const page = await walkShards(shards, afterId, limit, read);
  page.records.sort((a, b) => (timeOf(a) === timeOf(b) ? a.id - b.id : timeOf(a) < timeOf(b) ? -1 : 1));
  return page;
}

async function walkShards<T extends { id: number }>(
  shards: ReadonlyArray<{ shard: number; stub: PartnerStateStub }>,
  afterId: number,
  limit: number,
  read: (stub: PartnerStateStub, afterLocalId: number, limit: number) => Promise<ShardRecordPage<T>>,
): Promise<ShardRecordPage<T>> {
  const records: T[] = [];
  let afterLocalId = afterId % localIdSpan;
  for (let index = Math.floor(afterId / localIdSpan); index < shards.length; index++) {
    const { shard, stub } = shards[index]!;
    const page = await read(stub, afterLocalId, limit - records.length);
    records.push(...page.records.map((record) => ({ ...record, id: shardRecordId(record.id, shard) })));
    if (page.next_after_id !== null) return { records, next_after_id: shardRecordId(page.next_after_id, shard) };
    afterLocalId = 0;
    if (records.length === limit) return { records, next_after_id: index + 1 < shards.length ? shardRecordId(0, shards[index + 1]!.shard) : null };
  }
  return { records, next_after_id: null };
}
