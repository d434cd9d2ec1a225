// SPDX-License-Identifier: Apache-2.0
// Prime fields GF(m), generic over the modulus: a field is a descriptor in memory (its modulus and the
// Montgomery constants derived from it), and every operation takes the descriptor. Elements are
// little-endian u32 limb arrays in Montgomery form (x·R mod m, R = 2^(32·limbs)), always fully reduced,
// so equality and zero tests compare limbs.
//
// Multiplication, squaring, addition and subtraction dispatch on the descriptor's kernel id: the moduli
// listed in wasm-core/codegen/field-kernels.mjs have straight-line kernels (generated/field-kernels.ts);
// any other odd modulus uses bignum.ts's Montgomery loop. The kernel only changes speed, never results; the field
// tests run every operation through both paths against BigInt.
//
// Not covered: secrets (variable-time throughout; DESIGN §2), and non-prime moduli for `sqrt`,
// which needs m ≡ 3 (mod 4).
import {
  bnAdd,
  bnBit,
  bnBitLength,
  bnCmp,
  bnCopy,
  bnEq,
  bnFromBytesBE,
  bnIsZero,
  bnModInverse,
  bnSub,
  bnToBytesBE,
  bnZero,
  montInv32,
  montMul,
  montR2,
} from './bignum';
import {
  add_p256n,
  add_p256p,
  add_p384n,
  add_p384p,
  half_p256n,
  half_p256p,
  half_p384n,
  half_p384p,
  mul_p256n,
  mul_p256p,
  mul_p384n,
  mul_p384p,
  sqr_p256n,
  sqr_p256p,
  sqr_p384n,
  sqr_p384p,
  sub_p256n,
  sub_p256p,
  sub_p384n,
  sub_p384p,
  subdbl_p256n,
  subdbl_p256p,
  subdbl_p384n,
  subdbl_p384p,
  subhalf_p256n,
  subhalf_p256p,
  subhalf_p384n,
  subhalf_p384p,
  tri_p256n,
  tri_p256p,
  tri_p384n,
  tri_p384p,
} from './generated/field-kernels';

/** Limbs of the largest field element (P-384). */
// @ts-ignore: decorator
@inline export const FIELD_MAX_LIMBS: usize = 12;
/** Bytes of one field element slot (FIELD_MAX_LIMBS limbs), for callers laying out scratch areas. */
// @ts-ignore: decorator
@inline export const FIELD_SLOT_BYTES: usize = FIELD_MAX_LIMBS << 2;

/** Kernel ids: which straight-line kernel serves a modulus (KERNEL_GENERIC: bignum.montMul). */
// @ts-ignore: decorator
@inline export const KERNEL_GENERIC: u32 = 0;
// @ts-ignore: decorator
@inline export const KERNEL_P256P: u32 = 1;
// @ts-ignore: decorator
@inline export const KERNEL_P256N: u32 = 2;
// @ts-ignore: decorator
@inline export const KERNEL_P384P: u32 = 3;
// @ts-ignore: decorator
@inline export const KERNEL_P384N: u32 = 4;

// Descriptor layout (byte offsets). Every constant is derived from the modulus by fieldInit.
// @ts-ignore: decorator
@inline const F_KERNEL: usize = 0;
// @ts-ignore: decorator
@inline const F_LIMBS: usize = 4;
// @ts-ignore: decorator
@inline const F_M0INV: usize = 8;
// @ts-ignore: decorator
@inline const F_MODULUS: usize = 16;
// @ts-ignore: decorator
@inline const F_ONE: usize = F_MODULUS + FIELD_SLOT_BYTES; // R mod m: 1 in Montgomery form
// @ts-ignore: decorator
@inline const F_R2: usize = F_ONE + FIELD_SLOT_BYTES; // R^2 mod m
// @ts-ignore: decorator
@inline const F_R3: usize = F_R2 + FIELD_SLOT_BYTES; // R^3 mod m (inversion leaves Montgomery form)
// @ts-ignore: decorator
@inline const F_SQRT_EXP: usize = F_R3 + FIELD_SLOT_BYTES; // (m + 1) / 4
/** Bytes of a field descriptor. */
// @ts-ignore: decorator
@inline export const FIELD_DESC_BYTES: usize = F_SQRT_EXP + FIELD_SLOT_BYTES;

