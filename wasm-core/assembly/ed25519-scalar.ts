// SPDX-License-Identifier: Apache-2.0
// Integers modulo L, the prime order of the edwards25519 base point (RFC 8032 §5.1: L = 2^252 +
// 27742317777372353535851937790883648493), and the digit recodings the scalar multiplications use.
// Scalars are 32-byte little-endian values in memory. Verification only: nothing here is constant-time.
//
// Reduction works on 21-bit limbs held in i64 (the largest intermediate stays below 2^58) and uses
// 2^252 ≡ −c (mod L), c = L − 2^252 < 2^125: a limb at 21 i ≥ 252 is removed and −c times it added at
// 21 (i − 12). Nothing is allocated; the limb arrays are static scratch.

// @ts-ignore: decorator
@inline const MASK21: i64 = 0x1fffff; // 2^21 − 1

/** c = L − 2^252 = 27742317777372353535851937790883648493 as six 21-bit limbs, least significant first. */
const C0: i64 = 1430509;
const C1: i64 = 1626855;
const C2: i64 = 1442968;
const C3: i64 = 997804;
const C4: i64 = 1960495;
const C5: i64 = 683900;

/** L as four little-endian u64 words (RFC 8032 §5.1). */
const L0: u64 = 0x5812631a5cf5d3ed;
const L1: u64 = 0x14def9dea2f79cd6;
const L2: u64 = 0;
const L3: u64 = 0x1000000000000000;

/** Limb scratch: 24 i64 (504 bits), enough for a 512-bit hash (the last limb takes bits 483..511). */
const LIMBS: usize = memory.data(24 * 8, 16);
const ZLIMBS: usize = memory.data(8 * 8, 16);
const KLIMBS: usize = memory.data(13 * 8, 16);
const WORDS: usize = memory.data(6 * 8, 16);

// @ts-ignore: decorator
@inline function limb(s: usize, i: usize): i64 {
  return load<i64>(s + (i << 3));
}
// @ts-ignore: decorator
@inline function setLimb(s: usize, i: usize, v: i64): void {
  store<i64>(s + (i << 3), v);
}

/** Whether the 32-byte scalar at s is below L (RFC 8032 §5.1.7 step 1: reject S ≥ L). */
export function scIsCanonical(s: usize): bool {
  const w3 = load<u64>(s, 24);
  if (w3 != L3) return w3 < L3;
  const w2 = load<u64>(s, 16);
  if (w2 != L2) return w2 < L2;
  const w1 = load<u64>(s, 8);
  if (w1 != L1) return w1 < L1;
  return load<u64>(s, 0) < L0;
}

/** s[t .. t+5] −= x · c: replaces x · 2^(21 (t+12)) by its residue −x c 2^(21 t). */
// @ts-ignore: decorator
@inline function foldDown(s: usize, t: usize, x: i64): void {
  const p = s + (t << 3);
  store<i64>(p, load<i64>(p, 0) - x * C0, 0);
  store<i64>(p, load<i64>(p, 8) - x * C1, 8);
  store<i64>(p, load<i64>(p, 16) - x * C2, 16);
  store<i64>(p, load<i64>(p, 24) - x * C3, 24);
  store<i64>(p, load<i64>(p, 32) - x * C4, 32);
  store<i64>(p, load<i64>(p, 40) - x * C5, 40);
}

/** Floor carries from limb `from` up to limb `to` (exclusive), each limb left in [0, 2^21). */
// @ts-ignore: decorator
@inline function carryRange(s: usize, from: usize, to: usize): void {
  for (let i = from; i < to; i++) {
    const v = limb(s, i);
    setLimb(s, i + 1, limb(s, i + 1) + (v >> 21));
    setLimb(s, i, v & MASK21);
  }
}

/**
 * out (32 bytes) = the canonical residue mod L of Σ s[i] 2^(21 i), where s holds 24 limbs with
 * s[0..22] in [0, 2^21) and 0 ≤ s[23] < 2^30. Each step's bound is in its comment.
 */
