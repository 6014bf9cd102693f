/**
 * `meridian keys …`: regional signing-key operations (regional/keys/).
 *
 *   meridian keys rotate --region <region> [--data-dir <dir>] [--key-file <file>]
 *                        [--jurisdiction <j>] [--database-url <url>]
 *
 * rotate: the local signer's key file gets a new key of the same algorithm, and the old key is
 * retired in the jurisdiction's key registry (not_after = now) while staying published at every
 * backend's GET /v1/keys (regional/keys/rotate-local-key.ts). The backend picks the new key up
 * when it restarts; until then it signs with the old one, which keeps verifying.
 *
 * Defaults follow `npm start` (cli/dev/launcher.ts): the key file is <data dir>/keys/<region>.json
 * (data dir: MERIDIAN_DATA_DIR or .data), the jurisdiction is the launcher's for that region, and
 * the database is the launcher's for that jurisdiction — with DATABASE_URL set, database
 * meridian_<jurisdiction> on that server, otherwise the local PGlite server, which only answers
 * while `npm start` runs.
 *
 * AWS KMS keys are not rotated here: create a new KMS key, point KMS_KEY_ID at it and restart the
 * backend, which registers the new key and retires its region's previous one; the old key stays
 * in the registry and keeps verifying what it signed.
 */
import { launcherPglitePorts } from './dev/launcher.ts';
import { join } from 'node:path';
import { connectRegionalDatabase } from '../regional/db/client.ts';
import { redactUrl } from '../regional/db/migrate.ts';
import { errorCodes, isConnectionError } from '../regional/db/transaction-errors.ts';
import { rotateLocalSignerKey } from '../regional/keys/rotate-local-key.ts';
import { dataDirectory, regionalBackends } from './dev/launcher.ts';

export const keysCommandsUsage = `  meridian keys rotate --region <region> [--data-dir <dir>] [--key-file <file>] [--jurisdiction <j>] [--database-url <url>]
                                          rotate a local signer key (meridian keys --help)`;

const keysHelp = `usage: meridian keys rotate --region <region> [options]

Makes a new local signer key the active key of <region> and retires the old one in the
jurisdiction's key registry (not_after = now). The old key stays published at GET /v1/keys of every
backend of the jurisdiction, so everything it signed keeps verifying. Restart the backend to sign
with the new key (with npm start: Ctrl-C, then npm start).

options:
  --region <region>        the backend whose key rotates, e.g. eu-1 (required)
  --data-dir <dir>         npm start's data directory (default: MERIDIAN_DATA_DIR or .data);
                           the key file is <dir>/keys/<region>.json
  --key-file <file>        the key file itself (SIGNER_KEY_FILE, or NOTE_SIGNER_KEY_FILE for a
                           separate checkpoint key); overrides --data-dir
  --jurisdiction <j>       the region's jurisdiction (default: npm start's, e.g. eu for eu-1)
  --database-url <url>     the jurisdiction's database (default: npm start's: meridian_<j> on
                           DATABASE_URL's server, else the local PGlite server, up while npm start runs)

AWS KMS: there is no key file. Create a new KMS key, point KMS_KEY_ID at it and restart the
backend: it registers the new key and retires the old one, which stays in the registry.`;

const regionPattern = /^[a-z0-9][a-z0-9-]{0,63}$/;
const jurisdictionPattern = /^[a-z]{2,16}$/;
const optionNames = ['--region', '--data-dir', '--key-file', '--jurisdiction', '--database-url'] as const;
type OptionName = (typeof optionNames)[number];

class KeysUsageError extends Error {}

export interface KeysCommandOutput {
  out: (line: string) => void;
  err: (line: string) => void;
}

const processOutput: KeysCommandOutput = { out: (line) => console.log(line), err: (line) => console.error(line) };

/** `args` after `keys`. Exit code: 0 done, 1 failed, 2 bad usage. */
export async function runKeysCommand(args: readonly string[], output: KeysCommandOutput = processOutput, env: Record<string, string | undefined> = process.env): Promise<number> {
  if (args.length === 0 || args.includes('--help') || args.includes('-h') || args[0] === 'help') {
    output.out(keysHelp);
    return args.length === 0 ? 2 : 0;
  }
  try {
    if (args[0] !== 'rotate') throw new KeysUsageError(`unknown keys command ${JSON.stringify(args[0])}: the one command is rotate`);
    return await rotate(parseOptions(args.slice(1)), output, env);
  } catch (error) {
    if (!(error instanceof KeysUsageError)) throw error;
    output.err(`meridian keys: ${error.message}\n${keysHelp}`);
    return 2;
  }
}

