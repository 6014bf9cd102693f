/**
 * Tree heads and proofs over a stored log, without holding the tree in memory.
 *
 * A proof (core/merkle.ts) is a list of O(log n) leaf ranges; each range splits into complete,
 * aligned subtrees. Complete subtrees never change once their last leaf is committed (the log is
 * append-only), so their hashes can be cached forever; only the ragged right edge of a tree is
 * recomputed per request.
 *
 * Cost, for a log of n leaves:
 * - subtrees below 2^8 = 256 leaves are hashed from their leaves, read in aligned 256-leaf blocks
 *   (a proof touches at most three: the leaf's or first tree's edge, and the right edge's):
 *   ≤ 3 range reads of ≤ 256 rows and ≤ 3 × 255 hashes per proof;
 * - subtrees of 256 leaves and more come from an in-process cache of complete-subtree hashes
 *   (numeric key, LRU-bounded at `subtreeCacheEntriesMax`, ~200 bytes an entry: the default keeps
 *   every cacheable node of a 16-million-leaf log in ~25 MiB);
 * - warm, a checkpoint or any proof is O(log n) cache lookups + the two block reads;
 * - cold (after a restart, or once per new 256-leaf block), a missing subtree is computed from its
 *   leaf hashes read in range queries of ≤ 2^16 rows, caching every complete node on the way:
 *   the first proof after a restart reads all n leaf hashes once (~70 bytes a row), then never
 *   again while the cache holds. A persistent tile table would remove that restart cost; it is
 *   not worth a schema change at today's volumes (one leaf per netting window).
 * The cache is per process and per jurisdiction, keyed by content position only, so eu-1 and
 * eu-2 each fill their own and always agree (same leaves, same hashes).
 */
import {
  consistencyProofRanges,
  emptyTreeRoot,
  foldRightToLeft,
  inclusionProofRanges,
  merkleNodeHash,
  perfectSubtreesOf,
  treeRootFromLeafHashes,
  type LeafRange,
  type PerfectSubtree,
} from '../../core/merkle.ts';
import type { LogLeafStore } from './store.ts';

/** Subtrees of 2^8 leaves and more are cached; smaller ones are rehashed from a 256-leaf block. */
export const cachedSubtreeLevelMin = 8;
const blockLeaves = 2 ** cachedSubtreeLevelMin;
/** One range read fetches at most 2^16 leaf hashes (~4.5 MiB of hex over the wire). */
export const leafReadLevelMax = 16;
export const subtreeCacheEntriesMax = 1 << 17;

export interface LogTree {
  rootHash(treeSize: number): Promise<Uint8Array>;
  inclusionProof(index: number, treeSize: number): Promise<Uint8Array[]>;
  consistencyProof(fromSize: number, toSize: number): Promise<Uint8Array[]>;
}

export interface LogTreeOptions {
  cacheEntriesMax?: number;
}

/**
 * `treeSize` arguments must not exceed the store's committed size (the routes check): the cache
 * is only correct for subtrees whose leaves are all committed.
 */
