/**
 * RFC 6962 Merkle trees, with the proof algorithms of RFC 9162 §2.1 (which fixes RFC 6962's
 * prose into step-by-step verifiers). Hashing: leaf = SHA-256(0x00 ‖ data), interior node =
 * SHA-256(0x01 ‖ left ‖ right), the empty tree = SHA-256(""). The 0x00/0x01 prefixes keep a leaf
 * from ever being passed off as an interior node (second-preimage attack on the tree).
 *
 * Everything here is iterative: the only loops run over the bits of a tree size (≤ 53) or over a
 * caller's array, so no input can drive the stack deep.
 *
 * Sizes and indexes are JavaScript numbers, required to be safe integers (< 2^53); shifts are
 * written as Math.floor(x / 2), since `>>` truncates to 32 bits.
 *
 * Size-0 rule (one rule, used by generation and verification alike): the empty tree has no
 * leaves, so no inclusion proof into it exists; and a consistency proof FROM the empty tree proves
 * nothing (every tree extends the empty one), so verifyConsistency rejects size1 = 0 — even
 * 0 → 0 with equal roots — and consistencyProofRanges refuses to build one. An auditor whose
 * earlier checkpoint is empty checks that its root is `emptyTreeRoot` and needs no proof. This is
 * the policy of transparency-dev/merkle's vectors (test/conformance/vectors/rfc6962), which expect
 * every size1 = 0 case to fail.
 *
 * Generation is split in two so that storage-backed logs need not hold the tree in memory: the
 * `…Ranges` functions say which subtrees [start, end) a proof consists of, and the caller hashes
 * them however it stores leaves (regional/log/tree.ts reads leaf hashes from the database).
 * `inclusionProof` / `consistencyProof` are the in-memory versions over an array of leaf hashes.
 */
import { sha256 } from './digest.ts';
import { err, ok, type Result } from './result.ts';

export const merkleHashBytes = 32;

/** MTH({}) = SHA-256 of the empty string (RFC 6962 §2.1). */
export const emptyTreeRoot: Uint8Array = sha256(new Uint8Array());

const leafPrefix = 0x00;
const nodePrefix = 0x01;

export function merkleLeafHash(leaf: Uint8Array): Uint8Array {
  const prefixed = new Uint8Array(leaf.length + 1);
  prefixed[0] = leafPrefix;
  prefixed.set(leaf, 1);
  return sha256(prefixed);
}

export function merkleNodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const prefixed = new Uint8Array(1 + left.length + right.length);
  prefixed[0] = nodePrefix;
  prefixed.set(left, 1);
  prefixed.set(right, 1 + left.length);
  return sha256(prefixed);
}

/** A run of leaves [start, end), whose Merkle tree hash is one entry of a proof. */
export interface LeafRange {
  start: number;
  end: number;
}

/** A complete subtree of 2^level leaves starting at leaf index × 2^level. */
export interface PerfectSubtree {
  level: number;
  index: number;
}

function assertTreeSize(size: number, label: string): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`merkle: ${label} ${size} is not a non-negative safe integer`);
}

function isOdd(value: number): boolean {
  return value % 2 === 1;
}

function half(value: number): number {
  return Math.floor(value / 2);
}

/** The largest power of two strictly below `size` (size ≥ 2): the split point k of RFC 6962 §2.1. */
export function splitPoint(size: number): number {
  let power = 1;
  while (power * 2 < size) power *= 2;
  return power;
}

/**
 * MTH over leaf hashes, by the usual stack fold: push each leaf, merge while the two top entries
 * are complete subtrees of equal height, then fold what is left right to left. O(n) hashes,
 * O(log n) memory besides the input.
 */
export function treeRootFromLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return emptyTreeRoot;
  const stack: Array<{ hash: Uint8Array; level: number }> = [];
  for (const hash of leafHashes) {
    let top = { hash, level: 0 };
    while (stack.length > 0 && stack[stack.length - 1]!.level === top.level) {
      const left = stack.pop()!;
      top = { hash: merkleNodeHash(left.hash, top.hash), level: top.level + 1 };
    }
    stack.push(top);
  }
  return foldRightToLeft(stack.map((entry) => entry.hash));
}

/**
 * The hash of a run of complete subtrees, largest first (the decomposition of `perfectSubtreesOf`):
 * an RFC 6962 tree over a non-power-of-two run is its leftmost complete subtree joined with the
 * tree over the rest, i.e. a right-to-left fold.
 */
export function foldRightToLeft(subtreeHashes: readonly Uint8Array[]): Uint8Array {
  if (subtreeHashes.length === 0) throw new RangeError('merkle: cannot fold zero subtrees');
  let hash = subtreeHashes[subtreeHashes.length - 1]!;
  for (let position = subtreeHashes.length - 2; position >= 0; position--) hash = merkleNodeHash(subtreeHashes[position]!, hash);
  return hash;
}

