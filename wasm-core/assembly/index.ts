// SPDX-License-Identifier: Apache-2.0
// wasm-core entry point: the complete export list of the production module (its ABI), exactly what the
// loader requires (wasm-core/boundary.ts, wasm-core/verify/index.ts). Built by scripts/build-wasm.mjs
// with and without SIMD; both builds export the same names. The knobs and probes that tests and
// benchmarks drive are exported only by testing.ts, the entry of the testing builds.

export { abi_version, arena_ptr, arena_byte_len } from './layout';
export { sha256_init, sha256_blocks, sha256_final, sha256_digest } from './sha256';
export { sha512_init, sha512_blocks, sha512_final, sha512_digest } from './sha512';
export { sha1_init, sha1_blocks, sha1_final, sha1_digest } from './legacy-sha1';
export { sha256_batch, sha256_batch_fixed, simd_lanes } from './batch';
export { merkle_level, merkle_reduce } from './merkle';
export {
  ed25519_verify,
  ed25519_verify_digest,
  ed25519_batch_scratch_byte_len,
  ed25519_verify_batch,
} from './ed25519';
export { ecdsa_verify, ecdsa_key_table, ecdsa_batch_scratch_bytes, ecdsa_verify_batch } from './ecdsa';
export { rsa_key_byte_len, rsa_key_init, rsa_verify_pkcs1, rsa_verify_pss } from './rsa';
