// SPDX-License-Identifier: Apache-2.0
// The ECDSA ABI of wasm-core: the curve registry (P-256 and P-384, descriptors built on first use) and
// the exported entry points over weierstrass.ts. Hashing happens before these calls (the loader hashes
// the message with the sha exports and passes the digest).
//
// ABI (integers only; every pointer is a byte offset the loader has bounds-checked in the arena):
//   ecdsa_verify(curve, keyPtr, keyByteLen, digestPtr, digestByteLen, sigPtr) → 1 valid, 0 not
//       key: SEC 1 point (04‖X‖Y or 02/03‖X); sig: r‖s, 2 × coordinate bytes, big-endian
//   ecdsa_key_table(curve, keyPtr, keyByteLen) → 1, or 0 for an invalid key: makes the key the curve's
//       cached key with its comb table built (kept in static memory, reused while the key stays cached)
//   ecdsa_verify_batch(curve, itemsPtr, count, outPtr, scratchPtr): signatures under the cached key
//       items: count × (digestPtr u32, digestByteLen u32, sigPtr u32); out: count bytes, 1 = valid;
//       scratch: count × ecdsa_batch_scratch_bytes()
// curve: 1 = P-256, 2 = P-384; any other value verifies nothing (0).
import { FIELD_SLOT_BYTES, KERNEL_P256N, KERNEL_P256P, KERNEL_P384N, KERNEL_P384P } from './field';
import { P256_B, P256_GX, P256_GY, P256_LIMBS, P256_N, P256_P } from './p256';
import { P384_B, P384_GX, P384_GY, P384_LIMBS, P384_N, P384_P } from './p384';
import {
  CURVE_DESC_BYTES,
  curveField,
  curveInit,
  ecdsaKeyTable,
  ecdsaVerify,
  ecdsaVerifyBatch,
  G_WNAF_W,
} from './weierstrass';

/**
 * Window width of G's static comb table (for the cached key's path; a new key uses G's odd multiples
 * below): 37 windows × 64 points for P-256 (151,552 bytes), 55 × 64 for P-384 (337,920 bytes); one
 * mixed addition per window in u1·G. w = 8 would save 4 additions on P-256 (about 2 µs of ~150) for a
 * table twice the size; the tables live in static memory, below the arena.
 */
// @ts-ignore: decorator
@inline const G_COMB_W: u32 = 7;
// @ts-ignore: decorator
@inline const P256_GTABLE_BYTES: i32 = ((256 + 7) / 7) * 64 * 64;
// @ts-ignore: decorator
@inline const P384_GTABLE_BYTES: i32 = ((384 + 7) / 7) * 64 * 96;

const P256_CURVE: usize = memory.data(<i32>CURVE_DESC_BYTES, 16);
const P384_CURVE: usize = memory.data(<i32>CURVE_DESC_BYTES, 16);
const P256_GTABLE: usize = memory.data(P256_GTABLE_BYTES, 16);
const P384_GTABLE: usize = memory.data(P384_GTABLE_BYTES, 16);
/**
 * The key cache's tables (weierstrass.ts KEY_COMB_W = 6): 43 windows × 32 points for P-256 (88,064
 * bytes), 65 × 32 for P-384 (199,680 bytes).
 */
// @ts-ignore: decorator
@inline const P256_KTABLE_BYTES: i32 = ((256 + 6) / 6) * 32 * 64;
// @ts-ignore: decorator
@inline const P384_KTABLE_BYTES: i32 = ((384 + 6) / 6) * 32 * 96;
const P256_KTABLE: usize = memory.data(P256_KTABLE_BYTES, 16);
const P384_KTABLE: usize = memory.data(P384_KTABLE_BYTES, 16);
/** G's odd multiples for the single-signature path (weierstrass.ts G_WNAF_W): 2^(w−2) affine points. */
// @ts-ignore: decorator
@inline const GODD_POINTS: i32 = 1 << (G_WNAF_W - 2);
const P256_GODD: usize = memory.data(GODD_POINTS * 64, 16);
const P384_GODD: usize = memory.data(GODD_POINTS * 96, 16);
let p256Ready = false;
let p384Ready = false;

/** The descriptor of curve id (1 = P-256, 2 = P-384), initialised on first use; 0 for other ids. */
export function curveById(curve: u32): usize {
  if (curve == 1) {
    if (!p256Ready) {
      curveInit(P256_CURVE, P256_P, P256_N, P256_B, P256_GX, P256_GY, P256_LIMBS, KERNEL_P256P, KERNEL_P256N, P256_GTABLE, G_COMB_W, P256_KTABLE, P256_GODD);
      p256Ready = true;
    }
    return P256_CURVE;
  }
  if (curve == 2) {
    if (!p384Ready) {
      curveInit(P384_CURVE, P384_P, P384_N, P384_B, P384_GX, P384_GY, P384_LIMBS, KERNEL_P384P, KERNEL_P384N, P384_GTABLE, G_COMB_W, P384_KTABLE, P384_GODD);
      p384Ready = true;
    }
    return P384_CURVE;
  }
  return 0;
}

/** The descriptor of curve's base field (which = 0) or scalar field (which = 1), for the field tests. */
export function ecdsa_field(curve: u32, which: u32): usize {
  const c = curveById(curve);
  if (c == 0) return 0;
  return curveField(c, which);
}

export function ecdsa_verify(
  curve: u32,
  keyPtr: usize,
  keyByteLen: usize,
  digestPtr: usize,
  digestByteLen: usize,
  sigPtr: usize,
): u32 {
  const c = curveById(curve);
  if (c == 0) return 0;
  return ecdsaVerify(c, keyPtr, keyByteLen, digestPtr, digestByteLen, sigPtr);
}

export function ecdsa_key_table(curve: u32, keyPtr: usize, keyByteLen: usize): u32 {
  const c = curveById(curve);
  if (c == 0) return 0;
  return ecdsaKeyTable(c, keyPtr, keyByteLen);
}

/** Scratch bytes per item of ecdsa_verify_batch (one field element). */
export function ecdsa_batch_scratch_bytes(): usize {
  return FIELD_SLOT_BYTES;
}

export function ecdsa_verify_batch(
  curve: u32,
  itemsPtr: usize,
  count: usize,
  outPtr: usize,
  scratchPtr: usize,
): void {
  const c = curveById(curve);
  if (c == 0) {
    memory.fill(outPtr, 0, count);
    return;
  }
  ecdsaVerifyBatch(c, itemsPtr, count, outPtr, scratchPtr);
}
