/**
 * The regional process's configuration, read once from the environment at start. Anything
 * missing or malformed stops the process with one readable message naming every problem.
 */
import type { SignerConfig } from './signer/create-signer.ts';
import { localSignerAlgorithms, type LocalSignerAlgorithm } from './signer/local-signer.ts';

const regionPattern = /^[a-z0-9][a-z0-9-]{0,63}$/;
const jurisdictionPattern = /^[a-z]{2,16}$/;
export const defaultGatewayId = 'meridian-local';
export const defaultHost = '127.0.0.1';
const databaseConnectionsMaxLimit = 32;
/** AWS region names: eu-central-1, us-gov-west-1, ap-southeast-4, … */
const awsRegionPattern = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const kmsKeyIdCharsMax = 2048;

export interface RegionalProcessConfig {
  region: string;
  jurisdiction: string;
  host: string;
  port: number;
  databaseUrl: string;
  /** Pool size (see regional/db/client.ts); undefined = the default. */
  databaseConnectionsMax: number | undefined;
  edgeJwksUrl: URL;
  gatewayId: string;
  signerKeyFile: string;
  /** SIGNER=local (default): the key file above; SIGNER=kms: an AWS KMS key. */
  signer: SignerConfig;
  /**
   * The Ed25519 key that signs log checkpoints (C2SP signed notes are Ed25519), when the receipt
   * signer is not one: NOTE_KMS_KEY_ID or NOTE_SIGNER_KEY_FILE. Undefined: the receipt signer.
   */
  noteSigner: SignerConfig | undefined;
}

export class RegionalConfigError extends Error {
  readonly kind = 'regional-config';
}

