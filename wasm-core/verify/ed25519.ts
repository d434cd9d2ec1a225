// SPDX-License-Identifier: Apache-2.0
/**
 * @module wasm-core/verify/ed25519
 *
 * Ed25519 verification (RFC 8032 §5.1.7) over a wasm-core instance: raw 32-byte public keys, 64-byte
 * signatures, messages of any length. The instance is the caller's (`Ed25519Core`); these functions only
 * lay data out in its arena, call the AssemblyScript kernels of wasm-core/assembly/ed25519.ts and read
 * the verdicts back. No Node built-ins: the random scalars of batch verification come from
 * `crypto.getRandomValues`, which browsers and Node both provide.
 *
 * The acceptance rule (cofactored equation, canonical S, RFC 8032 decoding of A and R, small-order A
 * and R rejected) is the AssemblyScript's, in wasm-core/assembly/ed25519-rule.ts; single and batch
 * verification share it, so they return the same verdict for every input. `ed25519VerifyDetailed`
 * names the rule a rejected signature broke.
 *
 * Hostile bytes never throw: a key that is not 32 bytes or a signature that is not 64 bytes is a
 * rejection ('malformed-length'). Only misuse throws: a TypeError naming the argument that is not a
 * Uint8Array (or not an array of items).
 *
 * Not covered: Ed25519ph and Ed25519ctx (RFC 8032 §5.1 variants with a prehash or context); SPKI/DER
 * parsing of keys (wasm-core/verify/der.ts does that); constant time (verification handles public data).
 */
import { assertBytes } from '../checks.js';

/** The kernels this module calls; the names are those of the module's exports. */
export interface Ed25519Exports {
  ed25519_verify(pkPtr: number, sigPtr: number, msgPtr: number, msgByteLen: number): number;
  ed25519_verify_digest(pkPtr: number, sigPtr: number, digestPtr: number): number;
  ed25519_batch_scratch_byte_len(keyCount: number, itemCount: number): number;
  ed25519_verify_batch(
    keysPtr: number,
    keyCount: number,
    itemsPtr: number,
    itemCount: number,
    randomPtr: number,
    outPtr: number,
    scratchPtr: number,
  ): number;
  sha512_init(statePtr: number, digestByteLen: number): void;
  sha512_blocks(statePtr: number, dataPtr: number, blockCount: number): void;
  sha512_final(
    statePtr: number,
    tailPtr: number,
    tailByteLen: number,
    totalByteLenLo: number,
    totalByteLenHi: number,
    outPtr: number,
    digestByteLen: number,
  ): void;
}

/** A wasm-core instance as these functions need it. The region [arenaPtr, arenaPtr + arenaByteLen) is theirs during a call. */
export interface Ed25519Core {
  readonly exports: Ed25519Exports;
  readonly memory: { readonly buffer: ArrayBuffer };
  readonly arenaPtr: number;
  readonly arenaByteLen: number;
}

/** One signature to verify. */
export interface Ed25519Item {
  /** The raw 32-byte public key A (RFC 8032 §5.1.5). */
  readonly publicKey: Uint8Array;
  /** The message M itself (PureEdDSA). */
  readonly message: Uint8Array;
  /** The 64-byte signature R ‖ S (RFC 8032 §5.1.6). */
  readonly signature: Uint8Array;
}

/**
 * The outcome of one verification: 'valid', or the first rule of ed25519-rule.ts that failed, checked in
 * this order: lengths, S < L, R's encoding and order, A's encoding and order, the cofactored equation.
 */
export type Ed25519Verdict =
  | 'valid'
  | 'malformed-length'
  | 's-not-canonical'
  | 'key-non-canonical'
  | 'key-not-on-curve'
  | 'key-negative-zero'
  | 'key-small-order'
  | 'r-non-canonical'
  | 'r-not-on-curve'
  | 'r-negative-zero'
  | 'r-small-order'
  | 'equation';

