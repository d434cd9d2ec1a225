// SPDX-License-Identifier: Apache-2.0
/**
 * @module execgate/wasm-core
 *
 * The typed loader of wasm-core: SHA-1 (legacy), SHA-256, SHA-384 and SHA-512 (FIPS 180-4), SHA-256 of
 * many messages in one call (multi-buffer SIMD), RFC 9162 §2.1 Merkle tree hashing with inclusion and
 * consistency proofs (over leaf data, or over the leaf hashes a log stores), and signature verification
 * (`verify`, `verifyBatch`: Ed25519 single and batch, ECDSA P-256/P-384, RSA PKCS#1 v1.5 and PSS; see
 * verify/index.ts).
 *
 * `await init()` once (idempotent), then call the functions below; or `createWasmCore()` for an
 * independent instance, for example to force the scalar build. The module compiles once per instance,
 * takes its bytes from the generated module (no file system, no Node built-ins: it runs unchanged in a
 * browser), and talks to WebAssembly through integers only: every input is copied into one static arena
 * and every output is read back from it. Bounds are checked here, before any pointer reaches WebAssembly.
 * Inputs larger than the arena are processed in pieces, never with a RangeError from WebAssembly.
 *
 * The loader is split by concept: boundary.ts (exports, base64, instantiation and its checks),
 * checks.ts (argument checks), sha.ts and legacy-sha1.ts (per-algorithm facts), hasher.ts (one-shot
 * and streaming hashing), batch.ts (multi-buffer packing), merkle.ts (RFC 9162 trees and proofs),
 * core.ts (`WasmCore`, composing them over one arena), verify/ (signature verification over the same
 * arena). This module holds instance creation, the default instance and its free functions, and is the
 * only public entry: agent/ imports nothing else of wasm-core (scripts/banned-patterns.mjs enforces it;
 * only test/ and bench/ reach the internals). Besides hashing and `verify`, it exports what a caller that
 * routes some work elsewhere needs in order to agree with wasm-core: the strict SPKI parser and its
 * `DerError`, the misuse checks of bytes arguments and of `VerifyItem`, the byte-keyed `KeyCache`, and,
 * for a worker thread that runs the same module (`WasmCore.moduleBytes()`), the `ABI_VERSION` it must
 * report.
 *
 * Not covered: secrets. This code hashes and verifies public data (DESIGN §2) and is not
 * constant-time. SHA-1 is broken for collisions and is here only to replay legacy PCR banks.
 */
import { validates } from './boundary.js';
import { WasmCore, type WasmVariant } from './core.js';
import { releaseScalar, releaseSimd, type WasmArtifact } from './generated/wasm.js';
import type { StreamingHash } from './hasher.js';
import type { VerifyItem } from './verify/index.js';

export { ABI_VERSION } from './boundary.js';
export { assertArray, isBytes, notBytesError } from './checks.js';
export { WasmCore, type WasmVariant } from './core.js';
export type { StreamingHash } from './hasher.js';
export { SHA256_DIGEST_BYTES } from './sha.js';
export {
  DerError,
  type NamedCurve,
  type PssHash,
  type PssKeyParams,
  type PublicKeyInfo,
  parseSpki,
} from './verify/der.js';
export {
  checkVerifyItem,
  ECDSA_TABLE_MIN_GROUP,
  type VerifyAlgorithm,
  type VerifyHash,
  type VerifyItem,
} from './verify/index.js';
export { KeyCache } from './verify/key-cache.js';

/** Options of `init()` and `createWasmCore()`. */
export interface WasmCoreOptions {
  /** Force a build. Default: 'simd' when `WebAssembly.validate` accepts the SIMD module, else 'scalar'. */
  readonly variant?: WasmVariant;
  /** Load the unoptimised debug build (with a names section, for stack traces) instead of release. */
  readonly debug?: boolean;
}

// ---------------------------------------------------------------------------------------------------
// Instances and the default instance

let simdValidated: boolean | undefined;

/** True when this engine accepts the SIMD build (WebAssembly fixed-width SIMD). */
export function simdSupported(): boolean {
  simdValidated ??= validates(releaseSimd);
  return simdValidated;
}

