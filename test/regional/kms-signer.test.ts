/**
 * The AWS KMS signer through the real @aws-sdk/client-kms, against a local server that speaks the
 * KMS JSON 1.1 protocol and verifies every request's SigV4 signature (test/support/kms-local-server.ts).
 */
import { spawn } from 'node:child_process';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { compactVerify, decodeProtectedHeader, exportJWK, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64Decode, base64urlEncode, utf8 } from '../../core/digest.ts';
import { openNote, parseNoteVerifier } from '../../core/signed-note.ts';
import type { SettlementReceiptClaims, SettlementResponse } from '../../core/settlement-batch.ts';
import { regionalConfigFromEnv } from '../../regional/config.ts';
import { createSigner } from '../../regional/signer/create-signer.ts';
import { ecdsaP256DerToRaw, rawPublicKeyFromSpki } from '../../regional/signer/key-encodings.ts';
import { createKmsSigner, KmsSignerError, type KmsSigner, type KmsSignerOptions } from '../../regional/signer/kms-signer.ts';
import type { SignerAlgorithm } from '../../regional/signer/signer.ts';
import { startKmsLocalServer, type KmsLocalServer, type LocalKeySpec } from '../support/kms-local-server.ts';
import { freshJurisdiction, sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { createTestEdge, mintEdgeToken, testGatewayId } from './support/edge.ts';
import { publishedKeys, type PublishedKey } from './support/receipts.ts';
import { startTestbed } from './support/testbed.ts';

const keySpecs: Array<{ keySpec: LocalKeySpec; alg: SignerAlgorithm }> = [
  { keySpec: 'ECC_NIST_EDWARDS25519', alg: 'EdDSA' },
  { keySpec: 'ECC_NIST_P256', alg: 'ES256' },
  { keySpec: 'ML_DSA_65', alg: 'ML-DSA-65' },
];
const dayMs = 24 * 60 * 60 * 1000;

let kms: KmsLocalServer;
const signers: KmsSigner[] = [];

beforeAll(async () => {
  kms = await startKmsLocalServer();
});
afterAll(async () => {
  for (const signer of signers) signer.destroy();
  await kms?.close();
});

function signerOptions(keyId: string, overrides: Partial<KmsSignerOptions> = {}): KmsSignerOptions {
  return { keyId, region: kms.region, endpoint: kms.endpoint, credentials: kms.credentials, ...overrides };
}

async function kmsSigner(keyId: string, overrides: Partial<KmsSignerOptions> = {}): Promise<KmsSigner> {
  const signer = await createKmsSigner(signerOptions(keyId, overrides));
  signers.push(signer);
  return signer;
}

function callsOf(operation: string, since: number): Array<{ status: number; errorType?: string; messageType?: string }> {
  return kms.requests.slice(since).filter((request) => request.operation === operation);
}

/** What an auditor does with GET /v1/keys: the published raw key as a JWK, verified by jose. */
function publishedJwk(key: PublishedKey): JWK {
  const raw = base64Decode(key.public_key);
  switch (key.alg) {
    case 'EdDSA':
      return { kty: 'OKP', crv: 'Ed25519', x: base64urlEncode(raw) };
    case 'ES256':
      return { kty: 'EC', crv: 'P-256', x: base64urlEncode(raw.subarray(1, 33)), y: base64urlEncode(raw.subarray(33)) };
    case 'ML-DSA-65':
      return { kty: 'AKP', alg: 'ML-DSA-65', pub: base64urlEncode(raw) };
    default:
      throw new Error(`unexpected alg ${key.alg}`);
  }
}

describe.each(keySpecs)('KMS signer with a $keySpec key', ({ keySpec, alg }) => {
  it('signs through the SDK, and every signature verifies with the public key from GetPublicKey', async () => {
    const { arn } = kms.createKey(keySpec, { alias: `alias/receipts-${keySpec.toLowerCase()}` });
    const signer = await kmsSigner(`alias/receipts-${keySpec.toLowerCase()}`);
    expect(signer.alg).toBe(alg);
    expect(signer.keyArn).toBe(arn);

    // The verifier's key comes from its own GetPublicKey call, through node:crypto, not through
    // the signer's SPKI parsing.
    const client = new KMSClient({ region: kms.region, endpoint: kms.endpoint, credentials: kms.credentials, maxAttempts: 1 });
    const { PublicKey: spki } = await client.send(new GetPublicKeyCommand({ KeyId: arn }));
    client.destroy();
    const verifierKey = createPublicKey({ key: Buffer.from(spki!), format: 'der', type: 'spki' });
    expect(signer.publicKey).toEqual(rawPublicKeyFromSpki(alg, spki!));

    const since = kms.requests.length;
    // Enough ES256 signatures that r or s with the high bit set (a 33-byte DER INTEGER) occurs.
    const messages = Array.from({ length: 12 }, (_, index) => utf8(`receipt ${index} `.repeat(index * 3 + 1)));
    if (alg !== 'EdDSA') messages.push(new Uint8Array(10_000).fill(7));
    for (const message of messages) {
      const signature = await signer.sign(message);
      const verifies = alg === 'ES256' ? nodeVerify('sha256', message, { key: verifierKey, dsaEncoding: 'ieee-p1363' }, signature) : nodeVerify(null, message, verifierKey, signature);
      expect(verifies, `signature over ${message.length} bytes`).toBe(true);
    }
    const signCalls = callsOf('Sign', since);
    expect(signCalls).toHaveLength(messages.length);
    expect(signCalls.every((call) => call.status === 200)).toBe(true);
    const expectedTypes = { EdDSA: ['RAW'], ES256: ['DIGEST'], 'ML-DSA-65': ['RAW', 'EXTERNAL_MU'] }[alg];
    expect([...new Set(signCalls.map((call) => call.messageType))]).toEqual(expectedTypes);
  });

  it('reports the key creation date from DescribeKey (GET /v1/keys flags it: see the receipts suite)', async () => {
    const creationDate = new Date(Date.now() - 120 * dayMs);
    const { keyId } = kms.createKey(keySpec, { creationDate });
    const signer = await kmsSigner(keyId);
    expect(signer.createdAt.getTime()).toBe(creationDate.getTime());
    expect(signer.alg).toBe(alg);
  });
});

describe('KMS signer through the SDK: retries and failures', () => {
  it('rides out throttling: the SDK backs off and retries, and the third attempt signs', async () => {
    const { keyId } = kms.createKey('ECC_NIST_P256');
    const signer = await kmsSigner(keyId, { attemptsMax: 3 });
    const since = kms.requests.length;
    kms.throttle(2, 'Sign');
    const signature = await signer.sign(utf8('throttled'));
    expect(signature).toHaveLength(64);
    expect(callsOf('Sign', since).map((call) => call.errorType ?? call.status)).toEqual(['ThrottlingException', 'ThrottlingException', 200]);
  });

  it('gives up after attemptsMax throttled attempts with an error that names the key and the AWS error', async () => {
    const { keyId, arn } = kms.createKey('ECC_NIST_EDWARDS25519');
    const signer = await kmsSigner(keyId, { attemptsMax: 2 });
    const since = kms.requests.length;
    kms.throttle(2, 'Sign');
    const failure = await signer.sign(utf8('throttled twice')).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(KmsSignerError);
    expect(failure).toMatchObject({ kind: 'kms-signer', operation: 'Sign', awsError: 'ThrottlingException' });
    expect((failure as Error).message).toBe(`kms signer: Sign for key ${arn} failed after 2 attempt(s): ThrottlingException: Rate exceeded`);
    expect(callsOf('Sign', since)).toHaveLength(2);
  });

  it('retries a request that exceeds the request timeout', async () => {
    const { keyId } = kms.createKey('ECC_NIST_EDWARDS25519');
    const signer = await kmsSigner(keyId, { requestTimeoutMs: 200 });
    const since = kms.requests.length;
    kms.stall(1, 1_000);
    expect(await signer.sign(utf8('slow'))).toHaveLength(64);
    expect(callsOf('Sign', since)).toHaveLength(2);
  });

  it('fails start-up readably when the key or alias does not exist, without retrying', async () => {
    const since = kms.requests.length;
    await expect(createKmsSigner(signerOptions('alias/no-such-key'))).rejects.toThrow(
      `kms signer: DescribeKey for key alias/no-such-key in ${kms.region} failed after 1 attempt(s): NotFoundException: Alias arn:aws:kms:${kms.region}:111122223333:alias/no-such-key is not found.`,
    );
    await expect(createKmsSigner(signerOptions('0f2c8ad5-0000-4000-8000-000000000000'))).rejects.toMatchObject({ awsError: 'NotFoundException' });
    expect(kms.requests.slice(since).every((request) => request.errorType === 'NotFoundException')).toBe(true);
    expect(kms.requests.length - since).toBe(4);
  });

  it('is refused by the server when the request signature is wrong (SigV4 is verified, not just present)', async () => {
    const { keyId } = kms.createKey('ECC_NIST_EDWARDS25519');
    const wrongSecret = { accessKeyId: kms.credentials.accessKeyId, secretAccessKey: `${kms.credentials.secretAccessKey}x` };
    await expect(createKmsSigner(signerOptions(keyId, { credentials: wrongSecret }))).rejects.toMatchObject({ awsError: 'InvalidSignatureException' });
    const unknownKeyId = { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: kms.credentials.secretAccessKey };
    await expect(createKmsSigner(signerOptions(keyId, { credentials: unknownKeyId }))).rejects.toMatchObject({ awsError: 'UnrecognizedClientException' });
    await expect(createKmsSigner(signerOptions(keyId, { region: 'us-east-1' }))).rejects.toMatchObject({ awsError: 'InvalidSignatureException' });
  });

  it('refuses keys that cannot sign receipts', async () => {
    const encryption = kms.createKey('ECC_NIST_P256', { keyUsage: 'ENCRYPT_DECRYPT' });
    await expect(createKmsSigner(signerOptions(encryption.keyId))).rejects.toThrow(/cannot sign receipts: key usage is ENCRYPT_DECRYPT, not SIGN_VERIFY/);
    const disabled = kms.createKey('ECC_NIST_P256', { enabled: false });
    await expect(createKmsSigner(signerOptions(disabled.keyId))).rejects.toThrow(/GetPublicKey .* failed after 1 attempt\(s\): DisabledException|cannot sign receipts: key state is Disabled/);
  });

  it('refuses an Ed25519 message over the KMS RAW limit before calling KMS', async () => {
    const { keyId } = kms.createKey('ECC_NIST_EDWARDS25519');
    const signer = await kmsSigner(keyId);
    const since = kms.requests.length;
    await expect(signer.sign(new Uint8Array(4_097))).rejects.toThrow(/limited to 4096 bytes by KMS, got 4097/);
    expect(kms.requests.length).toBe(since);
  });
});

describe('ECDSA DER → JWS r ‖ s', () => {
  const integer = (bytes: number[]) => [0x02, bytes.length, ...bytes];
  const der = (r: number[], s: number[]) => {
    const body = [...integer(r), ...integer(s)];
    return Uint8Array.from([0x30, body.length, ...body]);
  };
  const full = (fill: number) => Array.from({ length: 32 }, () => fill);

  it('strips the sign byte of high-bit integers and left-pads short ones', () => {
    const raw = ecdsaP256DerToRaw(der([0x00, ...full(0x80)], [0x01, 0x02]));
    expect(Array.from(raw.subarray(0, 32))).toEqual(full(0x80));
    expect(Array.from(raw.subarray(32))).toEqual([...Array.from({ length: 30 }, () => 0), 0x01, 0x02]);
  });

  it('rejects DER that is not a minimal pair of positive 32-byte integers', () => {
    const valid = der(full(0x11), full(0x22));
    expect(() => ecdsaP256DerToRaw(Uint8Array.from([...valid, 0x00]))).toThrow(/bad SEQUENCE header/);
    expect(() => ecdsaP256DerToRaw(der(full(0x90), full(0x22)))).toThrow(/negative INTEGER/);
    expect(() => ecdsaP256DerToRaw(der([0x00, 0x11, ...full(0x22).slice(2)], full(0x22)))).toThrow(/non-minimal INTEGER/);
    expect(() => ecdsaP256DerToRaw(der([0x01, ...full(0x22)], full(0x22)))).toThrow(/wider than 32 bytes/);
    expect(() => ecdsaP256DerToRaw(Uint8Array.from([0x30, 6, 0x04, 1, 1, 0x02, 1, 1]))).toThrow(/expected INTEGER/);
  });
});

describe.each(testDatabaseKinds())('receipts signed through KMS on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase(kind, 'kms_receipts');
  });
  afterAll(async () => {
    await database?.drop();
  });

  it.each(keySpecs)('an old $alg KMS key is flagged overdue at GET /v1/keys, from its DescribeKey creation date', async ({ keySpec, alg }) => {
    const creationDate = new Date(Date.now() - 120 * dayMs);
    const { keyId } = kms.createKey(keySpec, { creationDate });
    const signer = await kmsSigner(keyId);
    const testbed = await startTestbed(database, { signer, jurisdiction: freshJurisdiction() });
    try {
      expect(await publishedKeys(testbed.app)).toEqual([
        {
          kid: signer.kid,
          alg,
          public_key: Buffer.from(signer.publicKey).toString('base64'),
          created_at: creationDate.toISOString(),
          rotation_overdue: true,
          region: 'eu-1',
          not_before: expect.any(String),
          not_after: null,
        },
      ]);
    } finally {
      await testbed.close();
    }
  });

  it.each(keySpecs)('a $alg receipt verifies against GET /v1/keys of an app signing with KMS', async ({ keySpec, alg }) => {
    const { keyId } = kms.createKey(keySpec);
    const signer = await kmsSigner(keyId);
    const testbed = await startTestbed(database, { signer, jurisdiction: freshJurisdiction() });
    try {
      const sealed = sampleBatch({ jurisdiction: testbed.jurisdiction });
      const response = await testbed.deliver(sealed);
      expect(response.status).toBe(201);
      const body = (await response.json()) as SettlementResponse;
      expect(decodeProtectedHeader(body.receipt)).toEqual({ alg, kid: signer.kid });
      const published = (await publishedKeys(testbed.app)).find((key) => key.kid === signer.kid)!;
      expect(published).toMatchObject({ alg, rotation_overdue: false });
      const key = await importJWK(publishedJwk(published), alg);
      const { payload } = await compactVerify(body.receipt, key, { algorithms: [alg] });
      const claims = JSON.parse(new TextDecoder().decode(payload)) as SettlementReceiptClaims;
      expect(claims).toMatchObject({ batch_id: sealed.batch.batch_id, digest: sealed.digest, log_index: 0 });
    } finally {
      await testbed.close();
    }
  });
});

