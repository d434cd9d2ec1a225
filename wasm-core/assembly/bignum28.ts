// SPDX-License-Identifier: Apache-2.0
// Radix 2^28 Montgomery arithmetic for RSA. Limb i weighs 2^(28·i) and holds a value < 2^28, R =
// 2^(28·limbs). A product is below 2^56, so 255 of them add up in a u64 without a carry: the kernels scan
// the operands by rows, two rows at a time (a_i·b + q_i·m and a_(i+1)·b + q_(i+1)·m, the second shifted
// by one limb), into T28, one u64 column sum per weight 2^(28·p), and carry only at the end. Every row pair
// runs the same loop over the whole of b and m, so the branches are predictable, unlike the column
// loops of the 32-bit kernels in bignum.ts, whose lengths change with every column (RSA-2048 verification:
// 48 µs with those, about 41 µs with these). q_i and q_(i+1) come first from a scalar look at positions
// i and i + 1. A position takes at most 2·limbs products; for limbs > 120 the sums are carried once half
// way, so that none passes 2^64.

import { bnCmp, bnCopy, bnZero, montInv32 } from './bignum';

/** Limbs of a 4096-bit number in radix 2^28: ⌈4096/28⌉. */
// @ts-ignore: decorator
@inline export const BN28_MAX_LIMBS: usize = 147;
// @ts-ignore: decorator
@inline export const LIMB28_MASK: u32 = 0x0fffffff;
// @ts-ignore: decorator
@inline const CARRY_HALF_WAY_LIMBS: usize = 120;

// b (or 2a when squaring) and m, each with one zero limb below index 0 (for the shifted row) and four
// above (the last group of four); T28's column sums; TMP28, the carried result before the final
// subtraction, so that r may alias a or b.
const BPAD28: usize = memory.data(<i32>((BN28_MAX_LIMBS + 8) << 2), 16);
const MPAD28: usize = memory.data(<i32>((BN28_MAX_LIMBS + 8) << 2), 16);
const T28: usize = memory.data(<i32>(((BN28_MAX_LIMBS << 1) + 8) << 3), 16);
const TMP28: usize = memory.data(<i32>(BN28_MAX_LIMBS << 2), 16);
/** Where b and m start inside BPAD28 and MPAD28: 16 bytes in, so that index −1 is a zero limb. */
// @ts-ignore: decorator
@inline const PAD28: usize = 16;
/** i32x4 lane numbers 0, 1, 2, 3. */
const LANE_INDEX: usize = memory.data<u32>([0, 1, 2, 3], 16);

/**
 * Read byteLen big-endian bytes at src into r (limbs limbs of 28 bits), zero-extended. Returns false,
 * leaving r unspecified, when the value needs more than limbs limbs.
 */
export function bn28FromBytesBE(r: usize, limbs: usize, src: usize, byteLen: usize): bool {
  bnZero(r, limbs);
  let limb: usize = 0;
  let bit: u32 = 0; // position of the next byte inside limb
  for (let i: usize = 0; i < byteLen; i++) {
    const b = <u32>load<u8>(src + byteLen - 1 - i);
    if (limb >= limbs) {
      if (b != 0) return false;
      continue;
    }
    const p = r + (limb << 2);
    store<u32>(p, load<u32>(p) | ((b << bit) & LIMB28_MASK));
    bit += 8;
    if (bit >= 28) {
      bit -= 28;
      limb++;
      // The byte's bits above the limb start the next one.
      if (bit != 0) {
        if (limb >= limbs) {
          if (b >>> (8 - bit) != 0) return false;
        } else {
          store<u32>(p + 4, b >>> (8 - bit));
        }
      }
    }
  }
  return true;
}

/** Write a (limbs limbs of 28 bits) as byteLen big-endian bytes at dst; bits beyond byteLen are dropped. */
export function bn28ToBytesBE(dst: usize, byteLen: usize, a: usize, limbs: usize): void {
  let acc: u64 = 0;
  let bits: u32 = 0;
  let limb: usize = 0;
  for (let i: usize = 0; i < byteLen; i++) {
    if (bits < 8 && limb < limbs) {
      acc |= <u64>load<u32>(a + (limb << 2)) << bits;
      bits += 28;
      limb++;
    }
    store<u8>(dst + byteLen - 1 - i, <u8>acc);
    acc >>>= 8;
    bits = bits < 8 ? 0 : bits - 8;
  }
}

