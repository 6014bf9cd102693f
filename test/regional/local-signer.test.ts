/**
 * The local software signer with an ML-DSA-65 key: a key file that survives restarts, and receipts
 * that an auditor verifies with jose against the AKP key published at GET /v1/keys.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64Decode, base64urlEncode } from '../../core/digest.ts';
import type { SettlementResponse } from '../../core/settlement-batch.ts';
import { loadOrCreateLocalSigner } from '../../regional/signer/local-signer.ts';
import { freshJurisdiction, sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { publishedKeys } from './support/receipts.ts';
import { startTestbed } from './support/testbed.ts';

let keyDirectory: string;
beforeAll(async () => {
  keyDirectory = await mkdtemp(join(tmpdir(), 'meridian-local-signer-'));
});
afterAll(async () => {
  await rm(keyDirectory, { recursive: true, force: true });
});

describe('local ML-DSA-65 signer', () => {
  it('creates an AKP key file once and loads the same key (and kid) after a restart', async () => {
    const keyFile = join(keyDirectory, 'ml-dsa.json');
    const created = await loadOrCreateLocalSigner({ keyFile, alg: 'ML-DSA-65' });
    expect(created.alg).toBe('ML-DSA-65');
    expect(created.publicKey).toHaveLength(1_952);
    const stored = JSON.parse(await readFile(keyFile, 'utf8')) as Record<string, string>;
    expect(Object.keys(stored).sort()).toEqual(['alg', 'created_at', 'kid', 'kty', 'priv', 'pub']);
    expect(stored).toMatchObject({ kty: 'AKP', alg: 'ML-DSA-65', kid: created.kid });
    const reloaded = await loadOrCreateLocalSigner({ keyFile });
    expect({ kid: reloaded.kid, alg: reloaded.alg, createdAt: reloaded.createdAt }).toEqual({ kid: created.kid, alg: created.alg, createdAt: created.createdAt });
    expect(reloaded.publicKey).toEqual(created.publicKey);
  });

  it('refuses to silently swap algorithms on an existing key file', async () => {
    const keyFile = join(keyDirectory, 'ed25519.json');
    await loadOrCreateLocalSigner({ keyFile });
    await expect(loadOrCreateLocalSigner({ keyFile, alg: 'ML-DSA-65' })).rejects.toThrow(/holds an EdDSA key, not ML-DSA-65; move it aside/);
  });
});

describe.each(testDatabaseKinds())('receipts signed with a local ML-DSA-65 key on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase(kind, 'local_ml_dsa');
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('verify with jose against the AKP key at GET /v1/keys', async () => {
    const signer = await loadOrCreateLocalSigner({ keyFile: join(keyDirectory, `receipts-${kind}.json`), alg: 'ML-DSA-65' });
    const testbed = await startTestbed(database, { signer, jurisdiction: freshJurisdiction() });
    try {
      const sealed = sampleBatch({ jurisdiction: testbed.jurisdiction });
      const response = await testbed.deliver(sealed);
      expect(response.status).toBe(201);
      const { receipt } = (await response.json()) as SettlementResponse;
      expect(decodeProtectedHeader(receipt)).toEqual({ alg: 'ML-DSA-65', kid: signer.kid });
      const published = (await publishedKeys(testbed.app)).find((key) => key.kid === signer.kid)!;
      expect(published.alg).toBe('ML-DSA-65');
      const key = await importJWK({ kty: 'AKP', alg: 'ML-DSA-65', pub: base64urlEncode(base64Decode(published.public_key)) }, 'ML-DSA-65');
      const { payload } = await compactVerify(receipt, key, { algorithms: ['ML-DSA-65'] });
      expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({ digest: sealed.digest, log_index: 0 });
    } finally {
      await testbed.close();
    }
  });
});
