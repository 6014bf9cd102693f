/**
 * Inclusion and consistency proofs, cached per tree size. A proof for (index, tree size) or
 * (from, to) never changes once those leaves are committed (the log is append-only), so auditors
 * polling the same checkpoint — or one evidence bundle asked for twice — cost one computation.
 * The cache is bounded (LRU by Map insertion order) at proofCacheEntriesMax entries, each a few
 * hundred bytes (O(log n) 32-byte hashes): ~4 MiB at the default. Root hashes pass through; the
 * checkpoint source already signs once per tree size.
 *
 * Only settled computations are kept: a failure (a lost connection) is not cached, and concurrent
 * requests for the same proof share one computation.
 */
import type { LogTree } from './tree.ts';

export const proofCacheEntriesMax = 8_192;

export interface ProofCacheOptions {
  entriesMax?: number;
}

export function createProofCache(tree: LogTree, options: ProofCacheOptions = {}): LogTree {
  const entriesMax = options.entriesMax ?? proofCacheEntriesMax;
  const entries = new Map<string, Promise<Uint8Array[]>>();

  function cached(key: string, compute: () => Promise<Uint8Array[]>): Promise<Uint8Array[]> {
    const hit = entries.get(key);
    if (hit !== undefined) {
      entries.delete(key);
      entries.set(key, hit);
      return hit;
    }
    const pending = compute();
    entries.set(key, pending);
    pending.catch(() => {
      if (entries.get(key) === pending) entries.delete(key);
    });
    while (entries.size > entriesMax) entries.delete(entries.keys().next().value!);
    return pending;
  }

  return {
    rootHash: (treeSize) => tree.rootHash(treeSize),
    inclusionProof: (index, treeSize) => cached(`inclusion:${treeSize}:${index}`, () => tree.inclusionProof(index, treeSize)),
    consistencyProof: (fromSize, toSize) => cached(`consistency:${toSize}:${fromSize}`, () => tree.consistencyProof(fromSize, toSize)),
  };
}
