/**
 * A local server speaking the AWS KMS JSON 1.1 protocol, so tests drive the real
 * `@aws-sdk/client-kms` — request signing, serialization, error parsing, retries — end to end.
 *
 * Protocol: POST / with `X-Amz-Target: TrentService.<Operation>` and
 * `Content-Type: application/x-amz-json-1.1`; blobs are base64 strings, timestamps epoch seconds;
 * errors are HTTP 400 with `{"__type": "<ErrorName>", "message": …}` (the SDK keys on __type).
 * Operations: CreateKey, DescribeKey, GetPublicKey, Sign, with KMS's validation rules for the
 * signing key specs Meridian uses (ECC_NIST_EDWARDS25519, ECC_NIST_P256, ML_DSA_65) and their
 * message types (RAW ≤ 4,096 bytes, DIGEST, EXTERNAL_MU).
 *
 * Every request must carry a valid SigV4 signature for the test credentials: the Authorization
 * header is parsed (credential scope = <date>/<region>/kms/aws4_request; host, x-amz-date and
 * x-amz-target signed), the canonical request is rebuilt from what arrived, and the signature is
 * recomputed with HMAC-SHA256 (AWS SigV4 "Create a signed request"). A request the SDK signed
 * wrongly therefore fails here as it would at AWS.
 *
 * Keys are real: Ed25519 and P-256 from node:crypto, ML-DSA-65 from @noble/post-quantum (its
 * SubjectPublicKeyInfo encoded by node:crypto, so the signer's SPKI parsing is checked against an
 * independent encoder). Test controls: `throttle(n)` answers the next n calls with
 * ThrottlingException, `stall(n, ms)` delays the next n answers, `requests` records every call.
 */
