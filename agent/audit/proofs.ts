// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/audit/proofs
 *
 * RFC 9162 §2.1.3–2.1.4 proofs from the log's stored leaf hashes (O(n) node hashes once, batched per
 * level in wasm-core), their verification, and the JSON `execgate audit prove` prints, with verifiers
 * that take hostile JSON (false, never an exception). They check the hash chain only: the (size, root)
 * a proof ends in must come from an authenticated checkpoint (pass it as `trusted`). Call
 * `await initHashing()` first.
 */
import * as wasm from '../../wasm-core/index.js';
import { fromHex, isHex, toHex } from '../encoding/bytes.js';
import type { CheckpointRoot } from './tree.js';

export const HASH_BYTES = 32;

export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function equalHash(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Proofs from stored leaf hashes

/** The leaf hashes of a log, as the store keeps them: one 32-byte array per leaf, or all back to back. */
export type LeafHashes = Uint8Array | readonly Uint8Array[];

/** The first `size` leaf hashes back to back; RangeError when there are fewer or one is not 32 bytes. */
function packed(leafHashes: LeafHashes, size: number): Uint8Array {
  if (isBytes(leafHashes)) {
    if (leafHashes.length % HASH_BYTES !== 0) {
      throw new RangeError(
        `leafHashes must be a multiple of ${HASH_BYTES} bytes long, got ${leafHashes.length}`,
      );
    }
    if (leafHashes.length < size * HASH_BYTES) {
      throw new RangeError(`size ${size} exceeds the ${leafHashes.length / HASH_BYTES} leaf hashes given`);
    }
    return leafHashes.subarray(0, size * HASH_BYTES);
  }
  if (!Array.isArray(leafHashes)) throw new TypeError('leafHashes must be a Uint8Array or an array of them');
  if (leafHashes.length < size)
    throw new RangeError(`size ${size} exceeds the ${leafHashes.length} leaf hashes given`);
  const out = new Uint8Array(size * HASH_BYTES);
  for (let i = 0; i < size; i++) {
    const h = leafHashes[i];
    if (!isBytes(h) || h.length !== HASH_BYTES)
      throw new RangeError(`leafHashes[${i}] must be ${HASH_BYTES} bytes`);
    out.set(h, i * HASH_BYTES);
  }
  return out;
}

function checkSize(size: number, name: string): void {
  if (!isCount(size)) throw new RangeError(`${name} must be a safe non-negative integer, got ${size}`);
}

/** RFC 9162 §2.1.1 Merkle tree hash of the first `size` leaves, from their leaf hashes. */
export function treeRoot(leafHashes: LeafHashes, size: number): Uint8Array {
  checkSize(size, 'size');
  return wasm.merkleRootOfLeafHashes(packed(leafHashes, size));
}

/**
 * RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of the first `size` leaves, bottom-up,
 * from the leaf hashes: O(size) node hashes, batched a level at a time (about 0.1 s for a million
 * leaves). RangeError unless 0 ≤ index < size ≤ the number of leaf hashes.
 */
export function inclusionProofFor(leafHashes: LeafHashes, index: number, size: number): Uint8Array[] {
  checkSize(size, 'size');
  return wasm.inclusionProofOfLeafHashes(packed(leafHashes, size), index);
}

/**
 * RFC 9162 §2.1.4.1 consistency proof from the tree of the first m leaves to the tree of the first n,
 * from the leaf hashes: O(n) node hashes, batched. Empty when m = 0 or m = n. RangeError unless
 * 0 ≤ m ≤ n ≤ the number of leaf hashes.
 */
export function consistencyProofFor(leafHashes: LeafHashes, m: number, n: number): Uint8Array[] {
  checkSize(n, 'n');
  return wasm.consistencyProofOfLeafHashes(packed(leafHashes, n), m);
}

function isHashArray(value: unknown): value is readonly Uint8Array[] {
  return Array.isArray(value) && value.every((p) => isBytes(p) && p.length === HASH_BYTES);
}

/**
 * RFC 9162 §2.1.3.2: does `proof` show that the leaf with hash `leafHash` is leaf `index` of the tree
 * of `size` leaves with root `root`? False, never an exception, for anything hostile (wrong types,
 * lengths, sizes, indices, proofs). Checks the hash chain only.
 */
export function verifyInclusionProof(
  leafHash: unknown,
  index: unknown,
  size: unknown,
  proof: unknown,
  root: unknown,
): boolean {
  if (!isBytes(leafHash) || !isBytes(root) || !isCount(index) || !isCount(size) || !isHashArray(proof))
    return false;
  return wasm.verifyInclusionOfLeafHash(leafHash, index, size, proof, root);
}

/**
 * RFC 9162 §2.1.4.2: does `proof` show that the tree of m leaves with root rootM is a prefix of the
 * tree of n leaves with root rootN? (m = n: an empty proof and equal roots; m = 0: an empty proof and
 * rootM the empty tree's hash.) False, never an exception, for anything hostile.
 */
export function verifyConsistencyProof(
  m: unknown,
  n: unknown,
  proof: unknown,
  rootM: unknown,
  rootN: unknown,
): boolean {
  if (!isCount(m) || !isCount(n) || !isHashArray(proof) || !isBytes(rootM) || !isBytes(rootN)) return false;
  return wasm.verifyConsistency(m, n, proof, rootM, rootN);
}

// ---------------------------------------------------------------------------------------------------
// The JSON of `execgate audit prove`

/**
 * `execgate audit prove --index I`: leaf `index` is in the tree of `size` leaves with root `root`.
 * `leaf` is the leaf hash SHA-256(0x00 ‖ entry bytes); `proof` is RFC 9162's PATH(index, D[size]),
 * bottom-up. Hashes are lowercase hex (64 digits).
 */
export interface InclusionProofJson {
  readonly index: number;
  readonly size: number;
  readonly leaf: string;
  readonly root: string;
  readonly proof: readonly string[];
}

/**
 * `execgate audit prove --from-size M`: the tree of `from` leaves with root `fromRoot` is a prefix of
 * the tree of `size` leaves with root `root`; `proof` is RFC 9162's PROOF(from, D[size]).
 */
export interface ConsistencyProofJson {
  readonly from: number;
  readonly size: number;
  readonly fromRoot: string;
  readonly root: string;
  readonly proof: readonly string[];
}

/** The inclusion proof of leaf `index` in the tree of the first `size` leaves, as `audit prove` prints it. */
export function inclusionProofJson(leafHashes: LeafHashes, index: number, size: number): InclusionProofJson {
  checkSize(size, 'size');
  const hashes = packed(leafHashes, size);
  const proof = wasm.inclusionProofOfLeafHashes(hashes, index);
  return {
    index,
    size,
    leaf: toHex(hashes.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES)),
    root: toHex(wasm.merkleRootOfLeafHashes(hashes)),
    proof: proof.map(toHex),
  };
}

