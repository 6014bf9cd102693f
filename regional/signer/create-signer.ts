/**
 * Chooses the signer implementation from configuration: the local software signer (the default,
 * a key file on disk) or an AWS KMS key (./kms-signer.ts). Only this switch knows both; everything
 * else holds a `Signer`.
 */
import { createKmsSigner, type KmsSignerOptions } from './kms-signer.ts';
import { loadOrCreateLocalSigner, type LocalSignerAlgorithm } from './local-signer.ts';
import type { Signer } from './signer.ts';

/**
 * `createKeyFile`: whether a missing key file may be created (MERIDIAN_POSTURE=local-dev only;
 * regional/config.ts). Without it a missing file is an error, never a silently fresh key.
 */
export type SignerConfig = { kind: 'local'; keyFile: string; alg?: LocalSignerAlgorithm; createKeyFile: boolean } | ({ kind: 'kms' } & KmsSignerOptions);

export async function createSigner(config: SignerConfig): Promise<Signer> {
  switch (config.kind) {
    case 'local':
      return loadOrCreateLocalSigner({ keyFile: config.keyFile, createKeyFile: config.createKeyFile, ...(config.alg === undefined ? {} : { alg: config.alg }) });
    case 'kms': {
      const { kind: _kind, ...options } = config;
      return createKmsSigner(options);
    }
  }
}
