// SPDX-License-Identifier: Apache-2.0
// Multi-precision unsigned integers for public-key verification: little-endian arrays of u32 limbs in
// linear memory, 64-bit products, and Montgomery multiplication for any odd modulus of any size (RSA
// moduli, and every field that has no generated kernel in generated/field-kernels.ts).
//
// A number is (ptr, limbs): limb i is the u32 at ptr + 4·i and weighs 2^(32·i). Every function takes its
// operands by pointer and writes its result through a pointer; nothing allocates. Unless a function says
// otherwise, its output may alias its inputs.
//
// Montgomery arithmetic (Montgomery, "Modular multiplication without trial division", Math. Comp. 44,
// 1985): with R = 2^(32·limbs) and m odd, montMul(a, b) = a·b·R^−1 mod m. The product-scanning form with
// the reduction interleaved column by column (Koç–Acar–Kaliski's FIPS) accumulates each column in two
// 64-bit halves, so no carry travels between the products of a column; the SIMD build computes the
// column sums two products at a time with i64x2.extmul (four products per pair of v128 loads).
// Squaring computes each cross product once. Modular inversion is a binary GCD in word-sized batches
// (bnModInverse, below).
//
// Not covered here: secrets. The code is variable-time on purpose (DESIGN §2: verification only).

/** The largest operand the scratch areas below are sized for: 4096-bit RSA moduli (128 limbs). */
// @ts-ignore: decorator
@inline export const BN_MAX_LIMBS: usize = 128;

// Montgomery scratch: the quotient digits q_i of the current product (one limb each) and, for the SIMD
// kernel, the second operand and the modulus in reversed limb order with zero padding on both sides, so
// that every column's dot product runs over whole v128 lanes (see montMulSimd).
const PAD_LIMBS: usize = 4;
const QDIGITS: usize = memory.data(<i32>((BN_MAX_LIMBS + 2 * PAD_LIMBS) << 2), 16);
const BREV: usize = memory.data(<i32>((BN_MAX_LIMBS + 2 * PAD_LIMBS) << 2), 16);
const MREV: usize = memory.data(<i32>((BN_MAX_LIMBS + 2 * PAD_LIMBS) << 2), 16);
const APAD: usize = memory.data(<i32>((BN_MAX_LIMBS + 2 * PAD_LIMBS) << 2), 16);
// Output of montMul before the final subtraction, so that r may alias a or b.
const TMP: usize = memory.data(<i32>((BN_MAX_LIMBS + 1) << 2), 16);

/** r = 0. */
export function bnZero(r: usize, limbs: usize): void {
  memory.fill(r, 0, limbs << 2);
}

/** r = a. */
export function bnCopy(r: usize, a: usize, limbs: usize): void {
  memory.copy(r, a, limbs << 2);
}

/** a == 0. */
export function bnIsZero(a: usize, limbs: usize): bool {
  let acc: u32 = 0;
  for (let i: usize = 0; i < limbs; i++) acc |= load<u32>(a + (i << 2));
  return acc == 0;
}

/** a == b. */
export function bnEq(a: usize, b: usize, limbs: usize): bool {
  let acc: u32 = 0;
  for (let i: usize = 0; i < limbs; i++) acc |= load<u32>(a + (i << 2)) ^ load<u32>(b + (i << 2));
  return acc == 0;
}

