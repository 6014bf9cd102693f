/**
 * What the exporter gathers from the regional backends, per jurisdiction (the backends given are
 * grouped by the jurisdiction their /healthz names):
 *   backend-keys   each backend's GET /v1/keys (receipt/leaf keys, note verifiers, witness key)
 *   checkpoint     each backend's newest witnessed checkpoint (GET /v1/log/witnessed-checkpoint),
 *                  or its current one when none has a quorum yet
 *   consistency    from every other backend's checkpoint of the jurisdiction to the largest one (the
 *                  anchor), an empty proof where the sizes are equal
 *   batch          every leaf committed in [from, to): its exact bytes, its inclusion proof in the
 *                  anchor, and the settlement it records (legs, positions, receipt), read in pages of
 *                  GET /v1/evidence?include=settlements (one request per 256 leaves, not one per batch)
 *
 * Finding the period: leaves are appended in commit order, so committed_at grows with the index up
 * to the clock skew between backends sharing a log (eu-1, eu-2). A binary search over leaves finds
 * the bounds, then periodSlackLeaves on either side are read and filtered exactly.
 */
import { base64Decode } from '../../core/digest.ts';
import { parseEnvelope } from '../../core/dsse.ts';
import type { BatchItem, BundleItem, CheckpointItem, ConsistencyItem } from './bundle-format.ts';
import { ExportFailure, getJson, getText, inPool, type HttpSource } from './http-source.ts';

export const periodSlackLeaves = 64;
/** The backend's evidenceLeavesMax (regional/routes/evidence.ts). */
const evidencePageLeaves = 256;
/**
 * Evidence pages in flight per backend: each backend runs auditorReadsConcurrentMax (2) reads at
 * once and queues 8 more before shedding (regional/http/limit-auditor-reads.ts), so 2 keeps its
 * pool busy without queueing behind ourselves. The jurisdiction's backends share its database, so
 * pages are spread over all of them whose log reaches the anchor (eu-1 and eu-2: twice the pools).
 */
const evidencePagesPerBackend = 2;

interface EvidencePageEntry {
  index: number;
  leaf: string;
  inclusion_proof: string[];
  settlement: BatchItem['settlement'];
}

export interface ExportProgress {
  (message: string): void;
}

interface BackendView {
  url: string;
  region: string;
  jurisdiction: string;
  keys: unknown;
  checkpoint: string;
  treeSize: number;
  /** The size of its current (possibly not yet witnessed) checkpoint. */
  latestTreeSize: number;
}

function treeSizeOf(note: string): number {
  const size = Number(note.split('\n')[1]);
  if (!Number.isSafeInteger(size) || size < 0) throw new ExportFailure('a checkpoint without a tree size line');
  return size;
}

async function viewBackend(source: HttpSource, url: string): Promise<BackendView> {
  const health = (await getJson(source, url, 'healthz')) as { region?: unknown; jurisdiction?: unknown };
  if (typeof health.region !== 'string' || typeof health.jurisdiction !== 'string') throw new ExportFailure(`${url}/healthz names no region and jurisdiction`);
  const keys = await getJson(source, url, 'v1/keys');
  const latest = await getText(source, url, 'v1/log/checkpoint');
  const witnessed = await source.get(url, 'v1/log/witnessed-checkpoint');
  const checkpoint = witnessed.status === 200 ? witnessed.text : latest;
  return { url, region: health.region, jurisdiction: health.jurisdiction, keys, checkpoint, treeSize: treeSizeOf(checkpoint), latestTreeSize: treeSizeOf(latest) };
}

/** committed_at of a leaf's statement (not verified here: the verifier does that). */
function committedAt(leafText: string): string {
  const envelope = parseEnvelope(leafText);
  if (!envelope.ok) throw new ExportFailure(`leaf is not a DSSE envelope: ${envelope.reason.detail}`);
  const statement = JSON.parse(new TextDecoder().decode(base64Decode(envelope.value.payload))) as { predicate?: { committed_at?: unknown } };
  if (typeof statement.predicate?.committed_at !== 'string') throw new ExportFailure('leaf statement has no committed_at');
  return statement.predicate.committed_at;
}

/** The first leaf index in [0, size) committed at or after `at` (size if none). */
async function firstLeafAtOrAfter(source: HttpSource, url: string, size: number, atMs: number): Promise<number> {
  let low = 0;
  let high = size;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const leafMs = Date.parse(committedAt(await getText(source, url, `v1/log/leaves/${middle}`)));
    if (leafMs < atMs) low = middle + 1;
    else high = middle;
  }
  return low;
}

