/**
 * `meridian evidence …`: the evidence bundle and the supply-chain commands.
 *
 *   evidence export --from <RFC 3339> --to <RFC 3339> --out <file> [--gateway <url>] [--token <jwt>] [--backend <url>]…
 *   evidence verify <file> [--keys <pinned keys file>]
 *   evidence sbom [--out <dir>]
 *   evidence sbom-diff <a.cdx.json> <b.cdx.json>
 *   evidence lock-check
 *
 * Export signs with EVIDENCE_KMS_KEY_ID (an Ed25519 KMS key, AWS_REGION, optional KMS_ENDPOINT):
 * that is how production holds the evidence key, non-exportable. Without it, a local key file
 * (--signing-key, default dev/evidence-signing.json, the committed dev key), announced on stderr.
 * Exit codes: 0 success, 1 verification failed / export failed, 2 bad usage.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isRfc3339DateTime } from '../../core/rfc3339.ts';
import { createSigner } from '../../regional/signer/create-signer.ts';
import type { Signer } from '../../regional/signer/signer.ts';
import { devAccessToken } from '../ops-commands.ts';
import { exportBundle, sbomDirectoryDefault } from './export.ts';
import { ExportFailure } from './http-source.ts';
import { checkInstalledIntegrity, formatSbomDelta, generateSboms, sbomDelta } from './sbom.ts';
import { formatVerifyReport, parsePinnedKeys, verifyBundle } from './verify.ts';

export const evidenceUsage = `  meridian evidence export --from <RFC 3339> --to <RFC 3339> --out <file> [--gateway <url>] [--token <ops jwt>] [--backend <url>]…
  meridian evidence verify <file> [--keys <pinned keys file>]     verify a bundle offline; exit 1 naming each failed item
  meridian evidence sbom [--out <dir>]                            CycloneDX SBOMs of the gateway and regional builds (build/sbom)
  meridian evidence sbom-diff <a.cdx.json> <b.cdx.json>           packages new, removed and changed, with licences
  meridian evidence lock-check                                    installed packages match package-lock.json's integrity hashes`;

export const localBackends = ['http://127.0.0.1:8701', 'http://127.0.0.1:8702', 'http://127.0.0.1:8703', 'http://127.0.0.1:8704'];
export const devEvidenceKeyFile = 'dev/evidence-signing.json';
/** An export covers at most this long a period: a bigger audit asks for several bundles. */
export const exportPeriodMsMax = 31 * 24 * 60 * 60 * 1000;

export interface EvidenceIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processIo: EvidenceIo = { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) };

class UsageError extends Error {}

async function evidenceSigner(keyFile: string | undefined, io: EvidenceIo): Promise<Signer> {
  const kmsKeyId = process.env.EVIDENCE_KMS_KEY_ID;
  if (kmsKeyId !== undefined && kmsKeyId !== '') {
    const region = process.env.AWS_REGION;
    if (region === undefined) throw new UsageError('EVIDENCE_KMS_KEY_ID needs AWS_REGION');
    return createSigner({ kind: 'kms', keyId: kmsKeyId, region, ...(process.env.KMS_ENDPOINT === undefined ? {} : { endpoint: process.env.KMS_ENDPOINT }) });
  }
  const file = keyFile ?? devEvidenceKeyFile;
  if (file === devEvidenceKeyFile) io.stderr(`evidence: signing with the committed dev key ${devEvidenceKeyFile} (set EVIDENCE_KMS_KEY_ID in production)\n`);
  return createSigner({ kind: 'local', keyFile: file, createKeyFile: false });
}

async function runExport(args: string[], io: EvidenceIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { from: { type: 'string' }, to: { type: 'string' }, out: { type: 'string' }, gateway: { type: 'string' }, token: { type: 'string' }, backend: { type: 'string', multiple: true }, 'signing-key': { type: 'string' }, sbom: { type: 'string' } },
    allowPositionals: false,
  });
  if (values.from === undefined || values.to === undefined || values.out === undefined) throw new UsageError('export needs --from, --to and --out');
  for (const [name, text] of [['--from', values.from], ['--to', values.to]] as const) if (!isRfc3339DateTime(text) || Number.isNaN(Date.parse(text))) throw new UsageError(`${name} ${JSON.stringify(text)} is not an RFC 3339 date-time (e.g. 2026-12-01T10:00:00Z)`);
  const span = Date.parse(values.to) - Date.parse(values.from);
  if (span <= 0) throw new UsageError('--to must be after --from');
  if (span > exportPeriodMsMax) throw new UsageError('the period is longer than 31 days: export several bundles');
  const backends = values.backend ?? localBackends;
  for (const url of [...backends, ...(values.gateway === undefined ? [] : [values.gateway])]) if (!/^https?:\/\/[^\s/]+/.test(url)) throw new UsageError(`not an http(s) URL: ${url}`);
  let gateway;
  if (values.gateway !== undefined) {
    const token = values.token ?? process.env.MERIDIAN_OPS_TOKEN ?? (/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(values.gateway) ? await devAccessToken('ana@meridian.example') : undefined);
    if (token === undefined) throw new UsageError('--gateway needs an operator token: --token or MERIDIAN_OPS_TOKEN');
    gateway = { url: values.gateway, token };
  }
  const signer = await evidenceSigner(values['signing-key'], io);
  const startedMs = Date.now();
  const bundle = await exportBundle({ from: values.from, to: values.to, backends, ...(gateway === undefined ? {} : { gateway }), signer, sbomDirectory: values.sbom ?? sbomDirectoryDefault, progress: (line) => io.stderr(`evidence: ${line}\n`) });
  const text = bundleText(bundle);
  await writeFile(values.out, text);
  io.stderr(`evidence: wrote ${values.out} (${bundle.items.length} items, ${text.length} bytes) in ${((Date.now() - startedMs) / 1000).toFixed(1)} s\n`);
  return 0;
}

