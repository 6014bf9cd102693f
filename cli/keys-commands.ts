/**
 * `meridian keys …`: regional signing-key operations (regional/keys/).
 *
 *   meridian keys rotate --region <region> [--data-dir <dir>] [--key-file <file>]
 *                        [--jurisdiction <j>] [--database-url <url>] [--json]
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
import { join } from 'node:path';
import { defineCommand, defineGroup, exitOk, runGroup, type CommandContext, type CommandIo, jsonOption } from './command.ts';

const regionPattern = /^[a-z0-9][a-z0-9-]{0,63}$/;
const jurisdictionPattern = /^[a-z]{2,16}$/;

export interface KeysCommandOutput {
  out: (line: string) => void;
  err: (line: string) => void;
}

const processOutput: KeysCommandOutput = { out: (line) => console.log(line), err: (line) => console.error(line) };

const rotate = defineCommand({
  name: 'rotate',
  summary: "make a new local signer key a region's active key and retire the old one in the key registry",
  options: {
    ...jsonOption,
    region: { type: 'string', valueName: 'region', required: true, description: 'the backend whose key rotates, e.g. eu-1' },
    'data-dir': { type: 'string', valueName: 'dir', description: "npm start's data directory (default MERIDIAN_DATA_DIR or .data); the key file is <dir>/keys/<region>.json" },
    'key-file': { type: 'string', valueName: 'file', description: 'the key file itself (SIGNER_KEY_FILE, or NOTE_SIGNER_KEY_FILE); overrides --data-dir' },
    jurisdiction: { type: 'string', valueName: 'j', description: "the region's jurisdiction (default: npm start's, e.g. eu for eu-1)" },
    'database-url': { type: 'string', valueName: 'url', description: "the jurisdiction's database (default: npm start's: meridian_<j> on DATABASE_URL's server, else its PGlite)" },
  },
  details: `The old key is retired (not_after = now) and stays published at GET /v1/keys of every backend of
the jurisdiction, so everything it signed keeps verifying. Restart the backend to sign with the
new key (with npm start: Ctrl-C, then npm start); until then it signs with the old one.

AWS KMS: there is no key file. Create a new KMS key, point KMS_KEY_ID at it and restart the
backend: it registers the new key and retires the old one, which stays in the registry.`,
  async run({ values }, context) {
    const region = values.region!;
    if (!regionPattern.test(region)) return context.usageError(`--region ${JSON.stringify(region.slice(0, 40))} is not a region id like eu-1`);
    const { dataDirectory, launcherPglitePorts, regionalBackends } = await import('./dev/launcher.ts');
    const jurisdiction = values.jurisdiction ?? regionalBackends.find((backend) => backend.region === region)?.jurisdiction;
    if (jurisdiction === undefined) return context.usageError(`${region} is not a backend of npm start (${regionalBackends.map((backend) => backend.region).join(', ')}): pass --jurisdiction and --database-url`);
    if (!jurisdictionPattern.test(jurisdiction)) return context.usageError(`--jurisdiction ${JSON.stringify(jurisdiction.slice(0, 40))} is not a jurisdiction id like eu`);
    const databaseUrl = values['database-url'] ?? launcherDatabaseUrl(jurisdiction, context.io.env, launcherPglitePorts);
    if (databaseUrl === undefined) return context.usageError(`npm start has no database for jurisdiction ${jurisdiction}: pass --database-url`);
    if (!/^postgres(ql)?:\/\//.test(databaseUrl)) return context.usageError('--database-url is not a postgres:// URL');
    const keyFile = values['key-file'] ?? join(values['data-dir'] ?? dataDirectory, 'keys', `${region}.json`);
    return rotateKey({ region, jurisdiction, databaseUrl, keyFile, json: values.json === true }, context);
  },
});

async function rotateKey(target: { region: string; jurisdiction: string; databaseUrl: string; keyFile: string; json: boolean }, context: CommandContext): Promise<number> {
  const [{ connectRegionalDatabase }, { rotateLocalSignerKey }] = await Promise.all([import('../regional/db/client.ts'), import('../regional/keys/rotate-local-key.ts')]);
  const { region, jurisdiction, keyFile } = target;
  const database = connectRegionalDatabase(target.databaseUrl, { applicationName: `meridian-keys-rotate-${region}`, connectionsMax: 1 });
  try {
    const rotated = await rotateLocalSignerKey({ keyFile, region, jurisdiction, database: database.orm });
    if (!rotated.ok) return context.failure(rotated.reason.detail);
    const { previousKid, kid, alg, purposes, retiredAt } = rotated.value;
    if (target.json) {
      context.printJson({ region, jurisdiction, key_file: keyFile, kid, alg, previous_kid: previousKid, retired_at: purposes.length === 0 ? null : retiredAt.toISOString(), purposes });
      return exitOk;
    }
    const out = (line: string) => context.io.stdout(`${line}\n`);
    out(`${context.path}: ${region} (${jurisdiction}): new ${alg} key ${kid} in ${keyFile}`);
    out(
      purposes.length === 0
        ? `  old key ${previousKid} was never registered (it never signed); ${region} registers the new key when it starts`
        : `  old key ${previousKid} retired at ${retiredAt.toISOString()} (${purposes.join(', ')}); it stays published at GET /v1/keys of every ${jurisdiction} backend`,
    );
    out(`  restart ${region} to sign with the new key (npm start: Ctrl-C, then npm start); until then it signs with the old one`);
    return exitOk;
  } catch (error) {
    return context.failure(await databaseProblem(error, target.databaseUrl));
  } finally {
    await database.close();
  }
}

export const keysGroup = defineGroup({
  name: 'keys',
  summary: "regional signing keys: rotate a backend's local signer key",
  children: [rotate],
});

/** `args` after `keys`, for callers outside the meridian command. Exit code: 0 done, 1 failed, 2 bad usage. */
export async function runKeysCommand(args: readonly string[], output: KeysCommandOutput = processOutput, env: Record<string, string | undefined> = process.env): Promise<number> {
  const io: CommandIo = { stdout: (text) => output.out(text.replace(/\n$/, '')), stderr: (text) => output.err(text.replace(/\n$/, '')), env };
  return runGroup(keysGroup, ['meridian', 'keys'], args, io);
}

function launcherDatabaseUrl(jurisdiction: string, env: Readonly<Record<string, string | undefined>>, pglitePorts: ReadonlyMap<string, number>): string | undefined {
  const serverUrl = env.DATABASE_URL;
  if (serverUrl !== undefined && serverUrl !== '') {
    const url = new URL(serverUrl);
    url.pathname = `/meridian_${jurisdiction}`;
    return url.href;
  }
  const port = pglitePorts.get(jurisdiction);
  return port === undefined ? undefined : `postgres://postgres@127.0.0.1:${port}/postgres`;
}

async function databaseProblem(error: unknown, databaseUrl: string): Promise<string> {
  const [{ redactUrl }, { errorCodes, isConnectionError }] = await Promise.all([import('../regional/db/migrate.ts'), import('../regional/db/transaction-errors.ts')]);
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
