// SPDX-License-Identifier: Apache-2.0
/**
 * @module wasm-core/merkle
 *
 * RFC 9162 §2.1 Merkle trees over the arena: the tree hash (leaves through the batch kernel, levels
 * through `merkle_reduce`), inclusion and consistency proofs, and their verification; each both over
 * leaf data and over leaf hashes (a log that stores SHA-256(0x00 ‖ d) per entry proves from those), with
 * the two batch steps they are made of (`leafHashesInto`, `levelInto`) for callers that keep a tree of
 * their own, such as an incremental verifier's frontier; `leafHashesOfItemsInto` is the first step for
 * leaves that lie back to back in one buffer (a log's entries), given by their offsets.
 *
 * Not covered: who published or signed a root. The verifiers check only the hash chain, and give false
 * (never an exception) for hostile sizes, indices, proofs and roots.
 */

import { batchInto, packMixed, packUniform } from './batch.js';
import type { Arena } from './boundary.js';
import {
  assertArray,
  assertBytes,
  assertBytesArray,
  assertNumber,
  isBytes,
  notBytesError,
} from './checks.js';
import { Hasher, oneShot } from './hasher.js';
import { SHA256, SHA256_DIGEST_BYTES } from './sha.js';

/** Leaves per Merkle chunk: a power of two, so that every chunk is a complete subtree (RFC 9162 §2.1.1). */
const MERKLE_CHUNK_LEAVES = 16384;
const NODE_BYTES = SHA256_DIGEST_BYTES;
const LEAF_PREFIX = 0x00;
/** The batch kernel's limit of messages per call, and its (ptr, byteLen) record of two u32 (batch.ts). */
const BATCH_MAX_COUNT = 65536;
const RECORD_BYTES = 8;

/** A tree size or index the verifiers accept: a non-negative safe integer. */
function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Exact for any safe integer (the 32-bit bitwise operators are not). */
function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  let x = n;
  while (x % 2 === 0) x /= 2;
  return x === 1;
}

/** Largest power of two strictly below n (n ≥ 2): RFC 9162 §2.1.1's split point k. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** RFC 9162 §2.1.1 Merkle Tree Hash of the leaf data (contract: `WasmCore.merkleRoot`). */
export function merkleRoot(a: Arena, leaves: readonly Uint8Array[]): Uint8Array {
  assertArray(leaves, 'leaves');
  if (leaves.length === 0) return oneShot(a, SHA256, new Uint8Array(0));
  const n = leaves.length;
  const chunkCount = Math.ceil(n / MERKLE_CHUNK_LEAVES);
  if (chunkCount === 1) return subtreeRoot(a, leaves, 0, n, MERKLE_CHUNK_LEAVES);
  // Each full chunk is a complete subtree, so the chunk roots are one level of the tree
  // (the last chunk's root stands for its partial subtree), and that level reduces to the root.
  const roots = new Uint8Array(chunkCount * NODE_BYTES);
  for (let c = 0; c < chunkCount; c++) {
    const s = c * MERKLE_CHUNK_LEAVES;
    roots.set(
      subtreeRoot(a, leaves, s, Math.min(n, s + MERKLE_CHUNK_LEAVES), MERKLE_CHUNK_LEAVES),
      c * NODE_BYTES,
    );
  }
  return rootOfNodes(a, roots);
}

/** MTH given the leaf hashes (contract: `WasmCore.merkleRootOfLeafHashes`). */
export function rootOfLeafHashes(a: Arena, hashes: Uint8Array): Uint8Array {
  const n = hashCount(hashes);
  if (n === 0) return oneShot(a, SHA256, new Uint8Array(0));
  return rootOfNodes(a, hashes);
}

/** RFC 9162 §2.1.1 leaf hashes of many leaves (contract: `WasmCore.merkleLeafHashesInto`). */
export function leafHashesInto(a: Arena, leaves: readonly Uint8Array[], out: Uint8Array): void {
  assertArray(leaves, 'leaves');
  assertBytes(out, 'out');
  if (out.length < leaves.length * NODE_BYTES) {
    throw new RangeError(`out must hold ${leaves.length * NODE_BYTES} bytes, has ${out.length}`);
  }
  batchInto(a, leaves, 0, leaves.length, LEAF_PREFIX, out, 0, 'leaves');
}

