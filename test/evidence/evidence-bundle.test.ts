/**
 * The evidence bundle end to end (cli/evidence/): export from real regional backends (eu-1 and
 * eu-2 sharing a log, us-1; witnessed by each other) and the edge's artifacts
 * (./evidence-world.ts), verify offline, then flip bytes in every item kind, the manifest and the
 * envelope, and in the raw file: every flip is detected and the item it hit is named.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../core/canonical-json.ts';
import { base64Decode, base64Encode, utf8 } from '../../core/digest.ts';
import { signEnvelope } from '../../core/dsse.ts';
import { runEvidenceCommand } from '../../cli/evidence/evidence-commands.ts';
import { exportBundle } from '../../cli/evidence/export.ts';
import { itemKinds, manifestEntry, manifestPayloadType, type BatchItem, type BundleManifest, type EvidenceBundle } from '../../cli/evidence/bundle-format.ts';
import { verifyBundle, type VerifyReport } from '../../cli/evidence/verify.ts';
import { loadOrCreateLocalSigner } from '../../regional/signer/local-signer.ts';
import type { Signer } from '../../regional/signer/signer.ts';
import { startEvidenceWorld, type EvidenceWorld } from './evidence-world.ts';

/** Changes one character of the first string leaf found under `value` (depth-first), in place. */
function flipFirstString(value: unknown, path: string[] = []): string[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, child] of Object.entries(value)) {
    if (typeof child === 'string' && child.length > 0) {
      const at = Math.floor(child.length / 2);
      (value as Record<string, unknown>)[key] = child.slice(0, at) + (child[at] === 'A' ? 'B' : 'A') + child.slice(at + 1);
      return [...path, key];
    }
    const found = flipFirstString(child, [...path, key]);
    if (found !== undefined) return found;
  }
  return undefined;
}

function failedIds(report: VerifyReport): string[] {
  return [...report.failures.keys()];
}

