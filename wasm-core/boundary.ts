// SPDX-License-Identifier: Apache-2.0
/**
 * @module wasm-core/boundary
 *
 * The WebAssembly boundary of wasm-core (STYLE principle 10): the typed exports of
 * wasm-core/assembly/index.ts, access to the engine's WebAssembly global, RFC 4648 base64 decoding of the
 * generated module, and instantiation with its checks (every export present, memory exported, ABI
 * version, arena inside memory). Everything above this module talks to WebAssembly through an `Arena`:
 * integer offsets into one static region, with views created once.
 *
 * Uses no Node built-ins (no Buffer, no atob), so that wasm-core runs unchanged in a browser.
 * Not covered: the module bytes' integrity. `WasmArtifact.sha256` is recorded by scripts/build-wasm.mjs
 * and reported by the instance, not re-checked here.
 */
import type { WasmArtifact } from './generated/wasm.js';

/** The ABI version the loader speaks; wasm-core/assembly/layout.ts exports the module's. */
export const ABI_VERSION = 1;

/** What the loader needs of a WebAssembly.Memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

/** Exports of wasm-core/assembly/index.ts. Pointers and lengths are byte offsets and byte counts. */
export interface CoreExports {
  readonly memory: WasmMemory;
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

/** The streaming and one-shot SHA exports, which the signature verifiers call too. */
export const SHA_EXPORTS = [
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
] as const;

const EXPORTED_FUNCTIONS = [
  'abi_version',
  'arena_ptr',
  'arena_byte_len',
  'simd_lanes',
  ...SHA_EXPORTS,
  'sha256_batch',
  'sha256_batch_fixed',
  'merkle_level',
  'merkle_reduce',
] as const;

/**
 * The raw boundary of one instance, for another loader module inside wasm-core that drives exports of
 * its own over the same arena (see `WasmCore.boundary()`).
 */
export interface CoreBoundary {
  /** The instance's exports as WebAssembly gives them; check each function with `assertFunctions`. */
  readonly exports: Readonly<Record<string, unknown>>;
  /** Its memory: initial = maximum pages (wasm-core/asconfig.json), so views created once stay valid. */
  readonly memory: WasmMemory;
  /** Byte offset of the arena in memory; a multiple of 64. */
  readonly arenaPtr: number;
  /** Byte length of the arena, which runs to the end of memory. */
  readonly arenaByteLen: number;
}

/**
 * One instance as the hashing modules use it: typed exports, views over the whole memory, and where the
 * arena lies (`base`, `byteLen`, in bytes). Every operation is synchronous and owns the whole arena for
 * its duration; nothing is left in it between calls.
 */
export interface Arena {
  readonly x: CoreExports;
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly base: number;
  readonly byteLen: number;
}

// The WebAssembly global, typed locally: the project's TypeScript lib (ES2023, no DOM) does not declare it.
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  instantiate(
    bytes: Uint8Array,
    imports: object,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
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

/** The module bytes of an artifact (a new array on every call). */
export function artifactBytes(artifact: WasmArtifact): Uint8Array {
  return base64Decode(artifact.base64);
}

/** Whether this engine's `WebAssembly.validate` accepts the artifact (for example, SIMD support). */
export function validates(artifact: WasmArtifact): boolean {
  return webAssembly().validate(artifactBytes(artifact));
}

/** Throws unless each of `names` is an exported function. */
export function assertFunctions(exports: Readonly<Record<string, unknown>>, names: readonly string[]): void {
  for (const name of names) {
    if (typeof exports[name] !== 'function') throw new Error(`wasm-core: the module does not export ${name}`);
  }
}

/**
 * Instantiate one artifact (WebAssembly JS API `instantiate`, no imports) and check its boundary: the
 * exports `CoreExports` declares, its memory, the ABI version, and an arena that is 64-byte aligned and
 * ends where memory ends. Returns the raw boundary and the arena with its views.
 */
export async function instantiateCore(
  artifact: WasmArtifact,
): Promise<{ boundary: CoreBoundary; arena: Arena }> {
  const { instance } = await webAssembly().instantiate(artifactBytes(artifact), {});
  return checkedInstance(instance.exports);
}

/**
 * `instantiateCore`, synchronously (WebAssembly JS API `Module` and `Instance`): for a caller that
 * needs an instance inside a synchronous call. Node compiles a module of any size this way; a browser's
 * main thread may refuse one this large (use a worker there).
 */
export function instantiateCoreSync(artifact: WasmArtifact): { boundary: CoreBoundary; arena: Arena } {
  const api = webAssembly();
  return checkedInstance(new api.Instance(new api.Module(artifactBytes(artifact)), {}).exports);
}

/** The checks of `instantiateCore` on an instance's exports, and its boundary and arena. */
function checkedInstance(exports: Record<string, unknown>): { boundary: CoreBoundary; arena: Arena } {
  assertFunctions(exports, EXPORTED_FUNCTIONS);
  const memory = exports.memory as { buffer?: unknown } | undefined;
  if (!(memory?.buffer instanceof ArrayBuffer))
    throw new Error('wasm-core: the module does not export its memory');
  const x = exports as unknown as CoreExports;
  if (x.abi_version() !== ABI_VERSION) {
    throw new Error(
      `wasm-core: module ABI ${x.abi_version()}, loader ABI ${ABI_VERSION}; run npm run build:wasm`,
    );
  }
  const base = x.arena_ptr();
  const byteLen = x.arena_byte_len();
  // Memory is declared with initial = maximum pages (wasm-core/asconfig.json), so it never grows and
  // these views, created once, stay valid.
  const u8 = new Uint8Array(x.memory.buffer);
  const u32 = new Uint32Array(x.memory.buffer);
  if (base % 64 !== 0 || base + byteLen !== u8.length) {
    throw new Error('wasm-core: the module reports an arena outside its memory');
  }
  const boundary: CoreBoundary = Object.freeze({
    exports,
    memory: x.memory,
    arenaPtr: base,
    arenaByteLen: byteLen,
  });
  return { boundary, arena: { x, u8, u32, base, byteLen } };
}
