/**
 * The partner directory, in the Control object's storage: every partner's profile and keys, as the
 * edge verifies requests against them (workers/message-signature/partner-directory.ts reads it
 * through Control's `partnerDirectory()` RPC, cached per isolate for two seconds). Keys change only
 * through ops `partner-key` changes under two-person control (Control's proposeChange/decideChange
 * call `checkKeyChange`, `applyKeyChange` and `propagate`).
 *
 * Tables (SQLite):
 *   partner_directory_meta(key PK, value)          'seed_sha256': the PARTNERS text last seeded
 *   partner_profiles(partner_id PK, profile JSON)  the static profile (everything but the keys), from the seed
 *   partner_keys(keyid PK, partner_id, alg, key JSON, origin, status, added_at_ms, revoked_at_ms)
 *                                                  origin: 'seed' | 'change'; status: 'active' | 'revoked'.
 *                                                  A revoked row is never deleted: a key id is never reused
 *   partner_key_propagations(keyid PK, partner_id, revoked_at_ms, attempts)
 *                                                  outbox: revocations the partner's PartnerState has not
 *                                                  confirmed yet; written in the approval's transaction
 *
 * Seeding (on every start, cheap when the seed is unchanged), like Control's corridors: the PARTNERS
 * binding is the source of a partner's static profile, so a new deployment's values replace the
 * stored ones, and a partner dropped from it is no longer served. A key the seed lists is added, or
 * its fields refreshed while it is active; a key a change revoked stays revoked even if the seed
 * still lists it; a key a change added stays when the seed does not list it; an active seed key the
 * seed no longer lists is dropped. Revoked rows are kept for good, so a revoked key id stays taken.
 *
 * Revocation must take effect at once, while each edge isolate may serve a directory two seconds
 * old. So the authority at request time is the partner's PartnerState: the nonce claim every signed
 * request makes refuses a revoked keyid. `propagate` tells it after the approval committed and
 * before the operator is answered; `revokeKey` there is idempotent, and the outbox row is removed
 * only once PartnerState confirmed, so a failed or interrupted push is retried by the next
 * `propagate` (or `propagatePending`) without harm. Should every attempt fail, the directory itself
 * no longer serves the key, so the edge refuses it within its cache's lifetime all the same.
 */
import { sha256Hex } from '../../core/digest.ts';
import type { ChangeProposal, ChangeRejection } from '../../core/ops-changes.ts';
import {
  keyValidAt, parsePartnerProfiles, partnerKeyProblem, partnerKeySchema, partnerKeysMax,
  type PartnerKey, type PartnerProfile, type PartnerStaticProfile,
} from '../../core/partner-profile.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { formatIssues } from '../../core/zod-issues.ts';
import type { DurableObjectsEnv } from '../env.ts';
import { pushToPartnerState } from './propagation.ts';

type PartnerKeyChange = Extract<ChangeProposal, { kind: 'partner-key' }>;
type KeyStatus = 'active' | 'revoked';
type KeyRow = { keyid: string; partner_id: string; alg: PartnerKey['alg']; key: string; status: KeyStatus };
type PropagationRow = { keyid: string; partner_id: string; revoked_at_ms: number; attempts: number };

/** The audit log's record of an applied key change. */
export interface PartnerKeyEffect extends Record<string, unknown> {
  partner_id: string;
  action: 'add' | 'revoke';
  keyid: string;
  alg: PartnerKey['alg'];
}

/** Revocations pushed per `propagate`; the rest wait for the next one. */
export const propagationBatchMax = 16;

export class PartnerDirectory {
  private readonly sql: SqlStorage;
  private readonly storage: DurableObjectStorage;
  private readonly env: DurableObjectsEnv;

  constructor(storage: DurableObjectStorage, env: DurableObjectsEnv) {
    this.storage = storage;
    this.sql = storage.sql;
    this.env = env;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS partner_directory_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS partner_profiles (partner_id TEXT PRIMARY KEY, profile TEXT NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS partner_keys (
      keyid TEXT PRIMARY KEY, partner_id TEXT NOT NULL, alg TEXT NOT NULL, key TEXT NOT NULL, origin TEXT NOT NULL,
      status TEXT NOT NULL, added_at_ms INTEGER NOT NULL, revoked_at_ms INTEGER)`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS partner_keys_by_partner ON partner_keys (partner_id, status)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS partner_key_propagations (
      keyid TEXT PRIMARY KEY, partner_id TEXT NOT NULL, revoked_at_ms INTEGER NOT NULL, attempts INTEGER NOT NULL)`);
    this.seedFrom(env.PARTNERS);
  }

