// SPDX-License-Identifier: Apache-2.0
// An independent RFC 9162 §2.1 verifier on node:crypto only, written from the RFC's recursive
// definitions and sharing nothing with agent/ or wasm-core (nor with test/wasm-core/merkle-reference.ts):
// what an auditor with only SHA-256 would write to check `execgate audit prove` output. Proofs are
// checked by rebuilding the roots along the recursion that defines them (PATH of §2.1.3.1 and SUBPROOF
// of §2.1.4.1), not by the iterative algorithms of §2.1.3.2 and §2.1.4.2 that our code uses, so a
// mistake shared by the RFC's two formulations and our code is unlikely.
import { createHash } from 'node:crypto';

export type Hash = Buffer;

const sha256 = (...parts: Uint8Array[]): Hash => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** SHA-256(0x00 ‖ entry): the leaf hash of §2.1.1. */
export const indLeafHash = (entry: Uint8Array): Hash => sha256(Buffer.of(0x00), entry);
/** SHA-256(0x01 ‖ left ‖ right): an interior node of §2.1.1. */
export const indNodeHash = (left: Uint8Array, right: Uint8Array): Hash =>
  sha256(Buffer.of(0x01), left, right);

/** k: the largest power of two smaller than n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (2 * k < n) k *= 2;
  return k;
}

/**
 * MTH(D[lo:hi]) over leaf hashes (§2.1.1); the empty tree is SHA-256 of "". With `memo`, the roots of
 * perfect subtrees of 1,024 leaves or more are kept there and reused (the left half of every split is
 * one), so that the roots of many prefixes of one large log cost little more than one.
 */
export function indRoot(
  leafHashes: readonly Hash[],
  lo = 0,
  hi = leafHashes.length,
  memo?: Map<string, Hash>,
): Hash {
  if (hi === lo) return sha256();
  if (hi - lo === 1) return leafHashes[lo] as Hash;
  const key = `${lo}/${hi}`;
  const known = memo?.get(key);
  if (known !== undefined) return known;
  const k = split(hi - lo);
  const root = indNodeHash(indRoot(leafHashes, lo, lo + k, memo), indRoot(leafHashes, lo + k, hi, memo));
  const n = hi - lo;
  if (memo !== undefined && n >= 1024 && (n & (n - 1)) === 0) memo.set(key, root);
  return root;
}

const HEX64 = /^[0-9a-f]{64}$/;

function hashOf(text: unknown): Hash | undefined {
  return typeof text === 'string' && HEX64.test(text) ? Buffer.from(text, 'hex') : undefined;
}

/**
 * The root that PATH(m, D[n]) = `path` (bottom-up) leads to from leaf hash `leaf`, following the
 * definition: for n > 1 with split k, PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) when m < k, else
 * PATH(m − k, D[k:n]) : MTH(D[0:k]). Undefined when the path has the wrong length for (m, n).
 */
function rootFromPath(m: number, n: number, leaf: Hash, path: readonly Hash[]): Hash | undefined {
  if (n === 1) return path.length === 0 ? leaf : undefined;
  if (path.length === 0) return undefined;
  const k = split(n);
  const sibling = path[path.length - 1] as Hash;
  const rest = path.slice(0, -1);
  if (m < k) {
    const left = rootFromPath(m, k, leaf, rest);
    return left && indNodeHash(left, sibling);
  }
  const right = rootFromPath(m - k, n - k, leaf, rest);
  return right && indNodeHash(sibling, right);
}

/** Checks `audit prove --index` JSON: the proof leads from `leaf` to `root`. */
export function indCheckInclusion(json: string): boolean {
  const v = JSON.parse(json) as Record<string, unknown>;
  const { index, size } = v;
  const leaf = hashOf(v.leaf);
  const root = hashOf(v.root);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size)) return false;
  if ((index as number) < 0 || (index as number) >= (size as number)) return false;
  if (!leaf || !root || !Array.isArray(v.proof)) return false;
  const path = v.proof.map(hashOf);
  if (path.some((p) => p === undefined)) return false;
  const got = rootFromPath(index as number, size as number, leaf, path as Hash[]);
  return got?.equals(root) === true;
}

/**
 * The (old, new) roots that SUBPROOF(m, D[n], b) = `proof` leads to, following the definition:
 * m = n: [] when b (the old root `oldRoot` is this subtree), else [MTH(D[n])]; m ≤ k: SUBPROOF(m,
 * D[0:k], b) : MTH(D[k:n]); m > k: SUBPROOF(m − k, D[k:n], false) : MTH(D[0:k]).
 */
function rootsFromSubproof(
  m: number,
  n: number,
  b: boolean,
  proof: readonly Hash[],
  oldRoot: Hash,
): [Hash, Hash] | undefined {
  if (m === n) {
    if (b) return proof.length === 0 ? [oldRoot, oldRoot] : undefined;
    return proof.length === 1 ? [proof[0] as Hash, proof[0] as Hash] : undefined;
  }
  if (proof.length === 0) return undefined;
  const k = split(n);
  const last = proof[proof.length - 1] as Hash;
  const rest = proof.slice(0, -1);
  if (m <= k) {
    const sub = rootsFromSubproof(m, k, b, rest, oldRoot);
    return sub && [sub[0], indNodeHash(sub[1], last)];
  }
  const sub = rootsFromSubproof(m - k, n - k, false, rest, oldRoot);
  return sub && [indNodeHash(last, sub[0]), indNodeHash(last, sub[1])];
}

/** Checks `audit prove --from-size` JSON: the tree of `from` leaves is a prefix of the tree of `size`. */
export function indCheckConsistency(json: string): boolean {
  const v = JSON.parse(json) as Record<string, unknown>;
  const { from, size } = v;
  const fromRoot = hashOf(v.fromRoot);
  const root = hashOf(v.root);
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(size)) return false;
  const m = from as number;
  const n = size as number;
  if (m < 1 || m > n || !fromRoot || !root || !Array.isArray(v.proof)) return false;
  const proof = v.proof.map(hashOf);
  if (proof.some((p) => p === undefined)) return false;
  const got = rootsFromSubproof(m, n, true, proof as Hash[], fromRoot);
  if (got === undefined) return false;
  return got[0].equals(fromRoot) && got[1].equals(root);
}
