// SPDX-License-Identifier: Apache-2.0
/**
 * The node:crypto RFC 9162 pieces of the audit baselines (bench/audit.bench.ts, bench/audit-e2e.bench.ts):
 * written straightforwardly but not naively, so that what the wasm-core verifiers are compared with is
 * what a careful programmer would write with node:crypto alone.
 */
import { createHash, hash as nodeHash } from 'node:crypto';

export const LEAF = Buffer.of(0x00);
export const NODE = Buffer.of(0x01);

/** SHA-256(prefix ‖ a ‖ b) through node:crypto. */
export type NodeHash = (prefix: Buffer, a: Uint8Array, b?: Uint8Array) => Buffer;

/** A `createHash` object per hash. */
export const viaCreateHash: NodeHash = (prefix, a, b) => {
  const h = createHash('sha256').update(prefix).update(a);
  if (b !== undefined) h.update(b);
  return h.digest();
};

const scratch = Buffer.alloc(1 << 16);
/** One-shot `crypto.hash` (Node ≥ 20.12) over a reused scratch buffer: node:crypto's fastest for small messages. */
export const viaOneShot: NodeHash = (prefix, a, b) => {
  scratch[0] = prefix[0] ?? 0;
  scratch.set(a, 1);
  let len = 1 + a.length;
  if (b !== undefined) {
    scratch.set(b, len);
    len += b.length;
  }
  return nodeHash('sha256', scratch.subarray(0, len), 'buffer');
};

/**
 * A frontier: slot h holds the root of a perfect subtree of 2^h leaves when bit h of size is set. Each
 * append merges with one node hash per carry: one node hash per leaf on average, the minimum any
 * method needs; the root at any size is the O(log n) fold of the slots.
 */
export class NodeFrontier {
  readonly #h: NodeHash;
  readonly #slots: Buffer[] = [];
  size = 0;

  constructor(h: NodeHash) {
    this.#h = h;
  }

  append(leaf: Buffer): void {
    let node = leaf;
    let level = 0;
    for (let s = this.size; s % 2 === 1; s = Math.floor(s / 2), level++) {
      node = this.#h(NODE, this.#slots[level] as Buffer, node);
    }
    this.#slots[level] = node;
    this.size++;
  }

  root(): Buffer {
    let root: Buffer | undefined;
    for (let s = this.size, level = 0; s > 0; s = Math.floor(s / 2), level++) {
      if (s % 2 === 0) continue;
      const node = this.#slots[level] as Buffer;
      root = root === undefined ? node : this.#h(NODE, node, root);
    }
    return root ?? createHash('sha256').digest();
  }
}
