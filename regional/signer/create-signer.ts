/**
 * Chooses the signer implementation from configuration: the local software signer (the default,
 * a key file on disk) or an AWS KMS key (./kms-signer.ts). Only this switch knows both; everything
 * else holds a `Signer`.
 */
import { createKmsSigner, type KmsSignerOptions } from './kms-signer.ts';
import { loadOrCreateLocalSigner, type LocalSignerAlgorithm } from './local-signer.ts';
import type { Signer } from './signer.ts';

export type SignerConfig = { kind: 'local'; keyFile: string; alg?: LocalSignerAlgorithm } | ({ kind: 'kms' } & KmsSignerOptions);

export async function createSigner(config: SignerConfig): Promise<Signer> {
  switch (config.kind) {
    case 'local':
      return loadOrCreateLocalSigner({ keyFile: config.keyFile, ...(config.alg === undefined ? {} : { alg: config.alg }) });
    case 'kms': {
      const { kind: _kind, ...options } = config;
      return createKmsSigner(options);
    }
  }
}