// Scratch for exponentiation: a^1, a^3, …, a^15 (window 4) and the running value.
const POW_TABLE: usize = memory.data(<i32>(FIELD_SLOT_BYTES * 8), 16);
const POW_ACC: usize = memory.data(<i32>FIELD_SLOT_BYTES, 16);
const PLAIN_ONE: usize = memory.data(<i32>FIELD_SLOT_BYTES, 16);
const TMP_A: usize = memory.data(<i32>FIELD_SLOT_BYTES, 16);
/** The element 0 (never written). */
const ZERO: usize = memory.data(<i32>FIELD_SLOT_BYTES, 16);

/**
 * Fill the descriptor at f for the odd modulus given as limbs limbs at modulus (limbs ≤ 12, top limb
 * non-zero), served by kernel (KERNEL_GENERIC always works; a specific id must match the modulus).
 */
export function fieldInit(f: usize, modulus: usize, limbs: usize, kernel: u32): void {
  memory.fill(f, 0, FIELD_DESC_BYTES);
  store<u32>(f + F_KERNEL, kernel);
  store<u32>(f + F_LIMBS, <u32>limbs);
  const m0inv = montInv32(load<u32>(modulus));
  store<u32>(f + F_M0INV, m0inv);
  bnCopy(f + F_MODULUS, modulus, limbs);
  montR2(f + F_R2, f + F_MODULUS, m0inv, limbs);
  // R mod m = montMul(R^2, 1).
  bnZero(PLAIN_ONE, limbs);
  store<u32>(PLAIN_ONE, 1);
  montMul(f + F_ONE, f + F_R2, PLAIN_ONE, f + F_MODULUS, m0inv, limbs);
  // R^3 = montMul(R^2, R^2); (m + 1)/4, meaningful only when m ≡ 3 mod 4.
  montMul(f + F_R3, f + F_R2, f + F_R2, f + F_MODULUS, m0inv, limbs);
  bnZero(TMP_A, limbs);
  store<u32>(TMP_A, 1);
  const carry = bnAdd(f + F_SQRT_EXP, f + F_MODULUS, TMP_A, limbs);
  shiftRight2(f + F_SQRT_EXP, limbs, carry);
}

function shiftRight2(x: usize, limbs: usize, topCarry: u32): void {
  for (let i: usize = 0; i < limbs; i++) {
    const o = i << 2;
    const next = i + 1 < limbs ? load<u32>(x + o + 4) : topCarry;
    store<u32>(x + o, (load<u32>(x + o) >>> 2) | (next << 30));
  }
}

/** Number of limbs of an element of f. */
// @ts-ignore: decorator
@inline export function fieldLimbs(f: usize): usize {
  return <usize>load<u32>(f + F_LIMBS);
}

/** Pointer to the modulus (plain integer, fieldLimbs(f) limbs). */
// @ts-ignore: decorator
@inline export function fieldModulus(f: usize): usize {
  return f + F_MODULUS;
}

/** Pointer to 1 in Montgomery form. */
// @ts-ignore: decorator
@inline export function fieldOne(f: usize): usize {
  return f + F_ONE;
}

/**
 * r = a·b. Inlined at each call site, so that a product costs one call (the kernel's) instead of two:
 * measured P-256 verification with a new key 124.0 → 121.5 µs (fieldSqr likewise).
 */
// @ts-ignore: decorator
@inline export function fieldMul(f: usize, r: usize, a: usize, b: usize): void {
  switch (load<u32>(f + F_KERNEL)) {
    case KERNEL_P256P:
      mul_p256p(r, a, b);
      return;
    case KERNEL_P384P:
      mul_p384p(r, a, b);
      return;
    case KERNEL_P256N:
      mul_p256n(r, a, b);
      return;
    case KERNEL_P384N:
      mul_p384n(r, a, b);
      return;
    default:
      montMul(r, a, b, f + F_MODULUS, load<u32>(f + F_M0INV), fieldLimbs(f));
  }
}

