/**
 * The jurisdiction's key registry: table signing_keys (../db/schema.ts), primary key
 * (jurisdiction, purpose, kid), one row per key and purpose:
 *   purpose 'receipt'     signs settlement receipts (JWS) and log leaves (DSSE)
 *   purpose 'checkpoint'  signs the log's checkpoints (C2SP signed notes, Ed25519)
 * eu-1 and eu-2 append to one log, and a key rotates out while its leaves stay in the log, so the
 * keys that verify a log are not one backend's: every backend registers the keys it signs with
 * before it signs, and GET /v1/keys of any backend lists every row of its jurisdiction. Rows are
 * never deleted — a key that ever signed must verify forever.
 *
 * Writes are single statements (INSERT … ON CONFLICT DO NOTHING, UPDATE … WHERE not_after IS
 * NULL), each atomic and idempotent on its own, so two backends starting together need no
 * transaction and never hit a serialization retry; the read-back decides. The one multi-row
 * change, a rotation (new key in, old key retired), runs in one transaction so no reader sees a
 * region without its new key but with its old one retired.
 *
 * not_after records when the key was retired. It is not a cutoff a verifier may enforce: a
 * backend still running with the old key signs with it until restarted, and those signatures
 * verify because retired keys stay published.
 */
import { and, asc, eq, isNull, ne } from 'drizzle-orm';
import { base64Encode } from '../../core/digest.ts';
import { err, ok, type Result } from '../../core/result.ts';
import type { RegionalOrm, RegionalQueryable } from '../db/client.ts';
import { signingKeys } from '../db/schema.ts';
import type { Signer, SignerAlgorithm } from '../signer/signer.ts';

export type KeyPurpose = 'receipt' | 'checkpoint';

export interface RegisteredKey {
  jurisdiction: string;
  purpose: KeyPurpose;
  kid: string;
  alg: SignerAlgorithm;
  /** Base64 of the raw public key, as GET /v1/keys publishes it. */
  publicKey: string;
  region: string;
  createdAt: Date;
  notBefore: Date;
  notAfter: Date | null;
}

/** A key this backend signs with, and what it signs. */
export interface KeyToRegister {
  purpose: KeyPurpose;
  signer: Pick<Signer, 'kid' | 'alg' | 'publicKey' | 'createdAt'>;
}

export type KeyRegistrationFailure =
  /** The key was retired (rotated out): it must not start signing again. */
  | { kind: 'key-retired'; kid: string; purpose: KeyPurpose; notAfter: Date; detail: string }
  /** The kid is registered with another public key or algorithm: a kid collision or a forged row. */
  | { kind: 'key-mismatch'; kid: string; purpose: KeyPurpose; detail: string };

export interface KeyRegistrationOptions {
  region: string;
  now: Date;
  /**
   * Retire (not_after = now) every other in-use key of this region and purpose: a backend that
   * starts with a new key has stopped using its old one (a KMS_KEY_ID pointed at a new key, a
   * replaced key file). Set at process start only (regional/server.ts).
   */
  retireSuperseded: boolean;
}

export interface KeyRegistry {
  /** Registers each key (first registration sets not_before), then checks none is retired. */
  register(keys: readonly KeyToRegister[], options: KeyRegistrationOptions): Promise<Result<{ retired: RegisteredKey[] }, KeyRegistrationFailure>>;
  /** Every key of the jurisdiction, oldest registration first. */
  list(): Promise<RegisteredKey[]>;
  /** The rows of one kid (one per purpose). */
  find(kid: string): Promise<RegisteredKey[]>;
}

export function keyRegistry(db: RegionalQueryable, jurisdiction: string): KeyRegistry {
  const inJurisdiction = eq(signingKeys.jurisdiction, jurisdiction);
  return {
    async register(keys, options) {
      const retired: RegisteredKey[] = [];
      for (const key of keys) {
        await insertKey(db, jurisdiction, key, options.region, options.now);
        if (options.retireSuperseded) retired.push(...(await retireOthers(db, jurisdiction, key, options.region, options.now)));
      }
      for (const key of keys) {
        const verdict = await checkRegistered(db, jurisdiction, key);
        if (!verdict.ok) return verdict;
      }
      return ok({ retired });
    },
    async list() {
      const rows = await db.select().from(signingKeys).where(inJurisdiction).orderBy(asc(signingKeys.notBefore), asc(signingKeys.kid), asc(signingKeys.purpose));
      return rows.map(registeredKey);
    },
    async find(kid) {
      const rows = await db.select().from(signingKeys).where(and(inJurisdiction, eq(signingKeys.kid, kid))).orderBy(asc(signingKeys.purpose));
      return rows.map(registeredKey);
    },
  };
}