/** Verdict codes of wasm-core/assembly/ed25519-rule.ts, indexed by code (0 is never written). */
const VERDICTS: readonly (Ed25519Verdict | undefined)[] = [
  undefined,
  'valid',
  's-not-canonical',
  'key-non-canonical',
  'key-not-on-curve',
  'key-negative-zero',
  'key-small-order',
  'r-non-canonical',
  'r-not-on-curve',
  'r-negative-zero',
  'r-small-order',
  'equation',
];

function verdictOf(code: number): Ed25519Verdict {
  const v = VERDICTS[code];
  // A code the kernel cannot produce: fail closed rather than throw on data.
  return v ?? 'equation';
}

/** RFC 8032 §5.1.5, §5.1.6: encoded sizes. */
const PUBLIC_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
const DIGEST_BYTES = 64; // SHA-512
const SHA512_BLOCK_BYTES = 128;
/** Bytes of one item record of ed25519_verify_batch (five u32), and of its random scalar z. */
const ITEM_RECORD_BYTES = 20;
const RANDOM_BYTES = 16;
/** Items per kernel call: one crypto.getRandomValues call (at most 65536 bytes) fills their z. */
const BATCH_CHUNK_ITEMS = 4096;
/** A message this large (or larger than the arena allows) is hashed in a pass of its own. */
const STREAM_THRESHOLD_BYTES = 1 << 20;

function align16(n: number): number {
  return (n + 15) & ~15;
}

/** Views over the instance memory, made per call (cheap next to a verification, and robust to growth). */
function views(core: Ed25519Core): { u8: Uint8Array; dv: DataView } {
  const buffer = core.memory.buffer;
  return { u8: new Uint8Array(buffer), dv: new DataView(buffer) };
}

/**
 * SHA-512(R ‖ A ‖ M) (RFC 8032 §5.1.7 step 2) through the module's streaming SHA-512, in arena-sized
 * chunks: the route for messages that do not fit the arena beside the rest.
 */
function digestRAM(
  core: Ed25519Core,
  u8: Uint8Array,
  r: Uint8Array,
  a: Uint8Array,
  m: Uint8Array,
): Uint8Array {
  const x = core.exports;
  const statePtr = core.arenaPtr;
  const outPtr = statePtr + 64;
  const dataPtr = statePtr + 128;
  const capacity = Math.floor((core.arenaByteLen - 128) / SHA512_BLOCK_BYTES) * SHA512_BLOCK_BYTES;
  if (capacity < SHA512_BLOCK_BYTES) throw new RangeError('wasm-core: the arena is too small for SHA-512');
  x.sha512_init(statePtr, DIGEST_BYTES);
  const total = r.length + a.length + m.length;
  let fill = 0;
  const feed = (piece: Uint8Array): void => {
    let off = 0;
    while (off < piece.length) {
      const n = Math.min(capacity - fill, piece.length - off);
      u8.set(piece.subarray(off, off + n), dataPtr + fill);
      fill += n;
      off += n;
      if (fill === capacity) {
        x.sha512_blocks(statePtr, dataPtr, capacity / SHA512_BLOCK_BYTES);
        fill = 0;
      }
    }
  };
  feed(r);
  feed(a);
  feed(m);
  const blocks = Math.floor(fill / SHA512_BLOCK_BYTES);
  x.sha512_blocks(statePtr, dataPtr, blocks);
  const tail = blocks * SHA512_BLOCK_BYTES;
  x.sha512_final(
    statePtr,
    dataPtr + tail,
    fill - tail,
    total % 0x1_0000_0000,
    Math.floor(total / 0x1_0000_0000),
    outPtr,
    DIGEST_BYTES,
  );
  return u8.slice(outPtr, outPtr + DIGEST_BYTES);
}

function checkItemTypes(publicKey: unknown, message: unknown, signature: unknown, prefix: string): void {
  assertBytes(publicKey, `${prefix}publicKey`);
  assertBytes(message, `${prefix}message`);
  assertBytes(signature, `${prefix}signature`);
}

/**
 * Verifies one Ed25519 signature and says why it was rejected. Throws TypeError only when an argument
 * is not a Uint8Array.
 */
