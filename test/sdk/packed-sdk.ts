/**
 * The partner SDK as a partner gets it: `npm pack` (whose `prepare` builds dist/), then the tarball
 * unpacked into a fresh project's node_modules, beside links to exactly the dependencies its
 * package.json declares and nothing else of the repository's (an undeclared import fails there).
 *
 * The pack runs in a copy of the package and the core/ modules it compiles in, not in
 * packages/partner-sdk itself, so a test never rewrites the dist/ that a running `meridian`
 * command in the working tree is reading.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const repository = resolve(import.meta.dirname, '../..');
const packageDirectory = join(repository, 'packages/partner-sdk');
/** tsc over the SDK and its core/ modules on two shared cores: generous. */
export const packTimeoutMs = 180_000;

export interface PackedSdk {
  /** The tarball `npm pack` wrote. */
  tarball: string;
  /** Paths inside the tarball (without the leading `package/`). */
  files: string[];
  /** A project directory with the SDK installed in node_modules/@meridian/partner-sdk. */
  project: string;
  remove(): void;
}

export function packAndInstallSdk(): PackedSdk {
  const scratch = mkdtempSync(join(tmpdir(), 'meridian-sdk-pack-'));
  const copy = join(scratch, 'repo');
  for (const path of ['tsconfig.base.json', 'core', 'packages/partner-sdk/package.json', 'packages/partner-sdk/README.md', 'packages/partner-sdk/tsconfig.build.json', 'packages/partner-sdk/src']) {
    cpSync(join(repository, path), join(copy, path), { recursive: true });
  }
  // The build's own tools (tsc, @types/node) and the dependencies it type-checks against.
  symlinkSync(join(repository, 'node_modules'), join(copy, 'node_modules'), 'dir');
  const packed = execFileSync('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: join(copy, 'packages/partner-sdk'), encoding: 'utf8', timeout: packTimeoutMs, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });
  // npm prints the prepare script's output before the JSON report.
  const report = JSON.parse(packed.slice(packed.indexOf('[\n'))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const tarball = join(scratch, report[0]!.filename);
  const project = join(scratch, 'partner-project');
  const installed = join(project, 'node_modules/@meridian/partner-sdk');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dependency of Object.keys(manifest.dependencies)) {
    const link = join(project, 'node_modules', dependency);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(repository, 'node_modules', dependency), link, 'dir');
  }
  return { tarball, files: report[0]!.files.map((file) => file.path), project, remove: () => rmSync(scratch, { recursive: true, force: true }) };
}