/**
 * RFC 9162 §2.1.1 leaf hashes of consecutive items of one buffer (contract:
 * `WasmCore.merkleLeafHashesOfItemsInto`). The items of a chunk are copied into the arena with one
 * `set`, then each moved down by its position with `copyWithin` to open its 0x00 prefix byte: no
 * subarray or prefixed copy is made per item.
 */
export function leafHashesOfItemsInto(
  a: Arena,
  bytes: Uint8Array,
  bounds: Float64Array,
  count: number,
  out: Uint8Array,
): void {
  assertBytes(bytes, 'bytes');
  if (!(bounds instanceof Float64Array)) throw new TypeError('bounds must be a Float64Array');
  assertBytes(out, 'out');
  if (!Number.isSafeInteger(count) || count < 0 || count >= bounds.length)
    throw new RangeError(`count must be an integer 0..${bounds.length - 1} (bounds holds count + 1)`);
  if (out.length < count * NODE_BYTES)
    throw new RangeError(`out must hold ${count * NODE_BYTES} bytes, has ${out.length}`);
  // Non-decreasing offsets into bytes: each item is bytes[bounds[i], bounds[i + 1]).
  for (let i = 0, low = 0; i <= count; i++) {
    const b = bounds[i] as number;
    if (!Number.isSafeInteger(b) || b < low || b > bytes.length)
      throw new RangeError(`bounds[${i}] must be an integer ${low}..${bytes.length}, got ${b}`);
    low = b;
  }
  const u8 = a.u8;
  const u32 = a.u32;
  let i = 0;
  while (i < count) {
    // As many items as fit: a (ptr, byteLen) record, the prefix byte, the item and the digest each.
    const first = bounds[i] as number;
    let n = 0;
    while (
      i + n < count &&
      n < BATCH_MAX_COUNT &&
      (n + 1) * (RECORD_BYTES + 1 + NODE_BYTES) + ((bounds[i + n + 1] as number) - first) <= a.byteLen
    )
      n++;
    if (n === 0) {
      // This item alone does not fit the arena: stream it.
      const h = new Hasher(a, SHA256);
      h.update(Uint8Array.of(LEAF_PREFIX));
      h.update(bytes.subarray(first, bounds[i + 1]));
      h.digestInto(out.subarray(i * NODE_BYTES));
      i++;
      continue;
    }
    const dataPtr = a.base + n * RECORD_BYTES;
    const span = (bounds[i + n] as number) - first;
    // The items back to back after n bytes of room, then each moved down to leave one byte before it:
    // item k moves by n − k − 1 ≥ 0 bytes, so it never overwrites an item not yet moved.
    u8.set(bytes.subarray(first, first + span), dataPtr + n);
    let desc = a.base >>> 2;
    for (let k = 0; k < n; k++) {
      const from = (bounds[i + k] as number) - first;
      const to = (bounds[i + k + 1] as number) - first;
      const at = dataPtr + from + k;
      u8.copyWithin(at + 1, dataPtr + n + from, dataPtr + n + to);
      u8[at] = LEAF_PREFIX;
      u32[desc++] = at;
      u32[desc++] = to - from + 1;
    }
    const outPtr = dataPtr + span + n;
    a.x.sha256_batch(a.base, n, outPtr);
    out.set(u8.subarray(outPtr, outPtr + n * NODE_BYTES), i * NODE_BYTES);
    i += n;
  }
}

/** One level of RFC 9162 §2.1.1 interior nodes (contract: `WasmCore.merkleLevelInto`). */
export function levelInto(a: Arena, nodes: Uint8Array, out: Uint8Array): number {
  const count = hashCount(nodes, 'nodes');
  assertBytes(out, 'out');
  const parents = Math.ceil(count / 2);
  if (out.length < parents * NODE_BYTES) {
    throw new RangeError(`out must hold ${parents * NODE_BYTES} bytes, has ${out.length}`);
  }
  if (nodes.buffer === out.buffer && rangesOverlap(nodes, out)) {
    throw new RangeError('out must not overlap nodes');
  }
  // Pairs per kernel call: the level is hashed in place in the arena, 64 bytes in per pair.
  const pairsPerCall = Math.floor(a.byteLen / (2 * NODE_BYTES));
  const base = a.base;
  for (let first = 0; first < count; first += 2 * pairsPerCall) {
    const inCount = Math.min(count - first, 2 * pairsPerCall);
    a.u8.set(nodes.subarray(first * NODE_BYTES, (first + inCount) * NODE_BYTES), base);
    const outCount = a.x.merkle_level(base, inCount, base);
    out.set(a.u8.subarray(base, base + outCount * NODE_BYTES), (first / 2) * NODE_BYTES);
  }
  return parents;
}

