/**
 * regional/log/tree.ts over an in-memory leaf store: the same roots and proofs as core/merkle's
 * in-memory versions, whatever the cache holds, and the read cost the module's comment promises
 * (a warm proof reads a few 256-leaf blocks, not the log).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { consistencyProof, inclusionProof, treeRootFromLeafHashes } from '../../core/merkle.ts';
import type { LogLeafStore } from '../../regional/log/store.ts';
import { createLogTree, leafReadLevelMax } from '../../regional/log/tree.ts';

function memoryStore(leafHashes: readonly Uint8Array[]): LogLeafStore & { rowsRead: number; reads: number } {
  const store = {
    jurisdiction: 'test',
    rowsRead: 0,
    reads: 0,
    treeSize: async () => leafHashes.length,
    async leafHashes(start: number, end: number) {
      if (start < 0 || end > leafHashes.length || start >= end) throw new Error(`read [${start}, ${end}) outside the log of ${leafHashes.length}`);
      store.reads++;
      store.rowsRead += end - start;
      return leafHashes.slice(start, end);
    },
    leaf: async () => undefined,
  };
  return store;
}

const leaves = (count: number) => Array.from({ length: count }, (_, index) => sha256(new TextEncoder().encode(`leaf ${index}`)));

describe('log tree over a leaf store', () => {
  const leafHashes = leaves(5_000);
  const samples = [
    [0, 1],
    [0, 2],
    [255, 256],
    [256, 257],
    [511, 4_999],
    [1_234, 3_000],
    [4_999, 5_000],
    [0, 5_000],
    [4_096, 4_097],
  ] as const;

  it('computes the same roots, inclusion proofs and consistency proofs as the in-memory algorithms', async () => {
    const tree = createLogTree(memoryStore(leafHashes));
    for (const size of [1, 2, 3, 255, 256, 257, 1_000, 4_096, 4_097, 5_000]) expect(await tree.rootHash(size)).toEqual(treeRootFromLeafHashes(leafHashes.slice(0, size)));
    for (const [first, second] of samples) {
      expect(await tree.inclusionProof(first, second)).toEqual(inclusionProof(first, leafHashes.slice(0, second)));
      expect(await tree.consistencyProof(first + 1, second)).toEqual(consistencyProof(first + 1, leafHashes.slice(0, second)));
    }
  });

  it('stays correct when the cache can hold almost nothing (eviction mid-computation)', async () => {
    const tree = createLogTree(memoryStore(leafHashes), { cacheEntriesMax: 2 });
    expect(await tree.rootHash(5_000)).toEqual(treeRootFromLeafHashes(leafHashes));
    for (const [first, second] of samples) expect(await tree.inclusionProof(first, second)).toEqual(inclusionProof(first, leafHashes.slice(0, second)));
  });

  it('reads the log once when cold, then only a few 256-leaf blocks per proof', async () => {
    const store = memoryStore(leafHashes);
    const tree = createLogTree(store);
    await tree.rootHash(5_000);
    expect(store.rowsRead).toBeLessThanOrEqual(5_000);
    for (const [first, second] of samples) {
      const before = store.rowsRead;
      await tree.inclusionProof(first, second);
      await tree.consistencyProof(first + 1, second);
      expect(store.rowsRead - before, `proofs at ${first} of ${second}`).toBeLessThanOrEqual(6 * 256);
    }
  });

  it(`handles a log larger than one range read (2^${leafReadLevelMax} leaves) by combining cached subtrees`, async () => {
    const big = leaves(2 ** (leafReadLevelMax + 1) + 5);
    const store = memoryStore(big);
    const tree = createLogTree(store);
    expect(await tree.rootHash(big.length)).toEqual(treeRootFromLeafHashes(big));
    expect(store.rowsRead).toBeLessThanOrEqual(big.length);
    const proof = await tree.inclusionProof(70_000, big.length);
    expect(proof).toEqual(inclusionProof(70_000, big));
  });
});
