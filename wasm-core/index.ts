// SPDX-License-Identifier: Apache-2.0
/**
 * @module execgate/wasm-core
 *
 * The typed loader of wasm-core: SHA-1 (legacy), SHA-256, SHA-384 and SHA-512 (FIPS 180-4), SHA-256 of
 * many messages in one call (multi-buffer SIMD), and RFC 9162 §2.1 Merkle tree hashing with inclusion and
 * consistency proofs.
 *
 * `await init()` once (idempotent), then call the functions below; or `createWasmCore()` for an
 * independent instance, for example to force the scalar build. The module compiles once per instance,
 * takes its bytes from the generated module (no file system, no Node built-ins: it runs unchanged in a
 * browser), and talks to WebAssembly through integers only: every input is copied into one static arena
 * and every output is read back from it. Bounds are checked here, before any pointer reaches WebAssembly.
 * Inputs larger than the arena are processed in pieces, never with a RangeError from WebAssembly.
 *
 * Not covered: secrets. This code hashes public data for verification (DESIGN §2) and is not
 * constant-time. SHA-1 is broken for collisions and is here only to replay legacy PCR banks.
 */
import { releaseScalar, releaseSimd, type WasmArtifact } from './generated/wasm.js';

// ---------------------------------------------------------------------------------------------------
// The WebAssembly boundary

/** The ABI version the loader speaks; wasm-core/assembly/layout.ts exports the module's. */
const ABI_VERSION = 1;

/** Exports of wasm-core/assembly/index.ts. Pointers and lengths are byte offsets and byte counts. */
interface CoreExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  abi_version(): number;
  arena_ptr(): number;
  arena_byte_len(): number;
  simd_lanes(): number;
  sha256_init(statePtr: number): void;
  sha256_blocks(statePtr: number, dataPtr: number, blockCount: number): void;
  sha256_final(
    statePtr: number,
    tailPtr: number,
    tailByteLen: number,
    lo: number,
    hi: number,
    outPtr: number,
  ): void;
  sha256_digest(dataPtr: number, byteLen: number, outPtr: number): void;
  sha512_init(statePtr: number, digestByteLen: number): void;
  sha512_blocks(statePtr: number, dataPtr: number, blockCount: number): void;
  sha512_final(
    statePtr: number,
    tailPtr: number,
    tailByteLen: number,
    lo: number,
    hi: number,
    outPtr: number,
    digestByteLen: number,
  ): void;
  sha512_digest(dataPtr: number, byteLen: number, outPtr: number, digestByteLen: number): void;
  sha1_init(statePtr: number): void;
  sha1_blocks(statePtr: number, dataPtr: number, blockCount: number): void;
  sha1_final(
    statePtr: number,
    tailPtr: number,
    tailByteLen: number,
    lo: number,
    hi: number,
    outPtr: number,
  ): void;
  sha1_digest(dataPtr: number, byteLen: number, outPtr: number): void;
  sha256_batch(descPtr: number, count: number, outPtr: number): void;
  sha256_batch_fixed(dataPtr: number, byteLen: number, count: number, outPtr: number): void;
  merkle_level(nodesPtr: number, nodeCount: number, outPtr: number): number;
  merkle_reduce(nodesPtr: number, nodeCount: number): void;
}

const EXPORTED_FUNCTIONS = [
  'abi_version',
  'arena_ptr',
  'arena_byte_len',
  'simd_lanes',
  'sha256_init',
  'sha256_blocks',
  'sha256_final',
  'sha256_digest',
  'sha512_init',
  'sha512_blocks',
  'sha512_final',
  'sha512_digest',
  'sha1_init',
  'sha1_blocks',
  'sha1_final',
  'sha1_digest',
  'sha256_batch',
  'sha256_batch_fixed',
  'merkle_level',
  'merkle_reduce',
] as const;

// The WebAssembly global, typed locally: the project's TypeScript lib (ES2023, no DOM) does not declare it.
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  instantiate(
    bytes: Uint8Array,
    imports: object,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
}
function webAssembly(): WebAssemblyApi {
  const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (api === undefined) throw new Error('wasm-core: this JavaScript engine has no WebAssembly');
  return api;
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUES = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) BASE64_VALUES[BASE64_ALPHABET.charCodeAt(i)] = i;

