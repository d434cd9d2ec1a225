// SPDX-License-Identifier: Apache-2.0
// RFC 9162 §2.1.1 Merkle tree hashing, level by level.
//
// Leaves (H(0x00 ‖ data)) are hashed by the batch kernel with the 0x00 prefix written by the loader; this
// module hashes interior nodes, H(0x01 ‖ left ‖ right). Computing the tree a level at a time, pairing
// nodes left to right and carrying an unpaired last node up unchanged, gives exactly the recursive MTH of
// §2.1.1: the split point k (largest power of two below n) always falls on a pair boundary of every level
// below the one where the two subtrees meet.
//
// ABI (integers only; pointers are arena offsets checked by the loader):
//   merkle_level(nodesPtr, nodeCount, outPtr) -> parentCount     one level; outPtr may equal nodesPtr
//   merkle_reduce(nodesPtr, nodeCount)                           levels until one node, at nodesPtr
// Proof generation and verification are in the loader: they touch O(log n) nodes and are not hot.

import { sha256_digest } from './sha256';
import { merkleLevelX4 } from './sha256x4';

// 0x01 ‖ left ‖ right, for the nodes the SIMD kernel does not take (and every node in the scalar build).
const NODE_MSG: usize = memory.data(80, 16);

/** SHA-256(0x01 ‖ pair[0..63]) into 32 bytes at out (RFC 9162 §2.1.1). */
function nodeScalar(pair: usize, out: usize): void {
  store<u8>(NODE_MSG, 0x01);
  memory.copy(NODE_MSG + 1, pair, 64);
  sha256_digest(NODE_MSG, 65, out);
}

/**
 * One level of RFC 9162 §2.1.1: out[i] = H(0x01 ‖ nodes[2i] ‖ nodes[2i+1]) for each pair, then an odd
 * last node copied up unchanged. Returns the number of nodes written, ceil(nodeCount / 2).
 */
export function merkle_level(nodesPtr: usize, nodeCount: u32, outPtr: usize): u32 {
  const pairs = nodeCount >>> 1;
  let i: u32 = 0;
  if (ASC_FEATURE_SIMD) {
    const groups = pairs >>> 2;
    merkleLevelX4(nodesPtr, groups, outPtr);
    i = groups << 2;
  }
  for (; i < pairs; i++) nodeScalar(nodesPtr + (<usize>i << 6), outPtr + (<usize>i << 5));
  if (nodeCount & 1) memory.copy(outPtr + (<usize>pairs << 5), nodesPtr + (<usize>pairs << 6), 32);
  return pairs + (nodeCount & 1);
}

/** Reduce nodeCount (≥ 1) nodes in place, level by level, to the root at nodesPtr. */
export function merkle_reduce(nodesPtr: usize, nodeCount: u32): void {
  let n = nodeCount;
  while (n > 1) n = merkle_level(nodesPtr, n, nodesPtr);
}