/** r = a − b mod 2^(28·limbs); returns the borrow out (0 or 1). */
function bn28Sub(r: usize, a: usize, b: usize, limbs: usize): u32 {
  let d: i64 = 0;
  for (let i: usize = 0; i < limbs; i++) {
    const o = i << 2;
    d = <i64>load<u32>(a + o) - <i64>load<u32>(b + o) + (d >> 28);
    store<u32>(r + o, <u32>d & LIMB28_MASK);
  }
  return <u32>(d >>> 63);
}

/**
 * r = a·b·R^−1 mod m with R = 2^(28·limbs), for a, b < m (28-bit limbs), m odd, 2 ≤ limbs ≤
 * BN28_MAX_LIMBS; r < m. m0inv = −m^−1 mod 2^28 (montInv32(m[0]) & LIMB28_MASK).
 */
export function mont28Mul(r: usize, a: usize, b: usize, m: usize, m0inv: u32, limbs: usize): void {
  memory.copy(BPAD28 + PAD28, b, limbs << 2);
  rowsSetUp(m, limbs);
  if (ASC_FEATURE_SIMD) mont28MulRowsSimd(a, m0inv, limbs);
  else mont28MulRowsScalar(a, m0inv, limbs);
  rowsFinish(r, m, limbs);
}

/**
 * r = a²·R^−1 mod m, as mont28Mul(r, a, a, …) with each cross product computed once: BPAD28 holds 2a,
 * T28 starts with the diagonal a_j² at position 2j, and row i adds a_i·2a_j for j > i only. Row i's
 * squaring products land at 2i and above, so they reach positions i and i + 1, which the scalar look
 * reads, only in the first pair (2a_0·a_1 at position 1).
 */
export function mont28Sqr(r: usize, a: usize, m: usize, m0inv: u32, limbs: usize): void {
  for (let j: usize = 0; j < limbs; j++) store<u32>(BPAD28 + PAD28 + (j << 2), load<u32>(a + (j << 2)) << 1);
  rowsSetUp(m, limbs);
  for (let j: usize = 0; j < limbs; j++) {
    const d = <u64>load<u32>(a + (j << 2));
    store<u64>(T28 + (j << 4), d * d);
  }
  if (ASC_FEATURE_SIMD) mont28SqrRowsSimd(a, m0inv, limbs);
  else mont28SqrRowsScalar(a, m0inv, limbs);
  rowsFinish(r, m, limbs);
}

/** Pad the operand already copied into BPAD28, copy m into MPAD28, and clear T28. */
function rowsSetUp(m: usize, limbs: usize): void {
  store<u32>(BPAD28 + PAD28 - 4, 0);
  store<u32>(MPAD28 + PAD28 - 4, 0);
  memory.copy(MPAD28 + PAD28, m, limbs << 2);
  memory.fill(BPAD28 + PAD28 + (limbs << 2), 0, 16);
  memory.fill(MPAD28 + PAD28 + (limbs << 2), 0, 16);
  memory.fill(T28, 0, ((limbs << 1) + 8) << 3);
}

/** Carry the sums t[0 .. len) into 28-bit values (the value Σ t_p·2^(28·p) is unchanged). */
function carryLanes(t: usize, len: usize): void {
  let c: u64 = 0;
  for (let p: usize = 0; p < len; p++) {
    const v = load<u64>(t + (p << 3)) + c;
    store<u64>(t + (p << 3), v & LIMB28_MASK);
    c = v >>> 28;
  }
}

/**
 * The scalar look at positions i and i + 1 of a row pair (t = T28 + 8i): pos0 and pos1 are the pair's
 * own products there other than q·m (a_i·b_0, and a_i·b_1 + a_(i+1)·b_0, for a multiplication). Sets
 * ROW_Q0 and ROW_Q1 (0 past the last row) and returns the carry out of the finished positions.
 */
// @ts-ignore: decorator
@inline function rowPairQ(t: usize, carry: u64, pos0: u64, pos1: u64, m0inv: u32, last: bool): u64 {
  const m0 = <u64>load<u32>(MPAD28 + PAD28);
  let c0 = load<u64>(t) + carry + pos0;
  const q0 = <u64>((<u32>c0 * m0inv) & LIMB28_MASK);
  c0 += q0 * m0;
  ROW_Q0 = q0;
  if (last) {
    // limbs odd: the single last row; position i + 1 = limbs already belongs to the result.
    ROW_Q1 = 0;
    return c0 >>> 28;
  }
  let c1 = load<u64>(t + 8) + (c0 >>> 28) + q0 * <u64>load<u32>(MPAD28 + PAD28 + 4) + pos1;
  const q1 = <u64>((<u32>c1 * m0inv) & LIMB28_MASK);
  c1 += q1 * m0;
  ROW_Q1 = q1;
  return c1 >>> 28;
}
let ROW_Q0: u64 = 0;
let ROW_Q1: u64 = 0;

