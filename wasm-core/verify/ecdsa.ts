// SPDX-License-Identifier: Apache-2.0
/**
 * @module wasm-core/verify/ecdsa
 *
 * ECDSA verification (SEC 1 v2 §4.1.4) over P-256 and P-384 on a wasm-core instance: signature
 * encodings (IEEE P1363 r‖s, or DER per der.ts), the arena layout of one verification and of a batch
 * under one key, and calls into wasm-core/assembly/ecdsa.ts. The curve arithmetic, the public key
 * validation (on the curve, coordinates below p) and the range checks 0 < r, s < n are the
 * AssemblyScript's.
 *
 * Not covered: keys and signatures on other curves (the SPKI parser refuses them first).
 */
import type { CoreExports } from '../boundary.js';
import { DerError, type NamedCurve, parseEcdsaSignature } from './der.js';
import { digestInto, HASHES, type HashName } from './digest.js';

/** The ECDSA kernels of wasm-core/assembly/ecdsa.ts. */
export interface EcdsaExports {
  ecdsa_verify(
    curve: number,
    keyPtr: number,
    keyByteLen: number,
    digestPtr: number,
    digestByteLen: number,
    sigPtr: number,
  ): number;
  ecdsa_key_table(curve: number, keyPtr: number, keyByteLen: number): number;
  ecdsa_batch_scratch_bytes(): number;
  ecdsa_verify_batch(
    curve: number,
    itemsPtr: number,
    count: number,
    outPtr: number,
    scratchPtr: number,
  ): void;
}

/** Where the instance is and what it exports, as the verifiers need it. */
export interface SigCore {
  readonly x: CoreExports & EcdsaExports;
  readonly u8: Uint8Array;
  readonly dv: DataView;
  readonly arenaPtr: number;
  readonly arenaByteLen: number;
}

/** Curve ids of the ABI and the byte length of a coordinate or scalar (SEC 2 §2.4.2, §2.5.1). */
export const CURVES: Readonly<Record<NamedCurve, { readonly id: number; readonly bytes: number }>> = {
  'P-256': { id: 1, bytes: 32 },
  'P-384': { id: 2, bytes: 48 },
};

/** A public key as the kernels take it: the curve and the SEC 1 point bytes. */
export interface EcKey {
  readonly curve: NamedCurve;
  readonly point: Uint8Array;
}

/** One ECDSA signature to check. */
export interface EcdsaJob {
  readonly key: EcKey;
  readonly hash: HashName;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  readonly encoding: 'p1363' | 'der';
}

/**
 * r‖s as 2 × bytes big-endian bytes, or undefined when the signature cannot be one for this curve: a
 * P1363 signature of the wrong length, a DER signature that is malformed (DerError) or whose r or s has
 * more bytes than n (then r or s ≥ n anyway).
 */
export function fixedSignature(
  signature: Uint8Array,
  encoding: 'p1363' | 'der',
  bytes: number,
): Uint8Array | undefined {
  if (encoding === 'p1363') return signature.length === 2 * bytes ? signature : undefined;
  let r: Uint8Array;
  let s: Uint8Array;
  try {
    ({ r, s } = parseEcdsaSignature(signature));
  } catch (err) {
    if (err instanceof DerError) return undefined;
    throw err;
  }
  if (r.length > bytes || s.length > bytes) return undefined;
  const out = new Uint8Array(2 * bytes);
  out.set(r, bytes - r.length);
  out.set(s, 2 * bytes - s.length);
  return out;
}

// Single verification layout: point (≤ 97 bytes), r‖s (≤ 96), digest (≤ 64), then the message.
const POINT_OFFSET = 0;
const SIG_OFFSET = 128;
const DIGEST_OFFSET = 256;
const MESSAGE_OFFSET = 320;