/** r = a². */
// @ts-ignore: decorator
@inline export function fieldSqr(f: usize, r: usize, a: usize): void {
  switch (load<u32>(f + F_KERNEL)) {
    case KERNEL_P256P:
      sqr_p256p(r, a);
      return;
    case KERNEL_P384P:
      sqr_p384p(r, a);
      return;
    case KERNEL_P256N:
      sqr_p256n(r, a);
      return;
    case KERNEL_P384N:
      sqr_p384n(r, a);
      return;
    default:
      montMul(r, a, a, f + F_MODULUS, load<u32>(f + F_M0INV), fieldLimbs(f));
  }
}

/** r = a + b. */
export function fieldAdd(f: usize, r: usize, a: usize, b: usize): void {
  switch (load<u32>(f + F_KERNEL)) {
    case KERNEL_P256P:
      add_p256p(r, a, b);
      return;
    case KERNEL_P384P:
      add_p384p(r, a, b);
      return;
    case KERNEL_P256N:
      add_p256n(r, a, b);
      return;
    case KERNEL_P384N:
      add_p384n(r, a, b);
      return;
    default: {
      const limbs = fieldLimbs(f);
      const m = f + F_MODULUS;
      const carry = bnAdd(r, a, b, limbs);
      if (carry != 0 || bnCmp(r, m, limbs) >= 0) bnSub(r, r, m, limbs);
    }
  }
}

/** r = a − b. */
export function fieldSub(f: usize, r: usize, a: usize, b: usize): void {
  switch (load<u32>(f + F_KERNEL)) {
    case KERNEL_P256P:
      sub_p256p(r, a, b);
      return;
    case KERNEL_P384P:
      sub_p384p(r, a, b);
      return;
    case KERNEL_P256N:
      sub_p256n(r, a, b);
      return;
    case KERNEL_P384N:
      sub_p384n(r, a, b);
      return;
    default: {
      const limbs = fieldLimbs(f);
      if (bnSub(r, a, b, limbs) != 0) bnAdd(r, r, f + F_MODULUS, limbs);
    }
  }
}

/** r = a/2 (a·2^−1 mod m). */
export function fieldHalf(f: usize, r: usize, a: usize): void {
  switch (load<u32>(f + F_KERNEL)) {
    case KERNEL_P256P:
      half_p256p(r, a);
      return;
    case KERNEL_P384P:
      half_p384p(r, a);
      return;
    case KERNEL_P256N:
      half_p256n(r, a);
      return;
    case KERNEL_P384N:
      half_p384n(r, a);
      return;
    default: {
      const limbs = fieldLimbs(f);
      let top: u32 = 0;
      if ((load<u32>(a) & 1) != 0) top = bnAdd(r, a, f + F_MODULUS, limbs);
      else bnCopy(r, a, limbs);
      for (let i: usize = 0; i < limbs; i++) {
        const o = i << 2;
        const next = i + 1 < limbs ? load<u32>(r + o + 4) : top;
        store<u32>(r + o, (load<u32>(r + o) >>> 1) | (next << 31));
      }
    }
  }
}

/** r = 3a. */
export function fieldTriple(f: usize, r: usize, a: usize): void {
  switch (load<u32>(f + F_KERNEL)) {
    case KERNEL_P256P:
      tri_p256p(r, a);
      return;
    case KERNEL_P384P:
      tri_p384p(r, a);
      return;
    case KERNEL_P256N:
      tri_p256n(r, a);
      return;
    case KERNEL_P384N:
      tri_p384n(r, a);
      return;
    default:
      fieldAdd(f, TMP_A, a, a);
      fieldAdd(f, r, TMP_A, a);
  }
}

/** r = a − 2b. */
export function fieldSubDouble(f: usize, r: usize, a: usize, b: usize): void {
  switch (load<u32>(f + F_KERNEL)) {
    case KERNEL_P256P:
      subdbl_p256p(r, a, b);
      return;
    case KERNEL_P384P:
      subdbl_p384p(r, a, b);
      return;
    case KERNEL_P256N:
      subdbl_p256n(r, a, b);
      return;
    case KERNEL_P384N:
      subdbl_p384n(r, a, b);
      return;
    default:
      fieldSub(f, TMP_A, a, b);
      fieldSub(f, r, TMP_A, b);
  }
}