/** The rows of mont28Mul without SIMD (b in BPAD28); the carry out goes to ROWS_CARRY. */
function mont28MulRowsScalar(a: usize, m0inv: u32, limbs: usize): void {
  const bp = BPAD28 + PAD28;
  const mp = MPAD28 + PAD28;
  const b0 = <u64>load<u32>(bp);
  const b1 = <u64>load<u32>(bp + 4);
  const tLen: usize = (limbs << 1) + 8;
  const half: usize = (limbs >>> 2) << 1;
  let carry: u64 = 0;
  for (let i: usize = 0; i < limbs; i += 2) {
    const t = T28 + (i << 3);
    if (limbs > CARRY_HALF_WAY_LIMBS && i == half) carryLanes(t, tLen - i);
    const last = i + 1 == limbs;
    const a0 = <u64>load<u32>(a + (i << 2));
    const a1 = last ? 0 : <u64>load<u32>(a + (i << 2) + 4);
    carry = rowPairQ(t, carry, a0 * b0, a0 * b1 + a1 * b0, m0inv, last);
    const q0 = ROW_Q0;
    const q1 = ROW_Q1;
    // Positions i + j, j ≤ limbs: a_i·b_j + q_i·m_j + a_(i+1)·b_(j−1) + q_(i+1)·m_(j−1).
    let bPrev: u64 = 0;
    let mPrev: u64 = 0;
    let tp = t;
    for (let j: usize = 0; j <= limbs; j++) {
      const bj = <u64>load<u32>(bp + (j << 2));
      const mj = <u64>load<u32>(mp + (j << 2));
      store<u64>(tp, load<u64>(tp) + a0 * bj + q0 * mj + a1 * bPrev + q1 * mPrev);
      bPrev = bj;
      mPrev = mj;
      tp += 8;
    }
  }
  ROWS_CARRY = carry;
}
let ROWS_CARRY: u64 = 0;

/** The rows of mont28Sqr without SIMD (2a in BPAD28, the diagonal in T28). */
function mont28SqrRowsScalar(a: usize, m0inv: u32, limbs: usize): void {
  const dp = BPAD28 + PAD28;
  const mp = MPAD28 + PAD28;
  const tLen: usize = (limbs << 1) + 8;
  const half: usize = (limbs >>> 2) << 1;
  let carry: u64 = 0;
  for (let i: usize = 0; i < limbs; i += 2) {
    const t = T28 + (i << 3);
    if (limbs > CARRY_HALF_WAY_LIMBS && i == half) carryLanes(t, tLen - i);
    const last = i + 1 == limbs;
    const a0 = <u64>load<u32>(a + (i << 2));
    const a1 = last ? 0 : <u64>load<u32>(a + (i << 2) + 4);
    carry = rowPairQ(t, carry, 0, i == 0 ? a0 * (a1 << 1) : 0, m0inv, last);
    const q0 = ROW_Q0;
    const q1 = ROW_Q1;
    // j ≤ i: reduction products only; i < j ≤ i + 2: and row i's a_i·2a_j; above: and row i + 1's too.
    let j: usize = 0;
    for (; j <= i; j++) {
      const p = t + (j << 3);
      store<u64>(p, load<u64>(p) + q0 * <u64>load<u32>(mp + (j << 2)) + q1 * <u64>load<u32>(mp + (j << 2) - 4));
    }
    const j2 = i + 2 < limbs ? i + 2 : limbs;
    for (; j <= j2; j++) {
      const p = t + (j << 3);
      const o = j << 2;
      const qm = q0 * <u64>load<u32>(mp + o) + q1 * <u64>load<u32>(mp + o - 4);
      store<u64>(p, load<u64>(p) + qm + a0 * <u64>load<u32>(dp + o));
    }
    for (; j <= limbs; j++) {
      const p = t + (j << 3);
      const o = j << 2;
      store<u64>(
        p,
        load<u64>(p) +
          q0 * <u64>load<u32>(mp + o) +
          q1 * <u64>load<u32>(mp + o - 4) +
          a0 * <u64>load<u32>(dp + o) +
          a1 * <u64>load<u32>(dp + o - 4),
      );
    }
  }
  ROWS_CARRY = carry;
}