/** One verification: hash the message in the arena, then ecdsa_verify. */
export function ecdsaVerifyOne(core: SigCore, job: EcdsaJob): boolean {
  const curve = CURVES[job.key.curve];
  const sig = fixedSignature(job.signature, job.encoding, curve.bytes);
  if (sig === undefined || job.key.point.length > SIG_OFFSET) return false;
  const base = core.arenaPtr;
  const { u8, x } = core;
  u8.set(job.key.point, base + POINT_OFFSET);
  u8.set(sig, base + SIG_OFFSET);
  digestInto(
    x,
    u8,
    job.hash,
    job.message,
    base + DIGEST_OFFSET,
    base + MESSAGE_OFFSET,
    base + core.arenaByteLen,
  );
  const digestLen = HASHES[job.hash].digestByteLen;
  return (
    x.ecdsa_verify(
      curve.id,
      base + POINT_OFFSET,
      job.key.point.length,
      base + DIGEST_OFFSET,
      digestLen,
      base + SIG_OFFSET,
    ) === 1
  );
}

/** Bytes per item in a batch chunk: record (12), r‖s (96), digest (64), inversion scratch (48). */
const ITEM_BYTES = 12 + 96 + 64 + 48 + 1;
/** Bytes kept for hashing one message at a time (larger messages stream through it). */
const HASH_ROOM = 64 * 1024;

const align = (n: number): number => (n + 15) & ~15;

/**
 * Many signatures under one key: the module makes it the curve's cached key and builds its comb table
 * (ecdsa_key_table; nothing to build when it already is the cached key), then the signatures are
 * verified in chunks that fit the arena, each chunk with one inversion for all its s. Returns the
 * verdicts in order. An invalid key fails every item.
 */
export function ecdsaVerifyGroup(core: SigCore, key: EcKey, jobs: readonly EcdsaJob[]): boolean[] {
  const curve = CURVES[key.curve];
  const { u8, dv, x } = core;
  const verdicts = new Array<boolean>(jobs.length).fill(false);
  const base = core.arenaPtr;
  const end = base + core.arenaByteLen;
  const pointPtr = base;
  const chunkStart = base + 128;
  const hashPtr = end - HASH_ROOM;
  const maxItems = Math.floor((hashPtr - chunkStart) / ITEM_BYTES);
  if (maxItems < 1) throw new RangeError('wasm-core: the arena is too small for an ECDSA batch');
  if (key.point.length > 128) return verdicts;
  u8.set(key.point, pointPtr);
  if (x.ecdsa_key_table(curve.id, pointPtr, key.point.length) !== 1) return verdicts;
  // Items whose signature cannot even be parsed fail here and take no slot.
  const live: { index: number; sig: Uint8Array }[] = [];
  jobs.forEach((job, index) => {
    const sig = fixedSignature(job.signature, job.encoding, curve.bytes);
    if (sig !== undefined) live.push({ index, sig });
  });
  const scratchBytes = x.ecdsa_batch_scratch_bytes();
  for (let start = 0; start < live.length; start += maxItems) {
    const chunk = live.slice(start, start + maxItems);
    const count = chunk.length;
    const itemsPtr = chunkStart;
    const sigsPtr = align(itemsPtr + 12 * count);
    const digestsPtr = sigsPtr + 96 * count;
    const scratchPtr = digestsPtr + 64 * count;
    const outPtr = scratchPtr + scratchBytes * count;
    chunk.forEach(({ index, sig }, c) => {
      const job = jobs[index] as EcdsaJob;
      const sigPtr = sigsPtr + 96 * c;
      const digestPtr = digestsPtr + 64 * c;
      u8.set(sig, sigPtr);
      digestInto(x, u8, job.hash, job.message, digestPtr, hashPtr, end);
      const rec = itemsPtr + 12 * c;
      dv.setUint32(rec, digestPtr, true);
      dv.setUint32(rec + 4, HASHES[job.hash].digestByteLen, true);
      dv.setUint32(rec + 8, sigPtr, true);
    });
    x.ecdsa_verify_batch(curve.id, itemsPtr, count, outPtr, scratchPtr);
    chunk.forEach(({ index }, c) => {
      verdicts[index] = u8[outPtr + c] === 1;
    });
  }
  return verdicts;
}