function rangesOverlap(x: Uint8Array, y: Uint8Array): boolean {
  return x.byteOffset < y.byteOffset + y.length && y.byteOffset < x.byteOffset + x.length;
}

/** How many 32-byte nodes `hashes` holds; TypeError or RangeError unless it is a whole number of them. */
function hashCount(hashes: Uint8Array, name = 'leafHashes'): number {
  assertBytes(hashes, name);
  if (hashes.length % NODE_BYTES !== 0) {
    throw new RangeError(`${name} must be a multiple of ${NODE_BYTES} bytes long, got ${hashes.length}`);
  }
  return hashes.length / NODE_BYTES;
}

/** RFC 9162 §2.1.3.1 inclusion proof, bottom-up (contract: `WasmCore.inclusionProof`). */
export function inclusionProof(a: Arena, leaves: readonly Uint8Array[], index: number): Uint8Array[] {
  assertArray(leaves, 'leaves');
  assertNumber(index, 'index');
  const n = leaves.length;
  checkIndex(index, n);
  return pathOf(a, leafHashes(a, leaves), index, n);
}

/** `inclusionProof` given the leaf hashes (contract: `WasmCore.inclusionProofOfLeafHashes`). */
export function inclusionProofOfLeafHashes(a: Arena, hashes: Uint8Array, index: number): Uint8Array[] {
  const n = hashCount(hashes);
  assertNumber(index, 'index');
  checkIndex(index, n);
  return pathOf(a, hashes, index, n);
}

function checkIndex(index: number, n: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    throw new RangeError(`index must be an integer in [0, ${n}), got ${index}`);
  }
}

/** PATH(index, D[0:n]) from the leaf hashes (RFC 9162 §2.1.3.1). */
function pathOf(a: Arena, hashes: Uint8Array, index: number, n: number): Uint8Array[] {
  // PATH(m, D[lo:hi]) = PATH(m, D[lo:lo+k]) : MTH(D[lo+k:hi]) or PATH(m-k, D[lo+k:hi]) : MTH(D[lo:lo+k]);
  // walking down collects the siblings top-first, and the proof lists them bottom-up.
  const path: Uint8Array[] = [];
  let lo = 0;
  let hi = n;
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      path.push(rootOfHashes(a, hashes, lo + k, hi));
      hi = lo + k;
    } else {
      path.push(rootOfHashes(a, hashes, lo, lo + k));
      lo += k;
    }
  }
  return path.reverse();
}

/** RFC 9162 §2.1.3.2 inclusion proof verification (contract: `WasmCore.verifyInclusion`). */
export function verifyInclusion(
  a: Arena,
  leafData: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  assertBytes(leafData, 'leafData');
  checkInclusionArgs(index, treeSize, proof, root);
  if (!inclusionShapeOk(index, treeSize, proof, root)) return false;
  return inclusionChain(a, leafHash(a, leafData), index, treeSize, proof, root);
}

/** `verifyInclusion` given the leaf hash (contract: `WasmCore.verifyInclusionOfLeafHash`). */
export function verifyInclusionOfLeafHash(
  a: Arena,
  leafHashBytes: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  assertBytes(leafHashBytes, 'leafHash');
  checkInclusionArgs(index, treeSize, proof, root);
  if (leafHashBytes.length !== NODE_BYTES || !inclusionShapeOk(index, treeSize, proof, root)) return false;
  return inclusionChain(a, leafHashBytes, index, treeSize, proof, root);
}

