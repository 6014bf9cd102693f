/**
 * The regional process's configuration, read once from the environment at start. Anything
 * missing or malformed stops the process with one readable message naming every problem.
 *
 * Posture: MERIDIAN_POSTURE=local-dev (the one switch every Meridian process reads) allows what
 * only a developer machine may do: the local software signer and creating its key file, and
 * plain-http URLs for the edge's JWKS and a KMS endpoint. Unset, the process runs as production:
 * receipts and log leaves are signed in KMS, and the keys that authorize settlement commits are
 * fetched over https only — over http anyone on the path could swap in their own key and have
 * this backend commit any batch they mint. Any other value is refused rather than guessed at.
 */
import type { SignerConfig } from './signer/create-signer.ts';
import { localSignerAlgorithms, type LocalSignerAlgorithm } from './signer/local-signer.ts';
import { witnessConfigFromEnv, type WitnessProcessConfig } from './witness/witness-config.ts';

export const postureEnvName = 'MERIDIAN_POSTURE';
export type Posture = 'local-dev' | 'production';
/**
 * The edge publishes the keys that sign settlement tokens at this path, apart from the key that
 * signs acceptance receipts (/.well-known/jwks.json): a receipt key must never authorize a commit.
 */
export const settlementTokenJwksPath = '/.well-known/settlement-token-jwks.json';
/** EDGE_JWKS_URL's default under MERIDIAN_POSTURE=local-dev: the local gateway (DESIGN, "Local topology"). */
export const localDevEdgeJwksUrl = `http://127.0.0.1:8787${settlementTokenJwksPath}`;
const edgeJwksUrlCharsMax = 2048;
const localDevHint = `or ${postureEnvName}=local-dev on a developer machine`;

const regionPattern = /^[a-z0-9][a-z0-9-]{0,63}$/;
const jurisdictionPattern = /^[a-z]{2,16}$/;
export const defaultGatewayId = 'meridian-local';
export const defaultHost = '127.0.0.1';
const databaseConnectionsMaxLimit = 32;
/** AWS region names: eu-central-1, us-gov-west-1, ap-southeast-4, … */
const awsRegionPattern = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const kmsKeyIdCharsMax = 2048;

export interface RegionalProcessConfig {
  /** MERIDIAN_POSTURE: local-dev, or production when unset. */
  posture: Posture;
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
  /** WITNESS_URLS, WITNESSED_LOGS and the witness key (regional/witness/witness-config.ts). */
  witnessing: WitnessProcessConfig;
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

  const postureText = value(postureEnvName);
  const posture: Posture = postureText === 'local-dev' ? 'local-dev' : 'production';
  if (postureText !== undefined && postureText !== 'local-dev') {
    problems.push(`${postureEnvName} ${JSON.stringify(postureText.slice(0, 32))} is not local-dev (unset it for production)`);
  }
  const localDev = posture === 'local-dev';

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
  const edgeJwksUrl = edgeJwksUrlFromEnv(value, required, problems, localDev);

  const signerKeyFile = value('SIGNER_KEY_FILE') ?? `.data/keys/${region}.json`;
  const signer = signerConfigFromEnv(value, required, problems, signerKeyFile, localDev);
  const noteSigner = noteSignerConfigFromEnv(value, problems, signer, signerKeyFile, localDev);
  const witnessing = witnessConfigFromEnv(value, problems, { region, localDev, signer });

