// SPDX-License-Identifier: Apache-2.0
/**
 * @module wasm-core/hasher
 *
 * The generic hash engine over the arena, for any `HashAlgorithm` (sha.ts, legacy-sha1.ts): one message
 * in one call when it fits the arena, else streamed through it; and the streaming `Hasher`, whose state
 * lives on the JavaScript side so that any number of hashers share one instance.
 *
 * Not covered: argument checks of the one-shot path (the caller's); secrets (not constant-time).
 */
import type { Arena } from './boundary.js';
import { assertBytes } from './checks.js';
import type { HashAlgorithm } from './sha.js';

/** Byte offset (from the arena start) of hash state, tails and digests in the streaming paths. */
const STATE_OFFSET = 0;
const TAIL_OFFSET = 64;
const OUT_OFFSET = 192;
const DATA_OFFSET = 256;

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

/** The digest of data (already checked to be a Uint8Array), in one kernel call when it fits the arena. */
export function oneShot(a: Arena, alg: HashAlgorithm, data: Uint8Array): Uint8Array {
  const n = data.length;
  if (n > a.byteLen - DATA_OFFSET) return new Hasher(a, alg).update(data).digest();
  const base = a.base;
  a.u8.set(data, base + DATA_OFFSET);
  alg.digest(a.x, base + DATA_OFFSET, n, base + OUT_OFFSET);
  return a.u8.slice(base + OUT_OFFSET, base + OUT_OFFSET + alg.digestByteLen);
}

/**
 * Streaming state kept on the JavaScript side (the opaque state words, a partial block, the length),
 * so that any number of hashers share one instance: each call copies the state into the arena, runs,
 * and copies it back.
 */
export class Hasher implements StreamingHash {
  readonly algorithm: string;
  readonly blockByteLen: number;
  readonly digestByteLen: number;
  readonly #a: Arena;
  readonly #alg: HashAlgorithm;
  /** Whole blocks that fit in the arena after the state area. */
  readonly #chunkByteLen: number;
  readonly #state: Uint8Array;
  readonly #buffer: Uint8Array;
  #bufferedByteLen = 0;
  #totalByteLen = 0;
  #finished = false;

  constructor(a: Arena, alg: HashAlgorithm) {
    this.#a = a;
    this.#alg = alg;
    this.algorithm = alg.name;
    this.blockByteLen = alg.blockByteLen;
    this.digestByteLen = alg.digestByteLen;
    this.#chunkByteLen = Math.floor((a.byteLen - DATA_OFFSET) / alg.blockByteLen) * alg.blockByteLen;
    const statePtr = a.base + STATE_OFFSET;
    alg.init(a.x, statePtr);
    this.#state = a.u8.slice(statePtr, statePtr + alg.stateByteLen);
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
      const a = this.#a;
      const u8 = a.u8;
      const statePtr = a.base + STATE_OFFSET;
      const dataPtr = a.base + DATA_OFFSET;
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
        this.#alg.blocks(a.x, statePtr, dataPtr, (filled + take) / block);
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
    const a = this.#a;
    const u8 = a.u8;
    const base = a.base;
    u8.set(this.#state, base + STATE_OFFSET);
    u8.set(this.#buffer.subarray(0, this.#bufferedByteLen), base + TAIL_OFFSET);
    const total = this.#totalByteLen;
    this.#alg.final(
      a.x,
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
