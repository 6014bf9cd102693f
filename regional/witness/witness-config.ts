/**
 * Witnessing configuration of one backend process (read by regional/config.ts):
 *
 *   WITNESS_URLS        comma-separated base URLs of the witnesses this backend's log asks to cosign
 *                       its checkpoints: backends of the other jurisdictions (e.g. for eu-1:
 *                       https://us-1.example,https://ap-1.example). Unset: checkpoints carry only
 *                       the log's own signature.
 *   WITNESSED_LOGS      JSON array of the logs this backend witnesses:
 *                       [{"origin": "meridian.example/log/eu", "keys_urls": ["https://eu-1.example/v1/keys", …]}]
 *                       or with pinned keys: [{"origin": …, "verifiers": ["<name>+<id>+<key>", …]}]
 *   WITNESS_KMS_KEY_ID  the witness's Ed25519 cosigning key in KMS (same AWS_REGION/KMS_ENDPOINT as SIGNER=kms), or
 *   WITNESS_KEY_FILE    a local Ed25519 key file (local-dev only; default .data/keys/<REGION>.witness.json)
 * The witness key is its own key, never the receipt or checkpoint key (see ./cosignature.ts).
 */
import { logOrigin } from '../log/checkpoint.ts';
import type { SignerConfig } from '../signer/create-signer.ts';
import type { WitnessedLog } from './log-keys.ts';

export const witnessUrlsMax = 16;
export const witnessedLogsMax = 16;
const urlCharsMax = 2048;
const envJsonCharsMax = 64 * 1024;

export interface WitnessProcessConfig {
  witnessUrls: string[];
  witnessedLogs: WitnessedLog[];
  /** Defined when witnessedLogs is not empty. */
  witnessSigner: SignerConfig | undefined;
}

function httpUrl(text: string, localDev: boolean): string | undefined {
  if (text.length > urlCharsMax) return undefined;
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || (localDev && url.protocol === 'http:') ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

function parseWitnessedLogs(text: string, problems: string[], localDev: boolean): WitnessedLog[] {
  let parsed: unknown;
  try {
    if (text.length > envJsonCharsMax) throw new RangeError('too long');
    parsed = JSON.parse(text);
  } catch {
    problems.push('WITNESSED_LOGS is not JSON (e.g. [{"origin": "meridian.example/log/eu", "keys_urls": ["https://eu-1.example/v1/keys"]}])');
    return [];
  }
  if (!Array.isArray(parsed) || parsed.length > witnessedLogsMax) {
    problems.push(`WITNESSED_LOGS must be a JSON array of at most ${witnessedLogsMax} logs`);
    return [];
  }
  const logs: WitnessedLog[] = [];
  for (const [position, entry] of parsed.entries()) {
    const log = entry as { origin?: unknown; keys_urls?: unknown; verifiers?: unknown };
    const strings = (value: unknown) => (Array.isArray(value) && value.every((item) => typeof item === 'string') ? (value as string[]) : undefined);
    const keysUrls = log.keys_urls === undefined ? [] : strings(log.keys_urls);
    const verifiers = log.verifiers === undefined ? [] : strings(log.verifiers);
    if (typeof log.origin !== 'string' || log.origin === '' || keysUrls === undefined || verifiers === undefined || keysUrls.length + verifiers.length === 0) {
      problems.push(`WITNESSED_LOGS[${position}] needs an "origin" and "keys_urls" or "verifiers" (arrays of strings)`);
      continue;
    }
    const urls = keysUrls.map((url) => httpUrl(url, localDev));
    if (urls.some((url) => url === undefined)) problems.push(`WITNESSED_LOGS[${position}].keys_urls must be https:// URLs${localDev ? ' or http://' : ''}`);
    logs.push({ origin: log.origin, keysUrls: urls.filter((url) => url !== undefined), verifiers });
  }
  return logs;
}

export function witnessConfigFromEnv(
  value: (name: string) => string | undefined,
  problems: string[],
  context: { region: string; localDev: boolean; signer: SignerConfig },
): WitnessProcessConfig {
  const urlTexts = (value('WITNESS_URLS') ?? '').split(',').map((text) => text.trim()).filter((text) => text !== '');
  if (urlTexts.length > witnessUrlsMax) problems.push(`WITNESS_URLS lists more than ${witnessUrlsMax} witnesses`);
  const witnessUrls: string[] = [];
  for (const text of urlTexts) {
    const url = httpUrl(text, context.localDev);
    if (url === undefined) problems.push(`WITNESS_URLS entry ${JSON.stringify(text.slice(0, 64))} is not an https:// URL${context.localDev ? ' (or http:// under local-dev)' : ''}`);
    else witnessUrls.push(url);
  }
  const logsText = value('WITNESSED_LOGS');
  const witnessedLogs = logsText === undefined ? [] : parseWitnessedLogs(logsText, problems, context.localDev);
  if (witnessedLogs.length === 0) return { witnessUrls, witnessedLogs, witnessSigner: undefined };
  const kmsKeyId = value('WITNESS_KMS_KEY_ID');
  const keyFile = value('WITNESS_KEY_FILE');
  if (kmsKeyId !== undefined) {
    if (context.signer.kind !== 'kms') problems.push('WITNESS_KMS_KEY_ID needs SIGNER=kms (it uses the same AWS_REGION and KMS_ENDPOINT)');
    else return { witnessUrls, witnessedLogs, witnessSigner: { kind: 'kms', keyId: kmsKeyId, region: context.signer.region, ...(context.signer.endpoint === undefined ? {} : { endpoint: context.signer.endpoint }) } };
  }
  if (!context.localDev) {
    problems.push('WITNESSED_LOGS needs WITNESS_KMS_KEY_ID (an ECC_NIST_EDWARDS25519 key); a local witness key file is for MERIDIAN_POSTURE=local-dev only');
    return { witnessUrls, witnessedLogs, witnessSigner: undefined };
  }
  return { witnessUrls, witnessedLogs, witnessSigner: { kind: 'local', keyFile: keyFile ?? `.data/keys/${context.region}.witness.json`, alg: 'EdDSA', createKeyFile: true } };
}

/**
 * The local topology's witnessing (cli/dev/launcher.ts): every backend witnesses the logs of the
 * other jurisdictions, whose keys it reads from their backends' /v1/keys, and asks the backends of
 * the other jurisdictions to cosign its own log's checkpoints.
 */
export function localWitnessEnv(
  backend: { region: string; jurisdiction: string },
  backends: ReadonlyArray<{ region: string; jurisdiction: string; port: number }>,
  keyDirectory: string,
): Record<string, string> {
  const others = backends.filter((other) => other.jurisdiction !== backend.jurisdiction);
  const url = (other: { port: number }) => `http://127.0.0.1:${other.port}`;
  const otherJurisdictions = [...new Set(others.map((other) => other.jurisdiction))];
  const logs = otherJurisdictions.map((jurisdiction) => ({
    origin: logOrigin(jurisdiction),
    keys_urls: others.filter((other) => other.jurisdiction === jurisdiction).map((other) => `${url(other)}/v1/keys`),
  }));
  return {
    WITNESS_URLS: others.map(url).join(','),
    WITNESSED_LOGS: JSON.stringify(logs),
    WITNESS_KEY_FILE: `${keyDirectory}/${backend.region}.witness.json`,
  };
}
