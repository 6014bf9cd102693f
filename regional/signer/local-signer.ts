/**
 * Software signer for local runs and tests, standing in for KMS: Ed25519 (the default) or
 * ML-DSA-65. The private key lives in a JSON file (a JWK plus `created_at`), created on first start
 * and loaded on every restart, so a backend keeps its kid — and receipts it signed stay verifiable
 * under GET /v1/keys — across restarts. Threat model: dev only; anyone who can read the file can
 * sign receipts.
 *
 * File layouts (kid = RFC 7638 thumbprint of the public JWK):
 *   Ed25519    {"kty":"OKP","crv":"Ed25519","alg":"EdDSA","kid","x":<base64url public key>,
 *               "d":<base64url 32-byte seed>,"created_at":<RFC 3339>}
 *   ML-DSA-65  {"kty":"AKP","alg":"ML-DSA-65","kid","pub":<base64url 1,952-byte public key>,
 *               "priv":<base64url 32-byte FIPS 204 seed ξ>,"created_at":<RFC 3339>}
 *              (draft-ietf-cose-dilithium AKP keys; the seed is the private key, expanded on load)
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { calculateJwkThumbprint } from 'jose';
import { z } from 'zod';
import { base64urlDecode, base64urlEncode } from '../../core/digest.ts';
import type { Signer } from './signer.ts';

const seedBytes = 32;
const keyFileMode = 0o600;

const ed25519KeyFileSchema = z.strictObject({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  alg: z.literal('EdDSA'),
  kid: z.string().min(1),
  x: z.string(),
  d: z.string(),
  created_at: z.iso.datetime({ offset: true }),
});

const mlDsa65KeyFileSchema = z.strictObject({
  kty: z.literal('AKP'),
  alg: z.literal('ML-DSA-65'),
  kid: z.string().min(1),
  pub: z.string(),
  priv: z.string(),
  created_at: z.iso.datetime({ offset: true }),
});

const keyFileSchema = z.discriminatedUnion('alg', [ed25519KeyFileSchema, mlDsa65KeyFileSchema]);

type LocalKeyFile = z.infer<typeof keyFileSchema>;

/** The algorithms the local signer can hold. */
export type LocalSignerAlgorithm = LocalKeyFile['alg'];
export const localSignerAlgorithms: readonly LocalSignerAlgorithm[] = ['EdDSA', 'ML-DSA-65'];

export interface LocalSignerOptions {
  keyFile: string;
  /** Creation date for a new key (tests back-date keys to exercise rotation_overdue). */
  now?: () => Date;
  /**
   * The algorithm of a new key (default EdDSA). An existing key file keeps its own; asking for
   * another is an error rather than a silent key change.
   */
  alg?: LocalSignerAlgorithm;
  /**
   * Create the key file when it is missing (default true, for tests). The regional process passes
   * true only under MERIDIAN_POSTURE=local-dev: elsewhere a missing key file is a deployment
   * mistake, and a silently fresh key would sign receipts no auditor has ever seen published.
   */
  createKeyFile?: boolean;
}

export class LocalSignerKeyFileMissing extends Error {
  readonly kind = 'local-signer-key-file-missing';
}

/** Loads the key file, or creates it (with today's creation date) if it does not exist yet and creation is allowed. */
export async function loadOrCreateLocalSigner(options: LocalSignerOptions): Promise<Signer> {
  const existing = await readKeyFile(options.keyFile);
  if (existing !== undefined) {
    if (options.alg !== undefined && existing.alg !== options.alg) {
      throw new Error(`local signer: key file ${options.keyFile} holds an ${existing.alg} key, not ${options.alg}; move it aside to create a new key`);
    }
    return localSigner(existing, options.keyFile);
  }
  if (options.createKeyFile === false) {
    throw new LocalSignerKeyFileMissing(`local signer: key file ${options.keyFile} does not exist, and creating key files needs MERIDIAN_POSTURE=local-dev`);
  }
  const created = await newKeyFile(options.alg ?? 'EdDSA', (options.now ?? (() => new Date()))());
  const winner = await writeKeyFileOnce(options.keyFile, created);
  return localSigner(winner, options.keyFile);
}