/** r = a − b/2. */
export function fieldSubHalf(f: usize, r: usize, a: usize, b: usize): void {
  switch (load<u32>(f + F_KERNEL)) {
    case KERNEL_P256P:
      subhalf_p256p(r, a, b);
      return;
    case KERNEL_P384P:
      subhalf_p384p(r, a, b);
      return;
    case KERNEL_P256N:
      subhalf_p256n(r, a, b);
      return;
    case KERNEL_P384N:
      subhalf_p384n(r, a, b);
      return;
    default:
      fieldHalf(f, TMP_A, b);
      fieldSub(f, r, a, TMP_A);
  }
}

/**
 * r = −a. The generated fields use their subtraction kernel (0 − a: branch-free and without bignum's limb
 * loop; the wNAF and comb loops negate a table entry for every negative digit).
 */
export function fieldNeg(f: usize, r: usize, a: usize): void {
  if (load<u32>(f + F_KERNEL) != KERNEL_GENERIC) {
    fieldSub(f, r, ZERO, a);
    return;
  }
  const limbs = fieldLimbs(f);
  if (bnIsZero(a, limbs)) bnZero(r, limbs);
  else bnSub(r, f + F_MODULUS, a, limbs);
}

/** r = a. */
// @ts-ignore: decorator
@inline export function fieldCopy(f: usize, r: usize, a: usize): void {
  memory.copy(r, a, fieldLimbs(f) << 2);
}

/** a == 0. */
// @ts-ignore: decorator
@inline export function fieldIsZero(f: usize, a: usize): bool {
  return bnIsZero(a, fieldLimbs(f));
}

/** a == b. */
// @ts-ignore: decorator
@inline export function fieldEq(f: usize, a: usize, b: usize): bool {
  return bnEq(a, b, fieldLimbs(f));
}

/** r = a·R mod m: a plain integer < m into Montgomery form. */
export function fieldToMont(f: usize, r: usize, a: usize): void {
  fieldMul(f, r, a, f + F_R2);
}

/** r = a·R^−1 mod m: out of Montgomery form. */
export function fieldFromMont(f: usize, r: usize, a: usize): void {
  const limbs = fieldLimbs(f);
  bnZero(PLAIN_ONE, limbs);
  store<u32>(PLAIN_ONE, 1);
  fieldMul(f, r, a, PLAIN_ONE);
}

/**
 * Read byteLen big-endian bytes as a plain integer into r (fieldLimbs(f) limbs) and check it is below
 * the modulus; false when it is not (or does not fit).
 */
export function fieldFromBytes(f: usize, r: usize, src: usize, byteLen: usize): bool {
  const limbs = fieldLimbs(f);
  if (!bnFromBytesBE(r, limbs, src, byteLen)) return false;
  return bnCmp(r, f + F_MODULUS, limbs) < 0;
}

/** Write the plain integer a (fieldLimbs(f) limbs) as byteLen big-endian bytes. */
export function fieldToBytes(f: usize, dst: usize, byteLen: usize, a: usize): void {
  bnToBytesBE(dst, byteLen, a, fieldLimbs(f));
}

/**
 * r = a^e for a plain exponent e (fieldLimbs(f) limbs), left to right with a window of 4 bits over the
 * odd powers a, a^3, …, a^15 (about bits squarings and bits/5 multiplications). r must not alias a.
 */