function reduceLimbs(out: usize, s: usize): void {
  // Limbs 23..18 fold into 11..6; those receive at most six products below 2^30 · 2^21.
  for (let i: usize = 23; i >= 18; i--) {
    foldDown(s, i - 12, limb(s, i));
    setLimb(s, i, 0);
  }
  carryRange(s, 6, 17); // limb 17 now below 2^34
  // Limbs 17..12 fold into 10..0: at most six products below 2^34 · 2^21 per limb, < 2^58.
  for (let i: usize = 17; i >= 12; i--) {
    foldDown(s, i - 12, limb(s, i));
    setLimb(s, i, 0);
  }
  carryRange(s, 0, 12); // |limb 12| < 2^17: limb 11 was untouched, so only a carry reaches it
  // Two more folds of limb 12: after the first the value is within c of [0, 2^252), so limb 12 is
  // −1, 0 or 1; after the second it is 0 or 1 (then the value is in [2^252, L)) or −1 (then it is in
  // [−c, 0), and adding L = 2^252 + c makes it canonical).
  for (let round = 0; round < 2; round++) {
    const x = limb(s, 12);
    setLimb(s, 12, 0);
    foldDown(s, 0, x);
    carryRange(s, 0, 12);
  }
  if (limb(s, 12) < 0) {
    setLimb(s, 12, 0);
    foldDown(s, 0, -1);
    carryRange(s, 0, 12);
  }
  // Pack 12 limbs of 21 bits (252 bits: 31 bytes and a nibble) and the top bit (limb 12, 0 or 1).
  let acc: u64 = 0;
  let bits: u32 = 0;
  let o = out;
  for (let i: usize = 0; i < 12; i++) {
    acc |= <u64>limb(s, i) << bits;
    bits += 21;
    while (bits >= 8) {
      store<u8>(o++, <u8>acc);
      acc >>= 8;
      bits -= 8;
    }
  }
  store<u8>(o, <u8>(acc | (<u64>limb(s, 12) << 4)));
}

/** 21-bit limb i of the little-endian integer at p (whose byte length covers bits 21 i + 27). */
// @ts-ignore: decorator
@inline function unpackLimb(p: usize, i: usize): i64 {
  const bit = i * 21;
  return <i64>(load<u32>(p + (bit >> 3)) >>> <u32>(bit & 7)) & MASK21;
}

/** out (32 bytes) = the 64-byte little-endian integer at h mod L (RFC 8032 §5.1.7 step 2, k = H mod L). */
export function scReduce64(out: usize, h: usize): void {
  for (let i: usize = 0; i < 23; i++) setLimb(LIMBS, i, unpackLimb(h, i));
  setLimb(LIMBS, 23, <i64>(load<u32>(h, 60) >>> 3)); // bits 483..511
  reduceLimbs(out, LIMBS);
}

/** 13 limbs of a 32-byte scalar below 2^256 into dst (limb 12 holds bits 252..255). */
function unpackScalar(dst: usize, s: usize): void {
  for (let i: usize = 0; i < 12; i++) setLimb(dst, i, unpackLimb(s, i));
  setLimb(dst, 12, <i64>(load<u8>(s, 31) >>> 4));
}

/**
 * acc (24 i64 limbs, unreduced) += z · k, for a 16-byte z (128-bit) and a 32-byte k. Each call adds less
 * than 7 · 2^42 < 2^45 to a limb, so up to 2^17 calls fit before acc must be reduced (scFromAcc).
 */
export function scMulAddZ(acc: usize, z: usize, k: usize): void {
  // z's limbs: 6 × 21 bits from its 16 bytes, then bits 126..127.
  for (let i: usize = 0; i < 5; i++) setLimb(ZLIMBS, i, unpackLimb(z, i)); // bits 0..104, bytes ≤ 13
  setLimb(ZLIMBS, 5, <i64>(load<u32>(z, 12) >>> 9) & MASK21); // bits 105..125
  setLimb(ZLIMBS, 6, <i64>(load<u8>(z, 15) >>> 6)); // bits 126..127
  unpackScalar(KLIMBS, k);
  for (let i: usize = 0; i < 7; i++) {
    const zi = limb(ZLIMBS, i);
    if (zi == 0) continue;
    for (let j: usize = 0; j < 13; j++) {
      const p = acc + ((i + j) << 3);
      store<i64>(p, load<i64>(p) + zi * limb(KLIMBS, j));
    }
  }
}

/** out (32 bytes) = acc mod L, for an accumulator built by scMulAddZ (all limbs non-negative). */
export function scFromAcc(out: usize, acc: usize): void {
  for (let i: usize = 0; i < 24; i++) setLimb(LIMBS, i, limb(acc, i));
  carryRange(LIMBS, 0, 23);
  reduceLimbs(out, LIMBS);
}

/** The 24-limb accumulator's byte length. */
// @ts-ignore: decorator
@inline export const SC_ACC_BYTES: usize = 24 * 8;

/**
 * Width-w non-adjacent form of the scalar at s (< 2^255): digits (i8) at out[0 .. 264), each zero or
 * odd with |digit| < 2^(w−1), any two non-zero digits at least w positions apart, Σ digit_i 2^i = s.
 * Returns one more than the index of the highest non-zero digit (0 for s = 0). 2 ≤ w ≤ 8.
 */