/**
 * A new, independent wasm-core instance (its own memory). The variant defaults to SIMD when the engine
 * validates it; `{ variant: 'scalar' }` forces the scalar build, `{ debug: true }` the debug build.
 */
export async function createWasmCore(options: WasmCoreOptions = {}): Promise<WasmCore> {
  const variant = options.variant ?? (simdSupported() ? 'simd' : 'scalar');
  if (variant !== 'simd' && variant !== 'scalar') {
    throw new TypeError(`options.variant must be 'simd' or 'scalar', got ${String(variant)}`);
  }
  const debug = options.debug === true;
  let artifact: WasmArtifact;
  if (debug) {
    const d = await import('./generated/wasm-debug.js');
    artifact = variant === 'simd' ? d.debugSimd : d.debugScalar;
  } else {
    artifact = variant === 'simd' ? releaseSimd : releaseScalar;
  }
  return WasmCore.instantiate(artifact, variant, debug);
}

/**
 * `createWasmCore` for a release build, synchronously: for a caller that finds it needs an instance in
 * the middle of a synchronous call (agent/crypto/verify.ts, in a one-shot process). The same checks and
 * the same module; in a browser, only off the main thread (which may refuse a synchronous compile).
 */
export function createWasmCoreSync(options: Pick<WasmCoreOptions, 'variant'> = {}): WasmCore {
  const variant = options.variant ?? (simdSupported() ? 'simd' : 'scalar');
  if (variant !== 'simd' && variant !== 'scalar') {
    throw new TypeError(`options.variant must be 'simd' or 'scalar', got ${String(variant)}`);
  }
  return WasmCore.instantiateSync(variant === 'simd' ? releaseSimd : releaseScalar, variant);
}

let pending: Promise<WasmCore> | undefined;
let ready: WasmCore | undefined;

/**
 * Instantiate the default instance once; later calls return the same instance. Throws if a later call
 * asks for a different variant or debug setting than the instance has.
 */
export async function init(options: WasmCoreOptions = {}): Promise<WasmCore> {
  if (pending === undefined) {
    pending = createWasmCore(options).then(
      (core) => {
        ready = core;
        return core;
      },
      (err: unknown) => {
        pending = undefined;
        throw err;
      },
    );
  }
  const core = await pending;
  if (
    (options.variant !== undefined && options.variant !== core.variant) ||
    (options.debug ?? false) !== core.debug
  ) {
    throw new Error(`wasm-core: already initialised as ${core.variant}${core.debug ? ' (debug)' : ''}`);
  }
  return core;
}

function core(): WasmCore {
  if (ready === undefined) throw new Error('wasm-core: call `await init()` first');
  return ready;
}

// ---------------------------------------------------------------------------------------------------
// Free functions on the default instance

