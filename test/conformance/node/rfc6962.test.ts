/**
 * RFC 6962 / RFC 9162 Merkle proofs against transparency-dev/merkle's vectors (196 cases, copied
 * into test/conformance/vectors/rfc6962 with their origin and licence), plus the tree constants
 * (leaf inputs → roots for sizes 1–8), plus generated proofs for every (index, size) and
 * (size1, size2) of small trees.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { base64Decode, base64Encode } from '../../../core/digest.ts';
import {
  consistencyProof,
  consistencyProofRanges,
  emptyTreeRoot,
  inclusionProof,
  inclusionProofRanges,
  merkleLeafHash,
  perfectSubtreesOf,
  treeRootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from '../../../core/merkle.ts';

const vectorRoot = join(import.meta.dirname, '../vectors/rfc6962');
const testdata = join(vectorRoot, 'testdata');

interface InclusionVector {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

interface ConsistencyVector {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

function jsonFiles(directory: string): string[] {
  const found: string[] = [];
  const pending = [directory];
  while (pending.length > 0) {
    const current = pending.pop()!;
    for (const name of readdirSync(current).sort()) {
      const path = join(current, name);
      if (statSync(path).isDirectory()) pending.push(path);
      else if (name.endsWith('.json')) found.push(path);
    }
  }
  return found.sort();
}

const inclusionFiles = jsonFiles(join(testdata, 'inclusion'));
const consistencyFiles = jsonFiles(join(testdata, 'consistency'));
const hex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
const constants = JSON.parse(readFileSync(join(vectorRoot, 'tree-constants.json'), 'utf8')) as {
  leaf_inputs_hex: string[];
  root_hashes_hex_by_tree_size_from_1: string[];
  empty_root_hex: string;
};
const leafHashes = constants.leaf_inputs_hex.map((input) => merkleLeafHash(hex(input)));
const decodeProof = (proof: string[] | null) => (proof ?? []).map(base64Decode);

describe('RFC 6962 vectors (transparency-dev/merkle @417fb0c)', () => {
  it('has all 196 cases', () => {
    expect(inclusionFiles.length + consistencyFiles.length).toBe(196);
  });

  it.each(inclusionFiles.map((file) => [relative(testdata, file), file]))('inclusion %s', (_name, file) => {
    const vector = JSON.parse(readFileSync(file, 'utf8')) as InclusionVector;
    const verdict = verifyInclusion(base64Decode(vector.leafHash), vector.leafIdx, vector.treeSize, decodeProof(vector.proof), base64Decode(vector.root));
    expect(verdict.ok).toBe(!vector.wantErr);
  });

  it.each(consistencyFiles.map((file) => [relative(testdata, file), file]))('consistency %s', (_name, file) => {
    const vector = JSON.parse(readFileSync(file, 'utf8')) as ConsistencyVector;
    const verdict = verifyConsistency(vector.size1, vector.size2, decodeProof(vector.proof), base64Decode(vector.root1), base64Decode(vector.root2));
    expect(verdict.ok).toBe(!vector.wantErr);
  });

  it('generates byte-identical proofs for every happy-path vector over the constant leaves', () => {
    let compared = 0;
    for (const file of inclusionFiles) {
      const vector = JSON.parse(readFileSync(file, 'utf8')) as InclusionVector;
      if (vector.wantErr || vector.treeSize > leafHashes.length || vector.root !== base64Encode(treeRootFromLeafHashes(leafHashes.slice(0, vector.treeSize)))) continue;
      expect(inclusionProof(vector.leafIdx, leafHashes.slice(0, vector.treeSize)).map(base64Encode)).toEqual(vector.proof ?? []);
      compared++;
    }
    for (const file of consistencyFiles) {
      const vector = JSON.parse(readFileSync(file, 'utf8')) as ConsistencyVector;
      if (vector.wantErr || vector.size2 > leafHashes.length || vector.root2 !== base64Encode(treeRootFromLeafHashes(leafHashes.slice(0, vector.size2)))) continue;
      expect(consistencyProof(vector.size1, leafHashes.slice(0, vector.size2)).map(base64Encode)).toEqual(vector.proof ?? []);
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(8);
  });
});

describe('RFC 6962 tree constants', () => {
  it('hashes the empty tree to SHA-256("")', () => {
    expect(emptyTreeRoot).toEqual(hex(constants.empty_root_hex));
    expect(treeRootFromLeafHashes([])).toEqual(emptyTreeRoot);
  });

  it.each(constants.root_hashes_hex_by_tree_size_from_1.map((root, index) => [index + 1, root]))('root of the first %i leaves', (size, root) => {
    expect(treeRootFromLeafHashes(leafHashes.slice(0, size as number))).toEqual(hex(root as string));
  });
});

describe('generated proofs', () => {
  const leaves = Array.from({ length: 70 }, (_, index) => merkleLeafHash(new TextEncoder().encode(`leaf ${index}`)));
  const roots = Array.from({ length: leaves.length + 1 }, (_, size) => treeRootFromLeafHashes(leaves.slice(0, size)));

  it('every inclusion proof in trees of 1–70 leaves verifies, and fails for the neighbouring index', () => {
    for (let size = 1; size <= leaves.length; size++) {
      for (let index = 0; index < size; index++) {
        const proof = inclusionProof(index, leaves.slice(0, size));
        expect(verifyInclusion(leaves[index]!, index, size, proof, roots[size]!).ok).toBe(true);
        if (size > 1) expect(verifyInclusion(leaves[(index + 1) % size]!, index, size, proof, roots[size]!).ok).toBe(false);
      }
    }
  });

  it('every consistency proof between trees of 1–70 leaves verifies, and fails against a forked root', () => {
    const forked = merkleLeafHash(new TextEncoder().encode('forked'));
    for (let size2 = 1; size2 <= leaves.length; size2++) {
      for (let size1 = 1; size1 <= size2; size1++) {
        const proof = consistencyProof(size1, leaves.slice(0, size2));
        expect(verifyConsistency(size1, size2, proof, roots[size1]!, roots[size2]!).ok).toBe(true);
        const forkedFirst = treeRootFromLeafHashes([...leaves.slice(0, size1 - 1), forked]);
        expect(verifyConsistency(size1, size2, proof, forkedFirst, roots[size2]!).ok).toBe(false);
      }
    }
  });

  it('names each proof node as a leaf range whose complete subtrees are aligned', () => {
    expect(perfectSubtreesOf({ start: 16, end: 29 })).toEqual([
      { level: 3, index: 2 },
      { level: 2, index: 6 },
      { level: 0, index: 28 },
    ]);
    expect(inclusionProofRanges(5, 7)).toEqual([
      { start: 4, end: 5 },
      { start: 6, end: 7 },
      { start: 0, end: 4 },
    ]);
    expect(consistencyProofRanges(3, 7)).toEqual([
      { start: 2, end: 3 },
      { start: 3, end: 4 },
      { start: 0, end: 2 },
      { start: 4, end: 7 },
    ]);
  });

  it('handles tree sizes beyond 32 bits (no 32-bit shifts)', () => {
    const size = 2 ** 40 + 3;
    const ranges = inclusionProofRanges(2 ** 40 + 1, size);
    expect(ranges.length).toBe(3);
    expect(ranges.at(-1)).toEqual({ start: 0, end: 2 ** 40 });
  });
});

describe('size-0 rule: nothing is proven from or into the empty tree', () => {
  it('rejects every consistency proof whose first tree is empty, even 0 → 0 with equal roots', () => {
    expect(verifyConsistency(0, 0, [], emptyTreeRoot, emptyTreeRoot)).toMatchObject({ ok: false, reason: { kind: 'empty-first-tree' } });
    expect(verifyConsistency(0, 1, [], emptyTreeRoot, leafHashes[0]!)).toMatchObject({ ok: false, reason: { kind: 'empty-first-tree' } });
    expect(() => consistencyProofRanges(0, 5)).toThrow(RangeError);
  });

  it('has no inclusion proof into the empty tree', () => {
    expect(verifyInclusion(leafHashes[0]!, 0, 0, [], emptyTreeRoot).ok).toBe(false);
    expect(() => inclusionProofRanges(0, 0)).toThrow(RangeError);
  });
});