/**
 * Splits [start, end) into complete, aligned subtrees, largest first. Every range a proof names is
 * a node of the RFC 6962 tree, so `start` is a multiple of the largest power of two ≤ end − start
 * and the pieces come out aligned: a range of 13 leaves at 16 is 8 @ 16, 4 @ 24, 1 @ 28.
 */
export function perfectSubtreesOf(range: LeafRange): PerfectSubtree[] {
  const { start, end } = range;
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && end > start)) {
    throw new RangeError(`merkle: [${start}, ${end}) is not a non-empty leaf range`);
  }
  const subtrees: PerfectSubtree[] = [];
  let cursor = start;
  let width = 1;
  let level = 0;
  while (width * 2 <= end - start) {
    width *= 2;
    level++;
  }
  for (; cursor < end; width /= 2, level--) {
    if (cursor + width > end) continue;
    if (cursor % width !== 0) throw new RangeError(`merkle: [${start}, ${end}) is not a node of an RFC 6962 tree`);
    subtrees.push({ level, index: cursor / width });
    cursor += width;
  }
  return subtrees;
}

/**
 * RFC 9162 §2.1.3.1 PATH(m, D[n]), as the list of subtrees whose hashes form the proof, in proof
 * order (from the leaf's sibling up to the root's other child).
 */
export function inclusionProofRanges(index: number, size: number): LeafRange[] {
  assertTreeSize(size, 'tree size');
  assertTreeSize(index, 'leaf index');
  if (index >= size) throw new RangeError(`merkle: leaf index ${index} is not in a tree of ${size} leaves`);
  const topDown: LeafRange[] = [];
  let start = 0;
  let end = size;
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (index < start + k) {
      topDown.push({ start: start + k, end });
      end = start + k;
    } else {
      topDown.push({ start, end: start + k });
      start += k;
    }
  }
  return topDown.reverse();
}

/**
 * RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true), unrolled. Requires 0 < size1 ≤ size2
 * (size-0 rule above); size1 = size2 gives the empty proof.
 */
export function consistencyProofRanges(size1: number, size2: number): LeafRange[] {
  assertTreeSize(size1, 'first tree size');
  assertTreeSize(size2, 'second tree size');
  if (size1 === 0) throw new RangeError('merkle: no consistency proof from the empty tree (every tree extends it)');
  if (size1 > size2) throw new RangeError(`merkle: first tree size ${size1} exceeds second tree size ${size2}`);
  const topDown: LeafRange[] = [];
  let start = 0;
  let end = size2;
  let firstWithin = size1; // m, relative to start
  let firstIsWholeSubtree = true; // b: the first tree's root is this subtree itself
  while (firstWithin !== end - start) {
    const k = splitPoint(end - start);
    if (firstWithin <= k) {
      topDown.push({ start: start + k, end });
      end = start + k;
    } else {
      topDown.push({ start, end: start + k });
      start += k;
      firstWithin -= k;
      firstIsWholeSubtree = false;
    }
  }
  if (!firstIsWholeSubtree) topDown.push({ start, end });
  return topDown.reverse();
}

/** Hash of leaves [start, end) from an in-memory array of leaf hashes. */
function rangeHash(leafHashes: readonly Uint8Array[], range: LeafRange): Uint8Array {
  return treeRootFromLeafHashes(leafHashes.slice(range.start, range.end));
}

/** In-memory PATH(index, D[n]) over all n leaf hashes. O(n) hashes; storage-backed logs use the ranges. */
export function inclusionProof(index: number, leafHashes: readonly Uint8Array[]): Uint8Array[] {
  return inclusionProofRanges(index, leafHashes.length).map((range) => rangeHash(leafHashes, range));
}

/** In-memory PROOF(size1, D[n]) over the second tree's n leaf hashes. */
export function consistencyProof(size1: number, leafHashes: readonly Uint8Array[]): Uint8Array[] {
  return consistencyProofRanges(size1, leafHashes.length).map((range) => rangeHash(leafHashes, range));
}

export type MerkleProofFailure =
  | { kind: 'bad-size'; detail: string }
  | { kind: 'bad-hash-length'; detail: string }
  | { kind: 'empty-first-tree'; detail: string }
  | { kind: 'malformed-proof'; detail: string }
  | { kind: 'root-mismatch'; detail: string };

function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  let difference = 0;
  for (let position = 0; position < left.length; position++) difference |= left[position]! ^ right[position]!;
  return difference === 0;
}

