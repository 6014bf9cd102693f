/**
 * A Signer over an AWS KMS asymmetric key (`@aws-sdk/client-kms`): the private key never leaves
 * KMS; this process holds only the key's ARN and its public key.
 *
 * Key specs and what each becomes in a receipt JWS:
 *   ECC_NIST_EDWARDS25519  Sign ED25519_SHA_512, MessageType RAW (pure Ed25519)   → alg EdDSA
 *   ECC_NIST_P256          Sign ECDSA_SHA_256, MessageType DIGEST (SHA-256 here); KMS answers
 *                          DER, converted to r ‖ s                                → alg ES256
 *   ML_DSA_65              Sign ML_DSA_SHAKE_256, MessageType RAW, or EXTERNAL_MU (μ computed
 *                          here, FIPS 204 §6.2) for messages over KMS's 4 KiB    → alg ML-DSA-65
 *
 * Start-up (createKmsSigner) calls DescribeKey and GetPublicKey once and refuses a key that is
 * not an enabled SIGN_VERIFY key of a supported spec. Every later Sign names the key by the ARN
 * DescribeKey returned, never by the configured alias: an alias can be re-pointed at another key
 * while this process runs, and its signatures would then stop matching the public key published
 * at GET /v1/keys. For the same reason the kid is the RFC 7638 thumbprint of the public key (as
 * for the local signer), not the alias or ARN.
 *
 * createdAt is KMS's CreationDate. KMS never rotates an asymmetric key's material in place
 * (automatic rotation is for symmetric keys), so that date is the age of the key that signs, and
 * rotation_overdue at GET /v1/keys applies to KMS keys unchanged.
 *
 * Client options are explicit (STYLE): region, optional endpoint (a VPC endpoint, or the local
 * KMS-protocol server the tests use), attempts (the SDK's standard retry mode: throttling and
 * transient errors back off and retry), connection and request timeouts on the Node HTTP handler,
 * and credentials from the SDK's default provider chain unless given explicitly.
 */