/** LEGACY SHA-1 (FIPS 180-4 §6.1) on the default instance: SHA-1 PCR bank only. */
export function sha1(data: Uint8Array): Uint8Array {
  return core().sha1(data);
}
/** SHA-256 (FIPS 180-4 §6.2) on the default instance. */
export function sha256(data: Uint8Array): Uint8Array {
  return core().sha256(data);
}
/** SHA-384 (FIPS 180-4 §6.5) on the default instance. */
export function sha384(data: Uint8Array): Uint8Array {
  return core().sha384(data);
}
/** SHA-512 (FIPS 180-4 §6.4) on the default instance. */
export function sha512(data: Uint8Array): Uint8Array {
  return core().sha512(data);
}
/** Streaming SHA-256 (FIPS 180-4 §6.2) on the default instance. */
export function createSha256(): StreamingHash {
  return core().createSha256();
}
/** Streaming SHA-384 (FIPS 180-4 §6.5) on the default instance. */
export function createSha384(): StreamingHash {
  return core().createSha384();
}
/** Streaming SHA-512 (FIPS 180-4 §6.4) on the default instance. */
export function createSha512(): StreamingHash {
  return core().createSha512();
}
/** LEGACY streaming SHA-1 (FIPS 180-4 §6.1) on the default instance. */
export function createSha1(): StreamingHash {
  return core().createSha1();
}
/** SHA-256 of each message (FIPS 180-4 §6.2), n × 32 bytes in order, on the default instance. */
export function sha256Batch(messages: readonly Uint8Array[]): Uint8Array {
  return core().sha256Batch(messages);
}
/** `sha256Batch` into caller-owned out[0 .. 32 n). */
export function sha256BatchInto(messages: readonly Uint8Array[], out: Uint8Array): void {
  core().sha256BatchInto(messages, out);
}
/** RFC 9162 §2.1.1 Merkle Tree Hash of the leaf data, on the default instance. */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  return core().merkleRoot(leaves);
}
/** RFC 9162 §2.1.3.1 inclusion proof, on the default instance. */
export function inclusionProof(leaves: readonly Uint8Array[], index: number): Uint8Array[] {
  return core().inclusionProof(leaves, index);
}
/** RFC 9162 §2.1.3.2 inclusion proof verification, on the default instance. */
export function verifyInclusion(
  leafData: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  return core().verifyInclusion(leafData, index, treeSize, proof, root);
}
/** RFC 9162 §2.1.4.1 consistency proof, on the default instance. */
export function consistencyProof(leaves: readonly Uint8Array[], m: number): Uint8Array[] {
  return core().consistencyProof(leaves, m);
}
/** RFC 9162 §2.1.4.2 consistency proof verification, on the default instance. */
export function verifyConsistency(
  m: number,
  n: number,
  proof: readonly Uint8Array[],
  rootM: Uint8Array,
  rootN: Uint8Array,
): boolean {
  return core().verifyConsistency(m, n, proof, rootM, rootN);
}
/** RFC 9162 §2.1.1 leaf hashes of many leaves into out, on the default instance. */
export function merkleLeafHashesInto(leaves: readonly Uint8Array[], out: Uint8Array): void {
  core().merkleLeafHashesInto(leaves, out);
}
/** One level of RFC 9162 §2.1.1 interior nodes, on the default instance. */
/** RFC 9162 §2.1.1 leaf hashes of consecutive items of one buffer into out, on the default instance. */
export function merkleLeafHashesOfItemsInto(
  bytes: Uint8Array,
  bounds: Float64Array,
  count: number,
  out: Uint8Array,
): void {
  core().merkleLeafHashesOfItemsInto(bytes, bounds, count, out);
}

export function merkleLevelInto(nodes: Uint8Array, out: Uint8Array): number {
  return core().merkleLevelInto(nodes, out);
}
/** RFC 9162 §2.1.1 Merkle Tree Hash given the leaf hashes, on the default instance. */
export function merkleRootOfLeafHashes(leafHashes: Uint8Array): Uint8Array {
  return core().merkleRootOfLeafHashes(leafHashes);
}
/** RFC 9162 §2.1.3.1 inclusion proof given the leaf hashes, on the default instance. */
export function inclusionProofOfLeafHashes(leafHashes: Uint8Array, index: number): Uint8Array[] {
  return core().inclusionProofOfLeafHashes(leafHashes, index);
}
/** RFC 9162 §2.1.4.1 consistency proof given the leaf hashes, on the default instance. */
export function consistencyProofOfLeafHashes(leafHashes: Uint8Array, m: number): Uint8Array[] {
  return core().consistencyProofOfLeafHashes(leafHashes, m);
}
/** RFC 9162 §2.1.3.2 inclusion proof verification given the leaf hash, on the default instance. */
export function verifyInclusionOfLeafHash(
  leafHash: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  return core().verifyInclusionOfLeafHash(leafHash, index, treeSize, proof, root);
}
/** Whether `item`'s signature is valid, on the default instance (see `WasmCore.verify`). */
export function verify(item: VerifyItem): boolean {
  return core().verify(item);
}
/** `verify` for many items in one call, on the default instance (see `WasmCore.verifyBatch`). */
export function verifyBatch(items: readonly VerifyItem[]): boolean[] {
  return core().verifyBatch(items);
}
