// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/crypto/hash
 *
 * The one place the agent hashes (DESIGN §2): FIPS 180-4 SHA-1 (legacy PCR banks only), SHA-256,
 * SHA-384 and SHA-512, batches, and RFC 9162 Merkle trees. It routes each call to whichever engine is
 * faster for it on the measured numbers in BENCHMARKS.md:
 *
 * - batches and Merkle trees → wasm-core (its multi-buffer SIMD kernel; large batches on two threads,
 *   parallel-batch.ts, when the caller allows it with `initHashing({ threads: 2 })`);
 * - one message below the crossover length → wasm-core (node:crypto pays 0.8–1.3 µs per call);
 * - one message at or above it → node:crypto (OpenSSL with SHA-NI, which WebAssembly cannot reach);
 * - streaming → node:crypto: a stream's length is unknown in advance, and streams are files.
 *
 * Call `await initHashing()` once at startup. Until it has resolved, single messages and batches go to
 * node:crypto (same results, slower for small messages) and the Merkle functions throw. Nothing here
 * reads the environment: the thread count is the caller's option (the CLI maps EXECGATE_HASH_THREADS).
 *
 * In a browser bundle (backend.browser.ts: no node:crypto) every call goes to wasm-core, streams
 * included, and everything throws until `initHashing()` has resolved.
 *
 * Not covered: secrets. These are hashes of public data; keyed or secret hashing (HMAC keys, KDFs) stays
 * with node:crypto or the TPM.
 */
import * as wasm from '../../wasm-core/index.js';
import { assertHashAlgorithm, digestByteLen, type HashAlgorithm } from './algorithms.js';
import { native as nodeCrypto, twoThreadBatch } from './backend.js';
import type { ParallelSha256Batch } from './parallel-batch.js';

/** The hashes this facade computes; their facts are in the registry (algorithms.ts). */
export type { HashAlgorithm } from './algorithms.js';

/**
 * Messages of at least this many bytes go to node:crypto: the first size at which node:crypto's one-shot
 * `crypto.hash` beat wasm-core's (SIMD build), measured with `npm run bench -- hash`, section "facade
 * crossover", on 2 × AMD EPYC (Zen 4, SHA-NI), Node 20.20 (BENCHMARKS.md). node:crypto / wasm-core was
 *   SHA-1    1.33× at 128 B,  0.90× at 256 B      SHA-256  1.02× at 384 B,  0.82× at 512 B
 *   SHA-384  1.05× at 1.5 KiB, 0.95× at 2 KiB     SHA-512  1.01× at 1.5 KiB, 0.89× at 2 KiB
 * node:crypto pays about 0.8 µs per call, then runs SHA-NI (SHA-1/256) or AVX2 (SHA-384/512); the ratios
 * near the crossover moved by ±0.15 between runs on this shared machine. With the scalar build (an
 * engine without WebAssembly SIMD) the crossovers are lower, which these constants do not model.
 */
export const NATIVE_MIN_BYTES: Readonly<Record<HashAlgorithm, number>> = {
  sha1: 256,
  sha256: 512,
  sha384: 2048,
  sha512: 2048,
};

/** Which engine `digest` uses for a message of byteLen bytes right now. */
export function engineFor(alg: HashAlgorithm, byteLen: number): 'wasm-core' | 'node:crypto' {
  return wasmReady && (nodeCrypto === undefined || byteLen < NATIVE_MIN_BYTES[alg])
    ? 'wasm-core'
    : 'node:crypto';
}

const WASM_ONE_SHOT: Readonly<Record<HashAlgorithm, (data: Uint8Array) => Uint8Array>> = {
  sha1: wasm.sha1,
  sha256: wasm.sha256,
  sha384: wasm.sha384,
  sha512: wasm.sha512,
};

let wasmReady = false;
/** Two-thread batches (parallel-batch.ts), when `threads` allows them and the machine has two cores. */
let batchThreadsInstance: ParallelSha256Batch | undefined;

