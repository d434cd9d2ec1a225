// SPDX-License-Identifier: Apache-2.0
/**
 * @module wasm-core/core
 *
 * `WasmCore`: one instantiated wasm-core module, composing the hash engine (hasher.ts), the batch
 * packer (batch.ts) and the Merkle trees (merkle.ts) over its one arena. Each method checks its
 * arguments before any pointer reaches WebAssembly.
 *
 * Not covered: concurrency. Every operation is synchronous and owns the whole arena for its duration.
 */
import * as batch from './batch.js';
import {
  type Arena,
  artifactBytes,
  type CoreBoundary,
  instantiateCore,
  instantiateCoreSync,
} from './boundary.js';
import { assertBytes } from './checks.js';
import type { WasmArtifact } from './generated/wasm.js';
import { Hasher, oneShot, type StreamingHash } from './hasher.js';
import { SHA1 } from './legacy-sha1.js';
import * as merkle from './merkle.js';
import { SHA256, SHA384, SHA512 } from './sha.js';
import { createVerifier, type Verifier, type VerifyItem } from './verify/index.js';

/** Which compiled module an instance runs. */
export type WasmVariant = 'simd' | 'scalar';

/** One instantiated wasm-core module with its views over the arena. */
export class WasmCore {
  /** The build this instance runs. */
  readonly variant: WasmVariant;
  /** Whether it is the debug build. */
  readonly debug: boolean;
  /** SHA-256 (hex) of the module bytes, as recorded by scripts/build-wasm.mjs. */
  readonly moduleSha256: string;
  /** Messages one step of the batch kernel hashes at once (4 with SIMD, 1 without). */
  readonly lanes: number;
  /** Byte length of the arena. */
  readonly arenaByteLen: number;
  readonly #arena: Arena;
  readonly #boundary: CoreBoundary;
  readonly #artifact: WasmArtifact;

  /** Use `createWasmCore()`. */
  private constructor(
    arena: Arena,
    boundary: CoreBoundary,
    variant: WasmVariant,
    artifact: WasmArtifact,
    debug: boolean,
  ) {
    this.#arena = arena;
    this.#boundary = boundary;
    this.#artifact = artifact;
    this.variant = variant;
    this.debug = debug;
    this.moduleSha256 = artifact.sha256;
    this.lanes = arena.x.simd_lanes();
    this.arenaByteLen = arena.byteLen;
  }

  /** @internal Instantiate one artifact. */
  static async instantiate(artifact: WasmArtifact, variant: WasmVariant, debug: boolean): Promise<WasmCore> {
    const { arena, boundary } = await instantiateCore(artifact);
    return new WasmCore(arena, boundary, variant, artifact, debug);
  }

  /** @internal Instantiate one artifact synchronously (see `createWasmCoreSync`). */
  static instantiateSync(artifact: WasmArtifact, variant: WasmVariant): WasmCore {
    const { arena, boundary } = instantiateCoreSync(artifact);
    return new WasmCore(arena, boundary, variant, artifact, false);
  }

  /**
   * @internal To wasm-core only: the raw boundary (exports, memory, arena offset and byte length), for a
   * loader module that drives exports of its own, such as signature verification, over this instance.
   * Not part of the public API of `execgate/wasm-core`. The same rules bind it: every call is
   * synchronous and owns the whole arena for its duration, leaves nothing in it between calls, and
   * checks every offset and length before it reaches WebAssembly. Returns the same frozen object on
   * every call.
   */
  boundary(): CoreBoundary {
    return this.#boundary;
  }