describe.each(testDatabaseKinds())('KMS outage during a commit on %s', (kind) => {
  it('answers 503 when KMS keeps throttling, stores nothing, and the redelivery commits', async () => {
    const database = await openTestDatabase(kind, 'kms_outage');
    const { keyId } = kms.createKey('ECC_NIST_P256');
    const signer = await kmsSigner(keyId, { attemptsMax: 1 });
    const testbed = await startTestbed(database, { signer, jurisdiction: freshJurisdiction() });
    try {
      const sealed = sampleBatch({ jurisdiction: testbed.jurisdiction });
      kms.throttle(1, 'Sign');
      const refused = await testbed.deliver(sealed);
      expect(refused.status).toBe(503);
      expect(await refused.json()).toMatchObject({ type: 'urn:meridian:problem:unavailable' });
      expect(testbed.logged.some((line) => line.level === 'error' && /receipt signer is unavailable/.test(line.message))).toBe(true);
      expect((await testbed.database.sql`select count(*)::int as batches from settlement_batches where digest = ${sealed.digest}`)[0]!.batches).toBe(0);
      expect((await testbed.deliver(sealed)).status).toBe(201);
    } finally {
      await testbed.close();
      await database.drop();
    }
  });
});

describe('SIGNER configuration', () => {
  const base = { MERIDIAN_POSTURE: 'local-dev', REGION: 'eu-1', JURISDICTION: 'eu', PORT: '8701', DATABASE_URL: 'postgres://h/db', EDGE_JWKS_URL: 'http://127.0.0.1:8787/.well-known/settlement-token-jwks.json' };

  it('defaults to the local signer and reads the KMS settings for SIGNER=kms', () => {
    expect(regionalConfigFromEnv(base).signer).toEqual({ kind: 'local', keyFile: '.data/keys/eu-1.json', createKeyFile: true });
    expect(regionalConfigFromEnv({ ...base, SIGNER: 'kms', KMS_KEY_ID: 'alias/meridian-eu-1', AWS_REGION: 'eu-central-1', KMS_ENDPOINT: 'https://vpce-1.kms.eu-central-1.vpce.amazonaws.com' }).signer).toEqual({
      kind: 'kms',
      keyId: 'alias/meridian-eu-1',
      region: 'eu-central-1',
      endpoint: 'https://vpce-1.kms.eu-central-1.vpce.amazonaws.com',
    });
  });

  it('gives a local ML-DSA-65 key a local Ed25519 note key beside it, and takes an explicit note key', () => {
    expect(regionalConfigFromEnv({ ...base, SIGNER_ALG: 'ML-DSA-65' })).toMatchObject({
      signer: { kind: 'local', keyFile: '.data/keys/eu-1.json', alg: 'ML-DSA-65', createKeyFile: true },
      noteSigner: { kind: 'local', keyFile: '.data/keys/eu-1.note.json', alg: 'EdDSA', createKeyFile: true },
    });
    expect(regionalConfigFromEnv(base).noteSigner).toBeUndefined();
    const kmsEnv = { ...base, SIGNER: 'kms', KMS_KEY_ID: 'alias/receipts', AWS_REGION: 'eu-central-1', KMS_ENDPOINT: 'http://127.0.0.1:4566' };
    expect(regionalConfigFromEnv({ ...kmsEnv, NOTE_KMS_KEY_ID: 'alias/notes' }).noteSigner).toEqual({ kind: 'kms', keyId: 'alias/notes', region: 'eu-central-1', endpoint: 'http://127.0.0.1:4566' });
    expect(regionalConfigFromEnv({ ...kmsEnv, NOTE_SIGNER_KEY_FILE: '/keys/notes.json' }).noteSigner).toEqual({ kind: 'local', keyFile: '/keys/notes.json', alg: 'EdDSA', createKeyFile: true });
    expect(() => regionalConfigFromEnv({ ...base, NOTE_KMS_KEY_ID: 'alias/notes', SIGNER_ALG: 'RS256' })).toThrow(/SIGNER_ALG "RS256" is not one of EdDSA, ML-DSA-65[\s\S]*NOTE_KMS_KEY_ID needs SIGNER=kms/);
  });

  it('names every missing or malformed KMS setting at once', () => {
    expect(() => regionalConfigFromEnv({ ...base, SIGNER: 'kms' })).toThrow(/KMS_KEY_ID is not set[\s\S]*AWS_REGION is not set/);
    expect(() => regionalConfigFromEnv({ ...base, SIGNER: 'kms', KMS_KEY_ID: 'k', AWS_REGION: 'Frankfurt', KMS_ENDPOINT: 'kms.local' })).toThrow(/AWS_REGION "Frankfurt"[\s\S]*KMS_ENDPOINT "kms.local"/);
    expect(() => regionalConfigFromEnv({ ...base, SIGNER: 'hsm' })).toThrow(/SIGNER "hsm" is not local or kms/);
  });
});

