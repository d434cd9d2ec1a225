// SPDX-License-Identifier: Apache-2.0
/**
 * @module wasm-core/batch
 *
 * SHA-256 of many messages per kernel call (FIPS 180-4 §6.2, multi-buffer): packing messages into the
 * arena for the lock-step kernel (`sha256_batch_fixed`, one length) or the lane-refilling kernel
 * (`sha256_batch`, a (ptr, byteLen) record per message), in chunks when a batch exceeds the arena.
 * The Merkle module uses the packers too, with the RFC 9162 leaf prefix byte.
 *
 * Not covered: a message too large for the arena on its own is streamed (hasher.ts), not batched.
 */
import type { Arena } from './boundary.js';
import { assertArray, assertBytes, isBytes, notBytesError } from './checks.js';
import { Hasher } from './hasher.js';
import { SHA256, SHA256_DIGEST_BYTES } from './sha.js';

/** Batch layout: at most this many messages per kernel call; their (ptr, byteLen) records come first. */
const BATCH_MAX_COUNT = 65536;
/** Messages of one length in a row that earn a lock-step kernel call of their own. */
const UNIFORM_RUN_MIN = 64;
const DESC_BYTE_LEN = 8;

/** SHA-256 of every message, n × 32 bytes in order (contract: `WasmCore.sha256Batch`). */
export function sha256Batch(a: Arena, messages: readonly Uint8Array[]): Uint8Array {
  assertArray(messages, 'messages');
  const out = new Uint8Array(messages.length * SHA256_DIGEST_BYTES);
  batchInto(a, messages, 0, messages.length, -1, out, 0, 'messages');
  return out;
}

/** `sha256Batch` into out[0 .. 32 n) (contract: `WasmCore.sha256BatchInto`). */
export function sha256BatchInto(a: Arena, messages: readonly Uint8Array[], out: Uint8Array): void {
  assertArray(messages, 'messages');
  assertBytes(out, 'out');
  if (out.length < messages.length * SHA256_DIGEST_BYTES) {
    throw new RangeError(`out must hold ${messages.length * SHA256_DIGEST_BYTES} bytes, has ${out.length}`);
  }
  batchInto(a, messages, 0, messages.length, -1, out, 0, 'messages');
}

/**
 * SHA-256 of messages[start .. end), each preceded by the byte `prefix` when prefix ≥ 0, into out from
 * outOffset, in as few kernel calls as the arena allows. A run of messages of one length goes back to
 * back to the lock-step kernel; mixed lengths go with (ptr, byteLen) records to the lane-refilling
 * kernel; a message too large for the arena on its own is streamed. Each message is read once, and
 * type-checked as it is copied (`${name}[i]` in the TypeError).
 */
export function batchInto(
  a: Arena,
  messages: readonly Uint8Array[],
  start: number,
  end: number,
  prefix: number,
  out: Uint8Array,
  outOffset: number,
  name: string,
): void {
  const u8 = a.u8;
  const prefixByteLen = prefix >= 0 ? 1 : 0;
  let i = start;
  while (i < end) {
    const first = messages[i];
    if (!isBytes(first)) throw notBytesError(name, i, first);
    const byteLen = first.length + prefixByteLen;
    const fit = Math.min(end - i, Math.floor(a.byteLen / (byteLen + SHA256_DIGEST_BYTES)));
    if (fit > 0) {
      const count = packUniform(a, messages, i, i + fit, prefix, byteLen, name);
      // A short run of one length is not worth a kernel call of its own.
      if (count === fit || count >= UNIFORM_RUN_MIN) {
        const outPtr = a.base + count * byteLen;
        a.x.sha256_batch_fixed(a.base, byteLen, count, outPtr);
        out.set(
          u8.subarray(outPtr, outPtr + count * SHA256_DIGEST_BYTES),
          outOffset + (i - start) * SHA256_DIGEST_BYTES,
        );
        i += count;
        continue;
      }
    }
    const [count, outPtr] = packMixed(a, messages, i, end, prefix, name);
    if (count > 0) {
      a.x.sha256_batch(a.base, count, outPtr);
      out.set(
        u8.subarray(outPtr, outPtr + count * SHA256_DIGEST_BYTES),
        outOffset + (i - start) * SHA256_DIGEST_BYTES,
      );
      i += count;
    } else {
      // messages[i] alone does not fit beside its record and digest: stream it.
      const h = new Hasher(a, SHA256);
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
export function packUniform(
  a: Arena,
  messages: readonly Uint8Array[],
  start: number,
  end: number,
  prefix: number,
  byteLen: number,
  name: string,
): number {
  const u8 = a.u8;
  const dataLen = prefix >= 0 ? byteLen - 1 : byteLen;
  let p = a.base;
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
      throw notBytesError(name, i, m);
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
export function packMixed(
  a: Arena,
  messages: readonly Uint8Array[],
  start: number,
  end: number,
  prefix: number,
  name: string,
): [count: number, dataEnd: number] {
  const u8 = a.u8;
  const u32 = a.u32;
  const base = a.base;
  const limit = base + a.byteLen;
  const prefixByteLen = prefix >= 0 ? 1 : 0;
  let dataPtr = base + BATCH_MAX_COUNT * DESC_BYTE_LEN;
  let desc = base >>> 2;
  let count = 0;
  for (let i = start; i < end && count < BATCH_MAX_COUNT; i++, count++) {
    const m = messages[i];
    if (!isBytes(m)) throw notBytesError(name, i, m);
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
