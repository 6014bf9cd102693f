/**
 * Offline verification of an evidence bundle (./bundle-format.ts): no network, only the public
 * keys in the bundle — or, with `--keys`, the auditor's pinned keys, which is what makes the
 * result mean "this is what Meridian published" rather than "this bundle is self-consistent".
 *
 *   1. envelope   the DSSE signature over the manifest, by a pinned evidence key (else by the
 *                 manifest's own signing_key, reported as unpinned)
 *   2. manifest   every item listed once, with its kind and the SHA-256 of its canonical JSON;
 *                 no item outside the manifest; no section the exporter found unreachable
 *   3. items      the checks of ./verify-items.ts
 *   4. controls   per control of the bundled control map: pass, fail (naming the failed items),
 *                 partial (some evidencing section not served) or not evidenced
 * Exit 0 only when nothing failed.
 */
import { canonicalJson } from '../../core/canonical-json.ts';
import { base64Decode } from '../../core/digest.ts';
import { dsseVerifierForKey, verifyEnvelope, type DsseEnvelope } from '../../core/dsse.ts';
import { bundleFormat, itemDigest, itemKinds, manifestPayloadType, type BundleItem, type BundleManifest, type InstructionItem, type ItemKind } from './bundle-format.ts';
import { checkInstructions, type InstructionVerdict } from './check-instructions.ts';
import { instructionKeysOf, verifyItems, type Failures, type PinnedKeys } from './verify-items.ts';

export type ControlStatus = 'pass' | 'fail' | 'partial' | 'not evidenced';

export interface ControlReport {
  id: string;
  title: string;
  status: ControlStatus;
  items: number;
  failed: string[];
  missing: ItemKind[];
}

export interface VerifyReport {
  ok: boolean;
  /** Item id (or "bundle", "envelope", "manifest") → what failed. */
  failures: Failures;
  warnings: string[];
  manifest?: BundleManifest;
  controls: ControlReport[];
  itemCount: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function openManifest(envelope: unknown, pinned: PinnedKeys, report: VerifyReport): Promise<BundleManifest | undefined> {
  const failed = (detail: string) => {
    report.failures.set('envelope', [...(report.failures.get('envelope') ?? []), detail]);
    return undefined;
  };
  if (!isRecord(envelope) || typeof envelope.payload !== 'string' || envelope.payloadType !== manifestPayloadType || !Array.isArray(envelope.signatures)) return failed(`not a DSSE envelope of ${manifestPayloadType}`);
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(base64Decode(envelope.payload))) as BundleManifest;
  } catch {
    return failed('the payload is not a base64 JSON manifest');
  }
  if (!isRecord(manifest) || manifest.format !== bundleFormat || !Array.isArray(manifest.items) || !Array.isArray(manifest.sections)) return failed('the payload is not a bundle manifest');
  if (canonicalJson(manifest) !== new TextDecoder().decode(base64Decode(envelope.payload))) return failed('the manifest is not in canonical JSON');
  const keys = pinned.evidence_keys ?? (isRecord(manifest.signing_key) ? [manifest.signing_key] : []);
  if (pinned.evidence_keys === undefined) report.warnings.push(`the evidence key ${String(manifest.signing_key?.kid)} is the bundle's own, not pinned: pass --keys to pin it`);
  const verifiers = [];
  for (const key of keys) {
    try {
      const verifier = await dsseVerifierForKey({ kid: key.kid, alg: key.alg, publicKey: base64Decode(key.public_key) });
      if (verifier !== undefined) verifiers.push(verifier);
    } catch {
      return failed(`evidence key ${key.kid}: public_key is not base64`);
    }
  }
  const verified = await verifyEnvelope(envelope as unknown as DsseEnvelope, verifiers);
  if (!verified.ok) return failed(`manifest signature: ${verified.reason.detail}`);
  return manifest;
}

function checkManifest(manifest: BundleManifest, items: readonly unknown[], failures: Failures, digestOf: (item: BundleItem) => string): BundleItem[] {
  const fail = (id: string, detail: string) => failures.set(id, [...(failures.get(id) ?? []), detail]);
  const byId = new Map<string, BundleItem>();
  for (const [position, item] of items.entries()) {
    if (!isRecord(item) || typeof item.id !== 'string' || typeof item.kind !== 'string' || !('body' in item)) {
      fail(`items[${position}]`, 'not an {id, kind, body} item');
      continue;
    }
    if (byId.has(item.id)) fail(item.id, 'listed twice in the bundle');
    byId.set(item.id, item as unknown as BundleItem);
  }
  const listed = new Set<string>();
  const verified: BundleItem[] = [];
  for (const entry of manifest.items) {
    if (listed.has(entry.id)) fail(entry.id, 'listed twice in the manifest');
    listed.add(entry.id);
    const item = byId.get(entry.id);
    if (item === undefined) fail(entry.id, 'in the signed manifest but missing from the bundle');
    else if (item.kind !== entry.kind || !(itemKinds as readonly string[]).includes(item.kind)) fail(entry.id, `kind ${item.kind}, the manifest says ${entry.kind}`);
    else if (digestOf(item) !== entry.sha256) fail(entry.id, 'its SHA-256 does not match the signed manifest: the item was changed');
    else verified.push(item);
  }
  for (const id of byId.keys()) if (!listed.has(id)) fail(id, 'not in the signed manifest: added after signing');
  return verified;
}