export function fieldPow(f: usize, r: usize, a: usize, e: usize): void {
  const limbs = fieldLimbs(f);
  const slot = FIELD_SLOT_BYTES;
  // POW_TABLE[i] = a^(2i+1); POW_ACC = a^2 while building it.
  fieldCopy(f, POW_TABLE, a);
  fieldSqr(f, POW_ACC, a);
  for (let i: usize = 1; i < 8; i++) fieldMul(f, POW_TABLE + i * slot, POW_TABLE + (i - 1) * slot, POW_ACC);
  let bit = <i32>bnBitLength(e, limbs) - 1;
  bnCopy(r, f + F_ONE, limbs);
  while (bit >= 0) {
    if (bnBit(e, <u32>bit) == 0) {
      fieldSqr(f, r, r);
      bit--;
      continue;
    }
    // The longest window e[bit .. low] of at most 4 bits that ends in a 1.
    let low = bit - 3;
    if (low < 0) low = 0;
    while (bnBit(e, <u32>low) == 0) low++;
    let value: u32 = 0;
    for (let j = bit; j >= low; j--) {
      fieldSqr(f, r, r);
      value = (value << 1) | bnBit(e, <u32>j);
    }
    fieldMul(f, r, r, POW_TABLE + (<usize>(value >>> 1)) * slot);
    bit = low - 1;
  }
}

/**
 * r = a^−1, or 0 when a has no inverse (a = 0). With a = x·R in Montgomery form, bignum's binary GCD
 * gives (x·R)^−1, and one Montgomery multiplication by R^3 turns it into x^−1·R (measured 13× faster than
 * Fermat's a^(m−2) on P-256's n). r may alias a.
 */
export function fieldInv(f: usize, r: usize, a: usize): void {
  const limbs = fieldLimbs(f);
  if (!bnModInverse(TMP_A, a, f + F_MODULUS, limbs)) {
    bnZero(r, limbs);
    return;
  }
  fieldMul(f, r, TMP_A, f + F_R3);
}

/**
 * r = a square root of a when one exists (m prime, m ≡ 3 mod 4: r = a^((m+1)/4)); returns whether r² = a.
 * r may alias a.
 */
export function fieldSqrt(f: usize, r: usize, a: usize): bool {
  fieldCopy(f, TMP_A, a);
  fieldPow(f, r, TMP_A, f + F_SQRT_EXP);
  fieldSqr(f, POW_ACC, r);
  return fieldEq(f, POW_ACC, TMP_A);
}

// ---------------------------------------------------------------------------------------------------
// ABI: field operations on a descriptor, so that the tests can check both the generated kernels and the
// generic path against BigInt. Elements are fieldLimbs(f) limbs at the given pointers.

/** Bytes of a field descriptor (for field_init's f). */
export function field_desc_byte_len(): usize {
  return FIELD_DESC_BYTES;
}

/** Descriptor at f for the odd modulus at m (limbs ≤ 12, top limb non-zero), on the generic kernel. */
export function field_init(f: usize, m: usize, limbs: usize): void {
  fieldInit(f, m, limbs, KERNEL_GENERIC);
}

export function field_mul(f: usize, r: usize, a: usize, b: usize): void {
  fieldMul(f, r, a, b);
}
export function field_sqr(f: usize, r: usize, a: usize): void {
  fieldSqr(f, r, a);
}
export function field_add(f: usize, r: usize, a: usize, b: usize): void {
  fieldAdd(f, r, a, b);
}
export function field_sub(f: usize, r: usize, a: usize, b: usize): void {
  fieldSub(f, r, a, b);
}
export function field_half(f: usize, r: usize, a: usize): void {
  fieldHalf(f, r, a);
}
export function field_triple(f: usize, r: usize, a: usize): void {
  fieldTriple(f, r, a);
}
export function field_sub_double(f: usize, r: usize, a: usize, b: usize): void {
  fieldSubDouble(f, r, a, b);
}
export function field_sub_half(f: usize, r: usize, a: usize, b: usize): void {
  fieldSubHalf(f, r, a, b);
}
export function field_neg(f: usize, r: usize, a: usize): void {
  fieldNeg(f, r, a);
}
export function field_inv(f: usize, r: usize, a: usize): void {
  fieldInv(f, r, a);
}
export function field_to_mont(f: usize, r: usize, a: usize): void {
  fieldToMont(f, r, a);
}
export function field_from_mont(f: usize, r: usize, a: usize): void {
  fieldFromMont(f, r, a);
}
/** 1 and r = √a when a is a square (m ≡ 3 mod 4), else 0. */
export function field_sqrt(f: usize, r: usize, a: usize): u32 {
  return fieldSqrt(f, r, a) ? 1 : 0;
}