export function scWnaf(out: usize, s: usize, w: i32): i32 {
  memory.fill(out, 0, 264);
  memory.copy(WORDS, s, 32);
  store<u64>(WORDS, 0, 32);
  store<u64>(WORDS, 0, 40);
  const width: u64 = <u64>1 << <u64>w;
  const mask = width - 1;
  const half = width >> 1;
  let carry: u64 = 0;
  let pos: i32 = 0;
  let top: i32 = 0;
  // Positions run past 255 so that a carry out of the top window still lands in a digit.
  while (pos < 264) {
    const idx = <usize>(pos >> 6);
    const bit = <u64>(pos & 63);
    let buf = load<u64>(WORDS + (idx << 3)) >> bit;
    if (bit + <u64>w > 64) buf |= load<u64>(WORDS + (idx << 3) + 8) << (64 - bit);
    const window = carry + (buf & mask);
    if ((window & 1) == 0) {
      pos++;
      continue;
    }
    if (window < half) {
      carry = 0;
      store<i8>(out + <usize>pos, <i8>window);
    } else {
      carry = 1;
      store<i8>(out + <usize>pos, <i8>(<i64>window - <i64>width));
    }
    top = pos + 1;
    pos += w;
  }
  return top;
}

/**
 * Signed radix-2^c digits of the scalar at s (< 2^255): count i16 digits at out, each in
 * [−2^(c−1), 2^(c−1)), Σ digit_i 2^(c i) = s. count · c must exceed 255 − c + 1 so that the last carry
 * lands; 1 ≤ c ≤ 15.
 */
export function scSignedDigits(out: usize, s: usize, c: i32, count: i32): void {
  memory.copy(WORDS, s, 32);
  store<u64>(WORDS, 0, 32);
  store<u64>(WORDS, 0, 40);
  const width: i64 = <i64>1 << <i64>c;
  const mask = <u64>(width - 1);
  const half = width >> 1;
  let carry: i64 = 0;
  for (let k: i32 = 0; k < count; k++) {
    const pos = k * c;
    const idx = <usize>(pos >> 6);
    const bit = <u64>(pos & 63);
    let buf = idx < 6 ? load<u64>(WORDS + (idx << 3)) >> bit : 0;
    if (idx < 5 && bit + <u64>c > 64) buf |= load<u64>(WORDS + (idx << 3) + 8) << (64 - bit);
    let digit = <i64>(buf & mask) + carry;
    if (digit >= half) {
      digit -= width;
      carry = 1;
    } else {
      carry = 0;
    }
    store<i16>(out + (<usize>k << 1), <i16>digit);
  }
}

// ---------------------------------------------------------------------------------------------------
// Half extended Euclid: short multipliers for the verification equation.

// @ts-ignore: decorator
@inline function bitLength4(w0: u64, w1: u64, w2: u64, w3: u64): i32 {
  if (w3 != 0) return 256 - <i32>clz(w3);
  if (w2 != 0) return 192 - <i32>clz(w2);
  if (w1 != 0) return 128 - <i32>clz(w1);
  return 64 - <i32>clz(w0);
}

/**
 * For k < L, finds c1 = r and c0 = t with c0 · k ≡ c1 (mod L), 0 ≤ c1 < 2^127, 0 < |c0| ≤ 2^126: the
 * extended Euclidean algorithm on (L, k), stopped at the first remainder below 2^127 (each remainder r_i
 * satisfies r_i ≡ t_i k, and |t_i| ≤ L / r_(i−1) ≤ 2^253 / 2^127). Writes c1 and |c0| as 16-byte
 * little-endian integers; returns 1 when c0 is negative, else 0. c0 is never 0 (it is the coefficient of
 * a remainder of the Euclidean sequence of a prime and a non-multiple of it, or 1 when k < 2^127). The
 * outputs are 32-byte buffers whose upper 16 bytes are zeroed, ready for scWnaf.
 *
 * Remainders are four u64 words; each quotient step is binary long division by shift-and-subtract on the
 * remainders and the t's together, so no multiplication is needed. |t| · 2^shift stays below 2^129, so
 * the t's fit four words in two's complement.
 */