/** Options of `initHashing`. */
export interface HashingOptions {
  /**
   * The most threads `sha256Batch` may use, an integer ≥ 1. 1 keeps every batch on the calling thread;
   * 2 or more lets large batches be split with one worker thread (parallel-batch.ts, the only split there
   * is) on a machine with two or more cores. Default 1: a library does not start threads (an isolate
   * and a copy of the module's memory, competing for the host application's cores) unless its caller
   * asks; the CLI, which owns its process, asks. A call without `threads` leaves the setting as it is.
   */
  readonly threads?: number;
}

/**
 * Instantiate wasm-core (idempotent) and apply `options`. Until the first call resolves, everything but
 * Merkle runs on node:crypto. Throws TypeError or RangeError when `threads` is not a positive integer.
 */
export async function initHashing(options: HashingOptions = {}): Promise<void> {
  const { threads } = options;
  if (threads !== undefined) {
    if (typeof threads !== 'number')
      throw new TypeError(`options.threads must be a number, got ${typeof threads}`);
    if (!Number.isSafeInteger(threads) || threads < 1) {
      throw new RangeError(`options.threads must be a positive integer, got ${threads}`);
    }
  }
  const core = await wasm.init();
  wasmReady = true;
  if (threads === undefined) return;
  if (threads >= 2) {
    if (twoThreadBatch !== undefined) batchThreadsInstance ??= twoThreadBatch(core);
  } else if (batchThreadsInstance !== undefined) {
    const closing = batchThreadsInstance;
    batchThreadsInstance = undefined;
    await closing.close();
  }
}

function assertBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${name} must be a Uint8Array, got ${value === null ? 'null' : typeof value}`);
  }
}

/** node:crypto, or the error that says wasm-core is not ready where there is no node:crypto. */
function nodeEngine(): NonNullable<typeof nodeCrypto> {
  if (nodeCrypto === undefined) throw new Error('agent/crypto: call `await initHashing()` first');
  return nodeCrypto;
}

function native(alg: HashAlgorithm, data: Uint8Array): Uint8Array {
  const b = nodeEngine().hash(alg, data, 'buffer');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** FIPS 180-4 digest of one message, on the engine that is faster for its length. */
export function digest(alg: HashAlgorithm, data: Uint8Array): Uint8Array {
  assertHashAlgorithm(alg, 'alg');
  assertBytes(data, 'data');
  return engineFor(alg, data.length) === 'wasm-core' ? WASM_ONE_SHOT[alg](data) : native(alg, data);
}

/** SHA-256 (FIPS 180-4 §6.2). */
export function sha256(data: Uint8Array): Uint8Array {
  return digest('sha256', data);
}

/** SHA-384 (FIPS 180-4 §6.5). */
export function sha384(data: Uint8Array): Uint8Array {
  return digest('sha384', data);
}

/** SHA-512 (FIPS 180-4 §6.4). */
export function sha512(data: Uint8Array): Uint8Array {
  return digest('sha512', data);
}

/** LEGACY SHA-1 (FIPS 180-4 §6.1): only to replay the SHA-1 PCR bank of TPM event logs. */
export function sha1Legacy(data: Uint8Array): Uint8Array {
  return digest('sha1', data);
}

/** A streaming hash over node:crypto (wasm-core in a browser), with wasm-core's contract (`digestInto`, one digest). */
export interface Hasher {
  readonly algorithm: HashAlgorithm;
  readonly digestByteLen: number;
  update(data: Uint8Array): this;
  digest(): Uint8Array;
  digestInto(out: Uint8Array): void;
}

/** Streaming FIPS 180-4 hash (node:crypto: streams are long, and their length is unknown up front). */
export function createHasher(alg: HashAlgorithm): Hasher {
  assertHashAlgorithm(alg, 'alg');
  if (nodeCrypto === undefined) return wasmHasher(alg);
  const h = nodeCrypto.createHash(alg);
  const size = digestByteLen(alg);
  let finished = false;
  const hasher: Hasher = {
    algorithm: alg,
    digestByteLen: size,
    update(data: Uint8Array) {
      assertBytes(data, 'data');
      if (finished) throw new Error(`${alg}: update() after digest()`);
      h.update(data);
      return this;
    },
    digest() {
      const out = new Uint8Array(size);
      hasher.digestInto(out);
      return out;
    },
    digestInto(out: Uint8Array) {
      assertBytes(out, 'out');
      if (out.length < size) throw new RangeError(`out must hold ${size} bytes, has ${out.length}`);
      if (finished) throw new Error(`${alg}: digest() called twice`);
      finished = true;
      out.set(h.digest());
    },
  };
  return hasher;
}

const WASM_STREAMING: Readonly<Record<HashAlgorithm, () => wasm.StreamingHash>> = {
  sha1: wasm.createSha1,
  sha256: wasm.createSha256,
  sha384: wasm.createSha384,
  sha512: wasm.createSha512,
};

/** wasm-core's streaming hash, where there is no node:crypto (initHashing first). */
function wasmHasher(alg: HashAlgorithm): Hasher {
  if (!wasmReady) throw new Error('agent/crypto: call `await initHashing()` first');
  const h = WASM_STREAMING[alg]();
  const hasher: Hasher = {
    algorithm: alg,
    digestByteLen: h.digestByteLen,
    update(data: Uint8Array) {
      h.update(data);
      return this;
    },
    digest: () => h.digest(),
    digestInto: (out: Uint8Array) => h.digestInto(out),
  };
  return hasher;
}

/** The two-thread batcher `sha256Batch` uses (its state and counters), or undefined when it is off. */
export function batchThreads(): ParallelSha256Batch | undefined {
  return batchThreadsInstance;
}

/**
 * SHA-256 of each message (FIPS 180-4 §6.2): n × 32 bytes, digest i at offset 32 i. Large batches are
 * split between this thread and a worker thread (parallel-batch.ts), still synchronously.
 */
export function sha256Batch(messages: readonly Uint8Array[]): Uint8Array {
  if (batchThreadsInstance !== undefined) return batchThreadsInstance.sha256Batch(messages);
  if (wasmReady) return wasm.sha256Batch(messages);
  if (!Array.isArray(messages)) throw new TypeError('messages must be an array of Uint8Array');
  const size = digestByteLen('sha256');
  const out = new Uint8Array(messages.length * size);
  messages.forEach((m, i) => {
    assertBytes(m, `messages[${i}]`);
    out.set(native('sha256', m), i * size);
  });
  return out;
}

function merkle(): typeof wasm {
  if (!wasmReady) throw new Error('agent/crypto: call `await initHashing()` before Merkle tree functions');
  return wasm;
}

/** RFC 9162 §2.1.1 Merkle Tree Hash of the leaf data (empty tree: SHA-256 of ""). */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  return merkle().merkleRoot(leaves);
}

/** RFC 9162 §2.1.3.1 inclusion proof of leaves[index], bottom-up. */
export function inclusionProof(leaves: readonly Uint8Array[], index: number): Uint8Array[] {
  return merkle().inclusionProof(leaves, index);
}

/**
 * RFC 9162 §2.1.3.2 inclusion proof verification; false (never an exception) for hostile proofs. Checks
 * the hash chain only: the (treeSize, root) pair must come from an authenticated checkpoint.
 */
export function verifyInclusion(
  leafData: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  return merkle().verifyInclusion(leafData, index, treeSize, proof, root);
}

/** RFC 9162 §2.1.4.1 consistency proof between the first m leaves and all of them. */
export function consistencyProof(leaves: readonly Uint8Array[], m: number): Uint8Array[] {
  return merkle().consistencyProof(leaves, m);
}

/**
 * RFC 9162 §2.1.4.2 consistency proof verification; false (never an exception) for hostile proofs.
 * Checks the hash chain only, not who signed either root.
 */
export function verifyConsistency(
  m: number,
  n: number,
  proof: readonly Uint8Array[],
  rootM: Uint8Array,
  rootN: Uint8Array,
): boolean {
  return merkle().verifyConsistency(m, n, proof, rootM, rootN);
}
