/**
 * Supply chain: the build's SBOMs, the lockfile integrity check, and the SBOM delta.
 *
 * - `npm run sbom` → build/sbom/gateway.cdx.json and build/sbom/regional.cdx.json: CycloneDX 1.6
 *   from @cyclonedx/cyclonedx-npm (the OWASP generator; offline, from package-lock.json and
 *   node_modules), runtime dependencies only (--omit dev), flattened, reproducible. Both builds
 *   come from this one package.json and lockfile, so both list the same runtime tree; each names
 *   its own build as the main component. The evidence export bundles them with their digests.
 * - lockfile integrity (`npm test` runs test/evidence/supply-chain.test.ts): every package npm
 *   recorded as installed (node_modules/.package-lock.json) has the version, resolved URL and
 *   integrity hash that package-lock.json pins, and nothing is installed that the lockfile lacks.
 *   Threat: a dependency swapped in node_modules (a compromised cache or mirror, a manual edit)
 *   after the lockfile was reviewed.
 * - `meridian evidence sbom-diff <a> <b>`: packages new, removed and changed, with licences.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const sbomBuilds = [
  { file: 'gateway.cdx.json', component: 'meridian-gateway', description: 'the edge Worker (workers/, durable-objects/, core/)' },
  { file: 'regional.cdx.json', component: 'meridian-regional', description: 'the regional settlement backend (regional/, core/)' },
] as const;
const generatorTimeoutMs = 120_000;

export async function generateSboms(root: string, outDirectory: string): Promise<string[]> {
  await mkdir(outDirectory, { recursive: true });
  const raw = join(outDirectory, 'runtime.generated.json');
  try {
    await promisify(execFile)(join(root, 'node_modules/.bin/cyclonedx-npm'), ['--omit', 'dev', '--flatten-components', '--output-reproducible', '--spec-version', '1.6', '--output-format', 'JSON', '--output-file', raw, join(root, 'package.json')], { cwd: root, timeout: generatorTimeoutMs });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim().split('\n').slice(-5).join('\n');
    throw new Error(`cyclonedx-npm failed: ${stderr || (error as Error).message}`, { cause: error });
  }
  const document = JSON.parse(await readFile(raw, 'utf8')) as { metadata: { component: { name: string; description?: string } } };
  await rm(raw);
  const written: string[] = [];
  for (const build of sbomBuilds) {
    const named = { ...document, metadata: { ...document.metadata, component: { ...document.metadata.component, name: build.component, description: build.description } } };
    await writeFile(join(outDirectory, build.file), `${JSON.stringify(named, null, 2)}\n`);
    written.push(join(outDirectory, build.file));
  }
  return written;
}

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  optional?: boolean;
  dev?: boolean;
}

export interface IntegrityProblem {
  path: string;
  detail: string;
}

/** Installed (node_modules/.package-lock.json) against pinned (package-lock.json). */
export function lockfileIntegrityProblems(pinnedLock: unknown, installedLock: unknown): IntegrityProblem[] {
  const pinned = (pinnedLock as { packages?: Record<string, LockEntry> }).packages ?? {};
  const installed = (installedLock as { packages?: Record<string, LockEntry> }).packages ?? {};
  const problems: IntegrityProblem[] = [];
  for (const [path, entry] of Object.entries(installed)) {
    if (path === '' || entry.link === true) continue;
    const expected = pinned[path];
    if (expected === undefined) {
      problems.push({ path, detail: `installed ${entry.version ?? '?'} but not in package-lock.json` });
      continue;
    }
    for (const field of ['version', 'resolved', 'integrity'] as const) {
      if (expected[field] !== undefined && entry[field] !== expected[field]) problems.push({ path, detail: `${field} ${String(entry[field])} installed, ${expected[field]} pinned` });
    }
  }
  for (const [path, entry] of Object.entries(pinned)) {
    if (path === '' || !path.startsWith('node_modules/') || entry.link === true || entry.optional === true) continue;
    if (installed[path] === undefined) problems.push({ path, detail: 'pinned in package-lock.json but not installed' });
  }
  return problems;
}

export async function checkInstalledIntegrity(root: string): Promise<IntegrityProblem[]> {
  const [pinned, installed] = await Promise.all([readFile(join(root, 'package-lock.json'), 'utf8'), readFile(join(root, 'node_modules/.package-lock.json'), 'utf8')]);
  return lockfileIntegrityProblems(JSON.parse(pinned), JSON.parse(installed));
}

interface SbomComponent {
  name: string;
  group?: string;
  version?: string;
  licenses?: Array<{ license?: { id?: string; name?: string }; expression?: string }>;
}

export interface SbomPackage {
  name: string;
  version: string;
  licences: string[];
}

export interface SbomDelta {
  added: SbomPackage[];
  removed: SbomPackage[];
  changed: Array<{ name: string; from: SbomPackage; to: SbomPackage }>;
}

function packagesOf(document: unknown): Map<string, SbomPackage[]> {
  const components = (document as { components?: SbomComponent[] }).components;
  if (!Array.isArray(components)) throw new Error('not a CycloneDX document with components');
  const byName = new Map<string, SbomPackage[]>();
  for (const component of components) {
    const name = component.group === undefined || component.group === '' ? component.name : `${component.group}/${component.name}`;
    const licences = (component.licenses ?? []).map((entry) => entry.license?.id ?? entry.license?.name ?? entry.expression ?? '?').sort();
    byName.set(name, [...(byName.get(name) ?? []), { name, version: component.version ?? '?', licences }].sort((a, b) => (a.version < b.version ? -1 : 1)));
  }
  return byName;
}

/** By package name; a name at several versions compares the sorted version lists. */
export function sbomDelta(before: unknown, after: unknown): SbomDelta {
  const [a, b] = [packagesOf(before), packagesOf(after)];
  const delta: SbomDelta = { added: [], removed: [], changed: [] };
  for (const [name, versions] of b) {
    const earlier = a.get(name);
    if (earlier === undefined) delta.added.push(...versions);
    else if (JSON.stringify(earlier) !== JSON.stringify(versions)) delta.changed.push({ name, from: earlier[0]!, to: versions[0]! });
  }
  for (const [name, versions] of a) if (!b.has(name)) delta.removed.push(...versions);
  for (const list of [delta.added, delta.removed]) list.sort((x, y) => (x.name < y.name ? -1 : 1));
  delta.changed.sort((x, y) => (x.name < y.name ? -1 : 1));
  return delta;
}

export function formatSbomDelta(delta: SbomDelta): string {
  const licences = (entry: SbomPackage) => (entry.licences.length === 0 ? 'no licence declared' : entry.licences.join(', '));
  const lines = [`${delta.added.length} new, ${delta.removed.length} removed, ${delta.changed.length} changed`];
  for (const entry of delta.added) lines.push(`+ ${entry.name}@${entry.version} (${licences(entry)})`);
  for (const entry of delta.removed) lines.push(`- ${entry.name}@${entry.version} (${licences(entry)})`);
  for (const entry of delta.changed) {
    const licenceChange = licences(entry.from) === licences(entry.to) ? licences(entry.to) : `${licences(entry.from)} → ${licences(entry.to)}`;
    lines.push(`~ ${entry.name} ${entry.from.version} → ${entry.to.version} (${licenceChange})`);
  }
  return `${lines.join('\n')}\n`;
}