/** RFC 4648 §4 base64 (the generated module's encoding), without Buffer or atob. */
function base64Decode(text: string): Uint8Array {
  const body = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < body.length; i++) {
    const v = BASE64_VALUES[body.charCodeAt(i)] ?? -1;
    if (v < 0) throw new Error('wasm-core: the generated module is not valid base64; run npm run build:wasm');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Argument checks (STYLE principle 5: misuse by our own code throws, naming the argument)

function isBytes(value: unknown): value is Uint8Array {
  return (
    value instanceof Uint8Array ||
    (ArrayBuffer.isView(value) &&
      (value as { constructor?: { name?: string } }).constructor?.name === 'Uint8Array')
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (Array.isArray(value)) return 'Array';
  return typeof value;
}

function assertBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!isBytes(value)) throw new TypeError(`${name} must be a Uint8Array, got ${describe(value)}`);
}

function assertArray(value: unknown, name: string): asserts value is readonly unknown[] {
  if (!Array.isArray(value))
    throw new TypeError(`${name} must be an array of Uint8Array, got ${describe(value)}`);
}

function assertBytesArray(value: unknown, name: string): asserts value is readonly Uint8Array[] {
  if (!Array.isArray(value))
    throw new TypeError(`${name} must be an array of Uint8Array, got ${describe(value)}`);
  for (let i = 0; i < value.length; i++) assertBytes(value[i], `${name}[${i}]`);
}