  /**
   * Every partner with its active keys, in partner id order: what the edge verifies against. A
   * partner left without an active Ed25519 key (only possible through a new seed) is not served:
   * it cannot sign, and the edge treats it as unknown.
   */
  profiles(): PartnerProfile[] {
    const keysByPartner = new Map<string, PartnerKey[]>();
    for (const row of this.sql.exec<{ partner_id: string; key: string }>(`SELECT partner_id, key FROM partner_keys WHERE status = 'active' ORDER BY rowid`)) {
      const keys = keysByPartner.get(row.partner_id) ?? [];
      keys.push(JSON.parse(row.key) as PartnerKey);
      keysByPartner.set(row.partner_id, keys);
    }
    const profiles: PartnerProfile[] = [];
    for (const row of this.sql.exec<{ partner_id: string; profile: string }>(`SELECT partner_id, profile FROM partner_profiles ORDER BY partner_id`)) {
      const keys = keysByPartner.get(row.partner_id) ?? [];
      if (!keys.some((key) => key.alg === 'ed25519')) continue;
      profiles.push({ ...(JSON.parse(row.profile) as PartnerStaticProfile), keys });
    }
    return profiles;
  }

  /** Refuses at proposal time a key change that could not be applied now. */
  checkKeyChange(proposal: PartnerKeyChange): Result<null, ChangeRejection> {
    const validated = this.validate(proposal, Date.now());
    return validated.ok ? ok(null) : validated;
  }

  /**
   * The effect of an approved key change. Runs inside the approval's transaction (ChangeStore.decide),
   * so it checks again against the directory as it is now (another change may have applied since
   * the proposal) and writes nothing unless every check passes.
   */
  applyKeyChange(proposal: PartnerKeyChange): Result<PartnerKeyEffect, ChangeRejection> {
    const nowMs = Date.now();
    const validated = this.validate(proposal, nowMs);
    if (!validated.ok) return validated;
    const key = validated.value;
    if (proposal.action === 'add') {
      this.sql.exec(
        `INSERT INTO partner_keys (keyid, partner_id, alg, key, origin, status, added_at_ms) VALUES (?, ?, ?, ?, 'change', 'active', ?)`,
        key.keyid, proposal.partner_id, key.alg, JSON.stringify(key), nowMs,
      );
    } else {
      const revoked = this.sql
        .exec(`UPDATE partner_keys SET status = 'revoked', revoked_at_ms = ? WHERE keyid = ? AND partner_id = ? AND status = 'active' RETURNING keyid`, nowMs, key.keyid, proposal.partner_id)
        .toArray().length;
      if (revoked !== 1) throw new Error(`partner directory: revoking ${key.keyid} of ${proposal.partner_id} wrote ${revoked} rows, expected 1`);
      this.sql.exec(
        `INSERT INTO partner_key_propagations (keyid, partner_id, revoked_at_ms, attempts) VALUES (?, ?, ?, 0) ON CONFLICT (keyid) DO NOTHING`,
        key.keyid, proposal.partner_id, nowMs,
      );
    }
    return ok({ partner_id: proposal.partner_id, action: proposal.action, keyid: key.keyid, alg: key.alg });
  }

  /**
   * After an approved key change committed: pushes the pending revocations to the partners'
   * PartnerState objects (an added key needs nothing there: key ids are never reused, so a new key
   * is never on a revoked list). Never throws: the change is applied whatever happens here, and a
   * failure is logged and retried by the next call.
   */
  async propagate(proposal: ChangeProposal): Promise<void> {
    if (proposal.kind !== 'partner-key') return;
    await this.propagatePending();
  }

  /** Pushes up to `propagationBatchMax` pending revocations, oldest first. Returns how many are still pending. */
  async propagatePending(): Promise<number> {
    const pending = this.sql.exec<PropagationRow>(`SELECT keyid, partner_id, revoked_at_ms, attempts FROM partner_key_propagations ORDER BY revoked_at_ms LIMIT ?`, propagationBatchMax).toArray();
    for (const row of pending) await this.pushRevocation(row);
    return this.sql.exec<{ count: number }>(`SELECT count(*) AS count FROM partner_key_propagations`).one().count;
  }