  if (problems.length > 0) throw new RegionalConfigError(`regional: invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return {
    posture,
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
    witnessing,
  };
}

/**
 * EDGE_JWKS_URL: the edge's settlement-token JWKS. Under local-dev it defaults to the local
 * gateway's and may be http; otherwise it is required and https. Either way its path is the
 * settlement-token JWKS, never the receipts JWKS.
 */
function edgeJwksUrlFromEnv(
  value: (name: string) => string | undefined,
  required: (name: string, example: string) => string,
  problems: string[],
  localDev: boolean,
): URL | undefined {
  const text = localDev ? (value('EDGE_JWKS_URL') ?? localDevEdgeJwksUrl) : required('EDGE_JWKS_URL', `https://gateway.example${settlementTokenJwksPath}`);
  if (text === '') return undefined;
  let url: URL;
  try {
    if (text.length > edgeJwksUrlCharsMax) throw new RangeError('too long');
    url = new URL(text);
  } catch {
    problems.push(`EDGE_JWKS_URL ${JSON.stringify(text.slice(0, 64))} is not a URL`);
    return undefined;
  }
  if (url.protocol !== 'https:' && !(localDev && url.protocol === 'http:')) {
    problems.push(`EDGE_JWKS_URL must be an https:// URL (got ${url.protocol}//…): the keys it serves authorize settlement commits; set an https URL, ${localDevHint} for http`);
  }
  if (!url.pathname.endsWith(settlementTokenJwksPath)) {
    problems.push(`EDGE_JWKS_URL must point at the edge's settlement-token keys, …${settlementTokenJwksPath} (got path ${JSON.stringify(url.pathname.slice(0, 64))})`);
  }
  return url;
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
  localDev: boolean,
): SignerConfig {
  // Key files are created only where the local signer is allowed at all: on a developer machine.
  const createKeyFile = localDev;
  const kind = value('SIGNER') ?? (localDev ? 'local' : undefined);
  if (kind === undefined || (kind === 'local' && !localDev)) {
    problems.push(
      `${kind === undefined ? 'SIGNER is not set' : 'SIGNER=local is refused'}: the local software signer keeps its private key in a file; set SIGNER=kms with KMS_KEY_ID and AWS_REGION (${localDevHint})`,
    );
    return { kind: 'local', keyFile, createKeyFile: false };
  }
  if (kind === 'local') {
    const alg = value('SIGNER_ALG');
    if (alg === undefined) return { kind: 'local', keyFile, createKeyFile };
    if (!(localSignerAlgorithms as readonly string[]).includes(alg)) problems.push(`SIGNER_ALG ${JSON.stringify(alg)} is not one of ${localSignerAlgorithms.join(', ')}`);
    return { kind: 'local', keyFile, alg: alg as LocalSignerAlgorithm, createKeyFile };
  }
  if (kind !== 'kms') {
    problems.push(`SIGNER ${JSON.stringify(kind)} is not local or kms`);
    return { kind: 'local', keyFile, createKeyFile: false };
  }
  const keyId = required('KMS_KEY_ID', 'alias/meridian-eu-1');
  if (keyId.length > kmsKeyIdCharsMax) problems.push(`KMS_KEY_ID is longer than ${kmsKeyIdCharsMax} characters`);
  const region = required('AWS_REGION', 'eu-central-1');
  if (region !== '' && !awsRegionPattern.test(region)) problems.push(`AWS_REGION ${JSON.stringify(region)} is not an AWS region like eu-central-1`);
  const endpoint = value('KMS_ENDPOINT');
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) problems.push(`KMS_ENDPOINT ${JSON.stringify(endpoint)} is not an http(s) URL`);
  else if (endpoint !== undefined && !localDev && !endpoint.startsWith('https://')) problems.push(`KMS_ENDPOINT must be an https:// URL (${localDevHint} for http)`);
  return { kind: 'kms', keyId, region, ...(endpoint === undefined ? {} : { endpoint }) };
}

/**
 * NOTE_KMS_KEY_ID (an ECC_NIST_EDWARDS25519 key, same region and endpoint as SIGNER=kms) or
 * NOTE_SIGNER_KEY_FILE (a local Ed25519 key file). A local ML-DSA-65 receipt key gets a local
 * Ed25519 note key beside it by default; a KMS key of another type needs one of the two
 * (regional/server.ts refuses to start otherwise).
 */
function noteSignerConfigFromEnv(
  value: (name: string) => string | undefined,
  problems: string[],
  signer: SignerConfig,
  signerKeyFile: string,
  localDev: boolean,
): SignerConfig | undefined {
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
  if (keyFile !== undefined) {
    if (!localDev) problems.push(`NOTE_SIGNER_KEY_FILE is refused: a local key file signs checkpoints; set NOTE_KMS_KEY_ID (${localDevHint})`);
    return { kind: 'local', keyFile, alg: 'EdDSA', createKeyFile: localDev };
  }
  if (signer.kind === 'local' && signer.alg === 'ML-DSA-65') {
    return { kind: 'local', keyFile: signerKeyFile.replace(/(\.json)?$/, '.note.json'), alg: 'EdDSA', createKeyFile: signer.createKeyFile };
  }
  return undefined;
}