/** The consistency proof from size `from` to size `size`, as `audit prove --from-size` prints it. */
export function consistencyProofJson(
  leafHashes: LeafHashes,
  from: number,
  size: number,
): ConsistencyProofJson {
  checkSize(size, 'size');
  checkSize(from, 'from');
  if (from > size) throw new RangeError(`from (${from}) must not exceed size (${size})`);
  const hashes = packed(leafHashes, size);
  return {
    from,
    size,
    fromRoot: toHex(wasm.merkleRootOfLeafHashes(hashes.subarray(0, from * HASH_BYTES))),
    root: toHex(wasm.merkleRootOfLeafHashes(hashes)),
    proof: wasm.consistencyProofOfLeafHashes(hashes, from).map(toHex),
  };
}

/** A 32-byte hash from 64 hex digits, else undefined. */
function hashFromHex(value: unknown): Uint8Array | undefined {
  if (typeof value !== 'string' || value.length !== 2 * HASH_BYTES || !isHex(value)) return undefined;
  return fromHex(value);
}

function hashesFromHex(value: unknown): Uint8Array[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: Uint8Array[] = [];
  for (const v of value) {
    const h = hashFromHex(v);
    if (h === undefined) return undefined;
    out.push(h);
  }
  return out;
}

function field(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

/**
 * Whether `value` (parsed JSON, possibly hostile) is a valid `InclusionProofJson`: its proof chains its
 * leaf to its root. With `trusted` (an authenticated checkpoint), its size and root must also be that
 * checkpoint's; without, a valid result means only "consistent with itself". Unknown keys are ignored.
 * False, never an exception.
 */
export function verifyInclusionProofJson(value: unknown, trusted?: CheckpointRoot): boolean {
  const index = field(value, 'index');
  const size = field(value, 'size');
  const leaf = hashFromHex(field(value, 'leaf'));
  const root = hashFromHex(field(value, 'root'));
  const proof = hashesFromHex(field(value, 'proof'));
  if (leaf === undefined || root === undefined || proof === undefined) return false;
  if (trusted !== undefined && !matchesTrusted(size, root, trusted)) return false;
  return verifyInclusionProof(leaf, index, size, proof, root);
}

/**
 * Whether `value` (parsed JSON, possibly hostile) is a valid `ConsistencyProofJson`. With `trusted`,
 * its `from`/`fromRoot` and `size`/`root` must be those authenticated checkpoints'. Unknown keys are
 * ignored. False, never an exception.
 */
export function verifyConsistencyProofJson(
  value: unknown,
  trusted?: { readonly from?: CheckpointRoot; readonly to?: CheckpointRoot },
): boolean {
  const from = field(value, 'from');
  const size = field(value, 'size');
  const fromRoot = hashFromHex(field(value, 'fromRoot'));
  const root = hashFromHex(field(value, 'root'));
  const proof = hashesFromHex(field(value, 'proof'));
  if (fromRoot === undefined || root === undefined || proof === undefined) return false;
  if (trusted?.from !== undefined && !matchesTrusted(from, fromRoot, trusted.from)) return false;
  if (trusted?.to !== undefined && !matchesTrusted(size, root, trusted.to)) return false;
  return verifyConsistencyProof(from, size, proof, fromRoot, root);
}

function matchesTrusted(size: unknown, root: Uint8Array, trusted: CheckpointRoot): boolean {
  return (
    typeof trusted === 'object' &&
    trusted !== null &&
    size === trusted.size &&
    isBytes(trusted.root) &&
    equalHash(root, trusted.root)
  );
}
