/**
 * GET /v1/keys: every key of this backend's jurisdiction that ever signed (../keys/key-registry.ts),
 * not only this backend's own — eu-1 and eu-2 share one log, and a rotated key's leaves stay in it,
 * so one backend's keys must verify the whole log, and the edge can verify a receipt of a sibling
 * that is down. `keys`: the receipt/leaf keys (DSSE keyid and JWS kid = kid), each with its region,
 * not_before (first registration) and not_after (retirement, or null); rotation_overdue only for a
 * key still in use. `note_verifiers`: the C2SP verifier of every checkpoint key of the jurisdiction,
 * named after the log's origin.
 *
 * Not behind the auditor read limit: the edge reads this to verify settlement receipts, and an
 * auditor burst must not make that fail. The bound instead: the list is read at most once per
 * publishedKeysCacheMs (concurrent requests share one read), and it is a few rows by primary-key
 * prefix.
 */
import { Hono } from 'hono';
import { base64Decode } from '../../core/digest.ts';
import { formatNoteVerifier } from '../../core/signed-note.ts';
import { methodNotAllowed } from '../http/problems.ts';
import type { KeyRegistration } from '../keys/backend-keys.ts';
import type { KeyRegistry, RegisteredKey } from '../keys/key-registry.ts';
import { isRotationOverdue } from '../signer/signer.ts';

/** How stale the published list may be: a sibling's new key shows up within this. */
export const publishedKeysCacheMs = 1_000;
/** C2SP note keys are Ed25519: 32-byte public keys. */
const noteKeyBytes = 32;

/** One key as GET /v1/keys publishes it. */
export interface PublishedKey {
  kid: string;
  alg: string;
  public_key: string;
  created_at: string;
  rotation_overdue: boolean;
  region: string;
  not_before: string;
  not_after: string | null;
}

export interface PublishedKeysBody {
  keys: PublishedKey[];
  note_verifiers: string[];
  /** This backend's C2SP cosignature/v1 key, when it witnesses other jurisdictions' logs. */
  witness_verifiers?: string[];
}

export interface KeysRoutesConfig {
  registry: KeyRegistry;
  registration: KeyRegistration;
  /** The log's origin: the name of every checkpoint key of the jurisdiction. */
  origin: string;
  now: () => Date;
  cacheMs?: number;
  /** `<name>+<key id>+<base64(0x04 ‖ key)>` of this backend's witness key, if it is a witness. */
  witnessVerifiers?: readonly string[];
}

export interface PublishedKeys {
  routes: Hono;
  /** The GET /v1/keys body (the evidence bundle carries exactly this). */
  body(): Promise<PublishedKeysBody>;
  /** Drops the cached list (this backend just registered a key). */
  invalidate(): void;
}

export function publishedKeys(config: KeysRoutesConfig): PublishedKeys {
  const cacheMs = config.cacheMs ?? publishedKeysCacheMs;
  let cached: { readAtMs: number; rows: Promise<RegisteredKey[]> } | undefined;

  function registeredKeys(): Promise<RegisteredKey[]> {
    const nowMs = Date.now();
    if (cached === undefined || nowMs - cached.readAtMs > cacheMs) {
      const entry = { readAtMs: nowMs, rows: config.registry.list() };
      cached = entry;
      // A failed read is not cached: the next request reads again.
      entry.rows.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.rows;
  }

  async function body(): Promise<PublishedKeysBody> {
    await config.registration.require();
    const rows = await registeredKeys();
    const now = config.now();
    const keys = rows
      .filter((row) => row.purpose === 'receipt')
      .map((row) => ({
        kid: row.kid,
        alg: row.alg,
        public_key: row.publicKey,
        created_at: row.createdAt.toISOString(),
        rotation_overdue: row.notAfter === null && isRotationOverdue(row.createdAt, now),
        region: row.region,
        not_before: row.notBefore.toISOString(),
        not_after: row.notAfter === null ? null : row.notAfter.toISOString(),
      }));
    const noteVerifiers = rows
      .filter((row) => row.purpose === 'checkpoint' && row.alg === 'EdDSA')
      .map((row) => base64Decode(row.publicKey))
      .filter((publicKey) => publicKey.length === noteKeyBytes)
      .map((publicKey) => formatNoteVerifier(config.origin, publicKey));
    return { keys, note_verifiers: [...new Set(noteVerifiers)], ...(config.witnessVerifiers === undefined ? {} : { witness_verifiers: [...config.witnessVerifiers] }) };
  }

  const routes = new Hono();
  routes.get('/v1/keys', async (c) => c.json(await body()));
  routes.all('/v1/keys', methodNotAllowed(['GET', 'HEAD']));
  return { routes, body, invalidate: () => (cached = undefined) };
}