function badProofHash(proof: readonly Uint8Array[]): MerkleProofFailure | undefined {
  const position = proof.findIndex((hash) => hash.length !== merkleHashBytes);
  return position < 0 ? undefined : { kind: 'bad-hash-length', detail: `proof[${position}] is ${proof[position]!.length} bytes, not ${merkleHashBytes}` };
}

function badSizes(values: Record<string, number>): MerkleProofFailure | undefined {
  for (const [label, value] of Object.entries(values)) {
    if (!Number.isSafeInteger(value) || value < 0) return { kind: 'bad-size', detail: `${label} ${value} is not a non-negative safe integer` };
  }
  return undefined;
}

/**
 * RFC 9162 §2.1.3.2: recomputes the root from the leaf hash and the proof. Leaf hash, root and
 * every proof entry must be 32 bytes.
 */
export function verifyInclusion(leafHash: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): Result<void, MerkleProofFailure> {
  const invalid = badSizes({ 'leaf index': index, 'tree size': size }) ?? badProofHash(proof);
  if (invalid !== undefined) return err(invalid);
  if (index >= size) return err({ kind: 'bad-size', detail: `leaf index ${index} is not in a tree of ${size} leaves` });
  if (leafHash.length !== merkleHashBytes || root.length !== merkleHashBytes) {
    return err({ kind: 'bad-hash-length', detail: `leaf hash (${leafHash.length} bytes) and root (${root.length} bytes) must be ${merkleHashBytes} bytes` });
  }
  let fn = index;
  let sn = size - 1;
  let hash = leafHash;
  for (const sibling of proof) {
    if (sn === 0) return err({ kind: 'malformed-proof', detail: `proof has more than the ${proof.length - 1} entries a tree of ${size} needs at index ${index}` });
    if (isOdd(fn) || fn === sn) {
      hash = merkleNodeHash(sibling, hash);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      hash = merkleNodeHash(hash, sibling);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return err({ kind: 'malformed-proof', detail: `proof of ${proof.length} entries is too short for index ${index} in a tree of ${size}` });
  if (!sameBytes(hash, root)) return err({ kind: 'root-mismatch', detail: `leaf ${index} and the proof hash to a different root than the tree of ${size}` });
  return ok(undefined);
}

/**
 * RFC 9162 §2.1.4.2, with the size-0 rule above. Proof entries must be 32 bytes; the two roots
 * are compared as given (for size1 = size2 that is the whole check, as in transparency-dev/merkle:
 * equal byte strings are consistent whatever their length, and a non-hash "root" never matches
 * a root computed from a non-empty proof).
 */
export function verifyConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): Result<void, MerkleProofFailure> {
  const invalid = badSizes({ 'first tree size': size1, 'second tree size': size2 }) ?? badProofHash(proof);
  if (invalid !== undefined) return err(invalid);
  if (size1 > size2) return err({ kind: 'bad-size', detail: `first tree size ${size1} exceeds second tree size ${size2}` });
  if (size1 === 0) return err({ kind: 'empty-first-tree', detail: 'a consistency proof from the empty tree proves nothing; compare its root with the empty-tree hash instead' });
  if (size1 === size2) {
    if (proof.length > 0) return err({ kind: 'malformed-proof', detail: `trees of equal size ${size1} need an empty proof, got ${proof.length} entries` });
    return sameBytes(root1, root2) ? ok(undefined) : err({ kind: 'root-mismatch', detail: `two trees of size ${size1} with different roots: a fork` });
  }
  if (proof.length === 0) return err({ kind: 'malformed-proof', detail: `empty proof between sizes ${size1} and ${size2}` });
  // A first tree that is a complete subtree contributes its own root as the path's first node.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let firstHash = path[0]!;
  let secondHash = path[0]!;
  for (let position = 1; position < path.length; position++) {
    const node = path[position]!;
    if (sn === 0) return err({ kind: 'malformed-proof', detail: `proof is longer than sizes ${size1} → ${size2} need` });
    if (isOdd(fn) || fn === sn) {
      firstHash = merkleNodeHash(node, firstHash);
      secondHash = merkleNodeHash(node, secondHash);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      secondHash = merkleNodeHash(secondHash, node);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return err({ kind: 'malformed-proof', detail: `proof is shorter than sizes ${size1} → ${size2} need` });
  if (!sameBytes(firstHash, root1)) return err({ kind: 'root-mismatch', detail: `the proof does not lead to the root of the tree of size ${size1}` });
  if (!sameBytes(secondHash, root2)) return err({ kind: 'root-mismatch', detail: `the proof does not lead to the root of the tree of size ${size2}: the trees are not consistent` });
  return ok(undefined);
}

function isPowerOfTwo(value: number): boolean {
  let remaining = value;
  while (remaining > 1 && !isOdd(remaining)) remaining = half(remaining);
  return remaining === 1;
}