export function createLogTree(store: LogLeafStore, options: LogTreeOptions = {}): LogTree {
  const cache = subtreeCache(options.cacheEntriesMax ?? subtreeCacheEntriesMax);

  /** Complete subtree of ≥ 256 leaves: from the cache, else from its children, else from leaves. */
  async function cachedSubtreeHash(target: PerfectSubtree): Promise<Uint8Array> {
    // Hashes computed in this call, so that cache eviction cannot lose a child before its parent.
    const computed = new Map<number, Uint8Array>();
    const lookup = (node: PerfectSubtree) => computed.get(subtreeKey(node)) ?? cache.get(subtreeKey(node));
    const remember = (node: PerfectSubtree, hash: Uint8Array) => {
      computed.set(subtreeKey(node), hash);
      cache.set(subtreeKey(node), hash);
    };
    const pending: PerfectSubtree[] = [target];
    while (pending.length > 0) {
      const node = pending[pending.length - 1]!;
      if (lookup(node) !== undefined) {
        pending.pop();
      } else if (node.level <= leafReadLevelMax) {
        const width = 2 ** node.level;
        const leafHashes = await store.leafHashes(node.index * width, (node.index + 1) * width);
        remember(node, hashAndCacheLevels(leafHashes, node, cache));
        pending.pop();
      } else {
        const left = { level: node.level - 1, index: node.index * 2 };
        const right = { level: node.level - 1, index: node.index * 2 + 1 };
        const leftHash = lookup(left);
        const rightHash = lookup(right);
        if (leftHash !== undefined && rightHash !== undefined) {
          remember(node, merkleNodeHash(leftHash, rightHash));
          pending.pop();
        } else {
          if (rightHash === undefined) pending.push(right);
          if (leftHash === undefined) pending.push(left);
        }
      }
    }
    return lookup(target)!;
  }

  /** Hashes of the given ranges of a tree of `treeSize` leaves, reading each 256-leaf block at most once. */
  async function rangeHashes(ranges: readonly LeafRange[], treeSize: number): Promise<Uint8Array[]> {
    const blocks = new Map<number, Promise<Uint8Array[]>>();
    const block = (blockIndex: number) => {
      let read = blocks.get(blockIndex);
      if (read === undefined) {
        read = store.leafHashes(blockIndex * blockLeaves, Math.min((blockIndex + 1) * blockLeaves, treeSize));
        blocks.set(blockIndex, read);
      }
      return read;
    };
    const hashes: Uint8Array[] = [];
    for (const range of ranges) {
      const subtreeHashes: Uint8Array[] = [];
      for (const subtree of perfectSubtreesOf(range)) {
        if (subtree.level >= cachedSubtreeLevelMin) {
          subtreeHashes.push(await cachedSubtreeHash(subtree));
          continue;
        }
        const start = subtree.index * 2 ** subtree.level;
        const blockIndex = Math.floor(start / blockLeaves);
        const leaves = await block(blockIndex);
        const offset = start - blockIndex * blockLeaves;
        subtreeHashes.push(treeRootFromLeafHashes(leaves.slice(offset, offset + 2 ** subtree.level)));
      }
      hashes.push(foldRightToLeft(subtreeHashes));
    }
    return hashes;
  }

  return {
    async rootHash(treeSize) {
      if (treeSize === 0) return emptyTreeRoot;
      const [root] = await rangeHashes([{ start: 0, end: treeSize }], treeSize);
      return root!;
    },
    inclusionProof: (index, treeSize) => rangeHashes(inclusionProofRanges(index, treeSize), treeSize),
    consistencyProof: (fromSize, toSize) => rangeHashes(consistencyProofRanges(fromSize, toSize), toSize),
  };
}

/** index × 64 + level: unique and below 2^53 for every level ≥ 8 of a log of < 2^53 leaves. */
function subtreeKey(node: PerfectSubtree): number {
  return node.index * 64 + node.level;
}

/** Folds a complete subtree's leaf hashes level by level, caching every node of ≥ 256 leaves. */
function hashAndCacheLevels(leafHashes: Uint8Array[], node: PerfectSubtree, cache: SubtreeCache): Uint8Array {
  let level = 0;
  let hashes = leafHashes;
  while (hashes.length > 1) {
    const parents: Uint8Array[] = [];
    for (let position = 0; position < hashes.length; position += 2) parents.push(merkleNodeHash(hashes[position]!, hashes[position + 1]!));
    level++;
    if (level >= cachedSubtreeLevelMin) {
      const firstIndex = node.index * 2 ** (node.level - level);
      parents.forEach((hash, offset) => cache.set(subtreeKey({ level, index: firstIndex + offset }), hash));
    }
    hashes = parents;
  }
  return hashes[0]!;
}

interface SubtreeCache {
  get(key: number): Uint8Array | undefined;
  set(key: number, hash: Uint8Array): void;
}

/** LRU by Map insertion order: a hit moves the entry to the back, overflow drops the front. */
function subtreeCache(entriesMax: number): SubtreeCache {
  const entries = new Map<number, Uint8Array>();
  return {
    get(key) {
      const hash = entries.get(key);
      if (hash !== undefined) {
        entries.delete(key);
        entries.set(key, hash);
      }
      return hash;
    },
    set(key, hash) {
      entries.delete(key);
      entries.set(key, hash);
      while (entries.size > entriesMax) entries.delete(entries.keys().next().value!);
    },
  };
}