/**
 * A bundle is one JSON document, so it is bounded by the longest string V8 makes (2^29 − 24
 * characters, ≈ 512 MiB): about 1.3 h of traffic at 50 payments/s. Past it, say so and what to do,
 * instead of the engine's "Invalid string length" after the whole period was gathered.
 */
function bundleText(bundle: unknown): string {
  try {
    return JSON.stringify(bundle);
  } catch (cause) {
    if (!(cause instanceof RangeError)) throw cause;
    throw new UsageError('the bundle for this period is larger than one file can hold (one JSON string of at most ≈ 512 MiB, about 1.3 h at 50 payments/s): export shorter periods with --from/--to; each bundle verifies on its own');
  }
}

async function runVerify(args: string[], io: EvidenceIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { keys: { type: 'string' } }, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('verify needs exactly one bundle file');
  const text = await readFile(positionals[0]!, 'utf8').catch((error: Error & { code?: string }) => {
    if (error.code === 'ERR_STRING_TOO_LONG') throw new UsageError(`${positionals[0]} is larger than one bundle can be (≈ 512 MiB of JSON): not a bundle this tool wrote`);
    throw new UsageError(`cannot read ${positionals[0]}: ${error.message}`);
  });
  let pinned = {};
  if (values.keys !== undefined) {
    try {
      pinned = parsePinnedKeys(await readFile(values.keys, 'utf8'));
    } catch (error) {
      throw new UsageError(`--keys ${values.keys}: ${(error as Error).message}`);
    }
  }
  const report = await verifyBundle(text, pinned);
  io.stdout(formatVerifyReport(report));
  return report.ok ? 0 : 1;
}

async function runSbomDiff(args: string[], io: EvidenceIo): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
  if (positionals.length !== 2) throw new UsageError('sbom-diff needs two CycloneDX JSON files');
  const [before, after] = await Promise.all(
    positionals.map(async (file) => {
      try {
        return JSON.parse(await readFile(file, 'utf8')) as unknown;
      } catch (error) {
        throw new UsageError(`${file}: ${(error as Error).message}`);
      }
    }),
  );
  try {
    io.stdout(formatSbomDelta(sbomDelta(before, after)));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return 0;
}

export async function runEvidenceCommand(args: string[], io: EvidenceIo = processIo): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (rest.includes('--help') || rest.includes('-h') || command === '--help' || command === 'help' || command === undefined) {
      io.stdout(`usage:\n${evidenceUsage}\n`);
      return command === undefined ? 2 : 0;
    }
    switch (command) {
      case 'export':
        return await runExport(rest, io);
      case 'verify':
        return await runVerify(rest, io);
      case 'sbom': {
        const { values } = parseArgs({ args: rest, options: { out: { type: 'string' } } });
        for (const file of await generateSboms(process.cwd(), values.out ?? sbomDirectoryDefault)) io.stdout(`wrote ${file}\n`);
        return 0;
      }
      case 'sbom-diff':
        return await runSbomDiff(rest, io);
      case 'lock-check': {
        const problems = await checkInstalledIntegrity(process.cwd());
        for (const problem of problems) io.stdout(`✗ ${problem.path}: ${problem.detail}\n`);
        io.stdout(problems.length === 0 ? 'installed packages match package-lock.json\n' : `${problems.length} packages do not match package-lock.json\n`);
        return problems.length === 0 ? 0 : 1;
      }
      default:
        throw new UsageError(`unknown evidence command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const usage = error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
    if (usage) {
      io.stderr(`evidence: ${(error as Error).message}\nusage:\n${evidenceUsage}\n`);
      return 2;
    }
    if (error instanceof ExportFailure) {
      io.stderr(`evidence: export failed: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