  /**
   * The bytes of the module this instance runs (a new copy on every call; `moduleSha256` is their
   * SHA-256), for instantiating the very same build elsewhere, such as in a worker thread.
   */
  moduleBytes(): Uint8Array {
    return artifactBytes(this.#artifact);
  }

  // -- Hashes (FIPS 180-4) ----------------------------------------------------------------------------

  /** LEGACY SHA-1 (FIPS 180-4 §6.1): only for the SHA-1 PCR bank of TPM event logs. */
  sha1(data: Uint8Array): Uint8Array {
    assertBytes(data, 'data');
    return oneShot(this.#arena, SHA1, data);
  }

  /** SHA-256 (FIPS 180-4 §6.2). */
  sha256(data: Uint8Array): Uint8Array {
    assertBytes(data, 'data');
    return oneShot(this.#arena, SHA256, data);
  }

  /** SHA-384 (FIPS 180-4 §6.5). */
  sha384(data: Uint8Array): Uint8Array {
    assertBytes(data, 'data');
    return oneShot(this.#arena, SHA384, data);
  }

  /** SHA-512 (FIPS 180-4 §6.4). */
  sha512(data: Uint8Array): Uint8Array {
    assertBytes(data, 'data');
    return oneShot(this.#arena, SHA512, data);
  }

  /** Streaming SHA-256 (FIPS 180-4 §6.2). Any number of hashers may be open at once. */
  createSha256(): StreamingHash {
    return new Hasher(this.#arena, SHA256);
  }

  /** Streaming SHA-384 (FIPS 180-4 §6.5). */
  createSha384(): StreamingHash {
    return new Hasher(this.#arena, SHA384);
  }

  /** Streaming SHA-512 (FIPS 180-4 §6.4). */
  createSha512(): StreamingHash {
    return new Hasher(this.#arena, SHA512);
  }

  /** LEGACY streaming SHA-1 (FIPS 180-4 §6.1), for the SHA-1 PCR bank only. */
  createSha1(): StreamingHash {
    return new Hasher(this.#arena, SHA1);
  }

  // -- Batches ----------------------------------------------------------------------------------------

  /**
   * SHA-256 of every message (FIPS 180-4 §6.2), in one pass through the multi-buffer kernel: n × 32
   * bytes, digest i at offset 32 i. Batches larger than the arena are processed in chunks.
   */
  sha256Batch(messages: readonly Uint8Array[]): Uint8Array {
    return batch.sha256Batch(this.#arena, messages);
  }

  /** `sha256Batch` into out[0 .. 32 n); nothing past it is written. */
  sha256BatchInto(messages: readonly Uint8Array[], out: Uint8Array): void {
    batch.sha256BatchInto(this.#arena, messages, out);
  }

  // -- Merkle trees (RFC 9162 §2.1) ---------------------------------------------------------------------

  /**
   * RFC 9162 §2.1.1 Merkle Tree Hash of the leaf data: leaves are hashed as SHA-256(0x00 ‖ d), interior
   * nodes as SHA-256(0x01 ‖ left ‖ right); the empty tree's hash is SHA-256 of the empty string.
   */
  merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
    return merkle.merkleRoot(this.#arena, leaves);
  }

  /**
   * RFC 9162 §2.1.3.1 inclusion proof (audit path) of leaves[index] in the tree of all the leaves,
   * bottom-up. Throws RangeError when index is not in [0, leaves.length).
   */
  inclusionProof(leaves: readonly Uint8Array[], index: number): Uint8Array[] {
    return merkle.inclusionProof(this.#arena, leaves, index);
  }

  /**
   * RFC 9162 §2.1.3.2: does `proof` show that leaf data `leafData` is leaf `index` of a tree of
   * `treeSize` leaves with root `root`? Hostile input gives false, never an exception: an index or size
   * that is not a safe non-negative integer, a proof element or root that is not 32 bytes, a proof too
   * long or too short. Checks only the hash chain; it says nothing about who published the root.
   */
  verifyInclusion(
    leafData: Uint8Array,
    index: number,
    treeSize: number,
    proof: readonly Uint8Array[],
    root: Uint8Array,
  ): boolean {
    return merkle.verifyInclusion(this.#arena, leafData, index, treeSize, proof, root);
  }

  /**
   * RFC 9162 §2.1.4.1 consistency proof between the tree of the first m leaves and the tree of all of
   * them. Empty when m is 0 or m = leaves.length. Throws RangeError when m is not in [0, leaves.length].
   */
  consistencyProof(leaves: readonly Uint8Array[], m: number): Uint8Array[] {
    return merkle.consistencyProof(this.#arena, leaves, m);
  }

  /**
   * RFC 9162 §2.1.4.2: does `proof` show that the tree of m leaves with root rootM is a prefix of the
   * tree of n leaves with root rootN? Also accepts m = n with an empty proof and equal roots, and m = 0
   * with an empty proof when rootM is the empty tree's hash. Hostile input gives false, never an
   * exception (sizes that are not safe non-negative integers, m > n, elements or roots that are not 32
   * bytes, proofs too long or too short). Checks only the hash chain, not who signed either root.
   */
  verifyConsistency(
    m: number,
    n: number,
    proof: readonly Uint8Array[],
    rootM: Uint8Array,
    rootN: Uint8Array,
  ): boolean {
    return merkle.verifyConsistency(this.#arena, m, n, proof, rootM, rootN);
  }

  // -- Merkle trees over leaf hashes (RFC 9162 §2.1), for logs that store SHA-256(0x00 ‖ d) per entry --

  /**
   * RFC 9162 §2.1.1 leaf hash SHA-256(0x00 ‖ leaves[i]) of every leaf into out[32 i .. 32 i + 32), in
   * one pass through the multi-buffer kernel (the prefix byte is written beside each leaf in the arena,
   * so no prefixed copy is made). Nothing past 32 n is written. Throws RangeError when out is shorter.
   */
  merkleLeafHashesInto(leaves: readonly Uint8Array[], out: Uint8Array): void {
    merkle.leafHashesInto(this.#arena, leaves, out);
  }

  /**
   * RFC 9162 §2.1.1 leaf hashes of `count` consecutive items of one buffer: out[32 i ..] =
   * SHA-256(0x00 ‖ bytes[bounds[i], bounds[i + 1])), in the multi-buffer kernel, without a subarray per
   * item (a log's entries as `cborItemBounds` splits them). Nothing past 32 count is written. Throws
   * TypeError for a wrong type, RangeError when bounds does not hold count + 1 non-decreasing integer
   * offsets into bytes or out is shorter.
   */
  merkleLeafHashesOfItemsInto(bytes: Uint8Array, bounds: Float64Array, count: number, out: Uint8Array): void {
    merkle.leafHashesOfItemsInto(this.#arena, bytes, bounds, count, out);
  }

  /**
   * One level of RFC 9162 §2.1.1: out[i] = SHA-256(0x01 ‖ nodes[2i] ‖ nodes[2i+1]) for each pair of the
   * 32-byte nodes back to back in `nodes`, then an odd last node copied up unchanged. Returns the number
   * of nodes written, ceil(count / 2). Throws RangeError when nodes is not a whole number of 32-byte
   * nodes, out is too short, or out overlaps nodes.
   */
  merkleLevelInto(nodes: Uint8Array, out: Uint8Array): number {
    return merkle.levelInto(this.#arena, nodes, out);
  }

  /**
   * RFC 9162 §2.1.1 Merkle Tree Hash of the tree whose leaf hashes are `leafHashes` (32 bytes each, back
   * to back); SHA-256 of "" for none. Throws RangeError unless its length is a multiple of 32.
   */
  merkleRootOfLeafHashes(leafHashes: Uint8Array): Uint8Array {
    return merkle.rootOfLeafHashes(this.#arena, leafHashes);
  }

  /**
   * `inclusionProof` for the tree whose leaf hashes are `leafHashes` (32 bytes each, back to back): the
   * same proof, from what a log stores. Throws RangeError when index is not in [0, n).
   */
  inclusionProofOfLeafHashes(leafHashes: Uint8Array, index: number): Uint8Array[] {
    return merkle.inclusionProofOfLeafHashes(this.#arena, leafHashes, index);
  }

  /**
   * `consistencyProof` for the tree whose leaf hashes are `leafHashes` (32 bytes each, back to back):
   * between its first m leaves and all n of them. Throws RangeError when m is not in [0, n].
   */
  consistencyProofOfLeafHashes(leafHashes: Uint8Array, m: number): Uint8Array[] {
    return merkle.consistencyProofOfLeafHashes(this.#arena, leafHashes, m);
  }

  /**
   * `verifyInclusion` given the leaf's hash instead of its data: does `proof` show that the leaf with
   * hash `leafHash` is leaf `index` of a tree of `treeSize` leaves with root `root`? A leaf hash that is
   * not 32 bytes gives false, as does every hostile input `verifyInclusion` refuses. Checks only the
   * hash chain: that leafHash is SHA-256(0x00 ‖ d) of some entry d is the caller's to check.
   */
  verifyInclusionOfLeafHash(
    leafHash: Uint8Array,
    index: number,
    treeSize: number,
    proof: readonly Uint8Array[],
    root: Uint8Array,
  ): boolean {
    return merkle.verifyInclusionOfLeafHash(this.#arena, leafHash, index, treeSize, proof, root);
  }

  // -- Signatures (Ed25519, ECDSA P-256/P-384, RSA PKCS#1 v1.5 and PSS) -------------------------------

  /**
   * Whether `item`'s signature is valid (wasm-core/verify: RFC 8032, FIPS 186-5 / SEC 1, RFC 8017).
   * Malformed keys, signatures or encodings give false; only misuse (unknown alg, missing hash, a
   * non-Uint8Array field) throws TypeError.
   */
  verify(item: VerifyItem): boolean {
    return this.#verifier().verify(item);
  }

  /** `verify` for many items in one call, any mix of algorithms and keys; keys are parsed once each. */
  verifyBatch(items: readonly VerifyItem[]): boolean[] {
    return this.#verifier().verifyBatch(items);
  }

  #verifierCache: Verifier | undefined;

  #verifier(): Verifier {
    this.#verifierCache ??= createVerifier(this.#boundary);
    return this.#verifierCache;
  }
}