/**
 * The rows of mont28Mul with SIMD, four positions per group: two i64x2 column sums from eight
 * i64x2.extmul.
 */
function mont28MulRowsSimd(a: usize, m0inv: u32, limbs: usize): void {
  const bp = BPAD28 + PAD28;
  const mp = MPAD28 + PAD28;
  const b0 = <u64>load<u32>(bp);
  const b1 = <u64>load<u32>(bp + 4);
  const groups: usize = (limbs + 4) >>> 2; // positions i .. i + limbs
  const tLen: usize = (limbs << 1) + 8;
  const half: usize = (limbs >>> 2) << 1;
  let carry: u64 = 0;
  for (let i: usize = 0; i < limbs; i += 2) {
    const t = T28 + (i << 3);
    if (limbs > CARRY_HALF_WAY_LIMBS && i == half) carryLanes(t, tLen - i);
    const last = i + 1 == limbs;
    const a0 = <u64>load<u32>(a + (i << 2));
    const a1 = last ? 0 : <u64>load<u32>(a + (i << 2) + 4);
    carry = rowPairQ(t, carry, a0 * b0, a0 * b1 + a1 * b0, m0inv, last);
    const vq0 = i32x4.splat(<i32>ROW_Q0);
    const vq1 = i32x4.splat(<i32>ROW_Q1);
    const va0 = i32x4.splat(<i32>a0);
    const va1 = i32x4.splat(<i32>a1);
    for (let g: usize = 0; g < groups; g++) {
      const o = g << 4;
      const vb0 = v128.load(bp + o);
      const vb1 = v128.load(bp + o - 4);
      const vm0 = v128.load(mp + o);
      const vm1 = v128.load(mp + o - 4);
      const lo = i64x2.add(
        i64x2.add(i64x2.extmul_low_i32x4_u(va0, vb0), i64x2.extmul_low_i32x4_u(vq0, vm0)),
        i64x2.add(i64x2.extmul_low_i32x4_u(va1, vb1), i64x2.extmul_low_i32x4_u(vq1, vm1)),
      );
      const hi = i64x2.add(
        i64x2.add(i64x2.extmul_high_i32x4_u(va0, vb0), i64x2.extmul_high_i32x4_u(vq0, vm0)),
        i64x2.add(i64x2.extmul_high_i32x4_u(va1, vb1), i64x2.extmul_high_i32x4_u(vq1, vm1)),
      );
      const tp = t + (g << 5);
      v128.store(tp, i64x2.add(v128.load(tp), lo));
      v128.store(tp, i64x2.add(v128.load(tp, 16), hi), 16);
    }
  }
  ROWS_CARRY = carry;
}

/**
 * The rows of mont28Sqr with SIMD: groups below the one holding position 2i + 1 take only the reduction
 * products; in the others the lanes with j ≤ i (row i) or j − 1 ≤ i + 1 (row i + 1) are masked.
 */