import {
  DescribeKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
  SignCommand,
  type KeyMetadata,
  type KeySpec,
  type KMSClientConfig,
  type MessageType,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { shake256 } from '@noble/hashes/sha3.js';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { base64urlEncode, sha256 } from '../../core/digest.ts';
import { ecdsaP256DerToRaw, rawPublicKeyFromSpki, signatureBytes } from './key-encodings.ts';
import type { Signer, SignerAlgorithm } from './signer.ts';

/** KMS Sign accepts at most 4,096 message bytes with MessageType RAW. */
export const kmsRawMessageBytesMax = 4_096;
/** Attempts per KMS call, first try included (the SDK's standard retry strategy). */
export const kmsAttemptsMax = 3;
/** Bounds one HTTP exchange with KMS; the commit holds a transaction open while it signs. */
export const kmsRequestTimeoutMs = 2_000;
export const kmsConnectionTimeoutMs = 1_000;

interface KeySpecProfile {
  alg: SignerAlgorithm;
  signingAlgorithm: SigningAlgorithmSpec;
}

const supportedKeySpecs: Partial<Record<KeySpec, KeySpecProfile>> = {
  ECC_NIST_EDWARDS25519: { alg: 'EdDSA', signingAlgorithm: 'ED25519_SHA_512' },
  ECC_NIST_P256: { alg: 'ES256', signingAlgorithm: 'ECDSA_SHA_256' },
  ML_DSA_65: { alg: 'ML-DSA-65', signingAlgorithm: 'ML_DSA_SHAKE_256' },
};

export interface KmsSignerOptions {
  /** Key id, key ARN, alias name (alias/…) or alias ARN. */
  keyId: string;
  region: string;
  /** Overrides the regional KMS endpoint (a VPC endpoint, or a local server in tests). */
  endpoint?: string;
  /** Default: the SDK's default provider chain (environment, SSO, web identity, instance role…). */
  credentials?: KMSClientConfig['credentials'];
  attemptsMax?: number;
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
}

export interface KmsSigner extends Signer {
  /** The key's ARN as DescribeKey reported it: what every Sign call names. */
  readonly keyArn: string;
  /** Closes the client's sockets (keep-alive would otherwise hold a process or test open). */
  destroy(): void;
}

/** A KMS call failed; `awsError` is the SDK's error name (NotFoundException, ThrottlingException…). */
export class KmsSignerError extends Error {
  readonly kind = 'kms-signer';
  readonly operation: string;
  readonly awsError: string | undefined;

  constructor(operation: string, message: string, options: { awsError?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'KmsSignerError';
    this.operation = operation;
    this.awsError = options.awsError;
  }
}

export async function createKmsSigner(options: KmsSignerOptions): Promise<KmsSigner> {
  const client = new KMSClient({
    region: options.region,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    maxAttempts: options.attemptsMax ?? kmsAttemptsMax,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? kmsConnectionTimeoutMs,
      requestTimeout: options.requestTimeoutMs ?? kmsRequestTimeoutMs,
      throwOnRequestTimeout: true,
    },
  });
  try {
    const where = `key ${options.keyId} in ${options.region}`;
    // Both calls run to completion before a failure is reported (DescribeKey's first), so
    // destroying the client never cuts off a request still in flight.
    const [describing, publishing] = await Promise.allSettled([
      callKms('DescribeKey', where, () => client.send(new DescribeKeyCommand({ KeyId: options.keyId }))),
      callKms('GetPublicKey', where, () => client.send(new GetPublicKeyCommand({ KeyId: options.keyId }))),
    ]);
    if (describing.status === 'rejected') throw describing.reason;
    if (publishing.status === 'rejected') throw publishing.reason;
    const [described, published] = [describing.value, publishing.value];
    const key = signingKeyFrom(described.KeyMetadata, where);
    if (published.KeyId !== key.arn || published.KeySpec !== key.keySpec || published.PublicKey === undefined) {
      throw new KmsSignerError('GetPublicKey', `kms signer: GetPublicKey for ${where} answered key ${published.KeyId} (${published.KeySpec}), but DescribeKey said ${key.arn} (${key.keySpec})`);
    }
    let publicKey: Uint8Array;
    try {
      publicKey = rawPublicKeyFromSpki(key.profile.alg, published.PublicKey);
    } catch (error) {
      throw new KmsSignerError('GetPublicKey', `kms signer: ${where}: ${(error as Error).message}`, { cause: error });
    }
    return {
      kid: await calculateJwkThumbprint(publicJwk(key.profile.alg, publicKey), 'sha256'),
      alg: key.profile.alg,
      publicKey,
      createdAt: key.createdAt,
      keyArn: key.arn,
      sign: (message) => kmsSign(client, key, publicKey, message),
      destroy: () => client.destroy(),
    };
  } catch (error) {
    client.destroy();
    throw error;
  }
}

interface KmsSigningKey {
  arn: string;
  keySpec: KeySpec;
  profile: KeySpecProfile;
  createdAt: Date;
}

function signingKeyFrom(metadata: KeyMetadata | undefined, where: string): KmsSigningKey {
  const refuse = (reason: string): never => {
    throw new KmsSignerError('DescribeKey', `kms signer: ${where} cannot sign receipts: ${reason}`);
  };
  if (metadata?.Arn === undefined || metadata.KeySpec === undefined) return refuse('DescribeKey returned no key metadata');
  // KMS answers the key spec; an own-property test keeps a spec named like an Object.prototype member from matching.
  const profile = Object.hasOwn(supportedKeySpecs, metadata.KeySpec) ? supportedKeySpecs[metadata.KeySpec] : undefined;
  if (profile === undefined) return refuse(`key spec ${metadata.KeySpec} is not one of ${Object.keys(supportedKeySpecs).join(', ')}`);
  if (metadata.KeyUsage !== 'SIGN_VERIFY') refuse(`key usage is ${metadata.KeyUsage}, not SIGN_VERIFY`);
  if (metadata.KeyState !== 'Enabled') refuse(`key state is ${metadata.KeyState}`);
  if (!(metadata.SigningAlgorithms ?? []).includes(profile.signingAlgorithm)) refuse(`the key does not offer ${profile.signingAlgorithm}`);
  if (!(metadata.CreationDate instanceof Date) || Number.isNaN(metadata.CreationDate.getTime())) refuse('DescribeKey returned no CreationDate');
  return { arn: metadata.Arn, keySpec: metadata.KeySpec, profile, createdAt: metadata.CreationDate! };
}

async function kmsSign(client: KMSClient, key: KmsSigningKey, publicKey: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  const { messageType, kmsMessage } = kmsSignInput(key.profile.alg, publicKey, message);
  const signed = await callKms('Sign', `key ${key.arn}`, () =>
    client.send(new SignCommand({ KeyId: key.arn, Message: kmsMessage, MessageType: messageType, SigningAlgorithm: key.profile.signingAlgorithm })),
  );
  if (signed.KeyId !== key.arn || signed.SigningAlgorithm !== key.profile.signingAlgorithm || signed.Signature === undefined) {
    throw new KmsSignerError('Sign', `kms signer: Sign with ${key.arn} answered key ${signed.KeyId} / ${signed.SigningAlgorithm}, expected ${key.profile.signingAlgorithm}`);
  }
  const signature = key.profile.alg === 'ES256' ? ecdsaP256DerToRaw(signed.Signature) : signed.Signature;
  if (signature.length !== signatureBytes[key.profile.alg]) {
    throw new KmsSignerError('Sign', `kms signer: Sign with ${key.arn} returned ${signature.length} signature bytes, expected ${signatureBytes[key.profile.alg]}`);
  }
  return signature;
}

function kmsSignInput(alg: SignerAlgorithm, publicKey: Uint8Array, message: Uint8Array): { messageType: MessageType; kmsMessage: Uint8Array } {
  switch (alg) {
    case 'EdDSA':
      // Pure Ed25519 has no pre-hash form KMS accepts under ED25519_SHA_512 (ED25519_PH_SHA_512
      // is Ed25519ph, a different signature that JOSE EdDSA verifiers reject).
      if (message.length > kmsRawMessageBytesMax) throw new KmsSignerError('Sign', `kms signer: an Ed25519 message is limited to ${kmsRawMessageBytesMax} bytes by KMS, got ${message.length}`);
      return { messageType: 'RAW', kmsMessage: message };
    case 'ES256':
      // ECDSA_SHA_256 over DIGEST signs exactly what RAW would (KMS hashes RAW with SHA-256), with
      // no size limit and without sending the message.
      return { messageType: 'DIGEST', kmsMessage: sha256(message) };
    case 'ML-DSA-65':
      return message.length <= kmsRawMessageBytesMax ? { messageType: 'RAW', kmsMessage: message } : { messageType: 'EXTERNAL_MU', kmsMessage: mlDsaExternalMu(publicKey, message) };
  }
}

const mlDsaTrBytes = 64;
const mlDsaMuBytes = 64;

/**
 * FIPS 204 Algorithm 7 lines 6–7 for pure ML-DSA with an empty context:
 * μ = SHAKE256(tr ‖ M′, 64), tr = SHAKE256(pk, 64), M′ = 0x00 ‖ len(ctx)=0x00 ‖ M.
 */
export function mlDsaExternalMu(publicKey: Uint8Array, message: Uint8Array): Uint8Array {
  const tr = shake256(publicKey, { dkLen: mlDsaTrBytes });
  return shake256.create({ dkLen: mlDsaMuBytes }).update(tr).update(new Uint8Array([0, 0])).update(message).digest();
}

function publicJwk(alg: SignerAlgorithm, publicKey: Uint8Array): JWK {
  switch (alg) {
    case 'EdDSA':
      return { kty: 'OKP', crv: 'Ed25519', x: base64urlEncode(publicKey) };
    case 'ES256':
      return { kty: 'EC', crv: 'P-256', x: base64urlEncode(publicKey.subarray(1, 33)), y: base64urlEncode(publicKey.subarray(33, 65)) };
    case 'ML-DSA-65':
      return { kty: 'AKP', alg: 'ML-DSA-65', pub: base64urlEncode(publicKey) };
  }
}

/** Runs one KMS call (the SDK retries inside) and turns its failure into a readable error. */
async function callKms<T>(operation: string, where: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const name = (error as { name?: unknown }).name;
    const awsError = typeof name === 'string' ? name : undefined;
    const attempts = (error as { $metadata?: { attempts?: number } }).$metadata?.attempts;
    throw new KmsSignerError(
      operation,
      `kms signer: ${operation} for ${where} failed${attempts === undefined ? '' : ` after ${attempts} attempt(s)`}: ${awsError ?? 'Error'}: ${(error as Error).message}`,
      { ...(awsError === undefined ? {} : { awsError }), cause: error },
    );
  }
}
