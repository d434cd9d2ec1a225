// SPDX-License-Identifier: Apache-2.0
/**
 * @module wasm-core/verify/digest
 *
 * The message digests signature verification needs, computed by wasm-core's own SHA kernels inside the
 * arena (the digest stays there for the verification call that follows). A message that does not fit
 * the space it is given streams through it in whole blocks.
 *
 * Why here rather than inside the AssemblyScript verifiers: one more boundary call per message is a
 * fraction of a microsecond against 40–400 µs for the signature check itself, the verifiers stay
 * digest-based, and the streaming path for messages larger than the arena already exists on this side.
 *
 * Not covered: anything but the four FIPS 180-4 hashes of the verification API.
 */
import type { CoreExports } from '../boundary.js';
import { SHA1 } from '../legacy-sha1.js';
import { type HashAlgorithm, SHA256, SHA384, SHA512 } from '../sha.js';

/** The hash names of the verification API. */
export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** FIPS 180-4 §1 Figure 1 facts and kernels per hash name. */
export const HASHES: Readonly<Record<HashName, HashAlgorithm>> = {
  sha1: SHA1,
  sha256: SHA256,
  sha384: SHA384,
  sha512: SHA512,
};

/** Bytes of the largest state any of them keeps (SHA-384/512: eight 64-bit words). */
const STATE_BYTES = 64;

/**
 * Hash `message` with `hash`, writing the digest at outPtr. The bytes [scratchPtr, scratchEnd) are free
 * for the message (or, for a message larger than that, for the state and a run of whole blocks);
 * scratchEnd − scratchPtr must be at least 64 + 128 bytes.
 */
export function digestInto(
  x: CoreExports,
  u8: Uint8Array,
  hash: HashName,
  message: Uint8Array,
  outPtr: number,
  scratchPtr: number,
  scratchEnd: number,
): void {
  const alg = HASHES[hash];
  const room = scratchEnd - scratchPtr;
  if (message.length <= room) {
    u8.set(message, scratchPtr);
    alg.digest(x, scratchPtr, message.length, outPtr);
    return;
  }
  const statePtr = scratchPtr;
  const dataPtr = scratchPtr + STATE_BYTES;
  const block = alg.blockByteLen;
  const chunk = Math.floor((scratchEnd - dataPtr) / block) * block;
  if (chunk < block) throw new RangeError('wasm-core: no room in the arena to stream a message');
  alg.init(x, statePtr);
  const whole = message.length - (message.length % block);
  for (let pos = 0; pos < whole; pos += chunk) {
    const n = Math.min(chunk, whole - pos);
    u8.set(message.subarray(pos, pos + n), dataPtr);
    alg.blocks(x, statePtr, dataPtr, n / block);
  }
  const tail = message.subarray(whole);
  u8.set(tail, dataPtr);
  const total = message.length;
  alg.final(x, statePtr, dataPtr, tail.length, total >>> 0, Math.floor(total / 2 ** 32) >>> 0, outPtr);
}