export function regionalConfigFromEnv(env: Record<string, string | undefined>): RegionalProcessConfig {
  const problems: string[] = [];
  const value = (name: string): string | undefined => {
    const text = env[name]?.trim();
    return text === undefined || text === '' ? undefined : text;
  };
  const required = (name: string, example: string): string => {
    const text = value(name);
    if (text === undefined) problems.push(`${name} is not set (e.g. ${name}=${example})`);
    return text ?? '';
  };

  const region = required('REGION', 'eu-1');
  if (region !== '' && !regionPattern.test(region)) problems.push(`REGION ${JSON.stringify(region)} is not a region id like eu-1`);
  const jurisdiction = required('JURISDICTION', 'eu');
  if (jurisdiction !== '' && !jurisdictionPattern.test(jurisdiction)) problems.push(`JURISDICTION ${JSON.stringify(jurisdiction)} is not a jurisdiction id like eu`);
  const portText = required('PORT', '8701');
  const port = Number(portText);
  if (portText !== '' && !(Number.isInteger(port) && port >= 0 && port <= 65_535)) problems.push(`PORT ${JSON.stringify(portText)} is not a TCP port`);
  const databaseUrl = required('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/meridian');
  if (databaseUrl !== '' && !/^postgres(ql)?:\/\//.test(databaseUrl)) problems.push('DATABASE_URL is not a postgres:// URL');
  const connectionsText = value('DATABASE_CONNECTIONS_MAX');
  const databaseConnectionsMax = connectionsText === undefined ? undefined : Number(connectionsText);
  if (databaseConnectionsMax !== undefined && !(Number.isInteger(databaseConnectionsMax) && databaseConnectionsMax >= 1 && databaseConnectionsMax <= databaseConnectionsMaxLimit)) {
    problems.push(`DATABASE_CONNECTIONS_MAX ${JSON.stringify(connectionsText)} is not an integer between 1 and ${databaseConnectionsMaxLimit}`);
  }
  const jwksText = required('EDGE_JWKS_URL', 'http://127.0.0.1:8787/.well-known/jwks.json');
  let edgeJwksUrl: URL | undefined;
  if (jwksText !== '') {
    try {
      edgeJwksUrl = new URL(jwksText);
    } catch {
      problems.push(`EDGE_JWKS_URL ${JSON.stringify(jwksText)} is not a URL`);
    }
  }

  const signerKeyFile = value('SIGNER_KEY_FILE') ?? `.data/keys/${region}.json`;
  const signer = signerConfigFromEnv(value, required, problems, signerKeyFile);
  const noteSigner = noteSignerConfigFromEnv(value, problems, signer, signerKeyFile);

  if (problems.length > 0) throw new RegionalConfigError(`regional: invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return {
    region,
    jurisdiction,
    host: value('HOST') ?? defaultHost,
    port,
    databaseUrl,
    databaseConnectionsMax,
    edgeJwksUrl: edgeJwksUrl!,
    gatewayId: value('GATEWAY_ID') ?? defaultGatewayId,
    signerKeyFile,
    signer,
    noteSigner,
  };
}

/**
 * SIGNER=local|kms. For local: SIGNER_ALG=EdDSA|ML-DSA-65 picks the algorithm of a new key file
 * (an existing file keeps its own). For kms: KMS_KEY_ID (key id, ARN or alias/…), AWS_REGION, optionally
 * KMS_ENDPOINT. Credentials are not configured here: the SDK's default provider chain finds them
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, web identity, the instance role).
 */
function signerConfigFromEnv(
  value: (name: string) => string | undefined,
  required: (name: string, example: string) => string,
  problems: string[],
  keyFile: string,
): SignerConfig {
  const kind = value('SIGNER') ?? 'local';
  if (kind === 'local') {
    const alg = value('SIGNER_ALG');
    if (alg === undefined) return { kind: 'local', keyFile };
    if (!(localSignerAlgorithms as readonly string[]).includes(alg)) problems.push(`SIGNER_ALG ${JSON.stringify(alg)} is not one of ${localSignerAlgorithms.join(', ')}`);
    return { kind: 'local', keyFile, alg: alg as LocalSignerAlgorithm };
  }
  if (kind !== 'kms') {
    problems.push(`SIGNER ${JSON.stringify(kind)} is not local or kms`);
    return { kind: 'local', keyFile };
  }
  const keyId = required('KMS_KEY_ID', 'alias/meridian-eu-1');
  if (keyId.length > kmsKeyIdCharsMax) problems.push(`KMS_KEY_ID is longer than ${kmsKeyIdCharsMax} characters`);
  const region = required('AWS_REGION', 'eu-central-1');
  if (region !== '' && !awsRegionPattern.test(region)) problems.push(`AWS_REGION ${JSON.stringify(region)} is not an AWS region like eu-central-1`);
  const endpoint = value('KMS_ENDPOINT');
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) problems.push(`KMS_ENDPOINT ${JSON.stringify(endpoint)} is not an http(s) URL`);
  return { kind: 'kms', keyId, region, ...(endpoint === undefined ? {} : { endpoint }) };
}

/**
 * NOTE_KMS_KEY_ID (an ECC_NIST_EDWARDS25519 key, same region and endpoint as SIGNER=kms) or
 * NOTE_SIGNER_KEY_FILE (a local Ed25519 key file). A local ML-DSA-65 receipt key gets a local
 * Ed25519 note key beside it by default; a KMS key of another type needs one of the two
 * (regional/server.ts refuses to start otherwise).
 */
function noteSignerConfigFromEnv(value: (name: string) => string | undefined, problems: string[], signer: SignerConfig, signerKeyFile: string): SignerConfig | undefined {
  const kmsKeyId = value('NOTE_KMS_KEY_ID');
  const keyFile = value('NOTE_SIGNER_KEY_FILE');
  if (kmsKeyId !== undefined && keyFile !== undefined) problems.push('set NOTE_KMS_KEY_ID or NOTE_SIGNER_KEY_FILE, not both');
  if (kmsKeyId !== undefined) {
    if (signer.kind !== 'kms') {
      problems.push('NOTE_KMS_KEY_ID needs SIGNER=kms (it uses the same AWS_REGION and KMS_ENDPOINT)');
      return undefined;
    }
    return { kind: 'kms', keyId: kmsKeyId, region: signer.region, ...(signer.endpoint === undefined ? {} : { endpoint: signer.endpoint }) };
  }
  if (keyFile !== undefined) return { kind: 'local', keyFile, alg: 'EdDSA' };
  if (signer.kind === 'local' && signer.alg === 'ML-DSA-65') return { kind: 'local', keyFile: signerKeyFile.replace(/(\.json)?$/, '.note.json'), alg: 'EdDSA' };
  return undefined;
}