  private async pushRevocation(row: PropagationRow): Promise<void> {
    const pushed = await pushToPartnerState(this.env, row.partner_id, this.jurisdictionOf(row.partner_id), 'revokeKey', (partnerState) => partnerState.revokeKey(row.keyid, row.revoked_at_ms));
    if (pushed.ok) {
      this.sql.exec(`DELETE FROM partner_key_propagations WHERE keyid = ?`, row.keyid);
      return;
    }
    this.sql.exec(`UPDATE partner_key_propagations SET attempts = attempts + ? WHERE keyid = ?`, pushed.reason.attempts, row.keyid);
    console.error(JSON.stringify({
      event: 'partner-key-propagation-failed', partner_id: row.partner_id, keyid: row.keyid,
      attempts: row.attempts + pushed.reason.attempts, error: pushed.reason.error.slice(0, 500),
    }));
  }

  /** The partner's jurisdiction from its stored profile, or undefined for a partner the seed does not list. */
  jurisdictionOf(partnerId: string): PartnerStaticProfile['jurisdiction'] | undefined {
    const row = this.sql.exec<{ profile: string }>(`SELECT profile FROM partner_profiles WHERE partner_id = ?`, partnerId).toArray()[0];
    return row === undefined ? undefined : (JSON.parse(row.profile) as PartnerStaticProfile).jurisdiction;
  }

  /** Every rule a key change must pass; the key it adds or the stored key it revokes. */
  private validate(proposal: PartnerKeyChange, nowMs: number): Result<PartnerKey, ChangeRejection> {
    const known = this.sql.exec(`SELECT partner_id FROM partner_profiles WHERE partner_id = ?`, proposal.partner_id).toArray().length > 0;
    if (!known) return invalid(`no partner ${proposal.partner_id}`);
    return proposal.action === 'add' ? this.validateAdd(proposal.partner_id, proposal.key, nowMs) : this.validateRevoke(proposal.partner_id, proposal.keyid, nowMs);
  }

  private validateAdd(partnerId: string, input: unknown, nowMs: number): Result<PartnerKey, ChangeRejection> {
    const parsed = partnerKeySchema.safeParse(input);
    if (!parsed.success) {
      const issues = formatIssues(parsed.error.issues).map((issue) => (issue.startsWith('(root)') ? `key${issue.slice('(root)'.length)}` : `key.${issue}`));
      return err({ kind: 'invalid-change', detail: issues.join('; '), issues });
    }
    const key = parsed.data;
    const problem = partnerKeyProblem(key);
    if (problem !== null) return invalid(problem);
    if (Date.parse(key.not_after) <= nowMs) return invalid(`key ${key.keyid} expired at ${key.not_after}`);
    const existing = this.keyRow(key.keyid);
    if (existing !== undefined) {
      return invalid(existing.status === 'revoked'
        ? `keyid ${key.keyid} belonged to a revoked key: key ids are never reused`
        : `keyid ${key.keyid} is already registered${existing.partner_id === partnerId ? '' : ' to another partner'}`);
    }
    const active = this.activeKeys(partnerId).length;
    if (active >= partnerKeysMax) return invalid(`partner ${partnerId} already has ${active} keys (at most ${partnerKeysMax}): revoke one first`);
    return ok(key);
  }

  private validateRevoke(partnerId: string, keyid: string, nowMs: number): Result<PartnerKey, ChangeRejection> {
    const row = this.keyRow(keyid);
    if (row === undefined || row.partner_id !== partnerId) return invalid(`partner ${partnerId} has no key ${keyid}`);
    if (row.status === 'revoked') return invalid(`key ${keyid} of partner ${partnerId} is already revoked`);
    const key = JSON.parse(row.key) as PartnerKey;
    // The partner must still be able to sign afterwards: an Ed25519 key for sig1, and for a hybrid
    // partner an ML-DSA-65 key for sig2 (without one it would fail closed on every request).
    const remaining = this.activeKeys(partnerId).filter((other) => other.keyid !== keyid && other.alg === key.alg && keyValidAt(other, nowMs));
    if (remaining.length === 0) {
      const algName = key.alg === 'ed25519' ? 'Ed25519' : 'ML-DSA-65';
      return invalid(`key ${keyid} is the last valid ${algName} key of partner ${partnerId}: add its replacement first`);
    }
    return ok(key);
  }

