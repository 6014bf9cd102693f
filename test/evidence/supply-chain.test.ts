/**
 * Supply chain (cli/evidence/sbom.ts): the installed dependencies match package-lock.json's
 * versions, resolved URLs and integrity hashes (this is the check `npm test` runs); a swapped,
 * extra or missing package is named; the real generator writes CycloneDX SBOMs of both builds;
 * sbom-diff reports new, removed and changed packages with their licences.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEvidenceCommand } from '../../cli/evidence/evidence-commands.ts';
import { checkInstalledIntegrity, generateSboms, lockfileIntegrityProblems, sbomDelta } from '../../cli/evidence/sbom.ts';

const root = process.cwd();

describe('supply chain', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'meridian-sbom-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('installed dependencies match the lockfile integrity hashes', async () => {
    expect(await checkInstalledIntegrity(root)).toEqual([]);
  });

  it('names a package installed with another integrity, one the lockfile lacks, and one missing', async () => {
    const pinned = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { integrity?: string; version?: string; optional?: boolean }> };
    const installed = JSON.parse(await readFile(join(root, 'node_modules/.package-lock.json'), 'utf8')) as typeof pinned;
    installed.packages['node_modules/hono'] = { ...installed.packages['node_modules/hono'], integrity: 'sha512-c3dhcHBlZA==' };
    installed.packages['node_modules/left-pad-evil'] = { version: '1.0.0', integrity: 'sha512-ZXZpbA==' };
    delete installed.packages['node_modules/jose'];
    const problems = lockfileIntegrityProblems(pinned, installed);
    expect(problems.map((problem) => problem.path).sort()).toEqual(['node_modules/hono', 'node_modules/jose', 'node_modules/left-pad-evil']);
    expect(problems.find((problem) => problem.path === 'node_modules/hono')!.detail).toMatch(/integrity sha512-c3dhcHBlZA== installed/);
  });

  it('generates CycloneDX SBOMs of both builds and diffs two of them with licences', async () => {
    const [gateway, regional] = await generateSboms(root, join(scratch, 'sbom'));
    const document = JSON.parse(await readFile(gateway!, 'utf8')) as { bomFormat: string; metadata: { component: { name: string } }; components: Array<{ name: string; group?: string; version: string; licenses?: unknown[] }> };
    expect(document.bomFormat).toBe('CycloneDX');
    expect(document.metadata.component.name).toBe('meridian-gateway');
    expect(JSON.parse(await readFile(regional!, 'utf8')).metadata.component.name).toBe('meridian-regional');
    expect(document.components.some((component) => component.name === 'hono')).toBe(true);
    expect(document.components.some((component) => component.name === 'vitest')).toBe(false); // dev tools are not shipped

    const next = structuredClone(document);
    const hono = next.components.find((component) => component.name === 'hono')!;
    hono.version = '9.9.9';
    next.components = next.components.filter((component) => component.name !== 'zod');
    next.components.push({ name: 'left-pad', version: '1.3.0', licenses: [{ license: { id: 'WTFPL' } }] });
    const delta = sbomDelta(document, next);
    expect(delta.added).toEqual([{ name: 'left-pad', version: '1.3.0', licences: ['WTFPL'] }]);
    expect(delta.removed.map((entry) => entry.name)).toEqual(['zod']);
    expect(delta.changed).toEqual([expect.objectContaining({ name: 'hono', from: expect.objectContaining({ licences: ['MIT'] }), to: expect.objectContaining({ version: '9.9.9' }) })]);

    const nextFile = join(scratch, 'next.cdx.json');
    await writeFile(nextFile, JSON.stringify(next));
    const out: string[] = [];
    const io = { stdout: (text: string) => out.push(text), stderr: (text: string) => out.push(text) };
    expect(await runEvidenceCommand(['sbom-diff', gateway!, nextFile], io)).toBe(0);
    expect(out.join('')).toMatch(/^1 new, 1 removed, 1 changed\n\+ left-pad@1\.3\.0 \(WTFPL\)\n- zod@[^\n]+ \(MIT\)\n~ hono [^ ]+ → 9\.9\.9 \(MIT\)\n$/);
    out.length = 0;
    expect(await runEvidenceCommand(['sbom-diff', gateway!, join(scratch, 'missing.json')], io)).toBe(2);
    expect(out.join('')).toMatch(/missing\.json/);
  });
});