/**
 * A rotation: `next` takes over every purpose `previous` was registered for in this region, and
 * `previous` is retired, in one transaction. Idempotent: rerun after a crash, it changes nothing
 * that is already done (a retired key keeps its first not_after).
 */
export async function rotateRegisteredKey(
  db: RegionalOrm,
  jurisdiction: string,
  rotation: { region: string; previousKid: string; next: KeyToRegister['signer']; now: Date },
): Promise<{ purposes: KeyPurpose[] }> {
  return db.transaction(async (tx) => {
    const previous = await keyRegistry(tx, jurisdiction).find(rotation.previousKid);
    const purposes = previous.map((row) => row.purpose);
    for (const purpose of purposes) {
      await insertKey(tx, jurisdiction, { purpose, signer: rotation.next }, rotation.region, rotation.now);
      await tx
        .update(signingKeys)
        .set({ notAfter: rotation.now })
        .where(and(eq(signingKeys.jurisdiction, jurisdiction), eq(signingKeys.purpose, purpose), eq(signingKeys.kid, rotation.previousKid), isNull(signingKeys.notAfter)));
    }
    return { purposes };
  });
}

async function insertKey(db: RegionalQueryable, jurisdiction: string, key: KeyToRegister, region: string, now: Date): Promise<void> {
  await db
    .insert(signingKeys)
    .values({
      jurisdiction,
      purpose: key.purpose,
      kid: key.signer.kid,
      alg: key.signer.alg,
      publicKey: base64Encode(key.signer.publicKey),
      region,
      createdAt: key.signer.createdAt,
      notBefore: now,
    })
    .onConflictDoNothing({ target: [signingKeys.jurisdiction, signingKeys.purpose, signingKeys.kid] });
}

async function retireOthers(db: RegionalQueryable, jurisdiction: string, key: KeyToRegister, region: string, now: Date): Promise<RegisteredKey[]> {
  const rows = await db
    .update(signingKeys)
    .set({ notAfter: now })
    .where(
      and(
        eq(signingKeys.jurisdiction, jurisdiction),
        eq(signingKeys.purpose, key.purpose),
        eq(signingKeys.region, region),
        ne(signingKeys.kid, key.signer.kid),
        isNull(signingKeys.notAfter),
      ),
    )
    .returning();
  return rows.map(registeredKey);
}

async function checkRegistered(db: RegionalQueryable, jurisdiction: string, key: KeyToRegister): Promise<Result<true, KeyRegistrationFailure>> {
  const [row] = await db
    .select()
    .from(signingKeys)
    .where(and(eq(signingKeys.jurisdiction, jurisdiction), eq(signingKeys.purpose, key.purpose), eq(signingKeys.kid, key.signer.kid)));
  // The INSERT above ran first; a missing row is a broken database, not an operating error.
  if (row === undefined) throw new Error(`key registry: key ${key.signer.kid} (${key.purpose}) of jurisdiction ${jurisdiction} is not there after its insert`);
  const { kid, purpose } = { kid: key.signer.kid, purpose: key.purpose };
  if (row.alg !== key.signer.alg || row.publicKey !== base64Encode(key.signer.publicKey)) {
    return err({ kind: 'key-mismatch', kid, purpose, detail: `key ${kid} (${purpose}) is registered in jurisdiction ${jurisdiction} with another ${row.alg !== key.signer.alg ? `algorithm (${row.alg})` : 'public key'}` });
  }
  if (row.notAfter !== null) {
    return err({
      kind: 'key-retired',
      kid,
      purpose,
      notAfter: row.notAfter,
      detail: `key ${kid} (${purpose}) of jurisdiction ${jurisdiction} was retired at ${row.notAfter.toISOString()}; a retired key never signs again: configure a new key (\`meridian keys rotate\` for a local key file, a new KMS_KEY_ID for KMS)`,
    });
  }
  return ok(true);
}

function registeredKey(row: typeof signingKeys.$inferSelect): RegisteredKey {
  return { ...row, purpose: row.purpose as KeyPurpose, alg: row.alg as SignerAlgorithm };
}
