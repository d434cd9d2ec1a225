// SPDX-License-Identifier: Apache-2.0
/**
 * @module wasm-core/legacy-sha1
 *
 * LEGACY: SHA-1's facts for the generic engine (hasher.ts), kept apart from SHA-2 (STYLE principle 6).
 * SHA-1 is broken for collisions; it is here only to replay the SHA-1 PCR bank of TPM event logs.
 */
import type { HashAlgorithm } from './sha.js';

/** LEGACY: FIPS 180-4 §6.1, for the SHA-1 PCR bank only. */
export const SHA1: HashAlgorithm = {
  name: 'SHA-1',
  stateByteLen: 20,
  blockByteLen: 64,
  digestByteLen: 20,
  init: (x, s) => x.sha1_init(s),
  blocks: (x, s, d, n) => x.sha1_blocks(s, d, n),
  final: (x, s, t, tl, lo, hi, o) => x.sha1_final(s, t, tl, lo, hi, o),
  digest: (x, d, n, o) => x.sha1_digest(d, n, o),
};