function parseOptions(args: readonly string[]): Partial<Record<OptionName, string>> {
  const options: Partial<Record<OptionName, string>> = {};
  for (let position = 0; position < args.length; position += 2) {
    const name = args[position]!;
    const value = args[position + 1];
    if (!(optionNames as readonly string[]).includes(name)) throw new KeysUsageError(`unknown option ${JSON.stringify(name.slice(0, 40))}`);
    if (value === undefined || value.startsWith('--')) throw new KeysUsageError(`${name} needs a value`);
    if (options[name as OptionName] !== undefined) throw new KeysUsageError(`${name} given twice`);
    options[name as OptionName] = value;
  }
  return options;
}

async function rotate(options: Partial<Record<OptionName, string>>, output: KeysCommandOutput, env: Record<string, string | undefined>): Promise<number> {
  const region = options['--region'];
  if (region === undefined) throw new KeysUsageError('--region is required (e.g. --region eu-1)');
  if (!regionPattern.test(region)) throw new KeysUsageError(`--region ${JSON.stringify(region.slice(0, 40))} is not a region id like eu-1`);
  const launcherBackend = regionalBackends.find((backend) => backend.region === region);
  const jurisdiction = options['--jurisdiction'] ?? launcherBackend?.jurisdiction;
  if (jurisdiction === undefined) throw new KeysUsageError(`${region} is not a backend of npm start (${regionalBackends.map((backend) => backend.region).join(', ')}): pass --jurisdiction and --database-url`);
  if (!jurisdictionPattern.test(jurisdiction)) throw new KeysUsageError(`--jurisdiction ${JSON.stringify(jurisdiction.slice(0, 40))} is not a jurisdiction id like eu`);
  const databaseUrl = options['--database-url'] ?? launcherDatabaseUrl(jurisdiction, env);
  if (databaseUrl === undefined) throw new KeysUsageError(`npm start has no database for jurisdiction ${jurisdiction}: pass --database-url`);
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) throw new KeysUsageError('--database-url is not a postgres:// URL');
  const keyFile = options['--key-file'] ?? join(options['--data-dir'] ?? dataDirectory, 'keys', `${region}.json`);

  const database = connectRegionalDatabase(databaseUrl, { applicationName: `meridian-keys-rotate-${region}`, connectionsMax: 1 });
  try {
    const rotated = await rotateLocalSignerKey({ keyFile, region, jurisdiction, database: database.orm });
    if (!rotated.ok) {
      output.err(`meridian keys rotate: ${rotated.reason.detail}`);
      return 1;
    }
    const { previousKid, kid, alg, purposes, retiredAt } = rotated.value;
    output.out(`meridian keys rotate: ${region} (${jurisdiction}): new ${alg} key ${kid} in ${keyFile}`);
    output.out(
      purposes.length === 0
        ? `  old key ${previousKid} was never registered (it never signed); ${region} registers the new key when it starts`
        : `  old key ${previousKid} retired at ${retiredAt.toISOString()} (${purposes.join(', ')}); it stays published at GET /v1/keys of every ${jurisdiction} backend`,
    );
    output.out(`  restart ${region} to sign with the new key (npm start: Ctrl-C, then npm start); until then it signs with the old one`);
    return 0;
  } catch (error) {
    output.err(`meridian keys rotate: ${databaseProblem(error, databaseUrl)}`);
    return 1;
  } finally {
    await database.close();
  }
}

function launcherDatabaseUrl(jurisdiction: string, env: Record<string, string | undefined>): string | undefined {
  const serverUrl = env.DATABASE_URL;
  if (serverUrl !== undefined && serverUrl !== '') {
    const url = new URL(serverUrl);
    url.pathname = `/meridian_${jurisdiction}`;
    return url.href;
  }
  const port = launcherPglitePorts.get(jurisdiction);
  return port === undefined ? undefined : `postgres://postgres@127.0.0.1:${port}/postgres`;
}

function databaseProblem(error: unknown, databaseUrl: string): string {
  const where = redactUrl(databaseUrl);
  const reason = driverReason(error);
  if (isConnectionError(error) || errorCodes(error).includes('ENOTFOUND')) {
    return `cannot reach the database ${where} (${reason}); is \`npm start\` running (it serves the local databases)? Otherwise pass --database-url`;
  }
  if (errorCodes(error).includes('42P01')) return `the database ${where} has no key registry (signing_keys); run \`node regional/db/migrate.ts\` with DATABASE_URL=${where}`;
  return `${where}: ${reason}`;
}

/** Drizzle's "Failed query: …" wraps the driver's error in `cause`: the innermost message says what happened. */
function driverReason(error: unknown): string {
  let current = error;
  for (let depth = 0; depth < 8 && current instanceof Error && current.cause instanceof Error; depth++) current = current.cause;
  return current instanceof Error ? current.message.split('\n')[0]! : String(current);
}