async function newKeyFile(alg: LocalSignerAlgorithm, createdAt: Date): Promise<LocalKeyFile> {
  const seed = new Uint8Array(randomBytes(seedBytes));
  if (alg === 'ML-DSA-65') {
    const pub = base64urlEncode(ml_dsa65.keygen(seed).publicKey);
    const kid = await calculateJwkThumbprint({ kty: 'AKP', alg, pub }, 'sha256');
    return { kty: 'AKP', alg, kid, pub, priv: base64urlEncode(seed), created_at: createdAt.toISOString() };
  }
  const x = base64urlEncode(ed25519.getPublicKey(seed));
  const kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x }, 'sha256');
  return { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', kid, x, d: base64urlEncode(seed), created_at: createdAt.toISOString() };
}

async function readKeyFile(keyFile: string): Promise<LocalKeyFile | undefined> {
  let text: string;
  try {
    text = await readFile(keyFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`local signer: cannot read key file ${keyFile}: ${(error as Error).message}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`local signer: key file ${keyFile} is not JSON; move it aside to create a new key`, { cause: error });
  }
  const parsed = keyFileSchema.safeParse(json);
  if (!parsed.success) throw new Error(`local signer: key file ${keyFile} is malformed: ${parsed.error.message}`);
  return parsed.data;
}

/**
 * Publishes the file atomically and only once: write a private temp file, then hard-link it into
 * place (link fails with EEXIST). Two processes starting together both end up with the same key,
 * and a crash mid-write never leaves a truncated key file behind.
 */
async function writeKeyFileOnce(keyFile: string, keyFileContents: LocalKeyFile): Promise<LocalKeyFile> {
  await mkdir(dirname(keyFile), { recursive: true, mode: 0o700 });
  const temporary = `${keyFile}.${process.pid}.${base64urlEncode(new Uint8Array(randomBytes(6)))}.tmp`;
  await writeFile(temporary, JSON.stringify(keyFileContents, null, 2) + '\n', { mode: keyFileMode, flag: 'wx' });
  try {
    await link(temporary, keyFile);
    return keyFileContents;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new Error(`local signer: cannot create key file ${keyFile}: ${(error as Error).message}`, { cause: error });
    }
    const winner = await readKeyFile(keyFile);
    if (winner === undefined) throw new Error(`local signer: key file ${keyFile} vanished while being created`);
    return winner;
  } finally {
    await unlink(temporary);
  }
}

function localSigner(keyFileContents: LocalKeyFile, keyFile: string): Signer {
  const seed = base64urlDecode(keyFileContents.alg === 'EdDSA' ? keyFileContents.d : keyFileContents.priv);
  if (seed.length !== seedBytes) throw new Error(`local signer: key file ${keyFile}: the private key is ${seed.length} bytes, not ${seedBytes}`);
  const createdAt = new Date(keyFileContents.created_at);
  if (keyFileContents.alg === 'ML-DSA-65') {
    const { publicKey, secretKey } = ml_dsa65.keygen(seed);
    if (base64urlEncode(publicKey) !== keyFileContents.pub) throw new Error(`local signer: key file ${keyFile}: pub does not match the private key`);
    // Hedged signing (FIPS 204 default): fresh randomness per signature.
    return { kid: keyFileContents.kid, alg: 'ML-DSA-65', publicKey, createdAt, sign: async (bytes) => ml_dsa65.sign(bytes, secretKey) };
  }
  const publicKey = base64urlDecode(keyFileContents.x);
  if (base64urlEncode(ed25519.getPublicKey(seed)) !== keyFileContents.x) {
    throw new Error(`local signer: key file ${keyFile}: x does not match the private key`);
  }
  return { kid: keyFileContents.kid, alg: 'EdDSA', publicKey, createdAt, sign: async (bytes) => ed25519.sign(bytes, seed) };
}
