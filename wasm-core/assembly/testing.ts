// SPDX-License-Identifier: Apache-2.0
// wasm-core testing entry point: the production ABI of index.ts plus the knobs and probes that the tests
// and benchmarks drive. Built by scripts/build-wasm.mjs as testing-simd and testing-scalar (release
// optimisation) into wasm-core/generated/wasm-testing.ts; no production loader instantiates it. The
// functions stay in the modules that implement them: the release build, whose entry does not export
// them, drops the unused ones.

export * from './index';
// Arithmetic probes for the property tests against BigInt.
export { bn_mont_mul, bn_mont_sqr, bn_mont_r2, bn_mod_inverse } from './bignum';
export {
  field_desc_byte_len,
  field_init,
  field_mul,
  field_sqr,
  field_add,
  field_sub,
  field_half,
  field_triple,
  field_sub_double,
  field_sub_half,
  field_neg,
  field_inv,
  field_to_mont,
  field_from_mont,
  field_sqrt,
} from './field';
export { ecdsa_field } from './ecdsa';
export { ed25519_field_op, ed25519_scalar_op } from './ed25519';
// The batch verifier's multi-scalar multiplication switch (a global mode) and its last-combination probe.
export { ed25519_batch_set_msm, ed25519_batch_combined } from './ed25519';