import { createHash, createHmac, createPublicKey, generateKeyPairSync, randomUUID, sign as nodeSign, timingSafeEqual, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { p256 } from '@noble/curves/nist.js';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';

export type LocalKeySpec = 'ECC_NIST_EDWARDS25519' | 'ECC_NIST_P256' | 'ML_DSA_65';
export type KmsOperation = 'CreateKey' | 'DescribeKey' | 'GetPublicKey' | 'Sign';

export interface KmsTestCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface KmsLocalServerOptions {
  region?: string;
  accountId?: string;
  credentials?: KmsTestCredentials;
}

export interface LocalKmsKey {
  keyId: string;
  arn: string;
}

export interface KmsRequestRecord {
  operation: string;
  status: number;
  errorType?: string;
  signingAlgorithm?: string;
  messageType?: string;
}

export interface KmsLocalServer {
  endpoint: string;
  region: string;
  credentials: KmsTestCredentials;
  createKey(keySpec: LocalKeySpec, options?: { creationDate?: Date; alias?: string; keyUsage?: 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT'; enabled?: boolean }): LocalKmsKey;
  /** The next `count` calls (of `operation`, or any) answer ThrottlingException. */
  throttle(count: number, operation?: KmsOperation): void;
  /** The next `count` calls wait `delayMs` before answering (request-timeout tests). */
  stall(count: number, delayMs: number): void;
  requests: KmsRequestRecord[];
  close(): Promise<void>;
}

const requestBodyBytesMax = 1024 * 1024;
const rawMessageBytesMax = 4_096;
/** AWS rejects requests whose x-amz-date is more than 15 minutes off; 5 here is stricter. */
const clockSkewMsMax = 5 * 60_000;

interface StoredKey {
  keyId: string;
  arn: string;
  keySpec: LocalKeySpec;
  keyUsage: 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT';
  enabled: boolean;
  creationDate: Date;
  spki: Buffer;
  signingAlgorithms: string[];
  sign(message: Buffer, signingAlgorithm: string, messageType: string): Buffer;
}

class KmsError extends Error {
  readonly type: string;
  constructor(type: string, message: string) {
    super(message);
    this.type = type;
  }
}

export async function startKmsLocalServer(options: KmsLocalServerOptions = {}): Promise<KmsLocalServer> {
  const region = options.region ?? 'eu-central-1';
  const accountId = options.accountId ?? '111122223333';
  const credentials = options.credentials ?? { accessKeyId: 'AKIAMERIDIANTEST0001', secretAccessKey: `meridian-test-secret-${randomUUID()}` };
  const keys = new Map<string, StoredKey>();
  const aliases = new Map<string, string>();
  const throttles: Array<KmsOperation | undefined> = [];
  const stalls: number[] = [];
  const requests: KmsRequestRecord[] = [];

  const addKey = (keySpec: LocalKeySpec, keyOptions: Parameters<KmsLocalServer['createKey']>[1] = {}): StoredKey => {
    const keyId = randomUUID();
    const key: StoredKey = {
      keyId,
      arn: `arn:aws:kms:${region}:${accountId}:key/${keyId}`,
      keySpec,
      keyUsage: keyOptions.keyUsage ?? 'SIGN_VERIFY',
      enabled: keyOptions.enabled ?? true,
      creationDate: keyOptions.creationDate ?? new Date(),
      ...keyMaterial(keySpec),
    };
    keys.set(keyId, key);
    if (keyOptions.alias !== undefined) aliases.set(keyOptions.alias, keyId);
    return key;
  };

  const resolveKey = (keyIdInput: unknown): StoredKey => {
    if (typeof keyIdInput !== 'string' || keyIdInput.length === 0 || keyIdInput.length > 2048) throw new KmsError('ValidationException', '1 validation error detected: Value at \'keyId\' failed to satisfy constraint: Member must have length greater than or equal to 1');
    const aliasArn = new RegExp(`^arn:aws:kms:${region}:${accountId}:(alias/.+)$`).exec(keyIdInput);
    const keyArn = new RegExp(`^arn:aws:kms:${region}:${accountId}:key/(.+)$`).exec(keyIdInput);
    const aliasName = aliasArn?.[1] ?? (keyIdInput.startsWith('alias/') ? keyIdInput : undefined);
    if (aliasName !== undefined) {
      const target = aliases.get(aliasName);
      if (target === undefined) throw new KmsError('NotFoundException', `Alias arn:aws:kms:${region}:${accountId}:${aliasName} is not found.`);
      return keys.get(target)!;
    }
    const key = keys.get(keyArn?.[1] ?? keyIdInput);
    if (key === undefined) throw new KmsError('NotFoundException', `Key 'arn:aws:kms:${region}:${accountId}:key/${keyArn?.[1] ?? keyIdInput}' does not exist`);
    return key;
  };

  const keyMetadata = (key: StoredKey) => ({
    AWSAccountId: accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: key.creationDate.getTime() / 1000,
    Enabled: key.enabled,
    Description: '',
    KeyUsage: key.keyUsage,
    KeyState: key.enabled ? 'Enabled' : 'Disabled',
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    SigningAlgorithms: key.signingAlgorithms,
    MultiRegion: false,
  });

  const operations: Record<KmsOperation, (input: Record<string, unknown>, record: KmsRequestRecord) => unknown> = {
    CreateKey: (input) => {
      const keySpec = input.KeySpec;
      if (keySpec !== 'ECC_NIST_EDWARDS25519' && keySpec !== 'ECC_NIST_P256' && keySpec !== 'ML_DSA_65') throw new KmsError('ValidationException', `KeySpec ${String(keySpec)} is not supported by this local server`);
      if (input.KeyUsage !== 'SIGN_VERIFY') throw new KmsError('ValidationException', `KeyUsage ${String(input.KeyUsage)} is not valid for KeySpec ${keySpec}`);
      return { KeyMetadata: keyMetadata(addKey(keySpec)) };
    },
    DescribeKey: (input) => ({ KeyMetadata: keyMetadata(resolveKey(input.KeyId)) }),
    GetPublicKey: (input) => {
      const key = resolveKey(input.KeyId);
      if (!key.enabled) throw new KmsError('DisabledException', `${key.arn} is disabled.`);
      return { KeyId: key.arn, PublicKey: key.spki.toString('base64'), CustomerMasterKeySpec: key.keySpec, KeySpec: key.keySpec, KeyUsage: key.keyUsage, SigningAlgorithms: key.signingAlgorithms };
    },
    Sign: (input, record) => {
      const key = resolveKey(input.KeyId);
      if (!key.enabled) throw new KmsError('DisabledException', `${key.arn} is disabled.`);
      if (key.keyUsage !== 'SIGN_VERIFY') throw new KmsError('InvalidKeyUsageException', `${key.arn} key usage is ${key.keyUsage} which is not valid for Sign.`);
      const signingAlgorithm = String(input.SigningAlgorithm);
      const messageType = input.MessageType === undefined ? 'RAW' : String(input.MessageType);
      record.signingAlgorithm = signingAlgorithm;
      record.messageType = messageType;
      if (!key.signingAlgorithms.includes(signingAlgorithm)) throw new KmsError('InvalidKeyUsageException', `Signing algorithm ${signingAlgorithm} is not valid for ${key.arn}.`);
      if (typeof input.Message !== 'string') throw new KmsError('ValidationException', "1 validation error detected: Value null at 'message' failed to satisfy constraint: Member must not be null");
      const message = Buffer.from(input.Message, 'base64');
      if (message.length < 1 || message.length > rawMessageBytesMax) throw new KmsError('ValidationException', `1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to ${rawMessageBytesMax}`);
      return { KeyId: key.arn, Signature: key.sign(message, signingAlgorithm, messageType).toString('base64'), SigningAlgorithm: signingAlgorithm };
    },
  };

  const server: Server = createServer((request, response) => {
    void handle(request, response);
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = request.headers['x-amz-target'];
    const operation = typeof target === 'string' && target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : String(target);
    const record: KmsRequestRecord = { operation, status: 200 };
    requests.push(record);
    const answer = (status: number, body: unknown, errorType?: string) => {
      record.status = status;
      if (errorType !== undefined) record.errorType = errorType;
      const send = () => {
        if (response.destroyed) return;
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() }).end(JSON.stringify(body));
      };
      const delayMs = stalls.shift();
      if (delayMs === undefined) send();
      else setTimeout(send, delayMs);
    };
    try {
      const body = await readBody(request);
      verifySigV4(request, body, { region, service: 'kms', credentials, now: new Date() });
      if (request.method !== 'POST' || request.url !== '/') throw new KmsError('UnknownOperationException', `${request.method} ${request.url} is not a KMS operation`);
      if (request.headers['content-type'] !== 'application/x-amz-json-1.1') throw new KmsError('SerializationException', `content-type ${request.headers['content-type']} is not application/x-amz-json-1.1`);
      if (!(operation in operations)) throw new KmsError('UnknownOperationException', `operation ${operation} is not supported by this local server`);
      const pending = throttles.findIndex((throttled) => throttled === undefined || throttled === operation);
      if (pending !== -1) {
        throttles.splice(pending, 1);
        throw new KmsError('ThrottlingException', 'Rate exceeded');
      }
      let input: unknown;
      try {
        input = JSON.parse(body.toString('utf8') || '{}');
      } catch {
        throw new KmsError('SerializationException', 'request body is not JSON');
      }
      if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new KmsError('SerializationException', 'request body is not a JSON object');
      answer(200, operations[operation as KmsOperation](input as Record<string, unknown>, record));
    } catch (error) {
      if (error instanceof KmsError) answer(400, { __type: error.type, message: error.message }, error.type);
      else answer(500, { __type: 'KMSInternalException', message: (error as Error).message }, 'KMSInternalException');
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region,
    credentials,
    createKey: (keySpec, keyOptions) => {
      const key = addKey(keySpec, keyOptions);
      return { keyId: key.keyId, arn: key.arn };
    },
    throttle: (count, operation) => {
      for (let index = 0; index < count; index++) throttles.push(operation);
    },
    stall: (count, delayMs) => {
      for (let index = 0; index < count; index++) stalls.push(delayMs);
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function keyMaterial(keySpec: LocalKeySpec): Pick<StoredKey, 'spki' | 'signingAlgorithms' | 'sign'> {
  switch (keySpec) {
    case 'ECC_NIST_EDWARDS25519': {
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      return {
        spki: publicKey.export({ format: 'der', type: 'spki' }),
        signingAlgorithms: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'],
        sign: (message, signingAlgorithm, messageType) => {
          if (signingAlgorithm !== 'ED25519_SHA_512') throw new KmsError('ValidationException', `${signingAlgorithm} is not implemented by this local server`);
          if (messageType !== 'RAW') throw new KmsError('ValidationException', 'ED25519_SHA_512 requires MessageType RAW');
          return nodeSign(null, message, privateKey);
        },
      };
    }
    case 'ECC_NIST_P256': {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const scalar = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
      return {
        spki: publicKey.export({ format: 'der', type: 'spki' }),
        signingAlgorithms: ['ECDSA_SHA_256'],
        sign: (message, _signingAlgorithm, messageType) => ecdsaSign(privateKey, scalar, message, messageType),
      };
    }
    case 'ML_DSA_65': {
      const { publicKey, secretKey } = ml_dsa65.keygen();
      const spki = createPublicKey({ key: { kty: 'AKP', alg: 'ML-DSA-65', pub: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' }).export({ format: 'der', type: 'spki' });
      return {
        spki,
        signingAlgorithms: ['ML_DSA_SHAKE_256'],
        sign: (message, _signingAlgorithm, messageType) => {
          if (messageType === 'RAW') return Buffer.from(ml_dsa65.sign(message, secretKey));
          if (messageType !== 'EXTERNAL_MU') throw new KmsError('ValidationException', `MessageType ${messageType} is not valid for ML_DSA_SHAKE_256`);
          if (message.length !== 64) throw new KmsError('ValidationException', 'EXTERNAL_MU message must be 64 bytes');
          return Buffer.from(ml_dsa65.internal.sign(message, secretKey, { externalMu: true }));
        },
      };
    }
  }
}

/** DER signatures as KMS returns them, with S left as the signing produced it (not low-S). */
function ecdsaSign(privateKey: KeyObject, scalar: Uint8Array, message: Buffer, messageType: string): Buffer {
  if (messageType === 'RAW') return nodeSign('sha256', message, { key: privateKey, dsaEncoding: 'der' });
  if (messageType !== 'DIGEST') throw new KmsError('ValidationException', `MessageType ${messageType} is not valid for ECDSA_SHA_256`);
  if (message.length !== 32) throw new KmsError('ValidationException', 'Digest is invalid length for algorithm ECDSA_SHA_256.');
  return Buffer.from(p256.sign(message, scalar, { prehash: false, lowS: false, format: 'der' }));
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request) {
    length += (chunk as Buffer).length;
    if (length > requestBodyBytesMax) throw new KmsError('ValidationException', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

interface SigV4Expectation {
  region: string;
  service: string;
  credentials: KmsTestCredentials;
  now: Date;
}

const authorizationPattern = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
const amzDatePattern = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const headersThatMustBeSigned = ['host', 'x-amz-date', 'x-amz-target'];

/**
 * AWS Signature Version 4 for a request with its body (docs: "Create a signed AWS API request"):
 *   canonical request = method \n path \n query \n canonical headers \n signed headers \n hex(SHA-256(body))
 *   string to sign     = AWS4-HMAC-SHA256 \n x-amz-date \n scope \n hex(SHA-256(canonical request))
 *   signing key        = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
 * Throws the KmsError AWS would answer with.
 */
export function verifySigV4(request: IncomingMessage, body: Buffer, expected: SigV4Expectation): void {
  const authorization = request.headers.authorization;
  if (authorization === undefined) throw new KmsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const parsed = authorizationPattern.exec(authorization);
  if (parsed === null) throw new KmsError('IncompleteSignatureException', `Authorization header is not a SigV4 header: ${authorization.slice(0, 80)}`);
  const [, accessKeyId, scopeDate, scopeRegion, scopeService, signedHeadersText, signature] = parsed as unknown as [string, string, string, string, string, string, string];
  if (accessKeyId !== expected.credentials.accessKeyId) throw new KmsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (scopeRegion !== expected.region) throw new KmsError('InvalidSignatureException', `Credential should be scoped to a valid region, not '${scopeRegion}'.`);
  if (scopeService !== expected.service) throw new KmsError('InvalidSignatureException', `Credential should be scoped to correct service: '${expected.service}'.`);
  const signedHeaders = signedHeadersText.split(';');
  if (signedHeaders.join(';') !== [...signedHeaders].sort().join(';')) throw new KmsError('InvalidSignatureException', 'SignedHeaders are not sorted.');
  for (const name of headersThatMustBeSigned) {
    if (!signedHeaders.includes(name)) throw new KmsError('InvalidSignatureException', `'${name}' must be a signed header.`);
  }
  if (request.headers['x-amz-security-token'] !== undefined && !signedHeaders.includes('x-amz-security-token')) {
    throw new KmsError('InvalidSignatureException', "'x-amz-security-token' must be a signed header.");
  }
  const amzDate = String(request.headers['x-amz-date']);
  const dateParts = amzDatePattern.exec(amzDate);
  if (dateParts === null) throw new KmsError('IncompleteSignatureException', `X-Amz-Date ${amzDate} is not in ISO 8601 basic format.`);
  const signedAt = Date.UTC(Number(dateParts[1]), Number(dateParts[2]) - 1, Number(dateParts[3]), Number(dateParts[4]), Number(dateParts[5]), Number(dateParts[6]));
  if (Math.abs(expected.now.getTime() - signedAt) > clockSkewMsMax) throw new KmsError('InvalidSignatureException', 'Signature expired: the request time is too far from the server time.');
  if (amzDate.slice(0, 8) !== scopeDate) throw new KmsError('InvalidSignatureException', 'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.');

  const payloadHash = createHash('sha256').update(body).digest('hex');
  const declaredPayloadHash = request.headers['x-amz-content-sha256'];
  if (declaredPayloadHash !== undefined && declaredPayloadHash !== payloadHash && declaredPayloadHash !== 'UNSIGNED-PAYLOAD') {
    throw new KmsError('InvalidSignatureException', 'The provided x-amz-content-sha256 header does not match what was computed.');
  }
  const url = new URL(request.url ?? '/', 'http://localhost');
  const canonicalQuery = [...url.searchParams.entries()]
    .map(([name, value]) => [awsUriEncode(name), awsUriEncode(value)] as const)
    .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${headerValues(request, name).map((value) => value.trim().replace(/\s+/g, ' ')).join(',')}\n`).join('');
  const canonicalRequest = [request.method, url.pathname, canonicalQuery, canonicalHeaders, signedHeadersText, typeof declaredPayloadHash === 'string' ? declaredPayloadHash : payloadHash].join('\n');
  const scope = `${scopeDate}/${scopeRegion}/${scopeService}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  let signingKey: Buffer = Buffer.from(`AWS4${expected.credentials.secretAccessKey}`);
  for (const part of [scopeDate, scopeRegion, scopeService, 'aws4_request']) signingKey = createHmac('sha256', signingKey).update(part).digest();
  const computed = createHmac('sha256', signingKey).update(stringToSign).digest();
  if (!timingSafeEqual(computed, Buffer.from(signature, 'hex'))) {
    throw new KmsError('InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.');
  }
}

function headerValues(request: IncomingMessage, name: string): string[] {
  const values: string[] = [];
  for (let index = 0; index < request.rawHeaders.length; index += 2) {
    if (request.rawHeaders[index]!.toLowerCase() === name) values.push(request.rawHeaders[index + 1]!);
  }
  if (values.length === 0) throw new KmsError('InvalidSignatureException', `signed header ${name} is missing from the request`);
  return values;
}

/** RFC 3986 unreserved characters pass; everything else is %XX in upper case (SigV4's rule). */
function awsUriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}
