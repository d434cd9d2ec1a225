// SPDX-License-Identifier: Apache-2.0
/**
 * @module wasm-core/sha
 *
 * Per-algorithm facts of the SHA-2 family (FIPS 180-4): sizes (§1 Figure 1) and the exports that
 * implement each algorithm. The generic engine over them is in hasher.ts; SHA-1 is apart, in
 * legacy-sha1.ts.
 */
import type { CoreExports } from './boundary.js';

/** Bytes of a SHA-256 digest and of a Merkle node. */
export const SHA256_DIGEST_BYTES = 32;

/** One hash function as the generic engine (hasher.ts) drives it. Pointers are arena byte offsets. */
export interface HashAlgorithm {
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
export const SHA256: HashAlgorithm = {
  name: 'SHA-256',
  stateByteLen: 32,
  blockByteLen: 64,
  digestByteLen: SHA256_DIGEST_BYTES,
  init: (x, s) => x.sha256_init(s),
  blocks: (x, s, d, n) => x.sha256_blocks(s, d, n),
  final: (x, s, t, tl, lo, hi, o) => x.sha256_final(s, t, tl, lo, hi, o),
  digest: (x, d, n, o) => x.sha256_digest(d, n, o),
};

/** FIPS 180-4 §6.5: SHA-512 with its own H(0), truncated to 384 bits. */
export const SHA384: HashAlgorithm = {
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
export const SHA512: HashAlgorithm = {
  name: 'SHA-512',
  stateByteLen: 64,
  blockByteLen: 128,
  digestByteLen: 64,
  init: (x, s) => x.sha512_init(s, 64),
  blocks: (x, s, d, n) => x.sha512_blocks(s, d, n),
  final: (x, s, t, tl, lo, hi, o) => x.sha512_final(s, t, tl, lo, hi, o, 64),
  digest: (x, d, n, o) => x.sha512_digest(d, n, o, 64),
};