describe('evidence bundle', () => {
  let world: EvidenceWorld;
  let signer: Signer;
  let scratch: string;
  let bundleText: string;
  let bundle: EvidenceBundle;
  const from = new Date(Date.now() - 60_000).toISOString();

  beforeAll(async () => {
    world = await startEvidenceWorld();
    signer = await loadOrCreateLocalSigner({ keyFile: 'dev/evidence-signing.json', createKeyFile: false });
    scratch = await mkdtemp(join(tmpdir(), 'meridian-evidence-test-'));
    await world.settle('eu-1.test', 3);
    await world.settle('eu-2.test', 2);
    await world.settle('us-1.test', 2);
    for (const cosigning of world.cosignings) expect((await cosigning.collect()).failed).toEqual([]);
    // eu grows; only eu-1 and us-1 collect again, so eu-1's witnessed checkpoint (6 leaves) is
    // ahead of eu-2's (5): the bundle carries a consistency proof between them.
    await world.settle('eu-1.test', 1);
    for (const cosigning of [world.cosignings[0]!, world.cosignings[2]!]) expect((await cosigning.collect()).failed).toEqual([]);
    const sbomDirectory = join(scratch, 'sbom');
    await mkdir(sbomDirectory, { recursive: true });
    await writeFile(join(sbomDirectory, 'gateway.cdx.json'), JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', components: [{ name: 'hono', version: '4.13.19', licenses: [{ license: { id: 'MIT' } }] }] }));
    const progress: string[] = [];
    bundle = await exportBundle({
      from,
      to: new Date(Date.now() + 60_000).toISOString(),
      backends: world.backends.map((backend) => `http://${backend.host}`),
      gateway: { url: world.gatewayUrl, token: 'operator-token' },
      signer,
      sbomDirectory,
      fetch: world.fetch,
      progress: (line) => progress.push(line),
    });
    expect(progress.join('\n')).toMatch(/settled batches in the period/);
    bundleText = JSON.stringify(bundle);
  });
  afterAll(async () => {
    await world?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('holds every kind of item, records the sections this gateway does not serve, and verifies offline', async () => {
    const kinds = new Set(bundle.items.map((item) => item.kind));
    for (const kind of itemKinds.filter((kind) => kind !== 'policy-decisions' && kind !== 'screening-results')) expect(kinds, kind).toContain(kind);
    const manifest = JSON.parse(new TextDecoder().decode(base64Decode(bundle.envelope.payload))) as BundleManifest;
    expect(manifest.sections).toEqual(expect.arrayContaining([
      expect.objectContaining({ name: 'policy-decisions', status: 'not served by this gateway' }),
      expect.objectContaining({ name: 'screening-results', status: 'not served by this gateway' }),
    ]));
    expect(bundle.items.filter((item) => item.kind === 'batch')).toHaveLength(4);
    expect(bundle.items.filter((item) => item.kind === 'instruction')).toHaveLength(8);
    const report = await verifyBundle(bundleText, { evidence_keys: [{ kid: signer.kid, alg: signer.alg, public_key: base64Encode(signer.publicKey) }] });
    expect(Object.fromEntries(report.failures)).toEqual({});
    expect(report.ok).toBe(true);
    const status = Object.fromEntries(report.controls.map((control) => [control.id, control.status]));
    expect(status['SWIFT-CSCF-5.1']).toBe('pass');
    expect(status['SWIFT-CSCF-2.9']).toBe('partial'); // policy decisions and screening not served
    expect(report.controls.every((control) => control.status !== 'fail')).toBe(true);
  });

  it('names every item whose bytes were flipped, of every kind, and the envelope and manifest', async () => {
    const kindsHit = new Set<string>();
    for (const [position, item] of bundle.items.entries()) {
      const tampered = JSON.parse(bundleText) as EvidenceBundle;
      const path = flipFirstString(tampered.items[position]!.body);
      if (path === undefined) continue;
      const report = await verifyBundle(JSON.stringify(tampered));
      expect(report.ok, `${item.id} ${path.join('.')}`).toBe(false);
      expect(failedIds(report), `${item.id} ${path.join('.')}`).toContain(item.id);
      kindsHit.add(item.kind);
    }
    expect([...kindsHit].sort()).toEqual([...new Set(bundle.items.map((item) => item.kind))].sort());

    const payload = JSON.parse(bundleText) as EvidenceBundle;
    payload.envelope.payload = base64Encode(utf8(new TextDecoder().decode(base64Decode(payload.envelope.payload)).replace('"sha256":"', '"sha256":"0')));
    expect(failedIds(await verifyBundle(JSON.stringify(payload)))).toEqual(['envelope']);
    const signature = JSON.parse(bundleText) as EvidenceBundle;
    const sig = signature.envelope.signatures[0]!.sig;
    signature.envelope.signatures[0]!.sig = sig.slice(0, 5) + (sig[5] === 'A' ? 'B' : 'A') + sig.slice(6);
    expect(failedIds(await verifyBundle(JSON.stringify(signature)))).toEqual(['envelope']);
    const added = JSON.parse(bundleText) as EvidenceBundle;
    added.items.push({ id: 'batch/extra', kind: 'batch', body: {} });
    expect(failedIds(await verifyBundle(JSON.stringify(added)))).toContain('batch/extra');
    const dropped = JSON.parse(bundleText) as EvidenceBundle;
    const droppedId = dropped.items.find((item) => item.kind === 'instruction')!.id;
    dropped.items = dropped.items.filter((item) => item.id !== droppedId);
    expect(failedIds(await verifyBundle(JSON.stringify(dropped)))).toContain(droppedId);
  });

  it('detects a flipped byte anywhere in the file', async () => {
    // ~150 offsets spread evenly over the file (an odd stride, so they fall on syntax, keys and values alike).
    const stride = Math.floor(bundleText.length / 150) | 1;
    let flips = 0;
    for (let at = 0; at < bundleText.length; at += stride) {
      const character = bundleText[at]!;
      const tampered = bundleText.slice(0, at) + (character === '1' ? '2' : character === 'A' ? 'B' : character === '"' ? "'" : '1') + bundleText.slice(at + 1);
      const report = await verifyBundle(tampered);
      expect(report.ok, `offset ${at}`).toBe(false);
      expect(report.failures.size, `offset ${at}`).toBeGreaterThan(0);
      flips++;
    }
    expect(flips).toBeGreaterThan(100);
  });

  it('re-signed with the evidence key, a bundle whose content lies still fails its own checks', async () => {
    const forged = JSON.parse(bundleText) as EvidenceBundle;
    const batch = forged.items.find((item) => item.kind === 'batch')!;
    const body = batch.body as BatchItem;
    body.settlement.positions[0]!.net_minor = String(BigInt(body.settlement.positions[0]!.net_minor) + 1n);
    const manifest = JSON.parse(new TextDecoder().decode(base64Decode(forged.envelope.payload))) as BundleManifest;
    manifest.items = forged.items.map(manifestEntry);
    forged.envelope = await signEnvelope(manifestPayloadType, utf8(canonicalJson(manifest)), [{ keyid: signer.kid, sign: (pae) => signer.sign(pae) }]);
    const report = await verifyBundle(JSON.stringify(forged));
    expect(failedIds(report)).toEqual([batch.id]);
    expect(report.failures.get(batch.id)!.join(' ')).toMatch(/net positions|sum to/);
    expect(report.controls.find((control) => control.id === 'SWIFT-CSCF-2.9')!.status).toBe('fail');
  });

  it('names a forged partner signature and a forged acceptance receipt, checked inline and in worker threads alike', async () => {
    const forged = JSON.parse(bundleText) as EvidenceBundle;
    const [first, second] = forged.items.filter((item) => item.kind === 'instruction') as Array<{ id: string; body: { jws: string; receipt: string; instruction_sha256: string } }>;
    // One character in the middle of each signature segment: still base64url, no longer the signature.
    const flipSignature = (jws: string) => {
      const at = jws.lastIndexOf('.') + 20;
      return jws.slice(0, at) + (jws[at] === 'A' ? 'B' : 'A') + jws.slice(at + 1);
    };
    first!.body.jws = flipSignature(first!.body.jws);
    first!.body.instruction_sha256 = createHash('sha256').update(first!.body.jws).digest('hex');
    second!.body.receipt = flipSignature(second!.body.receipt);
    const manifest = JSON.parse(new TextDecoder().decode(base64Decode(forged.envelope.payload))) as BundleManifest;
    manifest.items = forged.items.map(manifestEntry);
    forged.envelope = await signEnvelope(manifestPayloadType, utf8(canonicalJson(manifest)), [{ keyid: signer.kid, sign: (pae) => signer.sign(pae) }]);
    const text = JSON.stringify(forged);
    const inline = await verifyBundle(text);
    const threaded = await verifyBundle(text, {}, { parallelInstructionsMin: 1 });
    for (const report of [inline, threaded]) {
      expect(failedIds(report).filter((id) => !id.startsWith('section ')).sort()).toEqual([first!.id, second!.id].sort());
      expect(report.failures.get(first!.id)!.join(' ')).toMatch(/partner JWS: signature verification failed/);
      expect(report.failures.get(second!.id)!.join(' ')).toMatch(/acceptance receipt: signature verification failed/);
    }
    expect(Object.fromEntries(threaded.failures)).toEqual(Object.fromEntries(inline.failures));
  });

  it('the CLI verifies with pinned keys and exits non-zero naming what failed', async () => {
    const file = join(scratch, 'bundle.json');
    const keysFile = join(scratch, 'pinned.json');
    await writeFile(file, bundleText);
    await writeFile(keysFile, JSON.stringify({ evidence_keys: [{ kid: signer.kid, alg: signer.alg, public_key: base64Encode(signer.publicKey) }] }));
    const out: string[] = [];
    const io = { stdout: (text: string) => out.push(text), stderr: (text: string) => out.push(text) };
    expect(await runEvidenceCommand(['verify', file, '--keys', keysFile], io)).toBe(0);
    expect(out.join('')).toMatch(/RESULT: PASS/);
    const tampered = JSON.parse(bundleText) as EvidenceBundle;
    const target = tampered.items.find((item) => item.kind === 'checkpoint')!;
    flipFirstString(target.body);
    await writeFile(file, JSON.stringify(tampered));
    out.length = 0;
    expect(await runEvidenceCommand(['verify', file, '--keys', keysFile], io)).toBe(1);
    expect(out.join('')).toContain(`✗ ${target.id}`);
    out.length = 0;
    expect(await runEvidenceCommand(['verify'], io)).toBe(2);
    expect(out.join('')).toMatch(/usage/);
    expect(await readFile(keysFile, 'utf8')).toContain(signer.kid);
  });
});
