// SPDX-License-Identifier: Apache-2.0
// SHA-256 of many messages in one call: the multi-buffer SIMD kernel in the SIMD build, the scalar
// engine message by message in the scalar build (chosen at compile time by ASC_FEATURE_SIMD).
//
// ABI: sha256_batch(descPtr, count, outPtr). descPtr holds count records of two u32 (dataPtr, byteLen);
// digests are written to outPtr + 32 i in record order. sha256_batch_fixed(dataPtr, byteLen, count,
// outPtr) is the same for messages of one length stored back to back. simd_lanes() says how many messages one kernel
// step hashes (1 in the scalar build).

import { sha256_digest } from './sha256';
import { sha256BatchX4, sha256FixedX4 } from './sha256x4';

/** FIPS 180-4 §6.2 over each described message; digests in order. */
export function sha256_batch(descPtr: usize, count: u32, outPtr: usize): void {
  if (ASC_FEATURE_SIMD) {
    sha256BatchX4(descPtr, count, outPtr);
  } else {
    for (let i: u32 = 0; i < count; i++) {
      const d = descPtr + (<usize>i << 3);
      sha256_digest(load<u32>(d, 0), load<u32>(d, 4), outPtr + (<usize>i << 5));
    }
  }
}

/**
 * FIPS 180-4 §6.2 over `count` messages of byteLen bytes each, stored back to back from dataPtr (no
 * records needed); digests to outPtr + 32 i.
 */
export function sha256_batch_fixed(dataPtr: usize, byteLen: u32, count: u32, outPtr: usize): void {
  let i: u32 = 0;
  if (ASC_FEATURE_SIMD) {
    const groups = count >>> 2;
    sha256FixedX4(dataPtr, byteLen, groups, outPtr);
    i = groups << 2;
  }
  for (; i < count; i++) {
    sha256_digest(dataPtr + <usize>i * <usize>byteLen, byteLen, outPtr + (<usize>i << 5));
  }
}

/** Messages per kernel step: 4 with SIMD, 1 without. */
export function simd_lanes(): u32 {
  return ASC_FEATURE_SIMD ? 4 : 1;
}