export function scHalfGcd(c1Out: usize, c0Out: usize, k: usize): u32 {
  // r0 = L, r1 = k; t0 = 0, t1 = 1.
  let a0: u64 = L0, a1: u64 = L1, a2: u64 = L2, a3: u64 = L3;
  let b0 = load<u64>(k, 0), b1 = load<u64>(k, 8), b2 = load<u64>(k, 16), b3 = load<u64>(k, 24);
  let p0: u64 = 0, p1: u64 = 0, p2: u64 = 0, p3: u64 = 0;
  let q0: u64 = 1, q1: u64 = 0, q2: u64 = 0, q3: u64 = 0;
  let lenB = bitLength4(b0, b1, b2, b3);
  while (lenB > 127) {
    const d = bitLength4(a0, a1, a2, a3) - lenB;
    // s = r1 << d, u = t1 << d (d < 256: r1 ≥ 2^127 and r0 < 2^253).
    let s0 = b0, s1 = b1, s2 = b2, s3 = b3;
    let u0 = q0, u1 = q1, u2 = q2, u3 = q3;
    let sh = d;
    while (sh >= 64) {
      s3 = s2; s2 = s1; s1 = s0; s0 = 0;
      u3 = u2; u2 = u1; u1 = u0; u0 = 0;
      sh -= 64;
    }
    if (sh > 0) {
      const n = <u64>sh;
      const m = <u64>(64 - sh);
      s3 = (s3 << n) | (s2 >> m); s2 = (s2 << n) | (s1 >> m); s1 = (s1 << n) | (s0 >> m); s0 <<= n;
      u3 = (u3 << n) | (u2 >> m); u2 = (u2 << n) | (u1 >> m); u1 = (u1 << n) | (u0 >> m); u0 <<= n;
    }
    for (let i = d; i >= 0; i--) {
      // r0 ≥ s?
      const ge = a3 != s3 ? a3 > s3 : a2 != s2 ? a2 > s2 : a1 != s1 ? a1 > s1 : a0 >= s0;
      if (ge) {
        // r0 −= s, t0 −= u (borrows by comparison).
        let borrow: u64 = 0;
        let x = a0 - s0; let bw: u64 = a0 < s0 ? 1 : 0; a0 = x;
        x = a1 - s1 - bw; borrow = (a1 < s1 || (a1 == s1 && bw != 0)) ? 1 : 0; a1 = x; bw = borrow;
        x = a2 - s2 - bw; borrow = (a2 < s2 || (a2 == s2 && bw != 0)) ? 1 : 0; a2 = x; bw = borrow;
        a3 = a3 - s3 - bw;
        x = p0 - u0; bw = p0 < u0 ? 1 : 0; p0 = x;
        x = p1 - u1 - bw; borrow = (p1 < u1 || (p1 == u1 && bw != 0)) ? 1 : 0; p1 = x; bw = borrow;
        x = p2 - u2 - bw; borrow = (p2 < u2 || (p2 == u2 && bw != 0)) ? 1 : 0; p2 = x; bw = borrow;
        p3 = p3 - u3 - bw;
      }
      // s >>= 1 (logical), u >>= 1 (arithmetic: u is an exact multiple of 2 until i reaches 0).
      s0 = (s0 >> 1) | (s1 << 63); s1 = (s1 >> 1) | (s2 << 63); s2 = (s2 >> 1) | (s3 << 63); s3 >>= 1;
      u0 = (u0 >> 1) | (u1 << 63); u1 = (u1 >> 1) | (u2 << 63); u2 = (u2 >> 1) | (u3 << 63);
      u3 = <u64>(<i64>u3 >> 1);
    }
    // (r0, r1) = (r1, r0 mod r1), (t0, t1) = (t1, t0 − q t1).
    let tmp = a0; a0 = b0; b0 = tmp;
    tmp = a1; a1 = b1; b1 = tmp;
    tmp = a2; a2 = b2; b2 = tmp;
    tmp = a3; a3 = b3; b3 = tmp;
    tmp = p0; p0 = q0; q0 = tmp;
    tmp = p1; p1 = q1; q1 = tmp;
    tmp = p2; p2 = q2; q2 = tmp;
    tmp = p3; p3 = q3; q3 = tmp;
    lenB = bitLength4(b0, b1, b2, b3);
  }
  memory.fill(c1Out, 0, 32);
  memory.fill(c0Out, 0, 32);
  store<u64>(c1Out, b0, 0);
  store<u64>(c1Out, b1, 8);
  const negative = <i64>q3 < 0;
  if (negative) {
    // |t1| = −t1 (two's complement over the two low words; |t1| < 2^127).
    q0 = ~q0 + 1;
    q1 = ~q1 + (q0 == 0 ? 1 : 0);
  }
  store<u64>(c0Out, q0, 0);
  store<u64>(c0Out, q1, 8);
  return negative ? 1 : 0;
}
