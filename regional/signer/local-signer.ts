/**
 * Software Ed25519 signer for local runs and tests, standing in for KMS. The private key lives in
 * a JSON file (a JWK plus `created_at`), created on first start and loaded on every restart, so a
 * backend keeps its kid — and receipts it signed stay verifiable under GET /v1/keys — across
 * restarts. Threat model: dev only; anyone who can read the file can sign receipts.
 *
 * File layout: {"kty":"OKP","crv":"Ed25519","alg":"EdDSA","kid":<RFC 7638 thumbprint>,
 *               "x":<base64url public key>,"d":<base64url 32-byte seed>,"created_at":<RFC 3339>}
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { calculateJwkThumbprint } from 'jose';
import { z } from 'zod';
import { base64urlDecode, base64urlEncode } from '../../core/digest.ts';
import type { Signer } from './signer.ts';

const seedBytes = 32;
const keyFileMode = 0o600;

const keyFileSchema = z.strictObject({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  alg: z.literal('EdDSA'),
  kid: z.string().min(1),
  x: z.string(),
  d: z.string(),
  created_at: z.iso.datetime({ offset: true }),
});

type LocalKeyFile = z.infer<typeof keyFileSchema>;

export interface LocalSignerOptions {
  keyFile: string;
  /** Creation date for a new key (tests back-date keys to exercise rotation_overdue). */
  now?: () => Date;
}

/** Loads the key file, or creates it (with today's creation date) if it does not exist yet. */
export async function loadOrCreateLocalSigner(options: LocalSignerOptions): Promise<Signer> {
  const existing = await readKeyFile(options.keyFile);
  if (existing !== undefined) return localSigner(existing, options.keyFile);
  const created = await newKeyFile((options.now ?? (() => new Date()))());
  const winner = await writeKeyFileOnce(options.keyFile, created);
  return localSigner(winner, options.keyFile);
}

async function newKeyFile(createdAt: Date): Promise<LocalKeyFile> {
  const seed = new Uint8Array(randomBytes(seedBytes));
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
  const seed = base64urlDecode(keyFileContents.d);
  const publicKey = base64urlDecode(keyFileContents.x);
  if (seed.length !== seedBytes) throw new Error(`local signer: key file ${keyFile}: d is ${seed.length} bytes, not ${seedBytes}`);
  const derived = ed25519.getPublicKey(seed);
  if (base64urlEncode(derived) !== keyFileContents.x) {
    throw new Error(`local signer: key file ${keyFile}: x does not match the private key`);
  }
  return {
    kid: keyFileContents.kid,
    alg: 'EdDSA',
    publicKey,
    createdAt: new Date(keyFileContents.created_at),
    sign: async (bytes) => ed25519.sign(bytes, seed),
  };
}