/** −1, 0 or 1 as a <, = or > b. */
export function bnCmp(a: usize, b: usize, limbs: usize): i32 {
  for (let i = <isize>limbs - 1; i >= 0; i--) {
    const x = load<u32>(a + (<usize>i << 2));
    const y = load<u32>(b + (<usize>i << 2));
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

/** r = a + b mod 2^(32·limbs); returns the carry out (0 or 1). */
export function bnAdd(r: usize, a: usize, b: usize, limbs: usize): u32 {
  let c: u64 = 0;
  for (let i: usize = 0; i < limbs; i++) {
    const o = i << 2;
    c = <u64>load<u32>(a + o) + <u64>load<u32>(b + o) + (c >>> 32);
    store<u32>(r + o, <u32>c);
  }
  return <u32>(c >>> 32);
}

/** r = a − b mod 2^(32·limbs); returns the borrow out (0 or 1). */
export function bnSub(r: usize, a: usize, b: usize, limbs: usize): u32 {
  let d: i64 = 0;
  for (let i: usize = 0; i < limbs; i++) {
    const o = i << 2;
    d = <i64>load<u32>(a + o) - <i64>load<u32>(b + o) + (d >> 32);
    store<u32>(r + o, <u32>d);
  }
  return <u32>(d >>> 63);
}

/** Number of significant bits of a (0 for a = 0). */
export function bnBitLength(a: usize, limbs: usize): u32 {
  for (let i = <isize>limbs - 1; i >= 0; i--) {
    const x = load<u32>(a + (<usize>i << 2));
    if (x != 0) return (<u32>i << 5) + 32 - clz<u32>(x);
  }
  return 0;
}

/** Bit i of a (i < 32·limbs). */
// @ts-ignore: decorator
@inline export function bnBit(a: usize, i: u32): u32 {
  return (load<u32>(a + ((<usize>i >>> 5) << 2)) >>> (i & 31)) & 1;
}

/**
 * Read byteLen big-endian bytes at src into r (limbs limbs), zero-extended. Returns false, leaving r
 * unspecified, when the value needs more than limbs limbs (a non-zero byte beyond 4·limbs).
 */
export function bnFromBytesBE(r: usize, limbs: usize, src: usize, byteLen: usize): bool {
  bnZero(r, limbs);
  const cap = limbs << 2;
  for (let i: usize = 0; i < byteLen; i++) {
    // Byte i from the end has weight 256^i.
    const b = load<u8>(src + byteLen - 1 - i);
    if (i >= cap) {
      if (b != 0) return false;
      continue;
    }
    store<u8>(r + i, b); // little-endian memory: byte i of the number is byte i of the limb array
  }
  return true;
}

/** Write a (limbs limbs) as byteLen big-endian bytes at dst; the high bytes beyond byteLen are dropped. */
export function bnToBytesBE(dst: usize, byteLen: usize, a: usize, limbs: usize): void {
  const cap = limbs << 2;
  for (let i: usize = 0; i < byteLen; i++) {
    store<u8>(dst + byteLen - 1 - i, i < cap ? load<u8>(a + i) : 0);
  }
}

/** −m^−1 mod 2^32 for odd m0 (Newton's iteration: each step doubles the number of correct low bits). */
export function montInv32(m0: u32): u32 {
  let inv: u32 = 1;
  for (let i = 0; i < 5; i++) inv *= 2 - m0 * inv;
  return 0 - inv;
}

/**
 * r = a·b·R^−1 mod m with R = 2^(32·limbs), for a, b < m, m odd, limbs ≤ BN_MAX_LIMBS; r < m.
 * m0inv = montInv32(m[0]).
 */
export function montMul(r: usize, a: usize, b: usize, m: usize, m0inv: u32, limbs: usize): void {
  if (ASC_FEATURE_SIMD && limbs >= 16) montMulSimd(r, a, b, m, m0inv, limbs);
  else montMulScalar(r, a, b, m, m0inv, limbs);
}

/**
 * r = a²·R^−1 mod m, as montMul(r, a, a, …) but with each cross product a_i·a_j (i < j) computed once
 * and doubled: the product half of the work shrinks by half (RSA verification is 16 squarings and one
 * multiplication for e = 65537).
 */
export function montSqr(r: usize, a: usize, m: usize, m0inv: u32, limbs: usize): void {
  if (ASC_FEATURE_SIMD && limbs >= 16) montSqrSimd(r, a, m, m0inv, limbs);
  else montSqrScalar(r, a, m, m0inv, limbs);
}

/** The final step of every kernel: r = t − m if t (limbs limbs plus the carry top) ≥ m, else t. */
function finalSubtract(r: usize, t: usize, top: u32, m: usize, limbs: usize): void {
  const borrow = bnSub(r, t, m, limbs);
  if (top == 0 && borrow != 0) bnCopy(r, t, limbs);
}

function montMulScalar(r: usize, a: usize, b: usize, m: usize, m0inv: u32, limbs: usize): void {
  // Column k sums a_i·b_(k−i) and q_i·m_(k−i); the low halves go to lo, the high halves to hi.
  let lo: u64 = 0;
  let hi: u64 = 0;
  for (let k: usize = 0; k < 2 * limbs - 1; k++) {
    const i0: usize = k >= limbs ? k - limbs + 1 : 0;
    const i1: usize = k < limbs ? k : limbs - 1; // inclusive
    let ap = a + (i0 << 2);
    let bp = b + ((k - i0) << 2);
    for (let i = i0; i <= i1; i++) {
      const p = <u64>load<u32>(ap) * <u64>load<u32>(bp);
      lo += p & 0xffffffff;
      hi += p >>> 32;
      ap += 4;
      bp -= 4;
    }
    // q_i for i < min(k, limbs); q_k itself is computed below.
    const iTop: usize = k < limbs ? k : limbs;
    let qp = QDIGITS + (i0 << 2);
    let mp = m + ((k - i0) << 2);
    for (let i = i0; i < iTop; i++) {
      const p = <u64>load<u32>(qp) * <u64>load<u32>(mp);
      lo += p & 0xffffffff;
      hi += p >>> 32;
      qp += 4;
      mp -= 4;
    }
    if (k < limbs) {
      const q = <u32>lo * m0inv;
      store<u32>(QDIGITS + (k << 2), q);
      const pq = <u64>q * <u64>load<u32>(m);
      lo += pq & 0xffffffff;
      hi += pq >>> 32;
    } else {
      store<u32>(TMP + ((k - limbs) << 2), <u32>lo);
    }
    lo = (lo >>> 32) + hi;
    hi = 0;
  }
  store<u32>(TMP + ((limbs - 1) << 2), <u32>lo);
  finalSubtract(r, TMP, <u32>(lo >>> 32), m, limbs);
}

/**
 * The SIMD form of montMulScalar. The second operand and the modulus are copied in reversed limb order
 * so that column k's products a_i·b_(k−i) pair a[i .. i+3] with brev[…] as two aligned-in-order v128
 * loads; i64x2.extmul_{low,high}_i32x4_u then yields four 64-bit products, split into halves as above.
 * The zero padding around each copy lets every column run over whole groups of four limbs.
 */
function montMulSimd(r: usize, a: usize, b: usize, m: usize, m0inv: u32, limbs: usize): void {
  const pad: usize = PAD_LIMBS << 2;
  // brev[j] = b[limbs−1−j], mrev likewise; apad = a; all with PAD_LIMBS zero limbs on each side.
  memory.fill(BREV, 0, pad);
  memory.fill(MREV, 0, pad);
  memory.fill(APAD, 0, pad);
  memory.fill(QDIGITS, 0, (limbs + 2 * PAD_LIMBS) << 2);
  for (let j: usize = 0; j < limbs; j++) {
    store<u32>(BREV + pad + (j << 2), load<u32>(b + ((limbs - 1 - j) << 2)));
    store<u32>(MREV + pad + (j << 2), load<u32>(m + ((limbs - 1 - j) << 2)));
  }
  memory.copy(APAD + pad, a, limbs << 2);
  memory.fill(BREV + pad + (limbs << 2), 0, pad);
  memory.fill(MREV + pad + (limbs << 2), 0, pad);
  memory.fill(APAD + pad + (limbs << 2), 0, pad);
  const mask = i64x2.splat(0xffffffff);
  const ab = APAD + pad;
  const qb = QDIGITS + pad;
  const bb = BREV + pad;
  const mb = MREV + pad;
  let carry: u64 = 0;
  for (let k: usize = 0; k < 2 * limbs - 1; k++) {
    // Column k: i runs over [i0, i1]; b index k − i ↦ brev index limbs − 1 − k + i.
    const i0: usize = k >= limbs ? k - limbs + 1 : 0;
    const i1: usize = k < limbs ? k : limbs - 1; // inclusive
    // q_k is not known yet in columns k < limbs, and q_i is zero beyond the digits stored so far.
    let vlo = i64x2.splat(0);
    let vhi = i64x2.splat(0);
    let i = i0;
    const off = (limbs - 1 - k) << 2; // brev offset for i = 0
    for (; i <= i1; i += 4) {
      // Lanes beyond i1 pair a or q limbs with the zero padding of brev or mrev (or vice versa).
      const ia = i << 2;
      const va = v128.load(ab + ia);
      const vb = v128.load(bb + off + ia);
      const vq = v128.load(qb + ia);
      const vm = v128.load(mb + off + ia);
      const p0 = i64x2.extmul_low_i32x4_u(va, vb);
      const p1 = i64x2.extmul_high_i32x4_u(va, vb);
      const p2 = i64x2.extmul_low_i32x4_u(vq, vm);
      const p3 = i64x2.extmul_high_i32x4_u(vq, vm);
      vlo = i64x2.add(vlo, i64x2.add(v128.and(p0, mask), v128.and(p1, mask)));
      vhi = i64x2.add(vhi, i64x2.add(i64x2.shr_u(p0, 32), i64x2.shr_u(p1, 32)));
      vlo = i64x2.add(vlo, i64x2.add(v128.and(p2, mask), v128.and(p3, mask)));
      vhi = i64x2.add(vhi, i64x2.add(i64x2.shr_u(p2, 32), i64x2.shr_u(p3, 32)));
    }
    let lo = carry + i64x2.extract_lane(vlo, 0) + i64x2.extract_lane(vlo, 1);
    const hi = i64x2.extract_lane(vhi, 0) + i64x2.extract_lane(vhi, 1);
    if (k < limbs) {
      const q = <u32>lo * m0inv;
      store<u32>(qb + (k << 2), q);
      const pq = <u64>q * <u64>load<u32>(m);
      lo += pq & 0xffffffff;
      carry = (lo >>> 32) + hi + (pq >>> 32);
    } else {
      store<u32>(TMP + ((k - limbs) << 2), <u32>lo);
      carry = (lo >>> 32) + hi;
    }
  }
  store<u32>(TMP + ((limbs - 1) << 2), <u32>carry);
  finalSubtract(r, TMP, <u32>(carry >>> 32), m, limbs);
}

/** Column k of a² without its diagonal: Σ a_i·a_(k−i) over i < k − i, split into low and high halves. */
// @ts-ignore: decorator
@inline function crossColumn(a: usize, k: usize, i0: usize, iEnd: usize): u64 {
  let lo: u64 = 0;
  let hi: u64 = 0;
  let ap = a + (i0 << 2);
  let bp = a + ((k - i0) << 2);
  for (let i = i0; i <= iEnd; i++) {
    const p = <u64>load<u32>(ap) * <u64>load<u32>(bp);
    lo += p & 0xffffffff;
    hi += p >>> 32;
    ap += 4;
    bp -= 4;
  }
  CROSS_HI = hi;
  return lo;
}
let CROSS_HI: u64 = 0;

function montSqrScalar(r: usize, a: usize, m: usize, m0inv: u32, limbs: usize): void {
  let lo: u64 = 0;
  let hi: u64 = 0;
  for (let k: usize = 0; k < 2 * limbs - 1; k++) {
    const i0: usize = k >= limbs ? k - limbs + 1 : 0;
    // Cross products: i < k − i, i.e. i ≤ (k − 1)/2; doubled. The diagonal a_(k/2)² when k is even.
    if (k >= 1) {
      const iEnd: usize = (k - 1) >>> 1;
      if (iEnd >= i0) {
        const clo = crossColumn(a, k, i0, iEnd);
        lo += clo << 1;
        hi += CROSS_HI << 1;
      }
    }
    if ((k & 1) == 0) {
      const d = <u64>load<u32>(a + (k << 1));
      const p = d * d;
      lo += p & 0xffffffff;
      hi += p >>> 32;
    }
    // Reduction products q_i·m_(k−i) over i in [i0, min(k − 1, limbs − 1)].
    const iTop: usize = k < limbs ? k : limbs;
    let qp = QDIGITS + (i0 << 2);
    let mp = m + ((k - i0) << 2);
    for (let i = i0; i < iTop; i++) {
      const p = <u64>load<u32>(qp) * <u64>load<u32>(mp);
      lo += p & 0xffffffff;
      hi += p >>> 32;
      qp += 4;
      mp -= 4;
    }
    if (k < limbs) {
      const q = <u32>lo * m0inv;
      store<u32>(QDIGITS + (k << 2), q);
      const pq = <u64>q * <u64>load<u32>(m);
      lo += pq & 0xffffffff;
      hi += pq >>> 32;
    } else {
      store<u32>(TMP + ((k - limbs) << 2), <u32>lo);
    }
    lo = (lo >>> 32) + hi;
    hi = 0;
  }
  store<u32>(TMP + ((limbs - 1) << 2), <u32>lo);
  finalSubtract(r, TMP, <u32>(lo >>> 32), m, limbs);
}

/** i32x4 masks keeping the first 1, 2 or 3 lanes (index = lanes kept − 1). */
const LANE_MASKS: usize = memory.data<u32>([
  0xffffffff, 0, 0, 0,
  0xffffffff, 0xffffffff, 0, 0,
  0xffffffff, 0xffffffff, 0xffffffff, 0,
], 16);

/**
 * The SIMD form of montSqrScalar: cross products four at a time against a reversed copy of a (the lanes
 * beyond the middle of a column hold real limbs, not padding, so the last group of a column is masked),
 * reduction products as in montMulSimd.
 */
function montSqrSimd(r: usize, a: usize, m: usize, m0inv: u32, limbs: usize): void {
  const pad: usize = PAD_LIMBS << 2;
  memory.fill(BREV, 0, pad);
  memory.fill(MREV, 0, pad);
  memory.fill(QDIGITS, 0, (limbs + 2 * PAD_LIMBS) << 2);
  for (let j: usize = 0; j < limbs; j++) {
    store<u32>(BREV + pad + (j << 2), load<u32>(a + ((limbs - 1 - j) << 2)));
    store<u32>(MREV + pad + (j << 2), load<u32>(m + ((limbs - 1 - j) << 2)));
  }
  memory.fill(BREV + pad + (limbs << 2), 0, pad);
  memory.fill(MREV + pad + (limbs << 2), 0, pad);
  const mask = i64x2.splat(0xffffffff);
  const qb = QDIGITS + pad;
  const bb = BREV + pad;
  const mb = MREV + pad;
  let carry: u64 = 0;
  for (let k: usize = 0; k < 2 * limbs - 1; k++) {
    const i0: usize = k >= limbs ? k - limbs + 1 : 0;
    const i1: usize = k < limbs ? k : limbs - 1;
    const off = (limbs - 1 - k) << 2; // arev index of a_(k − i) is limbs − 1 − k + i
    let clo: u64 = 0;
    let chi: u64 = 0;
    if (k >= 1 && ((k - 1) >>> 1) >= i0) {
      const iEnd: usize = (k - 1) >>> 1; // inclusive
      let vlo = i64x2.splat(0);
      let vhi = i64x2.splat(0);
      for (let i = i0; i <= iEnd; i += 4) {
        const ia = i << 2;
        // Lanes past iEnd hold real limbs (the other half of the column): the last group masks them off.
        const left = iEnd - i;
        const va = left >= 3 ? v128.load(a + ia) : v128.and(v128.load(a + ia), v128.load(LANE_MASKS + (left << 4)));
        const vb = v128.load(bb + off + ia);
        const p0 = i64x2.extmul_low_i32x4_u(va, vb);
        const p1 = i64x2.extmul_high_i32x4_u(va, vb);
        vlo = i64x2.add(vlo, i64x2.add(v128.and(p0, mask), v128.and(p1, mask)));
        vhi = i64x2.add(vhi, i64x2.add(i64x2.shr_u(p0, 32), i64x2.shr_u(p1, 32)));
      }
      clo = i64x2.extract_lane(vlo, 0) + i64x2.extract_lane(vlo, 1);
      chi = i64x2.extract_lane(vhi, 0) + i64x2.extract_lane(vhi, 1);
    }
    let lo = carry + (clo << 1);
    let hi = chi << 1;
    if ((k & 1) == 0) {
      const d = <u64>load<u32>(a + (k << 1));
      const p = d * d;
      lo += p & 0xffffffff;
      hi += p >>> 32;
    }
    let vlo = i64x2.splat(0);
    let vhi = i64x2.splat(0);
    for (let i = i0; i <= i1; i += 4) {
      const ia = i << 2;
      const vq = v128.load(qb + ia);
      const vm = v128.load(mb + off + ia);
      const p2 = i64x2.extmul_low_i32x4_u(vq, vm);
      const p3 = i64x2.extmul_high_i32x4_u(vq, vm);
      vlo = i64x2.add(vlo, i64x2.add(v128.and(p2, mask), v128.and(p3, mask)));
      vhi = i64x2.add(vhi, i64x2.add(i64x2.shr_u(p2, 32), i64x2.shr_u(p3, 32)));
    }
    lo += i64x2.extract_lane(vlo, 0) + i64x2.extract_lane(vlo, 1);
    hi += i64x2.extract_lane(vhi, 0) + i64x2.extract_lane(vhi, 1);
    if (k < limbs) {
      const q = <u32>lo * m0inv;
      store<u32>(qb + (k << 2), q);
      const pq = <u64>q * <u64>load<u32>(m);
      lo += pq & 0xffffffff;
      carry = (lo >>> 32) + hi + (pq >>> 32);
    } else {
      store<u32>(TMP + ((k - limbs) << 2), <u32>lo);
      carry = (lo >>> 32) + hi;
    }
  }
  store<u32>(TMP + ((limbs - 1) << 2), <u32>carry);
  finalSubtract(r, TMP, <u32>(carry >>> 32), m, limbs);
}

/**
 * r = R^2 mod m (R = 2^(32·limbs)), the constant that takes numbers into Montgomery form; m odd, > 1,
 * with a non-zero top limb. Write 32·limbs = t·2^s with t small. Starting from the largest power of two
 * below m, doubling with conditional subtraction reaches 2^(32·limbs + t) mod m = 2^t·R, the Montgomery
 * form of 2^t, after at most t + 32 steps; then s Montgomery squarings, each mapping 2^k·R to 2^(2k)·R,
 * reach 2^(32·limbs)·R = R^2.
 */
export function montR2(r: usize, m: usize, m0inv: u32, limbs: usize): void {
  const bits: u32 = <u32>limbs << 5;
  let s: u32 = 0;
  let t = bits;
  while ((t & 1) == 0 && t > 64) {
    t >>= 1;
    s++;
  }
  const top = bnBitLength(m, limbs) - 1; // 2^top < m, as m is odd and > 1
  bnZero(r, limbs);
  store<u32>(r + ((<usize>top >>> 5) << 2), <u32>1 << (top & 31));
  for (let i = top; i < bits + t; i++) modDouble(r, m, limbs);
  for (let i: u32 = 0; i < s; i++) montMul(r, r, r, m, m0inv, limbs);
}

/** x = 2x mod m for x < m. */
function modDouble(x: usize, m: usize, limbs: usize): void {
  let c: u32 = 0;
  for (let i: usize = 0; i < limbs; i++) {
    const o = i << 2;
    const v = load<u32>(x + o);
    store<u32>(x + o, (v << 1) | c);
    c = v >>> 31;
  }
  if (c != 0 || bnCmp(x, m, limbs) >= 0) bnSub(x, x, m, limbs);
}

// ---------------------------------------------------------------------------------------------------
// Modular inversion by the binary GCD with word-sized batches of steps (Pornin, "Optimized Binary GCD
// for Modular Inversion", IACR ePrint 2020/972; this is its variable-time reading).
//
// The exact binary GCD keeps a ≡ u·y and b ≡ v·y (mod m), b odd, starting from (a, u) = (y, 1) and
// (b, v) = (m, 0); each step halves a when it is even, and otherwise (after swapping so that a ≥ b)
// replaces a by (a − b)/2. When a reaches 0, b = gcd(y, m) and v = y^−1 when that gcd is 1. The steps'
// decisions need only a's low bit and the sign of a − b, so INV_K steps are run on two 64-bit
// approximations of a and b (their low INV_K bits, exact, and their top INV_K bits at a common
// position) and recorded as a 2×2 matrix of small integers, which is then applied to the full a, b, u
// and v at once. An approximation can misjudge a − b when a and b are close; the result is then
// negative and is negated with its row of the matrix, and the analysis of the paper bounds the number of
// rounds. Cost for 256-bit m: about 19 rounds, against ~300 multiplications for Fermat's a^(m−2)
// (measured 1.4 µs against 18.5 µs on P-256's n).

/**
 * Steps per round. After j steps |f| + |g| ≤ 2^j in each row of the matrix (a subtraction adds two rows,
 * a halving doubles one), so f·x + g·y + q·m over 32-bit limbs stays below 2^62 in an i64.
 */
// @ts-ignore: decorator
@inline const INV_K: u32 = 29;
const INV_A: usize = memory.data(<i32>((BN_MAX_LIMBS + 2) << 2), 16);
const INV_B: usize = memory.data(<i32>((BN_MAX_LIMBS + 2) << 2), 16);
const INV_U: usize = memory.data(<i32>((BN_MAX_LIMBS + 2) << 2), 16);
const INV_V: usize = memory.data(<i32>((BN_MAX_LIMBS + 2) << 2), 16);
const INV_T: usize = memory.data(<i32>((BN_MAX_LIMBS + 2) << 2), 16);
const INV_T2: usize = memory.data(<i32>((BN_MAX_LIMBS + 2) << 2), 16);

/** INV_K-bit-aligned 2·INV_K-bit approximation of x: its top INV_K bits below bit n, then its low INV_K bits. */
// @ts-ignore: decorator
@inline function approx(x: usize, n: u32): u64 {
  const mask: u64 = (<u64>1 << INV_K) - 1;
  const low = <u64>load<u32>(x) & mask;
  // Bits [n − INV_K, n) of x: read the (up to) three limbs that hold them.
  const shift = n - INV_K;
  const limb = <usize>(shift >>> 5);
  const bit = <u64>(shift & 31);
  const w = <u64>load<u32>(x + (limb << 2)) | (<u64>load<u32>(x + ((limb + 1) << 2)) << 32);
  const top = (w >>> bit) & mask;
  return (top << INV_K) | low;
}

/**
 * t = (f·x + g·y) >> INV_K as a signed number: returns true when it is negative, in which case t holds
 * its absolute value. x, y: limbs limbs, non-negative; the low INV_K bits of f·x + g·y must be zero.
 */
function lincombShift(t: usize, x: usize, f: i64, y: usize, g: i64, limbs: usize): bool {
  let c: i64 = 0;
  for (let i: usize = 0; i < limbs; i++) {
    const o = i << 2;
    const v = f * <i64>load<u32>(x + o) + g * <i64>load<u32>(y + o) + c;
    store<u32>(INV_T2 + o, <u32>v);
    c = v >> 32;
  }
  store<u32>(INV_T2 + (limbs << 2), <u32>c);
  const negative = c < 0;
  shiftRightSigned(t, INV_T2, limbs, negative);
  return negative;
}

/**
 * t = |src| >> INV_K, src being limbs + 1 limbs of two's complement (negative when neg). Returns the
 * bits of the result above limbs limbs (src's top limb shifted), which callers with a bound check.
 */
function shiftRightSigned(t: usize, src: usize, limbs: usize, neg: bool): u32 {
  if (neg) {
    // Two's-complement negation in place: 0 − src with borrow.
    let d: i64 = 0;
    for (let i: usize = 0; i <= limbs; i++) {
      const o = i << 2;
      d = (d >> 32) - <i64>load<u32>(src + o);
      store<u32>(src + o, <u32>d);
    }
  }
  for (let i: usize = 0; i < limbs; i++) {
    const o = i << 2;
    store<u32>(t + o, (load<u32>(src + o) >>> INV_K) | (load<u32>(src + o + 4) << (32 - INV_K)));
  }
  return load<u32>(src + (limbs << 2)) >>> INV_K;
}

/** t = (f·u + g·v)·2^−INV_K mod m, for u, v < m (Montgomery division by 2^INV_K, then into [0, m)). */
function lincombMod(t: usize, u: usize, f: i64, v: usize, g: i64, m: usize, mInv: u32, limbs: usize): void {
  const low = <u32>(f * <i64>load<u32>(u) + g * <i64>load<u32>(v));
  // q·m cancels the low INV_K bits: q = −(f·u + g·v)·m^−1 mod 2^INV_K.
  const q = <i64>((low * mInv) & ((<u32>1 << INV_K) - 1));
  let c: i64 = 0;
  for (let i: usize = 0; i < limbs; i++) {
    const o = i << 2;
    const x = f * <i64>load<u32>(u + o) + g * <i64>load<u32>(v + o) + q * <i64>load<u32>(m + o) + c;
    store<u32>(INV_T2 + o, <u32>x);
    c = x >> 32;
  }
  store<u32>(INV_T2 + (limbs << 2), <u32>c);
  const neg = c < 0;
  // |f| + |g| ≤ 2^INV_K, so the result lies in (−m, 2m): one correction brings it into [0, m). Above m it
  // may need one bit more than limbs limbs (top), which the subtraction of m clears.
  const top = shiftRightSigned(t, INV_T2, limbs, neg);
  if (neg) {
    if (!bnIsZero(t, limbs)) bnSub(t, m, t, limbs);
  } else if (top != 0 || bnCmp(t, m, limbs) >= 0) {
    bnSub(t, t, m, limbs);
  }
}

/**
 * r = y^−1 mod m for an odd modulus m > 1 and 0 ≤ y < m (limbs ≤ BN_MAX_LIMBS). Returns false, leaving r
 * unspecified, when y has no inverse (gcd(y, m) ≠ 1, y = 0 included).
 */
export function bnModInverse(r: usize, y: usize, m: usize, limbs: usize): bool {
  const bytes = limbs << 2;
  // One zero limb above each value lets approx() read past the top limb.
  memory.copy(INV_A, y, bytes);
  memory.copy(INV_B, m, bytes);
  store<u32>(INV_A + bytes, 0);
  store<u32>(INV_B + bytes, 0);
  store<u32>(INV_A + bytes + 4, 0);
  store<u32>(INV_B + bytes + 4, 0);
  bnZero(INV_U, limbs);
  store<u32>(INV_U, 1);
  bnZero(INV_V, limbs);
  const mInv = montInv32(load<u32>(m));
  // Each round removes at least INV_K − 1 bits from len(a) + len(b) ≤ 2·32·limbs (Pornin, §3); the bound
  // has room to spare and only guards against a defect.
  const maxRounds = (<u32>(limbs << 6) + INV_K - 2) / (INV_K - 1) + 4;
  for (let round: u32 = 0; round < maxRounds; round++) {
    if (bnIsZero(INV_A, limbs)) {
      if (!(load<u32>(INV_B) == 1 && bnBitLength(INV_B, limbs) == 1)) return false;
      memory.copy(r, INV_V, bytes);
      return true;
    }
    let n = bnBitLength(INV_A, limbs);
    const nb = bnBitLength(INV_B, limbs);
    if (nb > n) n = nb;
    if (n < 2 * INV_K) n = 2 * INV_K;
    let a = approx(INV_A, n);
    let b = approx(INV_B, n);
    let f0: i64 = 1;
    let g0: i64 = 0;
    let f1: i64 = 0;
    let g1: i64 = 1;
    for (let j: u32 = 0; j < INV_K; j++) {
      if ((a & 1) != 0) {
        if (a < b) {
          const ta = a;
          a = b;
          b = ta;
          const tf = f0;
          f0 = f1;
          f1 = tf;
          const tg = g0;
          g0 = g1;
          g1 = tg;
        }
        a -= b;
        f0 -= f1;
        g0 -= g1;
      }
      a >>= 1;
      f1 <<= 1;
      g1 <<= 1;
    }
    // a' = (f0·a + g0·b)/2^k and b' = (f1·a + g1·b)/2^k, made non-negative with their rows.
    if (lincombShift(INV_T, INV_A, f0, INV_B, g0, limbs)) {
      f0 = -f0;
      g0 = -g0;
    }
    if (lincombShift(INV_A, INV_A, f1, INV_B, g1, limbs)) {
      f1 = -f1;
      g1 = -g1;
    }
    // INV_A now holds b'; move it to INV_B and a' (in INV_T) to INV_A.
    memory.copy(INV_B, INV_A, bytes);
    memory.copy(INV_A, INV_T, bytes);
    lincombMod(INV_T, INV_U, f0, INV_V, g0, m, mInv, limbs);
    lincombMod(INV_V, INV_U, f1, INV_V, g1, m, mInv, limbs);
    memory.copy(INV_U, INV_T, bytes);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// ABI: the Montgomery primitives themselves, so that the tests can check them against BigInt.

/** r = a·b·R^−1 mod m (R = 2^(32·limbs)); a, b < m, m odd, limbs ≤ 128. */
export function bn_mont_mul(r: usize, a: usize, b: usize, m: usize, limbs: usize): void {
  montMul(r, a, b, m, montInv32(load<u32>(m)), limbs);
}

/** r = a²·R^−1 mod m; a < m, m odd, limbs ≤ 128. */
export function bn_mont_sqr(r: usize, a: usize, m: usize, limbs: usize): void {
  montSqr(r, a, m, montInv32(load<u32>(m)), limbs);
}

/** 1 and r = a^−1 mod m, or 0 when a has no inverse; m odd and > 1, a < m, limbs ≤ 128. */
export function bn_mod_inverse(r: usize, a: usize, m: usize, limbs: usize): u32 {
  return bnModInverse(r, a, m, limbs) ? 1 : 0;
}

/** r = R^2 mod m; m odd, > 1, top limb non-zero, limbs ≤ 128. */
export function bn_mont_r2(r: usize, m: usize, limbs: usize): void {
  montR2(r, m, montInv32(load<u32>(m)), limbs);
}