function mont28SqrRowsSimd(a: usize, m0inv: u32, limbs: usize): void {
  const dp = BPAD28 + PAD28;
  const mp = MPAD28 + PAD28;
  const groups: usize = (limbs + 4) >>> 2;
  const tLen: usize = (limbs << 1) + 8;
  const half: usize = (limbs >>> 2) << 1;
  const lanes = v128.load(LANE_INDEX);
  let carry: u64 = 0;
  for (let i: usize = 0; i < limbs; i += 2) {
    const t = T28 + (i << 3);
    if (limbs > CARRY_HALF_WAY_LIMBS && i == half) carryLanes(t, tLen - i);
    const last = i + 1 == limbs;
    const a0 = <u64>load<u32>(a + (i << 2));
    const a1 = last ? 0 : <u64>load<u32>(a + (i << 2) + 4);
    carry = rowPairQ(t, carry, 0, i == 0 ? a0 * (a1 << 1) : 0, m0inv, last);
    const vq0 = i32x4.splat(<i32>ROW_Q0);
    const vq1 = i32x4.splat(<i32>ROW_Q1);
    const g0: usize = (i + 1) >>> 2;
    let g: usize = 0;
    for (; g < g0; g++) {
      const o = g << 4;
      const vm0 = v128.load(mp + o);
      const vm1 = v128.load(mp + o - 4);
      const tp = t + (g << 5);
      const lo = i64x2.add(i64x2.extmul_low_i32x4_u(vq0, vm0), i64x2.extmul_low_i32x4_u(vq1, vm1));
      const hi = i64x2.add(i64x2.extmul_high_i32x4_u(vq0, vm0), i64x2.extmul_high_i32x4_u(vq1, vm1));
      v128.store(tp, i64x2.add(v128.load(tp), lo));
      v128.store(tp, i64x2.add(v128.load(tp, 16), hi), 16);
    }
    const va0 = i32x4.splat(<i32>a0);
    const va1 = i32x4.splat(<i32>a1);
    const vi0 = i32x4.splat(<i32>i);
    const vi1 = i32x4.splat(<i32>(i + 2));
    for (; g < groups; g++) {
      const o = g << 4;
      const j = i32x4.add(i32x4.splat(<i32>(g << 2)), lanes);
      const vd0 = v128.and(v128.load(dp + o), i32x4.gt_s(j, vi0));
      const vd1 = v128.and(v128.load(dp + o - 4), i32x4.gt_s(j, vi1));
      const vm0 = v128.load(mp + o);
      const vm1 = v128.load(mp + o - 4);
      const lo = i64x2.add(
        i64x2.add(i64x2.extmul_low_i32x4_u(vq0, vm0), i64x2.extmul_low_i32x4_u(vq1, vm1)),
        i64x2.add(i64x2.extmul_low_i32x4_u(va0, vd0), i64x2.extmul_low_i32x4_u(va1, vd1)),
      );
      const hi = i64x2.add(
        i64x2.add(i64x2.extmul_high_i32x4_u(vq0, vm0), i64x2.extmul_high_i32x4_u(vq1, vm1)),
        i64x2.add(i64x2.extmul_high_i32x4_u(va0, vd0), i64x2.extmul_high_i32x4_u(va1, vd1)),
      );
      const tp = t + (g << 5);
      v128.store(tp, i64x2.add(v128.load(tp), lo));
      v128.store(tp, i64x2.add(v128.load(tp, 16), hi), 16);
    }
  }
  ROWS_CARRY = carry;
}

/**
 * Positions limbs .. 2·limbs − 1 of T28 plus ROWS_CARRY into position limbs are the result t < 2m;
 * r = t − m if t ≥ m, else t.
 */
function rowsFinish(r: usize, m: usize, limbs: usize): void {
  let carry = ROWS_CARRY;
  for (let j: usize = 0; j < limbs; j++) {
    const v = load<u64>(T28 + ((limbs + j) << 3)) + carry;
    store<u32>(TMP28 + (j << 2), <u32>v & LIMB28_MASK);
    carry = v >>> 28;
  }
  const borrow = bn28Sub(r, TMP28, m, limbs);
  if (carry == 0 && borrow != 0) bnCopy(r, TMP28, limbs);
}

/**
 * r = R^2 mod m with R = 2^(28·limbs), m odd with bits significant bits in limbs limbs. As montR2:
 * doublings from 2^(bits − 1) up to 2^t·R (28·limbs = t·2^s), then s squarings.
 */
export function mont28R2(r: usize, m: usize, m0inv: u32, limbs: usize, bits: u32): void {
  const rBits: u32 = <u32>limbs * 28;
  let s: u32 = 0;
  let t = rBits;
  while ((t & 1) == 0 && t > 64) {
    t >>= 1;
    s++;
  }
  const top = bits - 1;
  bnZero(r, limbs);
  store<u32>(r + (<usize>(top / 28) << 2), <u32>1 << (top % 28));
  for (let i = top; i < rBits + t; i++) modDouble28(r, m, limbs);
  for (let i: u32 = 0; i < s; i++) mont28Sqr(r, r, m, m0inv, limbs);
}

/** x = 2x mod m for x < m (28-bit limbs). */
function modDouble28(x: usize, m: usize, limbs: usize): void {
  let c: u32 = 0;
  for (let i: usize = 0; i < limbs; i++) {
    const o = i << 2;
    const v = (load<u32>(x + o) << 1) | c;
    store<u32>(x + o, v & LIMB28_MASK);
    c = v >>> 28;
  }
  if (c != 0 || bnCmp(x, m, limbs) >= 0) bn28Sub(x, x, m, limbs);
}