  private keyRow(keyid: string): KeyRow | undefined {
    return this.sql.exec<KeyRow>(`SELECT keyid, partner_id, alg, key, status FROM partner_keys WHERE keyid = ?`, keyid).toArray()[0];
  }

  private activeKeys(partnerId: string): PartnerKey[] {
    return this.sql
      .exec<{ key: string }>(`SELECT key FROM partner_keys WHERE partner_id = ? AND status = 'active' ORDER BY rowid`, partnerId)
      .toArray()
      .map((row) => JSON.parse(row.key) as PartnerKey);
  }

  private seedFrom(source: string): void {
    const seedSha256 = sha256Hex(source);
    if (this.meta('seed_sha256') === seedSha256) return;
    const seed = parsePartnerProfiles(source);
    const nowMs = Date.now();
    this.storage.transactionSync(() => {
      const seededPartners = new Set<string>();
      const seededKeys = new Set<string>();
      for (const { keys, ...profile } of seed) {
        seededPartners.add(profile.partner_id);
        this.sql.exec(
          `INSERT INTO partner_profiles (partner_id, profile) VALUES (?, ?) ON CONFLICT (partner_id) DO UPDATE SET profile = excluded.profile`,
          profile.partner_id, JSON.stringify(profile),
        );
        for (const key of keys) {
          seededKeys.add(key.keyid);
          this.seedKey(profile.partner_id, key, nowMs);
        }
      }
      for (const { partner_id } of this.sql.exec<{ partner_id: string }>(`SELECT partner_id FROM partner_profiles`).toArray()) {
        if (!seededPartners.has(partner_id)) this.sql.exec(`DELETE FROM partner_profiles WHERE partner_id = ?`, partner_id);
      }
      for (const { keyid } of this.sql.exec<{ keyid: string }>(`SELECT keyid FROM partner_keys WHERE origin = 'seed' AND status = 'active'`).toArray()) {
        if (!seededKeys.has(keyid)) this.sql.exec(`DELETE FROM partner_keys WHERE keyid = ?`, keyid);
      }
      this.sql.exec(
        `INSERT INTO partner_directory_meta (key, value) VALUES ('seed_sha256', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        seedSha256,
      );
    });
    const served = new Set(this.profiles().map((profile) => profile.partner_id));
    for (const { partner_id: partnerId } of seed) {
      if (!served.has(partnerId)) console.error(JSON.stringify({ event: 'partner-unservable', partner_id: partnerId, detail: 'no active Ed25519 key after seeding: every key the seed lists is revoked' }));
    }
  }

  /** One seed key: new, refreshed while active, or left as a change made it (revoked; another partner's). */
  private seedKey(partnerId: string, key: PartnerKey, nowMs: number): void {
    const row = this.keyRow(key.keyid);
    if (row === undefined) {
      this.sql.exec(
        `INSERT INTO partner_keys (keyid, partner_id, alg, key, origin, status, added_at_ms) VALUES (?, ?, ?, ?, 'seed', 'active', ?)`,
        key.keyid, partnerId, key.alg, JSON.stringify(key), nowMs,
      );
    } else if (row.partner_id !== partnerId) {
      console.error(JSON.stringify({ event: 'partner-seed-key-conflict', partner_id: partnerId, keyid: key.keyid, detail: 'the keyid is registered to another partner; the seed entry is ignored' }));
    } else if (row.status === 'active') {
      this.sql.exec(`UPDATE partner_keys SET alg = ?, key = ? WHERE keyid = ?`, key.alg, JSON.stringify(key), key.keyid);
    }
  }

  private meta(key: string): string | undefined {
    return this.sql.exec<{ value: string }>(`SELECT value FROM partner_directory_meta WHERE key = ?`, key).toArray()[0]?.value;
  }
}

function invalid(detail: string): { ok: false; reason: ChangeRejection } {
  return err({ kind: 'invalid-change', detail });
}