function controlReports(items: readonly BundleItem[], failures: Failures): ControlReport[] {
  const controlMap = items.find((item) => item.kind === 'control-map')?.body as { controls?: Array<{ id: string; title: string; evidenced_by: ItemKind[] }> } | undefined;
  return (controlMap?.controls ?? []).map((control) => {
    const evidence = items.filter((item) => control.evidenced_by.includes(item.kind));
    const failed = evidence.filter((item) => failures.has(item.id)).map((item) => item.id);
    const missing = control.evidenced_by.filter((kind) => !items.some((item) => item.kind === kind));
    const status: ControlStatus = failed.length > 0 ? 'fail' : evidence.length === 0 ? 'not evidenced' : missing.length > 0 ? 'partial' : 'pass';
    return { id: control.id, title: control.title, status, items: evidence.length, failed, missing };
  });
}

export interface VerifyOptions {
  /** From how many instructions on their signatures are checked in worker threads (default ./check-instructions.ts parallelInstructionsMinDefault). */
  parallelInstructionsMin?: number;
}

export async function verifyBundle(bundleText: string, pinned: PinnedKeys = {}, options: VerifyOptions = {}): Promise<VerifyReport> {
  const report: VerifyReport = { ok: false, failures: new Map(), warnings: [], controls: [], itemCount: 0 };
  let bundle: unknown;
  try {
    bundle = JSON.parse(bundleText);
  } catch {
    report.failures.set('bundle', ['not JSON']);
    return report;
  }
  if (!isRecord(bundle) || bundle.format !== bundleFormat || !Array.isArray(bundle.items)) {
    report.failures.set('bundle', [`not a ${bundleFormat} document`]);
    return report;
  }
  report.itemCount = bundle.items.length;
  // The instruction checks (most of the work: two signatures each) start at once, on the items as
  // found, in worker threads while this thread opens the manifest; their digests then serve the
  // manifest check, and their verdicts count only for items the signed manifest vouches for, under
  // keys items it vouches for too (verify-items.ts re-checks otherwise).
  const rawInstructions = bundle.items.filter((item): item is BundleItem => isRecord(item) && item.kind === 'instruction' && isRecord(item.body));
  const instructionKeys = instructionKeysOf(bundle.items.filter(isRecord));
  const pendingVerdicts = checkInstructions(rawInstructions.map((item) => item.body as InstructionItem), instructionKeys, options.parallelInstructionsMin === undefined ? {} : { parallelMin: options.parallelInstructionsMin });
  pendingVerdicts.catch(() => {});
  const manifest = await openManifest(bundle.envelope, pinned, report);
  if (manifest === undefined) return report;
  report.manifest = manifest;
  const verdicts = new Map<unknown, InstructionVerdict>((await pendingVerdicts).map((verdict, position) => [rawInstructions[position]!.body, verdict]));
  const items = checkManifest(manifest, bundle.items, report.failures, (item) => verdicts.get(item.body)?.sha256 ?? itemDigest(item.body));
  // A source the exporter could not read leaves the bundle incomplete: that fails, by name. A
  // section this gateway does not serve (or that was not asked for) is reported per control.
  for (const section of manifest.sections.filter((candidate) => candidate.status === 'unreachable')) {
    report.failures.set(`section ${section.name}`, [`unreachable at export: ${section.detail ?? 'no detail'}`]);
  }
  const instructionsIncluded = manifest.sections.some((section) => section.name === 'instruction' && section.status === 'included');
  for (const [id, details] of await verifyItems(items, { pinned, instructionsIncluded, ...options, precomputedInstructions: { keys: instructionKeys, verdicts } })) report.failures.set(id, [...(report.failures.get(id) ?? []), ...details]);
  report.controls = controlReports(items, report.failures);
  report.ok = report.failures.size === 0;
  return report;
}

export function formatVerifyReport(report: VerifyReport): string {
  const lines = [`Meridian evidence bundle: ${report.itemCount} items${report.manifest === undefined ? '' : `, period ${report.manifest.period.from} → ${report.manifest.period.to}`}`];
  for (const section of report.manifest?.sections ?? []) lines.push(`  section ${section.name}: ${section.status}${section.detail === undefined ? '' : ` (${section.detail})`}`);
  for (const warning of report.warnings) lines.push(`warning: ${warning}`);
  lines.push('controls:');
  for (const control of report.controls) {
    const mark = { pass: '✓', fail: '✗', partial: '~', 'not evidenced': '-' }[control.status];
    lines.push(`  ${mark} ${control.id} ${control.title}: ${control.status} (${control.items} items${control.missing.length > 0 ? `; no ${control.missing.join(', ')}` : ''})`);
    for (const id of control.failed.slice(0, 5)) lines.push(`      failed: ${id}`);
  }
  if (report.failures.size > 0) {
    lines.push('failed items:');
    for (const [id, details] of report.failures) lines.push(`  ✗ ${id}: ${details.join('; ')}`);
  }
  lines.push(report.ok ? 'RESULT: PASS — every signature, proof and check verified' : `RESULT: FAIL — ${report.failures.size} item${report.failures.size === 1 ? '' : 's'} failed`);
  return `${lines.join('\n')}\n`;
}

/** A pinned keys file: {"evidence_keys", "note_verifiers", "witness_verifiers", "witness_quorum"}, each optional. */
export function parsePinnedKeys(text: string): PinnedKeys {
  const parsed = JSON.parse(text) as unknown;
  if (!isRecord(parsed)) throw new Error('the keys file is not a JSON object');
  return parsed as PinnedKeys;
}