export async function exportJurisdiction(
  source: HttpSource,
  views: readonly BackendView[],
  period: { fromMs: number; toMs: number },
  progress: ExportProgress,
): Promise<{ items: BundleItem[]; detail: string }> {
  const jurisdiction = views[0]!.jurisdiction;
  const anchor = [...views].sort((a, b) => b.treeSize - a.treeSize)[0]!;
  const items: BundleItem[] = [];
  for (const view of views) {
    items.push({ id: `keys/${view.region}`, kind: 'backend-keys', body: { region: view.region, jurisdiction, keys: view.keys } });
    items.push({ id: `checkpoint/${view.region}`, kind: 'checkpoint', body: { region: view.region, jurisdiction, note: view.checkpoint } satisfies CheckpointItem });
  }
  // Every other backend's checkpoint against the anchor; equal sizes too (an empty proof: equal roots).
  for (const size of [...new Set(views.filter((view) => view !== anchor).map((view) => view.treeSize))].filter((size) => size > 0)) {
    const body = (await getJson(source, anchor.url, `v1/log/consistency?from=${size}&to=${anchor.treeSize}`)) as { proof: string[] };
    items.push({ id: `consistency/${jurisdiction}/${size}-${anchor.treeSize}`, kind: 'consistency', body: { jurisdiction, from: size, to: anchor.treeSize, proof: body.proof } satisfies ConsistencyItem });
  }
  // Leaves newer than the anchor have no witnessed checkpoint yet: said, not silently dropped.
  const unwitnessed = Math.max(...views.map((view) => view.latestTreeSize)) - anchor.treeSize;
  const detail = `${views.map((view) => view.region).join(', ')}; anchor ${anchor.region} at ${anchor.treeSize} leaves${unwitnessed > 0 ? `; ${unwitnessed} newer leaves await witness cosignatures and are not in this bundle (export again shortly)` : ''}`;
  if (unwitnessed > 0) progress(`${jurisdiction}: ${unwitnessed} leaves after the newest witnessed checkpoint are left out`);
  if (anchor.treeSize === 0) return { items, detail };
  const first = Math.max(0, (await firstLeafAtOrAfter(source, anchor.url, anchor.treeSize, period.fromMs)) - periodSlackLeaves);
  const end = Math.min(anchor.treeSize, (await firstLeafAtOrAfter(source, anchor.url, anchor.treeSize, period.toMs)) + periodSlackLeaves);
  progress(`${jurisdiction}: leaves ${first}..${end} of ${anchor.treeSize} around the period (anchor ${anchor.region})`);
  const readers = views.filter((view) => view.latestTreeSize >= anchor.treeSize);
  const spans: Array<{ start: number; end: number }> = [];
  for (let start = first; start < end; start += evidencePageLeaves) spans.push({ start, end: Math.min(end, start + evidencePageLeaves) });
  let leavesRead = 0;
  const pages = await inPool(spans, evidencePagesPerBackend * readers.length, async (span, index) => {
    const reader = readers[index % readers.length]!;
    const entries: EvidencePageEntry[] = [];
    // A page ends early when its batches' legs reach the backend's bound: ask again from next_from.
    for (let from = span.start; from < span.end; ) {
      const page = (await getJson(source, reader.url, `v1/evidence?from=${from}&to=${span.end}&size=${anchor.treeSize}&include=settlements`)) as { entries: EvidencePageEntry[]; next_from?: number };
      if (page.next_from === undefined || page.next_from <= from || page.next_from > span.end || page.entries.length !== page.next_from - from) {
        throw new ExportFailure(`${reader.url} GET v1/evidence?from=${from}&to=${span.end}: a page without settlements or next_from (a backend older than include=settlements?)`);
      }
      entries.push(...page.entries);
      leavesRead += page.entries.length;
      from = page.next_from;
    }
    progress(`${jurisdiction}: ${leavesRead} of ${end - first} leaves with their settlements`);
    return entries;
  });
  const batches = pages.flat().filter((entry) => {
    const atMs = Date.parse(committedAt(new TextDecoder().decode(base64Decode(entry.leaf))));
    return atMs >= period.fromMs && atMs < period.toMs;
  }).map((entry) => {
    const body: BatchItem = { jurisdiction, region: anchor.region, log_index: entry.index, leaf: entry.leaf, inclusion: { tree_size: anchor.treeSize, proof: entry.inclusion_proof }, settlement: entry.settlement };
    return { id: `batch/${jurisdiction}/${entry.index}`, kind: 'batch' as const, body };
  });
  progress(`${jurisdiction}: ${batches.length} settled batches in the period`);
  return { items: [...items, ...batches], detail };
}

/** Every backend's view, grouped by jurisdiction; an unreachable backend is reported, not fatal. */
export async function viewBackends(source: HttpSource, urls: readonly string[], progress: ExportProgress): Promise<{ byJurisdiction: Map<string, BackendView[]>; unreachable: Array<{ url: string; error: string }> }> {
  const byJurisdiction = new Map<string, BackendView[]>();
  const unreachable: Array<{ url: string; error: string }> = [];
  for (const url of urls) {
    try {
      const view = await viewBackend(source, url);
      byJurisdiction.set(view.jurisdiction, [...(byJurisdiction.get(view.jurisdiction) ?? []), view]);
      progress(`${view.region} (${view.jurisdiction}): checkpoint of ${view.treeSize} leaves`);
    } catch (error) {
      unreachable.push({ url, error: (error as Error).message });
      progress(`${url}: unreachable (${(error as Error).message})`);
    }
  }
  return { byJurisdiction, unreachable };
}