describe('regional server process with SIGNER=kms', () => {
  it('signs with the configured KMS key, credentials from the default provider chain (environment)', async () => {
    const creationDate = new Date(Date.now() - 10 * dayMs);
    kms.createKey('ECC_NIST_P256', { alias: 'alias/meridian-eu-1', creationDate });
    kms.createKey('ECC_NIST_EDWARDS25519', { alias: 'alias/meridian-eu-1-notes' });
    const [kind] = testDatabaseKinds();
    const database = await openTestDatabase(kind!, 'kms_server');
    const edge = await createTestEdge();
    const publicJwk = { ...(await exportJWK(edge.publicKey)), kid: edge.kid, alg: 'EdDSA' };
    const jwksServer: Server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] })));
    await new Promise<void>((resolvePromise) => jwksServer.listen(0, '127.0.0.1', resolvePromise));
    const keyDirectory = await mkdtemp(join(tmpdir(), 'meridian-kms-server-'));
    const child = spawn(resolve('node_modules/.bin/node'), [resolve('regional/server.ts')], {
      env: {
        PATH: process.env.PATH ?? '',
        REGION: 'eu-1',
        JURISDICTION: 'eu',
        PORT: '0',
        DATABASE_URL: database.url,
        // The local KMS server and JWKS speak http: the developer-machine posture.
        MERIDIAN_POSTURE: 'local-dev',
        EDGE_JWKS_URL: `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/.well-known/settlement-token-jwks.json`,
        GATEWAY_ID: testGatewayId,
        SIGNER_KEY_FILE: join(keyDirectory, 'unused.json'),
        SIGNER: 'kms',
        KMS_KEY_ID: 'alias/meridian-eu-1',
        NOTE_KMS_KEY_ID: 'alias/meridian-eu-1-notes',
        KMS_ENDPOINT: kms.endpoint,
        AWS_REGION: kms.region,
        AWS_ACCESS_KEY_ID: kms.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: kms.credentials.secretAccessKey,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolvePromise) => child.on('exit', (code) => resolvePromise(code)));
    try {
      await expect.poll(() => output, { timeout: 20_000 }).toMatch(/listening on http/);
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!;
      const keys = (await (await fetch(`${url}/v1/keys`)).json()) as { keys: PublishedKey[]; note_verifiers: string[] };
      expect(keys.keys).toHaveLength(1);
      expect(keys.keys[0]).toMatchObject({ alg: 'ES256', created_at: creationDate.toISOString(), rotation_overdue: false });
      const sealed = sampleBatch();
      const token = await mintEdgeToken(edge, { audience: 'eu-1', batchDigest: sealed.digest });
      const settled = await fetch(`${url}/v1/settlements`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: sealed.canonical });
      expect(settled.status).toBe(201);
      const { receipt } = (await settled.json()) as SettlementResponse;
      await compactVerify(receipt, await importJWK(publishedJwk(keys.keys[0]!), 'ES256'), { algorithms: ['ES256'] });
      // Checkpoints are signed through KMS with the Ed25519 note key listed in note_verifiers.
      expect(keys.note_verifiers).toHaveLength(1);
      const verifier = parseNoteVerifier(keys.note_verifiers[0]!);
      expect(verifier.ok).toBe(true);
      const checkpoint = await fetch(`${url}/v1/log/checkpoint`);
      expect(checkpoint.status).toBe(200);
      const opened = openNote(await checkpoint.text(), verifier.ok ? [verifier.value] : []);
      expect(opened.ok).toBe(true);
    } finally {
      child.kill('SIGTERM');
      await exited;
      await new Promise((resolvePromise) => jwksServer.close(resolvePromise));
      await database.drop();
      await rm(keyDirectory, { recursive: true, force: true });
    }
  });

  it('refuses to start with a non-Ed25519 KMS key and no Ed25519 key for log checkpoints', async () => {
    kms.createKey('ML_DSA_65', { alias: 'alias/meridian-eu-2' });
    const child = spawn(resolve('node_modules/.bin/node'), [resolve('regional/server.ts')], {
      env: {
        PATH: process.env.PATH ?? '',
        REGION: 'eu-2',
        JURISDICTION: 'eu',
        PORT: '0',
        DATABASE_URL: 'postgres://postgres@127.0.0.1:1/never-reached',
        MERIDIAN_POSTURE: 'local-dev',
        EDGE_JWKS_URL: 'http://127.0.0.1:1/.well-known/settlement-token-jwks.json',
        SIGNER: 'kms',
        KMS_KEY_ID: 'alias/meridian-eu-2',
        KMS_ENDPOINT: kms.endpoint,
        AWS_REGION: kms.region,
        AWS_ACCESS_KEY_ID: kms.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: kms.credentials.secretAccessKey,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolvePromise) => child.on('exit', (exitCode) => resolvePromise(exitCode)));
    expect(code).toBe(1);
    expect(stderr).toMatch(/log checkpoints are C2SP signed notes, signed with Ed25519, but the receipt signer's key is ML-DSA-65: set NOTE_KMS_KEY_ID/);
  });

  it('stops with a readable message when the KMS key does not exist', async () => {
    const signerFailure = await createSigner({ kind: 'kms', ...signerOptions('alias/meridian-missing') }).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(signerFailure?.message).toMatch(/NotFoundException: Alias .*alias\/meridian-missing is not found\./);
  });
});