export function ed25519VerifyDetailed(
  core: Ed25519Core,
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Ed25519Verdict {
  checkItemTypes(publicKey, message, signature, '');
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES)
    return 'malformed-length';
  const { u8 } = views(core);
  const pkPtr = core.arenaPtr;
  const sigPtr = pkPtr + PUBLIC_KEY_BYTES;
  const msgPtr = sigPtr + SIGNATURE_BYTES;
  const x = core.exports;
  if (
    message.length <= core.arenaByteLen - (msgPtr - core.arenaPtr) &&
    message.length < STREAM_THRESHOLD_BYTES
  ) {
    u8.set(publicKey, pkPtr);
    u8.set(signature, sigPtr);
    u8.set(message, msgPtr);
    return verdictOf(x.ed25519_verify(pkPtr, sigPtr, msgPtr, message.length));
  }
  const digest = digestRAM(core, u8, signature.subarray(0, 32), publicKey, message);
  u8.set(publicKey, pkPtr);
  u8.set(signature, sigPtr);
  u8.set(digest, msgPtr);
  return verdictOf(x.ed25519_verify_digest(pkPtr, sigPtr, msgPtr));
}

/** Whether `signature` is a valid Ed25519 signature of `message` under the raw `publicKey`. */
export function ed25519Verify(
  core: Ed25519Core,
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  return ed25519VerifyDetailed(core, publicKey, message, signature) === 'valid';
}

/** Key identity for batching: items under one key share its decoding and one term of the combination. */
function keyId(pk: Uint8Array): string {
  let s = '';
  for (let i = 0; i < PUBLIC_KEY_BYTES; i += 4) {
    s += String.fromCharCode(
      ((pk[i] ?? 0) | ((pk[i + 1] ?? 0) << 8)) >>> 0,
      ((pk[i + 2] ?? 0) | ((pk[i + 3] ?? 0) << 8)) >>> 0,
    );
  }
  return s;
}

/**
 * Verifies many signatures, any mix of keys, with one random linear combination per chunk of the arena
 * (batch verification); a failing combination is resolved item by item inside the kernel, so the
 * verdicts equal ed25519VerifyDetailed's. Throws TypeError only on misuse (items not an array, or a
 * field not a Uint8Array, named as `items[i].field`).
 */
