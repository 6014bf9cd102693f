/**
 * Chooses the signer implementation from configuration. This is the seam for AWS KMS: a KMS
 * signer implements the same `Signer` interface (kid = the KMS key ARN or alias, publicKey from
 * GetPublicKey, createdAt from DescribeKey, sign() = the Sign API with MessageType RAW), and only
 * this switch learns about it.
 */
import { loadOrCreateLocalSigner } from './local-signer.ts';
import type { Signer } from './signer.ts';

export type SignerConfig = { kind: 'local'; keyFile: string } | { kind: 'kms'; keyId: string; region: string };

export async function createSigner(config: SignerConfig): Promise<Signer> {
  switch (config.kind) {
    case 'local':
      return loadOrCreateLocalSigner({ keyFile: config.keyFile });
    case 'kms':
      throw new Error(`createSigner: the AWS KMS signer (key ${config.keyId} in ${config.region}) is not implemented yet; use the local signer`);
  }
}
