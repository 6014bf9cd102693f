/**
 * Single-use edge tokens. Table consumed_tokens(jti primary key, expires_at): a token's jti is
 * claimed by one INSERT … ON CONFLICT DO NOTHING RETURNING — the database's unique key decides, so
 * two backends of one jurisdiction sharing the database cannot both accept the same token (an
 * in-memory set per process could). Rows past expires_at only take space and are deleted in
 * bounded batches.
 */
import { inArray, lt } from 'drizzle-orm';
import type { RegionalOrm } from '../db/client.ts';
import { consumedTokens } from '../db/schema.ts';

/** Rows deleted per garbage-collection pass, so one pass never becomes a huge transaction. */
export const expiredTokensPerPassMax = 10_000;

export interface ConsumedTokenStore {
  /** True if this call claimed the jti; false if it was claimed before. */
  claim(jti: string, expiresAt: Date): Promise<boolean>;
  /** Deletes up to expiredTokensPerPassMax rows that expired before `before`; returns how many. */
  deleteExpired(before: Date): Promise<number>;
}

export function consumedTokenStore(db: RegionalOrm): ConsumedTokenStore {
  return {
    async claim(jti, expiresAt) {
      const claimed = await db.insert(consumedTokens).values({ jti, expiresAt }).onConflictDoNothing({ target: consumedTokens.jti }).returning({ jti: consumedTokens.jti });
      return claimed.length === 1;
    },
    async deleteExpired(before) {
      const expired = db.select({ jti: consumedTokens.jti }).from(consumedTokens).where(lt(consumedTokens.expiresAt, before)).limit(expiredTokensPerPassMax);
      const deleted = await db.delete(consumedTokens).where(inArray(consumedTokens.jti, expired)).returning({ jti: consumedTokens.jti });
      return deleted.length;
    },
  };
}
