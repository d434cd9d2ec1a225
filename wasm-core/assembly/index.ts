// SPDX-License-Identifier: Apache-2.0
// wasm-core entry point: the complete export list of the module (its ABI). Built twice by
// scripts/build-wasm.mjs, with and without SIMD; both builds export the same names.

export { abi_version, arena_ptr, arena_byte_len } from './layout';
export { sha256_init, sha256_blocks, sha256_final, sha256_digest } from './sha256';
export { sha512_init, sha512_blocks, sha512_final, sha512_digest } from './sha512';
export { sha1_init, sha1_blocks, sha1_final, sha1_digest } from './legacy-sha1';
export { sha256_batch, sha256_batch_fixed, simd_lanes } from './batch';
export { merkle_level, merkle_reduce } from './merkle';
