/**
 * MERIDIAN_POSTURE=local-dev is the one switch that allows developer-machine shortcuts. Without
 * it the regional process refuses the local software signer (KMS required), creating key files
 * and plain-http JWKS or KMS URLs, with a readable message that says what to set.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDevEdgeJwksUrl, regionalConfigFromEnv, settlementTokenJwksPath } from '../../regional/config.ts';
import { loadOrCreateLocalSigner } from '../../regional/signer/local-signer.ts';
import { sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { startTestbed, type Testbed } from './support/testbed.ts';

const node24 = resolve('node_modules/.bin/node');
const serverEntry = resolve('regional/server.ts');
const processTimeoutMs = 30_000;

const production = {
  REGION: 'eu-1',
  JURISDICTION: 'eu',
  PORT: '8701',
  DATABASE_URL: 'postgres://h/db',
  EDGE_JWKS_URL: `https://gateway.example${settlementTokenJwksPath}`,
  SIGNER: 'kms',
  KMS_KEY_ID: 'alias/meridian-eu-1',
  AWS_REGION: 'eu-central-1',
};

describe('regional posture (configuration)', () => {
  it('accepts a production configuration: KMS and an https settlement-token JWKS', () => {
    expect(regionalConfigFromEnv(production)).toMatchObject({ posture: 'production', signer: { kind: 'kms' }, edgeJwksUrl: new URL(production.EDGE_JWKS_URL) });
  });

  it('refuses the local software signer outside local-dev, saying what to set', () => {
    const { SIGNER: _signer, KMS_KEY_ID: _key, AWS_REGION: _region, ...withoutSigner } = production;
    expect(() => regionalConfigFromEnv(withoutSigner)).toThrow(/SIGNER is not set: the local software signer [^\n]*set SIGNER=kms with KMS_KEY_ID and AWS_REGION \(or MERIDIAN_POSTURE=local-dev/);
    expect(() => regionalConfigFromEnv({ ...withoutSigner, SIGNER: 'local' })).toThrow(/SIGNER=local is refused/);
    expect(() => regionalConfigFromEnv({ ...production, NOTE_SIGNER_KEY_FILE: '/keys/note.json' })).toThrow(/NOTE_SIGNER_KEY_FILE is refused[^\n]*NOTE_KMS_KEY_ID/);
  });

  it('refuses plain-http JWKS and KMS URLs outside local-dev', () => {
    expect(() => regionalConfigFromEnv({ ...production, EDGE_JWKS_URL: `http://gateway.example${settlementTokenJwksPath}` })).toThrow(/EDGE_JWKS_URL must be an https:\/\/ URL[^\n]*MERIDIAN_POSTURE=local-dev/);
    expect(() => regionalConfigFromEnv({ ...production, KMS_ENDPOINT: 'http://127.0.0.1:4566' })).toThrow(/KMS_ENDPOINT must be an https:\/\/ URL/);
  });

  it('requires EDGE_JWKS_URL outside local-dev and pins it to the settlement-token JWKS', () => {
    const { EDGE_JWKS_URL: _url, ...withoutJwks } = production;
    expect(() => regionalConfigFromEnv(withoutJwks)).toThrow(/EDGE_JWKS_URL is not set/);
    expect(() => regionalConfigFromEnv({ ...production, EDGE_JWKS_URL: 'https://gateway.example/.well-known/jwks.json' })).toThrow(/settlement-token keys/);
  });

  it('refuses a posture it does not know rather than guessing', () => {
    expect(() => regionalConfigFromEnv({ ...production, MERIDIAN_POSTURE: 'dev' })).toThrow(/MERIDIAN_POSTURE "dev" is not local-dev/);
  });

  it('allows the local signer, key-file creation and http under MERIDIAN_POSTURE=local-dev, with the local gateway as default JWKS', () => {
    const config = regionalConfigFromEnv({ MERIDIAN_POSTURE: 'local-dev', REGION: 'eu-1', JURISDICTION: 'eu', PORT: '8701', DATABASE_URL: 'postgres://h/db' });
    expect(config).toMatchObject({ posture: 'local-dev', signer: { kind: 'local', keyFile: '.data/keys/eu-1.json', createKeyFile: true } });
    expect(config.edgeJwksUrl.toString()).toBe(localDevEdgeJwksUrl);
    expect(localDevEdgeJwksUrl).toBe('http://127.0.0.1:8787/.well-known/settlement-token-jwks.json');
  });
});

describe('local signer key files', () => {
  let keyDirectory: string;
  beforeAll(async () => {
    keyDirectory = await mkdtemp(join(tmpdir(), 'meridian-posture-keys-'));
  });
  afterAll(async () => {
    await rm(keyDirectory, { recursive: true, force: true });
  });

  it('does not create a missing key file unless allowed', async () => {
    const keyFile = join(keyDirectory, 'missing.json');
    await expect(loadOrCreateLocalSigner({ keyFile, createKeyFile: false })).rejects.toThrow(/does not exist, and creating key files needs MERIDIAN_POSTURE=local-dev/);
    expect(existsSync(keyFile)).toBe(false);
  });
});

describe('regional server process outside local-dev', () => {
  it('exits non-zero with a readable message and no stack trace, and creates no key file', async () => {
    const keyDirectory = await mkdtemp(join(tmpdir(), 'meridian-posture-'));
    const keyFile = join(keyDirectory, 'eu-1.json');
    try {
      const child = spawn(node24, [serverEntry], {
        env: { PATH: process.env.PATH ?? '', REGION: 'eu-1', JURISDICTION: 'eu', PORT: '0', DATABASE_URL: 'postgres://127.0.0.1:1/none', EDGE_JWKS_URL: `http://127.0.0.1:8787${settlementTokenJwksPath}`, SIGNER_KEY_FILE: keyFile },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      setTimeout(() => child.kill('SIGKILL'), processTimeoutMs).unref();
      const code = await new Promise<number | null>((resolvePromise) => child.on('exit', resolvePromise));
      expect(code).toBe(1);
      expect(stderr).toMatch(/regional: invalid configuration:/);
      expect(stderr).toMatch(/EDGE_JWKS_URL must be an https:\/\/ URL/);
      expect(stderr).toMatch(/SIGNER is not set[^\n]*set SIGNER=kms/);
      expect(stderr).not.toMatch(/^\s+at /m);
      expect(existsSync(keyFile)).toBe(false);
    } finally {
      await rm(keyDirectory, { recursive: true, force: true });
    }
  });
});

describe.each(testDatabaseKinds())('edge token keys on %s', (kind) => {
  let database: TestDatabase;
  let testbed: Testbed;

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'posture_kid');
    testbed = await startTestbed(database);
  });
  afterAll(async () => {
    await testbed?.close();
    await database?.drop();
  });

  it('refuses a token that names no kid, even when the settlement-token JWKS holds a single key', async () => {
    const response = await testbed.deliver(sampleBatch(), { kid: null });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ reason: 'invalid-token' });
  });

  it('refuses a token whose kid is not in the settlement-token JWKS (e.g. the receipt key)', async () => {
    const response = await testbed.deliver(sampleBatch(), { kid: 'gateway-receipts-1' });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ reason: 'invalid-token' });
  });
});