export function ed25519VerifyBatchDetailed(
  core: Ed25519Core,
  items: readonly Ed25519Item[],
): Ed25519Verdict[] {
  if (!Array.isArray(items))
    throw new TypeError('items must be an array of { publicKey, message, signature }');
  const n = items.length;
  const verdicts: Ed25519Verdict[] = new Array<Ed25519Verdict>(n).fill('malformed-length');
  // Type checks first (misuse throws before any work), then lengths (a rejection, not an error), then
  // a digest for each message too large to travel in the arena with its batch.
  for (let i = 0; i < n; i++) {
    const item = items[i];
    if (typeof item !== 'object' || item === null) throw new TypeError(`items[${i}] must be an object`);
    checkItemTypes(item.publicKey, item.message, item.signature, `items[${i}].`);
  }
  const live: number[] = [];
  for (let i = 0; i < n; i++) {
    const item = items[i] as Ed25519Item;
    if (item.publicKey.length === PUBLIC_KEY_BYTES && item.signature.length === SIGNATURE_BYTES) live.push(i);
  }
  if (live.length === 1) {
    // One item: the single path (with its cache of the last key) is the batch path minus the bookkeeping.
    const i = live[0] as number;
    const item = items[i] as Ed25519Item;
    verdicts[i] = ed25519VerifyDetailed(core, item.publicKey, item.message, item.signature);
    return verdicts;
  }
  const { u8, dv } = views(core);
  const x = core.exports;
  // A message travels in the arena with its batch when it takes at most a quarter of what the kernel's
  // scratch for a one-item batch leaves; a larger one is reduced to its digest first.
  const room = core.arenaByteLen - x.ed25519_batch_scratch_byte_len(1, 1) - 256;
  if (room < 4 * (SIGNATURE_BYTES + DIGEST_BYTES))
    throw new RangeError('wasm-core: the arena is too small for Ed25519 batch verification');
  const perItemLimit = Math.min(STREAM_THRESHOLD_BYTES, Math.floor(room / 4));
  const digests = new Map<number, Uint8Array>();
  for (const i of live) {
    const item = items[i] as Ed25519Item;
    if (item.message.length > perItemLimit) {
      digests.set(i, digestRAM(core, u8, item.signature.subarray(0, 32), item.publicKey, item.message));
    }
  }
  let next = 0;
  while (next < live.length) {
    // Grow the chunk while its layout (keys, records, random, verdicts, signatures and messages, then the
    // kernel's scratch) fits the arena.
    const keyIndex = new Map<string, number>();
    const keys: Uint8Array[] = [];
    const chunk: number[] = [];
    const itemKey: number[] = [];
    let dataBytes = 0;
    while (next < live.length && chunk.length < BATCH_CHUNK_ITEMS) {
      const i = live[next] as number;
      const item = items[i] as Ed25519Item;
      const id = keyId(item.publicKey);
      const known = keyIndex.get(id);
      const keyCount = keys.length + (known === undefined ? 1 : 0);
      const itemBytes = align16(SIGNATURE_BYTES + (digests.has(i) ? DIGEST_BYTES : item.message.length));
      const count = chunk.length + 1;
      const fixed = align16(keyCount * PUBLIC_KEY_BYTES + count * (ITEM_RECORD_BYTES + RANDOM_BYTES + 1));
      const need = fixed + dataBytes + itemBytes + x.ed25519_batch_scratch_byte_len(keyCount, count);
      if (need > core.arenaByteLen) {
        if (chunk.length === 0)
          throw new RangeError('wasm-core: the arena is too small for one Ed25519 item');
        break;
      }
      if (known === undefined) {
        keyIndex.set(id, keys.length);
        itemKey.push(keys.length);
        keys.push(item.publicKey);
      } else {
        itemKey.push(known);
      }
      chunk.push(i);
      dataBytes += itemBytes;
      next++;
    }
    const count = chunk.length;
    const keysPtr = core.arenaPtr;
    const itemsPtr = keysPtr + keys.length * PUBLIC_KEY_BYTES;
    const randomPtr = itemsPtr + count * ITEM_RECORD_BYTES;
    const outPtr = randomPtr + count * RANDOM_BYTES;
    let p = align16(outPtr + count);
    keys.forEach((k, j) => {
      u8.set(k, keysPtr + j * PUBLIC_KEY_BYTES);
    });
    for (let c = 0; c < count; c++) {
      const i = chunk[c] as number;
      const item = items[i] as Ed25519Item;
      const digest = digests.get(i);
      const data = digest ?? item.message;
      const rec = itemsPtr + c * ITEM_RECORD_BYTES;
      u8.set(item.signature, p);
      u8.set(data, p + SIGNATURE_BYTES);
      dv.setUint32(rec, itemKey[c] as number, true);
      dv.setUint32(rec + 4, p, true);
      dv.setUint32(rec + 8, p + SIGNATURE_BYTES, true);
      dv.setUint32(rec + 12, data.length, true);
      dv.setUint32(rec + 16, digest === undefined ? 0 : 1, true);
      p += align16(SIGNATURE_BYTES + data.length);
    }
    // z_i: 128-bit random scalars (the batch equation's soundness rests on them being unpredictable).
    crypto.getRandomValues(u8.subarray(randomPtr, randomPtr + count * RANDOM_BYTES));
    u8.fill(0, outPtr, outPtr + count);
    x.ed25519_verify_batch(keysPtr, keys.length, itemsPtr, count, randomPtr, outPtr, p);
    for (let c = 0; c < count; c++) verdicts[chunk[c] as number] = verdictOf(u8[outPtr + c] ?? 0);
  }
  return verdicts;
}

/** For each item, whether its signature is valid (see ed25519VerifyBatchDetailed). */
export function ed25519VerifyBatch(core: Ed25519Core, items: readonly Ed25519Item[]): boolean[] {
  return ed25519VerifyBatchDetailed(core, items).map((v) => v === 'valid');
}