function assertNumber(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`);
}

/** A tree size or index the verifiers accept: a non-negative safe integer. */
function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Per-algorithm facts: sizes (FIPS 180-4 §1 Figure 1) and the exports that implement each algorithm.

interface HashAlgorithm {
  readonly name: string;
  readonly stateByteLen: number;
  readonly blockByteLen: number;
  readonly digestByteLen: number;
  init(x: CoreExports, statePtr: number): void;
  blocks(x: CoreExports, statePtr: number, dataPtr: number, blockCount: number): void;
  final(
    x: CoreExports,
    statePtr: number,
    tailPtr: number,
    tailByteLen: number,
    lo: number,
    hi: number,
    out: number,
  ): void;
  digest(x: CoreExports, dataPtr: number, byteLen: number, outPtr: number): void;
}

/** FIPS 180-4 §6.2. */
const SHA256: HashAlgorithm = {
  name: 'SHA-256',
  stateByteLen: 32,
  blockByteLen: 64,
  digestByteLen: 32,
  init: (x, s) => x.sha256_init(s),
  blocks: (x, s, d, n) => x.sha256_blocks(s, d, n),
  final: (x, s, t, tl, lo, hi, o) => x.sha256_final(s, t, tl, lo, hi, o),
  digest: (x, d, n, o) => x.sha256_digest(d, n, o),
};

/** FIPS 180-4 §6.5: SHA-512 with its own H(0), truncated to 384 bits. */
const SHA384: HashAlgorithm = {
  name: 'SHA-384',
  stateByteLen: 64,
  blockByteLen: 128,
  digestByteLen: 48,
  init: (x, s) => x.sha512_init(s, 48),
  blocks: (x, s, d, n) => x.sha512_blocks(s, d, n),
  final: (x, s, t, tl, lo, hi, o) => x.sha512_final(s, t, tl, lo, hi, o, 48),
  digest: (x, d, n, o) => x.sha512_digest(d, n, o, 48),
};

/** FIPS 180-4 §6.4. */
const SHA512: HashAlgorithm = {
  name: 'SHA-512',
  stateByteLen: 64,
  blockByteLen: 128,
  digestByteLen: 64,
  init: (x, s) => x.sha512_init(s, 64),
  blocks: (x, s, d, n) => x.sha512_blocks(s, d, n),
  final: (x, s, t, tl, lo, hi, o) => x.sha512_final(s, t, tl, lo, hi, o, 64),
  digest: (x, d, n, o) => x.sha512_digest(d, n, o, 64),
};

/** LEGACY: FIPS 180-4 §6.1, for the SHA-1 PCR bank only. */
const SHA1: HashAlgorithm = {
  name: 'SHA-1',
  stateByteLen: 20,
  blockByteLen: 64,
  digestByteLen: 20,
  init: (x, s) => x.sha1_init(s),
  blocks: (x, s, d, n) => x.sha1_blocks(s, d, n),
  final: (x, s, t, tl, lo, hi, o) => x.sha1_final(s, t, tl, lo, hi, o),
  digest: (x, d, n, o) => x.sha1_digest(d, n, o),
};

// ---------------------------------------------------------------------------------------------------
// Arena layout. Every operation is synchronous and owns the whole arena for its duration.

/** Byte offset (from the arena start) of hash state, tails and digests in the streaming paths. */
const STATE_OFFSET = 0;
const TAIL_OFFSET = 64;
const OUT_OFFSET = 192;
const DATA_OFFSET = 256;
/** Batch layout: at most this many messages per kernel call; their (ptr, byteLen) records come first. */
const BATCH_MAX_COUNT = 65536;
/** Messages of one length in a row that earn a lock-step kernel call of their own. */
const UNIFORM_RUN_MIN = 64;
const DESC_BYTE_LEN = 8;
/** Leaves per Merkle chunk: a power of two, so that every chunk is a complete subtree (RFC 9162 §2.1.1). */
const MERKLE_CHUNK_LEAVES = 16384;

/** Bytes of a SHA-256 digest and of a Merkle node. */
export const SHA256_DIGEST_BYTES = 32;
const NODE_BYTES = 32;
const LEAF_PREFIX = 0x00;

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

// ---------------------------------------------------------------------------------------------------
// Public types

/** Which compiled module an instance runs. */
export type WasmVariant = 'simd' | 'scalar';

/** Options of `init()` and `createWasmCore()`. */
export interface WasmCoreOptions {
  /** Force a build. Default: 'simd' when `WebAssembly.validate` accepts the SIMD module, else 'scalar'. */
  readonly variant?: WasmVariant;
  /** Load the unoptimised debug build (with a names section, for stack traces) instead of release. */
  readonly debug?: boolean;
}

/** A streaming hash: `update` any number of times, then `digest` or `digestInto` once. */
export interface StreamingHash {
  readonly algorithm: string;
  readonly blockByteLen: number;
  readonly digestByteLen: number;
  /** Absorb data. Throws Error after `digest`/`digestInto`. */
  update(data: Uint8Array): this;
  /** Finish and return the digest. */
  digest(): Uint8Array;
  /** Finish and write the digest to out[0 .. digestByteLen); nothing past it is written. */
  digestInto(out: Uint8Array): void;
}

// ---------------------------------------------------------------------------------------------------
// The instance

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
  readonly #x: CoreExports;
  readonly #base: number;
  // Memory is declared with initial = maximum pages (wasm-core/asconfig.json), so it never grows and
  // these views, created once, stay valid.
  readonly #u8: Uint8Array;
  readonly #u32: Uint32Array;

  /** Use `createWasmCore()`. */
  private constructor(x: CoreExports, variant: WasmVariant, artifact: WasmArtifact, debug: boolean) {
    this.#x = x;
    this.variant = variant;
    this.debug = debug;
    this.moduleSha256 = artifact.sha256;
    this.lanes = x.simd_lanes();
    this.#base = x.arena_ptr();
    this.arenaByteLen = x.arena_byte_len();
    this.#u8 = new Uint8Array(x.memory.buffer);
    this.#u32 = new Uint32Array(x.memory.buffer);
    if (this.#base % 64 !== 0 || this.#base + this.arenaByteLen !== this.#u8.length) {
      throw new Error('wasm-core: the module reports an arena outside its memory');
    }
  }

  /** @internal Instantiate one artifact. */
  static async instantiate(artifact: WasmArtifact, variant: WasmVariant, debug: boolean): Promise<WasmCore> {
    const { instance } = await webAssembly().instantiate(base64Decode(artifact.base64), {});
    const exports = instance.exports;
    for (const name of EXPORTED_FUNCTIONS) {
      if (typeof exports[name] !== 'function')
        throw new Error(`wasm-core: the module does not export ${name}`);
    }
    const memory = exports.memory as { buffer?: unknown } | undefined;
    if (!(memory?.buffer instanceof ArrayBuffer))
      throw new Error('wasm-core: the module does not export its memory');
    const x = exports as unknown as CoreExports;
    if (x.abi_version() !== ABI_VERSION) {
      throw new Error(
        `wasm-core: module ABI ${x.abi_version()}, loader ABI ${ABI_VERSION}; run npm run build:wasm`,
      );
    }
    return new WasmCore(x, variant, artifact, debug);
  }

  // -- Hashes (FIPS 180-4) ----------------------------------------------------------------------------

  /** LEGACY SHA-1 (FIPS 180-4 §6.1): only for the SHA-1 PCR bank of TPM event logs. */
  sha1(data: Uint8Array): Uint8Array {
    assertBytes(data, 'data');
    return this.#oneShot(SHA1, data);
  }

  /** SHA-256 (FIPS 180-4 §6.2). */
  sha256(data: Uint8Array): Uint8Array {
    assertBytes(data, 'data');
    return this.#oneShot(SHA256, data);
  }

  /** SHA-384 (FIPS 180-4 §6.5). */
  sha384(data: Uint8Array): Uint8Array {
    assertBytes(data, 'data');
    return this.#oneShot(SHA384, data);
  }

  /** SHA-512 (FIPS 180-4 §6.4). */
  sha512(data: Uint8Array): Uint8Array {
    assertBytes(data, 'data');
    return this.#oneShot(SHA512, data);
  }

  /** Streaming SHA-256 (FIPS 180-4 §6.2). Any number of hashers may be open at once. */
  createSha256(): StreamingHash {
    return new Hasher(this.#x, this.#u8, this.#base, this.arenaByteLen, SHA256);
  }

  /** Streaming SHA-384 (FIPS 180-4 §6.5). */
  createSha384(): StreamingHash {
    return new Hasher(this.#x, this.#u8, this.#base, this.arenaByteLen, SHA384);
  }

  /** Streaming SHA-512 (FIPS 180-4 §6.4). */
  createSha512(): StreamingHash {
    return new Hasher(this.#x, this.#u8, this.#base, this.arenaByteLen, SHA512);
  }

  /** LEGACY streaming SHA-1 (FIPS 180-4 §6.1), for the SHA-1 PCR bank only. */
  createSha1(): StreamingHash {
    return new Hasher(this.#x, this.#u8, this.#base, this.arenaByteLen, SHA1);
  }

  #oneShot(alg: HashAlgorithm, data: Uint8Array): Uint8Array {
    const n = data.length;
    if (n > this.arenaByteLen - DATA_OFFSET) {
      return new Hasher(this.#x, this.#u8, this.#base, this.arenaByteLen, alg).update(data).digest();
    }
    const base = this.#base;
    this.#u8.set(data, base + DATA_OFFSET);
    alg.digest(this.#x, base + DATA_OFFSET, n, base + OUT_OFFSET);
    return this.#u8.slice(base + OUT_OFFSET, base + OUT_OFFSET + alg.digestByteLen);
  }

  // -- Batches ----------------------------------------------------------------------------------------

  /**
   * SHA-256 of every message (FIPS 180-4 §6.2), in one pass through the multi-buffer kernel: n × 32
   * bytes, digest i at offset 32 i. Batches larger than the arena are processed in chunks.
   */
  sha256Batch(messages: readonly Uint8Array[]): Uint8Array {
    assertArray(messages, 'messages');
    const out = new Uint8Array(messages.length * SHA256_DIGEST_BYTES);
    this.#batch(messages, 0, messages.length, -1, out, 0, 'messages');
    return out;
  }

  /** `sha256Batch` into out[0 .. 32 n); nothing past it is written. */
  sha256BatchInto(messages: readonly Uint8Array[], out: Uint8Array): void {
    assertArray(messages, 'messages');
    assertBytes(out, 'out');
    if (out.length < messages.length * SHA256_DIGEST_BYTES) {
      throw new RangeError(`out must hold ${messages.length * SHA256_DIGEST_BYTES} bytes, has ${out.length}`);
    }
    this.#batch(messages, 0, messages.length, -1, out, 0, 'messages');
  }

  /**
   * SHA-256 of messages[start .. end), each preceded by the byte `prefix` when prefix ≥ 0, into out from
   * outOffset, in as few kernel calls as the arena allows. A run of messages of one length goes back to
   * back to the lock-step kernel; mixed lengths go with (ptr, byteLen) records to the lane-refilling
   * kernel; a message too large for the arena on its own is streamed. Each message is read once, and
   * type-checked as it is copied (`${name}[i]` in the TypeError).
   */
  #batch(
    messages: readonly Uint8Array[],
    start: number,
    end: number,
    prefix: number,
    out: Uint8Array,
    outOffset: number,
    name: string,
  ): void {
    const u8 = this.#u8;
    const prefixByteLen = prefix >= 0 ? 1 : 0;
    let i = start;
    while (i < end) {
      const first = messages[i];
      if (!isBytes(first)) throw new TypeError(`${name}[${i}] must be a Uint8Array, got ${describe(first)}`);
      const byteLen = first.length + prefixByteLen;
      const fit = Math.min(end - i, Math.floor(this.arenaByteLen / (byteLen + SHA256_DIGEST_BYTES)));
      if (fit > 0) {
        const count = this.#packUniform(messages, i, i + fit, prefix, byteLen, name);
        // A short run of one length is not worth a kernel call of its own.
        if (count === fit || count >= UNIFORM_RUN_MIN) {
          const outPtr = this.#base + count * byteLen;
          this.#x.sha256_batch_fixed(this.#base, byteLen, count, outPtr);
          out.set(
            u8.subarray(outPtr, outPtr + count * SHA256_DIGEST_BYTES),
            outOffset + (i - start) * SHA256_DIGEST_BYTES,
          );
          i += count;
          continue;
        }
      }
      const [count, outPtr] = this.#packMixed(messages, i, end, prefix, name);
      if (count > 0) {
        this.#x.sha256_batch(this.#base, count, outPtr);
        out.set(
          u8.subarray(outPtr, outPtr + count * SHA256_DIGEST_BYTES),
          outOffset + (i - start) * SHA256_DIGEST_BYTES,
        );
        i += count;
      } else {
        // messages[i] alone does not fit beside its record and digest: stream it.
        const h = new Hasher(this.#x, u8, this.#base, this.arenaByteLen, SHA256);
        if (prefixByteLen) h.update(Uint8Array.of(prefix));
        h.update(first);
        h.digestInto(out.subarray(outOffset + (i - start) * SHA256_DIGEST_BYTES));
        i++;
      }
    }
  }

  /**
   * Copy messages [start, end) back to back from the arena start, each byteLen bytes with the prefix byte
   * (when prefix ≥ 0) included, stopping at the first message of another length. Returns how many were
   * copied. The caller has checked that (end − start) × (byteLen + 32) fits the arena.
   */
  #packUniform(
    messages: readonly Uint8Array[],
    start: number,
    end: number,
    prefix: number,
    byteLen: number,
    name: string,
  ): number {
    const u8 = this.#u8;
    const dataLen = prefix >= 0 ? byteLen - 1 : byteLen;
    let p = this.#base;
    let i = start;
    // Messages that lie back to back in one buffer (entries cut from one log) are copied as one run:
    // one TypedArray.set per run instead of one per message (measured: about a third of the loader's
    // time per 64-byte message).
    let runBuffer: ArrayBufferLike | undefined;
    let runFrom = 0;
    let runTo = 0;
    let runDest = 0;
    const flush = (): void => {
      if (runBuffer !== undefined && runTo > runFrom)
        u8.set(new Uint8Array(runBuffer, runFrom, runTo - runFrom), runDest);
      runBuffer = undefined;
    };
    for (; i < end; i++, p += byteLen) {
      const m = messages[i];
      if (!isBytes(m)) {
        flush();
        throw new TypeError(`${name}[${i}] must be a Uint8Array, got ${describe(m)}`);
      }
      if (m.length !== dataLen) break;
      if (prefix >= 0) {
        u8[p] = prefix;
        u8.set(m, p + 1);
      } else if (m.buffer === runBuffer && m.byteOffset === runTo) {
        runTo += dataLen;
      } else {
        flush();
        runBuffer = m.buffer;
        runFrom = m.byteOffset;
        runTo = runFrom + dataLen;
        runDest = p;
      }
    }
    flush();
    return i - start;
  }

  /**
   * Copy as many of messages [start, end) as fit, with a (ptr, byteLen) record each, for the
   * lane-refilling kernel: records from the arena start, data after the record area. Returns how many,
   * and where the data ends (the digests go there).
   */
  #packMixed(
    messages: readonly Uint8Array[],
    start: number,
    end: number,
    prefix: number,
    name: string,
  ): [count: number, dataEnd: number] {
    const u8 = this.#u8;
    const u32 = this.#u32;
    const base = this.#base;
    const limit = base + this.arenaByteLen;
    const prefixByteLen = prefix >= 0 ? 1 : 0;
    let dataPtr = base + BATCH_MAX_COUNT * DESC_BYTE_LEN;
    let desc = base >>> 2;
    let count = 0;
    for (let i = start; i < end && count < BATCH_MAX_COUNT; i++, count++) {
      const m = messages[i];
      if (!isBytes(m)) throw new TypeError(`${name}[${i}] must be a Uint8Array, got ${describe(m)}`);
      const byteLen = m.length + prefixByteLen;
      // Room for this message and one more digest per message so far.
      if (dataPtr + byteLen + (count + 1) * SHA256_DIGEST_BYTES > limit) break;
      u32[desc++] = dataPtr;
      u32[desc++] = byteLen;
      if (prefixByteLen) u8[dataPtr] = prefix;
      u8.set(m, dataPtr + prefixByteLen);
      dataPtr += byteLen;
    }
    return [count, dataPtr];
  }

  // -- Merkle trees (RFC 9162 §2.1) ---------------------------------------------------------------------

  /**
   * RFC 9162 §2.1.1 Merkle Tree Hash of the leaf data: leaves are hashed as SHA-256(0x00 ‖ d), interior
   * nodes as SHA-256(0x01 ‖ left ‖ right); the empty tree's hash is SHA-256 of the empty string.
   */
  merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
    assertArray(leaves, 'leaves');
    if (leaves.length === 0) return this.#oneShot(SHA256, new Uint8Array(0));
    const n = leaves.length;
    const chunkCount = Math.ceil(n / MERKLE_CHUNK_LEAVES);
    if (chunkCount === 1) return this.#subtreeRoot(leaves, 0, n, MERKLE_CHUNK_LEAVES);
    // Each full chunk is a complete subtree, so the chunk roots are one level of the tree
    // (the last chunk's root stands for its partial subtree), and that level reduces to the root.
    const roots = new Uint8Array(chunkCount * NODE_BYTES);
    for (let c = 0; c < chunkCount; c++) {
      const s = c * MERKLE_CHUNK_LEAVES;
      roots.set(
        this.#subtreeRoot(leaves, s, Math.min(n, s + MERKLE_CHUNK_LEAVES), MERKLE_CHUNK_LEAVES),
        c * NODE_BYTES,
      );
    }
    return this.#rootOfNodes(roots);
  }

  /**
   * RFC 9162 §2.1.3.1 inclusion proof (audit path) of leaves[index] in the tree of all the leaves,
   * bottom-up. Throws RangeError when index is not in [0, leaves.length).
   */
  inclusionProof(leaves: readonly Uint8Array[], index: number): Uint8Array[] {
    assertArray(leaves, 'leaves');
    assertNumber(index, 'index');
    const n = leaves.length;
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new RangeError(`index must be an integer in [0, ${n}), got ${index}`);
    }
    const hashes = this.#leafHashes(leaves);
    // PATH(m, D[lo:hi]) = PATH(m, D[lo:lo+k]) : MTH(D[lo+k:hi]) or PATH(m-k, D[lo+k:hi]) : MTH(D[lo:lo+k]);
    // walking down collects the siblings top-first, and the proof lists them bottom-up.
    const path: Uint8Array[] = [];
    let lo = 0;
    let hi = n;
    while (hi - lo > 1) {
      const k = splitPoint(hi - lo);
      if (index < lo + k) {
        path.push(this.#rootOfHashes(hashes, lo + k, hi));
        hi = lo + k;
      } else {
        path.push(this.#rootOfHashes(hashes, lo, lo + k));
        lo += k;
      }
    }
    return path.reverse();
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
    assertBytes(leafData, 'leafData');
    assertNumber(index, 'index');
    assertNumber(treeSize, 'treeSize');
    assertBytesArray(proof, 'proof');
    assertBytes(root, 'root');
    if (!isCount(index) || !isCount(treeSize) || index >= treeSize || root.length !== NODE_BYTES)
      return false;
    if (!proof.every((p) => p.length === NODE_BYTES)) return false;
    let fn = index;
    let sn = treeSize - 1;
    let r = this.#leafHash(leafData);
    for (const p of proof) {
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        r = this.#nodeHash(p, r);
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      } else {
        r = this.#nodeHash(r, p);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 && bytesEqual(r, root);
  }

  /**
   * RFC 9162 §2.1.4.1 consistency proof between the tree of the first m leaves and the tree of all of
   * them. Empty when m is 0 or m = leaves.length. Throws RangeError when m is not in [0, leaves.length].
   */
  consistencyProof(leaves: readonly Uint8Array[], m: number): Uint8Array[] {
    assertArray(leaves, 'leaves');
    assertNumber(m, 'm');
    const n = leaves.length;
    if (!Number.isInteger(m) || m < 0 || m > n)
      throw new RangeError(`m must be an integer in [0, ${n}], got ${m}`);
    if (m === 0 || m === n) return [];
    const hashes = this.#leafHashes(leaves);
    // SUBPROOF(m, D[lo:hi], b), unrolled: walking down collects the outermost MTH first, and the proof
    // lists the innermost first.
    const proof: Uint8Array[] = [];
    let lo = 0;
    let hi = n;
    let mm = m;
    let completeSubtree = true;
    for (;;) {
      if (mm === hi - lo) {
        if (!completeSubtree) proof.push(this.#rootOfHashes(hashes, lo, hi));
        break;
      }
      const k = splitPoint(hi - lo);
      if (mm <= k) {
        proof.push(this.#rootOfHashes(hashes, lo + k, hi));
        hi = lo + k;
      } else {
        proof.push(this.#rootOfHashes(hashes, lo, lo + k));
        lo += k;
        mm -= k;
        completeSubtree = false;
      }
    }
    return proof.reverse();
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
    assertNumber(m, 'm');
    assertNumber(n, 'n');
    assertBytesArray(proof, 'proof');
    assertBytes(rootM, 'rootM');
    assertBytes(rootN, 'rootN');
    if (!isCount(m) || !isCount(n) || m > n) return false;
    if (rootM.length !== NODE_BYTES || rootN.length !== NODE_BYTES) return false;
    if (!proof.every((p) => p.length === NODE_BYTES)) return false;
    if (m === n) return proof.length === 0 && bytesEqual(rootM, rootN);
    if (m === 0) return proof.length === 0 && bytesEqual(rootM, this.#oneShot(SHA256, new Uint8Array(0)));
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
        fr = this.#nodeHash(c, fr);
        sr = this.#nodeHash(c, sr);
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      } else {
        sr = this.#nodeHash(sr, c);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 && bytesEqual(fr, rootM) && bytesEqual(sr, rootN);
  }

  /** SHA-256(0x00 ‖ data): RFC 9162 §2.1.1 leaf hash. */
  #leafHash(data: Uint8Array): Uint8Array {
    const out = new Uint8Array(NODE_BYTES);
    this.#batch([data], 0, 1, LEAF_PREFIX, out, 0, 'leafData');
    return out;
  }

  /** SHA-256(0x01 ‖ left ‖ right): RFC 9162 §2.1.1 interior node. */
  #nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
    const base = this.#base;
    this.#u8.set(left, base);
    this.#u8.set(right, base + NODE_BYTES);
    this.#x.merkle_level(base, 2, base + 2 * NODE_BYTES);
    return this.#u8.slice(base + 2 * NODE_BYTES, base + 3 * NODE_BYTES);
  }

  /** Leaf hashes of all leaves, 32 bytes each, through the batch kernel. */
  #leafHashes(leaves: readonly Uint8Array[]): Uint8Array {
    const out = new Uint8Array(leaves.length * NODE_BYTES);
    this.#batch(leaves, 0, leaves.length, LEAF_PREFIX, out, 0, 'leaves');
    return out;
  }

  /** MTH of leaves [lo, hi) given their leaf hashes. */
  #rootOfHashes(hashes: Uint8Array, lo: number, hi: number): Uint8Array {
    return this.#rootOfNodes(hashes.subarray(lo * NODE_BYTES, hi * NODE_BYTES));
  }

  /**
   * MTH of leaves [start, end), where end − start ≤ width, width is a power of two and start is a
   * multiple of it: hashed and reduced inside the arena when they fit, else split at width / 2 (which is
   * then RFC 9162's split point k), down to single leaves that are streamed.
   */
  #subtreeRoot(leaves: readonly Uint8Array[], start: number, end: number, width: number): Uint8Array {
    const count = end - start;
    const first = leaves[start];
    if (!isBytes(first)) throw new TypeError(`leaves[${start}] must be a Uint8Array, got ${describe(first)}`);
    const byteLen = first.length + 1;
    let digests = -1;
    if (count * (byteLen + NODE_BYTES) <= this.arenaByteLen) {
      if (this.#packUniform(leaves, start, end, LEAF_PREFIX, byteLen, 'leaves') === count) {
        digests = this.#base + count * byteLen;
        this.#x.sha256_batch_fixed(this.#base, byteLen, count, digests);
      }
    }
    if (digests < 0) {
      const [packed, dataEnd] = this.#packMixed(leaves, start, end, LEAF_PREFIX, 'leaves');
      if (packed === count) {
        digests = dataEnd;
        this.#x.sha256_batch(this.#base, count, digests);
      }
    }
    if (digests >= 0) {
      this.#x.merkle_reduce(digests, count);
      return this.#u8.slice(digests, digests + NODE_BYTES);
    }
    if (count === 1) return this.#leafHash(first);
    const half = width / 2;
    const left = this.#subtreeRoot(leaves, start, Math.min(end, start + half), half);
    if (end <= start + half) return left;
    return this.#nodeHash(left, this.#subtreeRoot(leaves, start + half, end, half));
  }

  /** Reduce one level of nodes (32 bytes each) to the root, level by level (RFC 9162 §2.1.1). */
  #rootOfNodes(nodes: Uint8Array): Uint8Array {
    const count = nodes.length / NODE_BYTES;
    if (count === 1) return nodes.slice(0, NODE_BYTES);
    const base = this.#base;
    if (nodes.length <= this.arenaByteLen) {
      this.#u8.set(nodes, base);
      this.#x.merkle_reduce(base, count);
      return this.#u8.slice(base, base + NODE_BYTES);
    }
    // Larger than the arena: reduce aligned power-of-two groups, whose roots form a higher level.
    let group = 1;
    while (group * 2 * NODE_BYTES <= this.arenaByteLen) group *= 2;
    const groups = Math.ceil(count / group);
    const next = new Uint8Array(groups * NODE_BYTES);
    for (let g = 0; g < groups; g++) {
      const part = nodes.subarray(g * group * NODE_BYTES, Math.min(count, (g + 1) * group) * NODE_BYTES);
      this.#u8.set(part, base);
      this.#x.merkle_reduce(base, part.length / NODE_BYTES);
      next.set(this.#u8.subarray(base, base + NODE_BYTES), g * NODE_BYTES);
    }
    return this.#rootOfNodes(next);
  }
}

/**
 * Streaming state kept on the JavaScript side (the opaque state words, a partial block, the length),
 * so that any number of hashers share one instance: each call copies the state into the arena, runs,
 * and copies it back.
 */
class Hasher implements StreamingHash {
  readonly algorithm: string;
  readonly blockByteLen: number;
  readonly digestByteLen: number;
  readonly #x: CoreExports;
  readonly #base: number;
  readonly #u8: Uint8Array;
  readonly #alg: HashAlgorithm;
  /** Whole blocks that fit in the arena after the state area. */
  readonly #chunkByteLen: number;
  readonly #state: Uint8Array;
  readonly #buffer: Uint8Array;
  #bufferedByteLen = 0;
  #totalByteLen = 0;
  #finished = false;

  constructor(x: CoreExports, u8: Uint8Array, base: number, arenaByteLen: number, alg: HashAlgorithm) {
    this.#x = x;
    this.#base = base;
    this.#u8 = u8;
    this.#alg = alg;
    this.algorithm = alg.name;
    this.blockByteLen = alg.blockByteLen;
    this.digestByteLen = alg.digestByteLen;
    this.#chunkByteLen = Math.floor((arenaByteLen - DATA_OFFSET) / alg.blockByteLen) * alg.blockByteLen;
    alg.init(x, base + STATE_OFFSET);
    this.#state = this.#u8.slice(base + STATE_OFFSET, base + STATE_OFFSET + alg.stateByteLen);
    this.#buffer = new Uint8Array(alg.blockByteLen);
  }

  update(data: Uint8Array): this {
    assertBytes(data, 'data');
    if (this.#finished) throw new Error(`${this.algorithm}: update() after digest()`);
    const block = this.blockByteLen;
    const len = data.length;
    this.#totalByteLen += len;
    let pos = 0;
    if (this.#bufferedByteLen > 0) {
      pos = Math.min(block - this.#bufferedByteLen, len);
      this.#buffer.set(data.subarray(0, pos), this.#bufferedByteLen);
      this.#bufferedByteLen += pos;
      if (this.#bufferedByteLen < block) return this;
    }
    const wholeEnd = pos + Math.floor((len - pos) / block) * block;
    if (this.#bufferedByteLen === block || wholeEnd > pos) {
      const u8 = this.#u8;
      const statePtr = this.#base + STATE_OFFSET;
      const dataPtr = this.#base + DATA_OFFSET;
      u8.set(this.#state, statePtr);
      let filled = 0;
      if (this.#bufferedByteLen === block) {
        u8.set(this.#buffer, dataPtr);
        filled = block;
        this.#bufferedByteLen = 0;
      }
      for (;;) {
        const take = Math.min(wholeEnd - pos, this.#chunkByteLen - filled);
        u8.set(data.subarray(pos, pos + take), dataPtr + filled);
        this.#alg.blocks(this.#x, statePtr, dataPtr, (filled + take) / block);
        pos += take;
        filled = 0;
        if (pos >= wholeEnd) break;
      }
      this.#state.set(u8.subarray(statePtr, statePtr + this.#state.length));
    }
    if (pos < len) {
      this.#buffer.set(data.subarray(pos), this.#bufferedByteLen);
      this.#bufferedByteLen += len - pos;
    }
    return this;
  }

  digest(): Uint8Array {
    const out = new Uint8Array(this.digestByteLen);
    this.digestInto(out);
    return out;
  }

  digestInto(out: Uint8Array): void {
    assertBytes(out, 'out');
    if (out.length < this.digestByteLen) {
      throw new RangeError(`out must hold ${this.digestByteLen} bytes, has ${out.length}`);
    }
    if (this.#finished) throw new Error(`${this.algorithm}: digest() called twice`);
    this.#finished = true;
    const u8 = this.#u8;
    const base = this.#base;
    u8.set(this.#state, base + STATE_OFFSET);
    u8.set(this.#buffer.subarray(0, this.#bufferedByteLen), base + TAIL_OFFSET);
    const total = this.#totalByteLen;
    this.#alg.final(
      this.#x,
      base + STATE_OFFSET,
      base + TAIL_OFFSET,
      this.#bufferedByteLen,
      total >>> 0,
      Math.floor(total / 2 ** 32) >>> 0,
      base + OUT_OFFSET,
    );
    out.set(u8.subarray(base + OUT_OFFSET, base + OUT_OFFSET + this.digestByteLen));
  }
}

// ---------------------------------------------------------------------------------------------------
// Instances and the default instance

let simdValidated: boolean | undefined;

/** True when this engine accepts the SIMD build (WebAssembly fixed-width SIMD). */
export function simdSupported(): boolean {
  simdValidated ??= webAssembly().validate(base64Decode(releaseSimd.base64));
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