function checkInclusionArgs(
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  assertNumber(index, 'index');
  assertNumber(treeSize, 'treeSize');
  assertBytesArray(proof, 'proof');
  assertBytes(root, 'root');
}

function inclusionShapeOk(
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isCount(index) || !isCount(treeSize) || index >= treeSize || root.length !== NODE_BYTES) return false;
  return proof.every((p) => p.length === NODE_BYTES);
}

/** The §2.1.3.2 hash chain from the leaf hash up to the root. */
function inclusionChain(
  a: Arena,
  leaf: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  let fn = index;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(a, p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(a, r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesEqual(r, root);
}

/** RFC 9162 §2.1.4.1 consistency proof (contract: `WasmCore.consistencyProof`). */
export function consistencyProof(a: Arena, leaves: readonly Uint8Array[], m: number): Uint8Array[] {
  assertArray(leaves, 'leaves');
  assertNumber(m, 'm');
  const n = leaves.length;
  checkOldSize(m, n);
  if (m === 0 || m === n) return [];
  return subproofOf(a, leafHashes(a, leaves), m, n);
}

/** `consistencyProof` given the leaf hashes (contract: `WasmCore.consistencyProofOfLeafHashes`). */
export function consistencyProofOfLeafHashes(a: Arena, hashes: Uint8Array, m: number): Uint8Array[] {
  const n = hashCount(hashes);
  assertNumber(m, 'm');
  checkOldSize(m, n);
  if (m === 0 || m === n) return [];
  return subproofOf(a, hashes, m, n);
}

function checkOldSize(m: number, n: number): void {
  if (!Number.isInteger(m) || m < 0 || m > n)
    throw new RangeError(`m must be an integer in [0, ${n}], got ${m}`);
}

/** PROOF(m, D[0:n]) from the leaf hashes, 0 < m < n (RFC 9162 §2.1.4.1). */
function subproofOf(a: Arena, hashes: Uint8Array, m: number, n: number): Uint8Array[] {
  // SUBPROOF(m, D[lo:hi], b), unrolled: walking down collects the outermost MTH first, and the proof
  // lists the innermost first.
  const proof: Uint8Array[] = [];
  let lo = 0;
  let hi = n;
  let mm = m;
  let completeSubtree = true;
  for (;;) {
    if (mm === hi - lo) {
      if (!completeSubtree) proof.push(rootOfHashes(a, hashes, lo, hi));
      break;
    }
    const k = splitPoint(hi - lo);
    if (mm <= k) {
      proof.push(rootOfHashes(a, hashes, lo + k, hi));
      hi = lo + k;
    } else {
      proof.push(rootOfHashes(a, hashes, lo, lo + k));
      lo += k;
      mm -= k;
      completeSubtree = false;
    }
  }
  return proof.reverse();
}

/** RFC 9162 §2.1.4.2 consistency proof verification (contract: `WasmCore.verifyConsistency`). */
export function verifyConsistency(
  a: Arena,
  m: number,
  n: number,
  proof: readonly Uint8Array[],
  rootM: Uint8Array,
  rootN: Uint8Array,
): boolean {
  assertNumber(m, 'm');
  assertNumber(n, 'n');
  assertBytesArray(proof, 'proof');
  assertBytes(rootM, 'rootM');
  assertBytes(rootN, 'rootN');
  if (!isCount(m) || !isCount(n) || m > n) return false;
  if (rootM.length !== NODE_BYTES || rootN.length !== NODE_BYTES) return false;
  if (!proof.every((p) => p.length === NODE_BYTES)) return false;
  if (m === n) return proof.length === 0 && bytesEqual(rootM, rootN);
  if (m === 0) return proof.length === 0 && bytesEqual(rootM, oneShot(a, SHA256, new Uint8Array(0)));
  if (proof.length === 0) return false;
  // When m is a power of two, the old root is itself a node of the new tree and starts the chain.
  const path = isPowerOfTwo(m) ? [rootM, ...proof] : proof;
  let fn = m - 1;
  let sn = n - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(a, c, fr);
      sr = nodeHash(a, c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(a, sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesEqual(fr, rootM) && bytesEqual(sr, rootN);
}

/** SHA-256(0x00 ‖ data): RFC 9162 §2.1.1 leaf hash. */
function leafHash(a: Arena, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(NODE_BYTES);
  batchInto(a, [data], 0, 1, LEAF_PREFIX, out, 0, 'leafData');
  return out;
}

/** SHA-256(0x01 ‖ left ‖ right): RFC 9162 §2.1.1 interior node. */
function nodeHash(a: Arena, left: Uint8Array, right: Uint8Array): Uint8Array {
  const base = a.base;
  a.u8.set(left, base);
  a.u8.set(right, base + NODE_BYTES);
  a.x.merkle_level(base, 2, base + 2 * NODE_BYTES);
  return a.u8.slice(base + 2 * NODE_BYTES, base + 3 * NODE_BYTES);
}

/** Leaf hashes of all leaves, 32 bytes each, through the batch kernel. */
function leafHashes(a: Arena, leaves: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(leaves.length * NODE_BYTES);
  batchInto(a, leaves, 0, leaves.length, LEAF_PREFIX, out, 0, 'leaves');
  return out;
}

/** MTH of leaves [lo, hi) given their leaf hashes. */
function rootOfHashes(a: Arena, hashes: Uint8Array, lo: number, hi: number): Uint8Array {
  return rootOfNodes(a, hashes.subarray(lo * NODE_BYTES, hi * NODE_BYTES));
}

/**
 * MTH of leaves [start, end), where end − start ≤ width, width is a power of two and start is a
 * multiple of it: hashed and reduced inside the arena when they fit, else split at width / 2 (which is
 * then RFC 9162's split point k), down to single leaves that are streamed.
 */
function subtreeRoot(
  a: Arena,
  leaves: readonly Uint8Array[],
  start: number,
  end: number,
  width: number,
): Uint8Array {
  const count = end - start;
  const first = leaves[start];
  if (!isBytes(first)) throw notBytesError('leaves', start, first);
  const byteLen = first.length + 1;
  let digests = -1;
  if (count * (byteLen + NODE_BYTES) <= a.byteLen) {
    if (packUniform(a, leaves, start, end, LEAF_PREFIX, byteLen, 'leaves') === count) {
      digests = a.base + count * byteLen;
      a.x.sha256_batch_fixed(a.base, byteLen, count, digests);
    }
  }
  if (digests < 0) {
    const [packed, dataEnd] = packMixed(a, leaves, start, end, LEAF_PREFIX, 'leaves');
    if (packed === count) {
      digests = dataEnd;
      a.x.sha256_batch(a.base, count, digests);
    }
  }
  if (digests >= 0) {
    a.x.merkle_reduce(digests, count);
    return a.u8.slice(digests, digests + NODE_BYTES);
  }
  if (count === 1) return leafHash(a, first);
  const half = width / 2;
  const left = subtreeRoot(a, leaves, start, Math.min(end, start + half), half);
  if (end <= start + half) return left;
  return nodeHash(a, left, subtreeRoot(a, leaves, start + half, end, half));
}

/** Reduce one level of nodes (32 bytes each) to the root, level by level (RFC 9162 §2.1.1). */
function rootOfNodes(a: Arena, nodes: Uint8Array): Uint8Array {
  const count = nodes.length / NODE_BYTES;
  if (count === 1) return nodes.slice(0, NODE_BYTES);
  const base = a.base;
  if (nodes.length <= a.byteLen) {
    a.u8.set(nodes, base);
    a.x.merkle_reduce(base, count);
    return a.u8.slice(base, base + NODE_BYTES);
  }
  // Larger than the arena: reduce aligned power-of-two groups, whose roots form a higher level.
  let group = 1;
  while (group * 2 * NODE_BYTES <= a.byteLen) group *= 2;
  const groups = Math.ceil(count / group);
  const next = new Uint8Array(groups * NODE_BYTES);
  for (let g = 0; g < groups; g++) {
    const part = nodes.subarray(g * group * NODE_BYTES, Math.min(count, (g + 1) * group) * NODE_BYTES);
    a.u8.set(part, base);
    a.x.merkle_reduce(base, part.length / NODE_BYTES);
    next.set(a.u8.subarray(base, base + NODE_BYTES), g * NODE_BYTES);
  }
  return rootOfNodes(a, next);
}
