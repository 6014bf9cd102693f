/**
 * Builds and signs an evidence bundle for a period (./bundle-format.ts) from the regional
 * backends (./regional-export.ts), the edge (./gateway-export.ts), the control map in this
 * repository (./control-map.json) and the build's SBOMs (build/sbom/*.cdx.json, ./sbom.ts).
 * Progress goes to `progress` (stderr in the CLI); nothing is written until every part is in.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson } from '../../core/canonical-json.ts';
import { base64Encode, sha256Hex, utf8 } from '../../core/digest.ts';
import { signEnvelope } from '../../core/dsse.ts';
import type { Signer } from '../../regional/signer/signer.ts';
import { bundleFormat, manifestEntry, manifestPayloadType, type BundleItem, type BundleManifest, type BundleSection, type EvidenceBundle } from './bundle-format.ts';
import { exportGateway, type GatewayOptions } from './gateway-export.ts';
import { httpSource } from './http-source.ts';
import { exportJurisdiction, viewBackends, type ExportProgress } from './regional-export.ts';

export const controlMapPath = new URL('./control-map.json', import.meta.url);
export const sbomDirectoryDefault = 'build/sbom';
export const exporterVersion = 'meridian-evidence-export/1';

export interface ExportOptions {
  from: string;
  to: string;
  backends: readonly string[];
  gateway?: GatewayOptions;
  signer: Signer;
  sbomDirectory?: string;
  fetch?: typeof fetch;
  progress?: ExportProgress;
  now?: () => Date;
}

async function sbomItems(directory: string): Promise<{ section: BundleSection; items: BundleItem[] }> {
  let names: string[];
  try {
    names = (await readdir(directory)).filter((name) => name.endsWith('.cdx.json')).sort();
  } catch {
    names = [];
  }
  if (names.length === 0) return { section: { name: 'sbom', status: 'unreachable', detail: `no *.cdx.json in ${directory}: run npm run sbom` }, items: [] };
  const items: BundleItem[] = [];
  for (const name of names) {
    const bytes = await readFile(join(directory, name));
    items.push({ id: `sbom/${name}`, kind: 'sbom', body: { file: name, sha256: sha256Hex(new Uint8Array(bytes)), document: JSON.parse(bytes.toString('utf8')) as unknown } });
  }
  return { section: { name: 'sbom', status: 'included', detail: directory }, items };
}

export async function exportBundle(options: ExportOptions): Promise<EvidenceBundle> {
  const progress = options.progress ?? (() => {});
  const now = options.now ?? (() => new Date());
  const period = { fromMs: Date.parse(options.from), toMs: Date.parse(options.to) };
  const source = httpSource(options.fetch);
  const items: BundleItem[] = [];
  const sections: BundleSection[] = [];

  // The jurisdictions and the edge are independent sources: read at once, laid out in a fixed order.
  const { byJurisdiction, unreachable } = await viewBackends(source, options.backends, progress);
  const jurisdictions = [...byJurisdiction].sort(([a], [b]) => (a < b ? -1 : 1));
  const [exported, gatewayOutcomes] = await Promise.all([
    Promise.all(jurisdictions.map(([, views]) => exportJurisdiction(source, views, period, progress))),
    exportGateway(source, options.gateway, { from: options.from, to: options.to }, progress),
  ]);
  for (const [index, [jurisdiction]] of jurisdictions.entries()) {
    for (const item of exported[index]!.items) items.push(item);
    sections.push({ name: `regional/${jurisdiction}`, status: 'included', detail: exported[index]!.detail });
  }
  for (const failure of unreachable) sections.push({ name: `regional/${failure.url}`, status: 'unreachable', detail: failure.error });

  for (const outcome of gatewayOutcomes) {
    sections.push(outcome.section);
    // One push per item: spreading an hour's ~180,000 instructions as arguments overflows the stack.
    for (const item of outcome.items) items.push(item);
  }
  const sboms = await sbomItems(options.sbomDirectory ?? sbomDirectoryDefault);
  sections.push(sboms.section);
  for (const item of sboms.items) items.push(item);

  const generatedAt = now().toISOString();
  const controlMap = JSON.parse(await readFile(controlMapPath, 'utf8')) as unknown;
  items.unshift(
    { id: 'metadata', kind: 'metadata', body: { exporter: exporterVersion, generated_at: generatedAt, period: { from: options.from, to: options.to }, backends: [...options.backends], gateway: options.gateway?.url ?? null } },
    { id: 'control-map', kind: 'control-map', body: controlMap },
  );
  const manifest: BundleManifest = {
    format: bundleFormat,
    generated_at: generatedAt,
    period: { from: options.from, to: options.to },
    signing_key: { kid: options.signer.kid, alg: options.signer.alg, public_key: base64Encode(options.signer.publicKey) },
    sections,
    items: items.map(manifestEntry),
  };
  const envelope = await signEnvelope(manifestPayloadType, utf8(canonicalJson(manifest)), [{ keyid: options.signer.kid, sign: (preAuthEncoding) => options.signer.sign(preAuthEncoding) }]);
  progress(`bundle: ${items.length} items, signed by ${options.signer.kid}`);
  return { format: bundleFormat, envelope, items };
}
