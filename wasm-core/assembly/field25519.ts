// SPDX-License-Identifier: Apache-2.0
// GF(p), p = 2^255 − 19 (RFC 8032 §5.1, RFC 7748 §4.1): the field of edwards25519, for Ed25519
// verification only (public data: nothing here is constant-time, DESIGN §2).
//
// Why not the generic field.ts: Ed25519 verification is almost nothing but multiplications in this one
// field, and its shape allows a representation the generic Montgomery engine cannot use. An element is
// ten signed limbs in radix 2^25.5 (limb i has weight 2^ceil(25.5 i): 26 bits at even i, 25 at odd i),
// so every partial product fits an i64 with room to add ten of them, and 2^255 ≡ 19 folds the upper half
// of a product back with a multiplication by a small constant instead of a Montgomery reduction.
// Additions and subtractions need no carries at all.
//
// Storage: ten i32 at byte offsets 0, 4, …, 36 (FE_BYTES = 40); pointers are static scratch or arena
// offsets owned by the caller. Outputs may alias inputs (for the pair kernels, see their notes).
//
// The pair kernels (feMulPair, feSqPair, feSqSq2Pair, feSqrtRatioPair) compute two independent results
// at once; in the SIMD build they run on the vector unit (measured 25–35% faster than two scalar calls,
// see below), which is why the point formulas and the exponentiations are written in pairs.
//
// Bounds (checked by the property tests in test/wasm-core/ed25519-field.test.ts, derived in the comments):
// say an element is "B-bounded" when |limb i| ≤ B · 2^26 (even i) or B · 2^25 (odd i).
//   - feMul/feSq/feSq2/feCarry outputs are 1.001-bounded and non-negative ("reduced").
//   - feAdd of two reduced elements is 2-bounded; feSub of two reduced elements is 1-bounded (both are
//     non-negative, so each limb difference stays inside (−2^26, 2^26)).
//   - feMul(f, g) needs Bf · Bg ≤ 16.4 (the largest column sum is 498 · 2^50 · Bf · Bg < 2^63);
//     feSq needs B ≤ 4; feSq2 needs B ≤ 2.8. Callers in ed25519-point.ts keep to "at most the sum or
//     difference of two reduced elements" for multiplication inputs, i.e. B ≤ 3.

// @ts-ignore: decorator
@inline export const FE_BYTES: usize = 40;

const MASK26: i64 = 0x3ffffff; // 2^26 − 1
const MASK25: i64 = 0x1ffffff; // 2^25 − 1

// Scratch for the exponentiations (inversion, square root): five elements, never visible outside.
const T0: usize = memory.data(40, 16);
const T1: usize = memory.data(40, 16);
const T2: usize = memory.data(40, 16);
const T3: usize = memory.data(40, 16);
const T4: usize = memory.data(40, 16);
const BYTES: usize = memory.data(32, 16);

// @ts-ignore: decorator
@inline function ld(p: usize, i: usize): i64 {
  return <i64>load<i32>(p + (i << 2));
}

/**
 * The carry chain after a product: each column hi (|hi| < 2^63) is split at its limb width with a
 * floor (arithmetic) shift and the excess moved one limb up; the excess of limb 9 has weight 2^255 and
 * re-enters limb 0 times 19 (2^255 ≡ 19 mod p). Two interleaved chains (from limbs 0 and 4) shorten the
 * dependency path. Result: every limb in [0, 2^26) or [0, 2^25), except that limbs 1 and 5 may exceed
 * that by the last carry (< 2^16): reduced.
 */
// @ts-ignore: decorator
@inline function carryStore(
  h: usize,
  h0: i64, h1: i64, h2: i64, h3: i64, h4: i64, h5: i64, h6: i64, h7: i64, h8: i64, h9: i64,
): void {
  let c: i64;
  c = h0 >> 26; h1 += c; h0 &= MASK26;
  c = h4 >> 26; h5 += c; h4 &= MASK26;
  c = h1 >> 25; h2 += c; h1 &= MASK25;
  c = h5 >> 25; h6 += c; h5 &= MASK25;
  c = h2 >> 26; h3 += c; h2 &= MASK26;
  c = h6 >> 26; h7 += c; h6 &= MASK26;
  c = h3 >> 25; h4 += c; h3 &= MASK25;
  c = h7 >> 25; h8 += c; h7 &= MASK25;
  c = h4 >> 26; h5 += c; h4 &= MASK26;
  c = h8 >> 26; h9 += c; h8 &= MASK26;
  c = h9 >> 25; h0 += c * 19; h9 &= MASK25;
  c = h0 >> 26; h1 += c; h0 &= MASK26;
  store<i32>(h, <i32>h0, 0);
  store<i32>(h, <i32>h1, 4);
  store<i32>(h, <i32>h2, 8);
  store<i32>(h, <i32>h3, 12);
  store<i32>(h, <i32>h4, 16);
  store<i32>(h, <i32>h5, 20);
  store<i32>(h, <i32>h6, 24);
  store<i32>(h, <i32>h7, 28);
  store<i32>(h, <i32>h8, 32);
  store<i32>(h, <i32>h9, 36);
}

/**
 * h = f · g. Column k collects f_i g_j with i + j = k, and 19 f_i g_j with i + j = k + 10 (weight 2^255
 * folded); a product of two odd limbs counts twice, because 2^ceil(25.5 i) · 2^ceil(25.5 j) is
 * 2 · 2^ceil(25.5 (i + j)) when i and j are both odd. The factors 2 and 19 are applied to one operand
 * beforehand (f_odd · 2, g · 19) so that each term is one i64 multiplication.
 */
export function feMul(h: usize, f: usize, g: usize): void {
  const f0 = ld(f, 0), f1 = ld(f, 1), f2 = ld(f, 2), f3 = ld(f, 3), f4 = ld(f, 4);
  const f5 = ld(f, 5), f6 = ld(f, 6), f7 = ld(f, 7), f8 = ld(f, 8), f9 = ld(f, 9);
  const g0 = ld(g, 0), g1 = ld(g, 1), g2 = ld(g, 2), g3 = ld(g, 3), g4 = ld(g, 4);
  const g5 = ld(g, 5), g6 = ld(g, 6), g7 = ld(g, 7), g8 = ld(g, 8), g9 = ld(g, 9);
  const g1_19 = g1 * 19, g2_19 = g2 * 19, g3_19 = g3 * 19, g4_19 = g4 * 19, g5_19 = g5 * 19;
  const g6_19 = g6 * 19, g7_19 = g7 * 19, g8_19 = g8 * 19, g9_19 = g9 * 19;
  const f1_2 = f1 << 1, f3_2 = f3 << 1, f5_2 = f5 << 1, f7_2 = f7 << 1, f9_2 = f9 << 1;
  const h0 = f0 * g0 + f1_2 * g9_19 + f2 * g8_19 + f3_2 * g7_19 + f4 * g6_19 + f5_2 * g5_19 + f6 * g4_19 + f7_2 * g3_19 + f8 * g2_19 + f9_2 * g1_19;
  const h1 = f0 * g1 + f1 * g0 + f2 * g9_19 + f3 * g8_19 + f4 * g7_19 + f5 * g6_19 + f6 * g5_19 + f7 * g4_19 + f8 * g3_19 + f9 * g2_19;
  const h2 = f0 * g2 + f1_2 * g1 + f2 * g0 + f3_2 * g9_19 + f4 * g8_19 + f5_2 * g7_19 + f6 * g6_19 + f7_2 * g5_19 + f8 * g4_19 + f9_2 * g3_19;
  const h3 = f0 * g3 + f1 * g2 + f2 * g1 + f3 * g0 + f4 * g9_19 + f5 * g8_19 + f6 * g7_19 + f7 * g6_19 + f8 * g5_19 + f9 * g4_19;
  const h4 = f0 * g4 + f1_2 * g3 + f2 * g2 + f3_2 * g1 + f4 * g0 + f5_2 * g9_19 + f6 * g8_19 + f7_2 * g7_19 + f8 * g6_19 + f9_2 * g5_19;
  const h5 = f0 * g5 + f1 * g4 + f2 * g3 + f3 * g2 + f4 * g1 + f5 * g0 + f6 * g9_19 + f7 * g8_19 + f8 * g7_19 + f9 * g6_19;
  const h6 = f0 * g6 + f1_2 * g5 + f2 * g4 + f3_2 * g3 + f4 * g2 + f5_2 * g1 + f6 * g0 + f7_2 * g9_19 + f8 * g8_19 + f9_2 * g7_19;
  const h7 = f0 * g7 + f1 * g6 + f2 * g5 + f3 * g4 + f4 * g3 + f5 * g2 + f6 * g1 + f7 * g0 + f8 * g9_19 + f9 * g8_19;
  const h8 = f0 * g8 + f1_2 * g7 + f2 * g6 + f3_2 * g5 + f4 * g4 + f5_2 * g3 + f6 * g2 + f7_2 * g1 + f8 * g0 + f9_2 * g9_19;
  const h9 = f0 * g9 + f1 * g8 + f2 * g7 + f3 * g6 + f4 * g5 + f5 * g4 + f6 * g3 + f7 * g2 + f8 * g1 + f9 * g0;
  carryStore(h, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9);
}

/**
 * The columns of f · f: each unordered pair i < j once with a factor 2 (55 products instead of 100),
 * with the same odd·odd doubling and 19 folding as feMul. `shift` is 0 for f² and 1 for 2 f² (doubling
 * before the carries keeps 2 f² reduced, which the point doubling needs).
 */
// @ts-ignore: decorator
@inline function sqColumns(h: usize, f: usize, shift: i64): void {
  const f0 = ld(f, 0), f1 = ld(f, 1), f2 = ld(f, 2), f3 = ld(f, 3), f4 = ld(f, 4);
  const f5 = ld(f, 5), f6 = ld(f, 6), f7 = ld(f, 7), f8 = ld(f, 8), f9 = ld(f, 9);
  const f0_2 = f0 << 1, f1_2 = f1 << 1, f2_2 = f2 << 1, f3_2 = f3 << 1, f4_2 = f4 << 1;
  const f5_2 = f5 << 1, f6_2 = f6 << 1, f7_2 = f7 << 1, f8_2 = f8 << 1;
  const f6_19 = f6 * 19, f7_19 = f7 * 19, f8_19 = f8 * 19, f9_19 = f9 * 19;
  const f5_38 = f5 * 38, f7_38 = f7 * 38, f9_38 = f9 * 38;
  const h0 = f0 * f0 + f1_2 * f9_38 + f2_2 * f8_19 + f3_2 * f7_38 + f4_2 * f6_19 + f5 * f5_38;
  const h1 = f0_2 * f1 + f2_2 * f9_19 + f3_2 * f8_19 + f4_2 * f7_19 + f5_2 * f6_19;
  const h2 = f0_2 * f2 + f1_2 * f1 + f3_2 * f9_38 + f4_2 * f8_19 + f5_2 * f7_38 + f6 * f6_19;
  const h3 = f0_2 * f3 + f1_2 * f2 + f4_2 * f9_19 + f5_2 * f8_19 + f6_2 * f7_19;
  const h4 = f0_2 * f4 + f1_2 * f3_2 + f2 * f2 + f5_2 * f9_38 + f6_2 * f8_19 + f7 * f7_38;
  const h5 = f0_2 * f5 + f1_2 * f4 + f2_2 * f3 + f6_2 * f9_19 + f7_2 * f8_19;
  const h6 = f0_2 * f6 + f1_2 * f5_2 + f2_2 * f4 + f3_2 * f3 + f7_2 * f9_38 + f8 * f8_19;
  const h7 = f0_2 * f7 + f1_2 * f6 + f2_2 * f5 + f3_2 * f4 + f8_2 * f9_19;
  const h8 = f0_2 * f8 + f1_2 * f7_2 + f2_2 * f6 + f3_2 * f5_2 + f4 * f4 + f9 * f9_38;
  const h9 = f0_2 * f9 + f1_2 * f8 + f2_2 * f7 + f3_2 * f6 + f4_2 * f5;
  carryStore(
    h,
    h0 << shift, h1 << shift, h2 << shift, h3 << shift, h4 << shift,
    h5 << shift, h6 << shift, h7 << shift, h8 << shift, h9 << shift,
  );
}

/** h = f². */
export function feSq(h: usize, f: usize): void {
  sqColumns(h, f, 0);
}

/** h = 2 f², reduced. */
export function feSq2(h: usize, f: usize): void {
  sqColumns(h, f, 1);
}

// ---------------------------------------------------------------------------------------------------
// Pairs: two independent products at once. The SIMD build computes lane a and lane b of every column
// with i64x2.extmul_low_i32x4_s (two 32 × 32 → 64-bit products per instruction, on the vector unit,
// beside the scalar multiplier that feMul saturates); the scalar build makes two scalar calls. Measured
// on the bench machine (V8 11.3, x64): a pair of products 78 → 51 ns, a pair of squares 46 → 32 ns.
// The point formulas (ed25519-point.ts) pair their independent products. Same bounds as feMul/feSq:
// the 19-fold is applied to the summed upper columns (19 w = 16 w + 2 w + w), which leaves every column
// sum unchanged; all operands fit i32 (at most 2^29 for the doubled limbs of a 4-bounded element).

/** (limb of a, limb of b) in i32 lanes 0 and 1 at byte offset `offset` of the two elements. */
// @ts-ignore: decorator
@inline function pairLimb(a: usize, b: usize, offset: usize): v128 {
  return v128.load32_lane(b + offset, v128.load32_zero(a + offset), 1);
}

// @ts-ignore: decorator
@inline function times19x2(x: v128): v128 {
  return i64x2.add(i64x2.add(i64x2.shl(x, 4), i64x2.shl(x, 1)), x);
}

/** carryStore for the two i64 lanes of each column; lane 0 goes to ha, lane 1 to hb. */
// @ts-ignore: decorator
@inline function carryStorePair(
  ha: usize, hb: usize,
  h0: v128, h1: v128, h2: v128, h3: v128, h4: v128, h5: v128, h6: v128, h7: v128, h8: v128, h9: v128,
): void {
  const m26 = i64x2.splat(MASK26);
  const m25 = i64x2.splat(MASK25);
  let c: v128;
  c = i64x2.shr_s(h0, 26); h1 = i64x2.add(h1, c); h0 = v128.and(h0, m26);
  c = i64x2.shr_s(h4, 26); h5 = i64x2.add(h5, c); h4 = v128.and(h4, m26);
  c = i64x2.shr_s(h1, 25); h2 = i64x2.add(h2, c); h1 = v128.and(h1, m25);
  c = i64x2.shr_s(h5, 25); h6 = i64x2.add(h6, c); h5 = v128.and(h5, m25);
  c = i64x2.shr_s(h2, 26); h3 = i64x2.add(h3, c); h2 = v128.and(h2, m26);
  c = i64x2.shr_s(h6, 26); h7 = i64x2.add(h7, c); h6 = v128.and(h6, m26);
  c = i64x2.shr_s(h3, 25); h4 = i64x2.add(h4, c); h3 = v128.and(h3, m25);
  c = i64x2.shr_s(h7, 25); h8 = i64x2.add(h8, c); h7 = v128.and(h7, m25);
  c = i64x2.shr_s(h4, 26); h5 = i64x2.add(h5, c); h4 = v128.and(h4, m26);
  c = i64x2.shr_s(h8, 26); h9 = i64x2.add(h9, c); h8 = v128.and(h8, m26);
  c = i64x2.shr_s(h9, 25); h0 = i64x2.add(h0, times19x2(c)); h9 = v128.and(h9, m25);
  c = i64x2.shr_s(h0, 26); h1 = i64x2.add(h1, c); h0 = v128.and(h0, m26);
  // The low 32 bits of i64 lane 0 and lane 1 are i32 lanes 0 and 2.
  v128.store32_lane(ha, h0, 0, 0); v128.store32_lane(hb, h0, 2, 0);
  v128.store32_lane(ha, h1, 0, 4); v128.store32_lane(hb, h1, 2, 4);
  v128.store32_lane(ha, h2, 0, 8); v128.store32_lane(hb, h2, 2, 8);
  v128.store32_lane(ha, h3, 0, 12); v128.store32_lane(hb, h3, 2, 12);
  v128.store32_lane(ha, h4, 0, 16); v128.store32_lane(hb, h4, 2, 16);
  v128.store32_lane(ha, h5, 0, 20); v128.store32_lane(hb, h5, 2, 20);
  v128.store32_lane(ha, h6, 0, 24); v128.store32_lane(hb, h6, 2, 24);
  v128.store32_lane(ha, h7, 0, 28); v128.store32_lane(hb, h7, 2, 28);
  v128.store32_lane(ha, h8, 0, 32); v128.store32_lane(hb, h8, 2, 32);
  v128.store32_lane(ha, h9, 0, 36); v128.store32_lane(hb, h9, 2, 36);
}

function feMulPairSimd(ha: usize, hb: usize, fa: usize, ga: usize, fb: usize, gb: usize): void {
  const f0 = pairLimb(fa, fb, 0);
  const f1 = pairLimb(fa, fb, 4);
  const f2 = pairLimb(fa, fb, 8);
  const f3 = pairLimb(fa, fb, 12);
  const f4 = pairLimb(fa, fb, 16);
  const f5 = pairLimb(fa, fb, 20);
  const f6 = pairLimb(fa, fb, 24);
  const f7 = pairLimb(fa, fb, 28);
  const f8 = pairLimb(fa, fb, 32);
  const f9 = pairLimb(fa, fb, 36);
  const g0 = pairLimb(ga, gb, 0);
  const g1 = pairLimb(ga, gb, 4);
  const g2 = pairLimb(ga, gb, 8);
  const g3 = pairLimb(ga, gb, 12);
  const g4 = pairLimb(ga, gb, 16);
  const g5 = pairLimb(ga, gb, 20);
  const g6 = pairLimb(ga, gb, 24);
  const g7 = pairLimb(ga, gb, 28);
  const g8 = pairLimb(ga, gb, 32);
  const g9 = pairLimb(ga, gb, 36);
  const f1_2 = i32x4.shl(f1, 1), f3_2 = i32x4.shl(f3, 1), f5_2 = i32x4.shl(f5, 1);
  const f7_2 = i32x4.shl(f7, 1), f9_2 = i32x4.shl(f9, 1);
  const w0 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f1_2, g9), i64x2.extmul_low_i32x4_s(f2, g8)), i64x2.extmul_low_i32x4_s(f3_2, g7)), i64x2.extmul_low_i32x4_s(f4, g6)), i64x2.extmul_low_i32x4_s(f5_2, g5)), i64x2.extmul_low_i32x4_s(f6, g4)), i64x2.extmul_low_i32x4_s(f7_2, g3)), i64x2.extmul_low_i32x4_s(f8, g2)), i64x2.extmul_low_i32x4_s(f9_2, g1));
  const h0 = i64x2.add(i64x2.extmul_low_i32x4_s(f0, g0), times19x2(w0));
  const w1 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f2, g9), i64x2.extmul_low_i32x4_s(f3, g8)), i64x2.extmul_low_i32x4_s(f4, g7)), i64x2.extmul_low_i32x4_s(f5, g6)), i64x2.extmul_low_i32x4_s(f6, g5)), i64x2.extmul_low_i32x4_s(f7, g4)), i64x2.extmul_low_i32x4_s(f8, g3)), i64x2.extmul_low_i32x4_s(f9, g2));
  const h1 = i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f0, g1), i64x2.extmul_low_i32x4_s(f1, g0)), times19x2(w1));
  const w2 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f3_2, g9), i64x2.extmul_low_i32x4_s(f4, g8)), i64x2.extmul_low_i32x4_s(f5_2, g7)), i64x2.extmul_low_i32x4_s(f6, g6)), i64x2.extmul_low_i32x4_s(f7_2, g5)), i64x2.extmul_low_i32x4_s(f8, g4)), i64x2.extmul_low_i32x4_s(f9_2, g3));
  const h2 = i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f0, g2), i64x2.extmul_low_i32x4_s(f1_2, g1)), i64x2.extmul_low_i32x4_s(f2, g0)), times19x2(w2));
  const w3 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f4, g9), i64x2.extmul_low_i32x4_s(f5, g8)), i64x2.extmul_low_i32x4_s(f6, g7)), i64x2.extmul_low_i32x4_s(f7, g6)), i64x2.extmul_low_i32x4_s(f8, g5)), i64x2.extmul_low_i32x4_s(f9, g4));
  const h3 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f0, g3), i64x2.extmul_low_i32x4_s(f1, g2)), i64x2.extmul_low_i32x4_s(f2, g1)), i64x2.extmul_low_i32x4_s(f3, g0)), times19x2(w3));
  const w4 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f5_2, g9), i64x2.extmul_low_i32x4_s(f6, g8)), i64x2.extmul_low_i32x4_s(f7_2, g7)), i64x2.extmul_low_i32x4_s(f8, g6)), i64x2.extmul_low_i32x4_s(f9_2, g5));
  const h4 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f0, g4), i64x2.extmul_low_i32x4_s(f1_2, g3)), i64x2.extmul_low_i32x4_s(f2, g2)), i64x2.extmul_low_i32x4_s(f3_2, g1)), i64x2.extmul_low_i32x4_s(f4, g0)), times19x2(w4));
  const w5 = i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f6, g9), i64x2.extmul_low_i32x4_s(f7, g8)), i64x2.extmul_low_i32x4_s(f8, g7)), i64x2.extmul_low_i32x4_s(f9, g6));
  const h5 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f0, g5), i64x2.extmul_low_i32x4_s(f1, g4)), i64x2.extmul_low_i32x4_s(f2, g3)), i64x2.extmul_low_i32x4_s(f3, g2)), i64x2.extmul_low_i32x4_s(f4, g1)), i64x2.extmul_low_i32x4_s(f5, g0)), times19x2(w5));
  const w6 = i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f7_2, g9), i64x2.extmul_low_i32x4_s(f8, g8)), i64x2.extmul_low_i32x4_s(f9_2, g7));
  const h6 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f0, g6), i64x2.extmul_low_i32x4_s(f1_2, g5)), i64x2.extmul_low_i32x4_s(f2, g4)), i64x2.extmul_low_i32x4_s(f3_2, g3)), i64x2.extmul_low_i32x4_s(f4, g2)), i64x2.extmul_low_i32x4_s(f5_2, g1)), i64x2.extmul_low_i32x4_s(f6, g0)), times19x2(w6));
  const w7 = i64x2.add(i64x2.extmul_low_i32x4_s(f8, g9), i64x2.extmul_low_i32x4_s(f9, g8));
  const h7 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f0, g7), i64x2.extmul_low_i32x4_s(f1, g6)), i64x2.extmul_low_i32x4_s(f2, g5)), i64x2.extmul_low_i32x4_s(f3, g4)), i64x2.extmul_low_i32x4_s(f4, g3)), i64x2.extmul_low_i32x4_s(f5, g2)), i64x2.extmul_low_i32x4_s(f6, g1)), i64x2.extmul_low_i32x4_s(f7, g0)), times19x2(w7));
  const w8 = i64x2.extmul_low_i32x4_s(f9_2, g9);
  const h8 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f0, g8), i64x2.extmul_low_i32x4_s(f1_2, g7)), i64x2.extmul_low_i32x4_s(f2, g6)), i64x2.extmul_low_i32x4_s(f3_2, g5)), i64x2.extmul_low_i32x4_s(f4, g4)), i64x2.extmul_low_i32x4_s(f5_2, g3)), i64x2.extmul_low_i32x4_s(f6, g2)), i64x2.extmul_low_i32x4_s(f7_2, g1)), i64x2.extmul_low_i32x4_s(f8, g0)), times19x2(w8));
  const h9 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f0, g9), i64x2.extmul_low_i32x4_s(f1, g8)), i64x2.extmul_low_i32x4_s(f2, g7)), i64x2.extmul_low_i32x4_s(f3, g6)), i64x2.extmul_low_i32x4_s(f4, g5)), i64x2.extmul_low_i32x4_s(f5, g4)), i64x2.extmul_low_i32x4_s(f6, g3)), i64x2.extmul_low_i32x4_s(f7, g2)), i64x2.extmul_low_i32x4_s(f8, g1)), i64x2.extmul_low_i32x4_s(f9, g0));
  carryStorePair(ha, hb, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9);
}

/** Lane a: fa^2; lane b: fb^2, or 2 fb^2 when doubleB (the doubling's 2 Z^2). */
// @ts-ignore: decorator
@inline function sqPairSimd(ha: usize, hb: usize, fa: usize, fb: usize, doubleB: bool): void {
  const f0 = pairLimb(fa, fb, 0);
  const f1 = pairLimb(fa, fb, 4);
  const f2 = pairLimb(fa, fb, 8);
  const f3 = pairLimb(fa, fb, 12);
  const f4 = pairLimb(fa, fb, 16);
  const f5 = pairLimb(fa, fb, 20);
  const f6 = pairLimb(fa, fb, 24);
  const f7 = pairLimb(fa, fb, 28);
  const f8 = pairLimb(fa, fb, 32);
  const f9 = pairLimb(fa, fb, 36);
  const f0_2 = i32x4.shl(f0, 1), f1_2 = i32x4.shl(f1, 1), f2_2 = i32x4.shl(f2, 1), f3_2 = i32x4.shl(f3, 1);
  const f4_2 = i32x4.shl(f4, 1), f5_2 = i32x4.shl(f5, 1), f6_2 = i32x4.shl(f6, 1), f7_2 = i32x4.shl(f7, 1);
  const f8_2 = i32x4.shl(f8, 1), f9_2 = i32x4.shl(f9, 1);
  const w0 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f1_2, f9_2), i64x2.extmul_low_i32x4_s(f2_2, f8)), i64x2.extmul_low_i32x4_s(f3_2, f7_2)), i64x2.extmul_low_i32x4_s(f4_2, f6)), i64x2.extmul_low_i32x4_s(f5_2, f5));
  const h0 = i64x2.add(i64x2.extmul_low_i32x4_s(f0, f0), times19x2(w0));
  const w1 = i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f2_2, f9), i64x2.extmul_low_i32x4_s(f3_2, f8)), i64x2.extmul_low_i32x4_s(f4_2, f7)), i64x2.extmul_low_i32x4_s(f5_2, f6));
  const h1 = i64x2.add(i64x2.extmul_low_i32x4_s(f0_2, f1), times19x2(w1));
  const w2 = i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f3_2, f9_2), i64x2.extmul_low_i32x4_s(f4_2, f8)), i64x2.extmul_low_i32x4_s(f5_2, f7_2)), i64x2.extmul_low_i32x4_s(f6, f6));
  const h2 = i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f0_2, f2), i64x2.extmul_low_i32x4_s(f1_2, f1)), times19x2(w2));
  const w3 = i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f4_2, f9), i64x2.extmul_low_i32x4_s(f5_2, f8)), i64x2.extmul_low_i32x4_s(f6_2, f7));
  const h3 = i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f0_2, f3), i64x2.extmul_low_i32x4_s(f1_2, f2)), times19x2(w3));
  const w4 = i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f5_2, f9_2), i64x2.extmul_low_i32x4_s(f6_2, f8)), i64x2.extmul_low_i32x4_s(f7_2, f7));
  const h4 = i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f0_2, f4), i64x2.extmul_low_i32x4_s(f1_2, f3_2)), i64x2.extmul_low_i32x4_s(f2, f2)), times19x2(w4));
  const w5 = i64x2.add(i64x2.extmul_low_i32x4_s(f6_2, f9), i64x2.extmul_low_i32x4_s(f7_2, f8));
  const h5 = i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f0_2, f5), i64x2.extmul_low_i32x4_s(f1_2, f4)), i64x2.extmul_low_i32x4_s(f2_2, f3)), times19x2(w5));
  const w6 = i64x2.add(i64x2.extmul_low_i32x4_s(f7_2, f9_2), i64x2.extmul_low_i32x4_s(f8, f8));
  const h6 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f0_2, f6), i64x2.extmul_low_i32x4_s(f1_2, f5_2)), i64x2.extmul_low_i32x4_s(f2_2, f4)), i64x2.extmul_low_i32x4_s(f3_2, f3)), times19x2(w6));
  const w7 = i64x2.extmul_low_i32x4_s(f8_2, f9);
  const h7 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f0_2, f7), i64x2.extmul_low_i32x4_s(f1_2, f6)), i64x2.extmul_low_i32x4_s(f2_2, f5)), i64x2.extmul_low_i32x4_s(f3_2, f4)), times19x2(w7));
  const w8 = i64x2.extmul_low_i32x4_s(f9_2, f9);
  const h8 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f0_2, f8), i64x2.extmul_low_i32x4_s(f1_2, f7_2)), i64x2.extmul_low_i32x4_s(f2_2, f6)), i64x2.extmul_low_i32x4_s(f3_2, f5_2)), i64x2.extmul_low_i32x4_s(f4, f4)), times19x2(w8));
  const h9 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(i64x2.extmul_low_i32x4_s(f0_2, f9), i64x2.extmul_low_i32x4_s(f1_2, f8)), i64x2.extmul_low_i32x4_s(f2_2, f7)), i64x2.extmul_low_i32x4_s(f3_2, f6)), i64x2.extmul_low_i32x4_s(f4_2, f5));
  if (doubleB) {
    // (lane a, lane b) + (0, lane b): lane b doubled before the carries, as in feSq2.
    const b = i64x2(0, -1);
    carryStorePair(
      ha, hb,
      i64x2.add(h0, v128.and(h0, b)), i64x2.add(h1, v128.and(h1, b)), i64x2.add(h2, v128.and(h2, b)),
      i64x2.add(h3, v128.and(h3, b)), i64x2.add(h4, v128.and(h4, b)), i64x2.add(h5, v128.and(h5, b)),
      i64x2.add(h6, v128.and(h6, b)), i64x2.add(h7, v128.and(h7, b)), i64x2.add(h8, v128.and(h8, b)),
      i64x2.add(h9, v128.and(h9, b)),
    );
  } else {
    carryStorePair(ha, hb, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9);
  }
}

function feSqPairSimd(ha: usize, hb: usize, fa: usize, fb: usize): void {
  sqPairSimd(ha, hb, fa, fb, false);
}

function feSqSq2PairSimd(ha: usize, hb: usize, fa: usize, fb: usize): void {
  sqPairSimd(ha, hb, fa, fb, true);
}

/**
 * ha = fa · ga and hb = fb · gb. ha may alias fa or ga and hb may alias fb or gb, but ha must not be fb
 * or gb (the scalar build writes ha before it reads lane b's operands).
 */
export function feMulPair(ha: usize, hb: usize, fa: usize, ga: usize, fb: usize, gb: usize): void {
  if (ASC_FEATURE_SIMD) {
    feMulPairSimd(ha, hb, fa, ga, fb, gb);
  } else {
    feMul(ha, fa, ga);
    feMul(hb, fb, gb);
  }
}

/** ha = fa^2 and hb = fb^2 (ha must not be fb, as for feMulPair). */
export function feSqPair(ha: usize, hb: usize, fa: usize, fb: usize): void {
  if (ASC_FEATURE_SIMD) {
    feSqPairSimd(ha, hb, fa, fb);
  } else {
    feSq(ha, fa);
    feSq(hb, fb);
  }
}

/** ha = fa^2 and hb = 2 fb^2 (reduced): the doubling's (X + Y)^2 and 2 Z^2 (ha must not be fb). */
export function feSqSq2Pair(ha: usize, hb: usize, fa: usize, fb: usize): void {
  if (ASC_FEATURE_SIMD) {
    feSqSq2PairSimd(ha, hb, fa, fb);
  } else {
    feSq(ha, fa);
    feSq2(hb, fb);
  }
}

/** h = f^(2^n) for n ≥ 1 (h may alias f). */
export function feSqN(h: usize, f: usize, n: i32): void {
  feSq(h, f);
  for (let i = 1; i < n; i++) feSq(h, h);
}

/**
 * h = f + g, limb by limb (no carry). Written out and inlined: as a loop behind a call it cost about a
 * tenth of a verification (measured: 105 → 9x µs per verification).
 */
// @ts-ignore: decorator
@inline export function feAdd(h: usize, f: usize, g: usize): void {
  store<i32>(h, load<i32>(f, 0) + load<i32>(g, 0), 0);
  store<i32>(h, load<i32>(f, 4) + load<i32>(g, 4), 4);
  store<i32>(h, load<i32>(f, 8) + load<i32>(g, 8), 8);
  store<i32>(h, load<i32>(f, 12) + load<i32>(g, 12), 12);
  store<i32>(h, load<i32>(f, 16) + load<i32>(g, 16), 16);
  store<i32>(h, load<i32>(f, 20) + load<i32>(g, 20), 20);
  store<i32>(h, load<i32>(f, 24) + load<i32>(g, 24), 24);
  store<i32>(h, load<i32>(f, 28) + load<i32>(g, 28), 28);
  store<i32>(h, load<i32>(f, 32) + load<i32>(g, 32), 32);
  store<i32>(h, load<i32>(f, 36) + load<i32>(g, 36), 36);
}

/** h = f − g, limb by limb (no carry; limbs may be negative). Inlined like feAdd. */
// @ts-ignore: decorator
@inline export function feSub(h: usize, f: usize, g: usize): void {
  store<i32>(h, load<i32>(f, 0) - load<i32>(g, 0), 0);
  store<i32>(h, load<i32>(f, 4) - load<i32>(g, 4), 4);
  store<i32>(h, load<i32>(f, 8) - load<i32>(g, 8), 8);
  store<i32>(h, load<i32>(f, 12) - load<i32>(g, 12), 12);
  store<i32>(h, load<i32>(f, 16) - load<i32>(g, 16), 16);
  store<i32>(h, load<i32>(f, 20) - load<i32>(g, 20), 20);
  store<i32>(h, load<i32>(f, 24) - load<i32>(g, 24), 24);
  store<i32>(h, load<i32>(f, 28) - load<i32>(g, 28), 28);
  store<i32>(h, load<i32>(f, 32) - load<i32>(g, 32), 32);
  store<i32>(h, load<i32>(f, 36) - load<i32>(g, 36), 36);
}

/** h = −f, limb by limb. */
export function feNeg(h: usize, f: usize): void {
  for (let i: usize = 0; i < 40; i += 4) store<i32>(h + i, -load<i32>(f + i));
}

/** h = f. */
export function feCopy(h: usize, f: usize): void {
  memory.copy(h, f, 40);
}

/** h = the small non-negative integer v (v < 2^26). */
export function feSetInt(h: usize, v: i32): void {
  memory.fill(h, 0, 40);
  store<i32>(h, v);
}

/** h = f, with limbs carried (reduced); f may be up to 2^31 per limb. */
export function feCarry(h: usize, f: usize): void {
  carryStore(h, ld(f, 0), ld(f, 1), ld(f, 2), ld(f, 3), ld(f, 4), ld(f, 5), ld(f, 6), ld(f, 7), ld(f, 8), ld(f, 9));
}

/**
 * h = the 255-bit little-endian integer at s (32 bytes), bit 255 ignored (RFC 8032 §5.1.3 step 1 takes
 * it as the sign of x). Values in [p, 2^255) are accepted and reduced by later operations; callers that
 * must reject them check the bytes themselves (see isCanonicalFieldBytes).
 */
export function feFromBytes(h: usize, s: usize): void {
  // Limb i covers bits [ceil(25.5 i), ceil(25.5 (i+1))); each fits one unaligned u32 load inside the 32
  // bytes (the largest in-byte shift plus width is 6 + 25 = 31 bits, for limb 9).
  store<i32>(h, <i32>(load<u32>(s, 0) & 0x3ffffff), 0);
  store<i32>(h, <i32>((load<u32>(s, 3) >>> 2) & 0x1ffffff), 4);
  store<i32>(h, <i32>((load<u32>(s, 6) >>> 3) & 0x3ffffff), 8);
  store<i32>(h, <i32>((load<u32>(s, 9) >>> 5) & 0x1ffffff), 12);
  store<i32>(h, <i32>((load<u32>(s, 12) >>> 6) & 0x3ffffff), 16);
  store<i32>(h, <i32>(load<u32>(s, 16) & 0x1ffffff), 20);
  store<i32>(h, <i32>((load<u32>(s, 19) >>> 1) & 0x3ffffff), 24);
  store<i32>(h, <i32>((load<u32>(s, 22) >>> 3) & 0x1ffffff), 28);
  store<i32>(h, <i32>((load<u32>(s, 25) >>> 4) & 0x3ffffff), 32);
  store<i32>(h, <i32>((load<u32>(s, 28) >>> 6) & 0x1ffffff), 36);
}

/** Whether the 32 bytes at s, bit 255 ignored, encode an integer below p (RFC 8032 §5.1.3 step 1). */
export function isCanonicalFieldBytes(s: usize): bool {
  // The integers in [p, 2^255) are 2^255 − 19 … 2^255 − 1: low byte ≥ 0xed, bytes 1..30 all 0xff,
  // and the top byte 0x7f once bit 255 is masked.
  if ((load<u8>(s, 31) & 0x7f) != 0x7f) return true;
  for (let i: usize = 1; i < 31; i++) if (load<u8>(s + i) != 0xff) return true;
  return load<u8>(s) < 0xed;
}

/**
 * Writes the canonical encoding of f (its residue in [0, p), 32 bytes little-endian, bit 255 clear) to
 * s. Accepts any 4-bounded f (|limb| ≤ 2^28, so that adding 16 p below makes every limb positive).
 */
export function feToBytes(s: usize, f: usize): void {
  // Add 16 p limb by limb so that every limb is positive (16 (2^25 − 1) > 2^28 ≥ |limb|), then two
  // carry passes bring the value below 2^255 + 19 with limbs in range (only a carry of 0 or 1 leaves
  // limb 9 on the second pass). For v < 2^255 + 19 < 2p, q = floor((v + 19) / 2^255) ∈ {0, 1} is 1
  // exactly when v ≥ p; then v − q p = v + 19 q − q 2^255, and dropping bit 255 subtracts q 2^255.
  let h0 = ld(f, 0) + 16 * (MASK26 - 18); // limb 0 of p is 2^26 − 19
  let h1 = ld(f, 1) + 16 * MASK25;
  let h2 = ld(f, 2) + 16 * MASK26;
  let h3 = ld(f, 3) + 16 * MASK25;
  let h4 = ld(f, 4) + 16 * MASK26;
  let h5 = ld(f, 5) + 16 * MASK25;
  let h6 = ld(f, 6) + 16 * MASK26;
  let h7 = ld(f, 7) + 16 * MASK25;
  let h8 = ld(f, 8) + 16 * MASK26;
  let h9 = ld(f, 9) + 16 * MASK25;
  for (let pass = 0; pass < 2; pass++) {
    h1 += h0 >> 26; h0 &= MASK26;
    h2 += h1 >> 25; h1 &= MASK25;
    h3 += h2 >> 26; h2 &= MASK26;
    h4 += h3 >> 25; h3 &= MASK25;
    h5 += h4 >> 26; h4 &= MASK26;
    h6 += h5 >> 25; h5 &= MASK25;
    h7 += h6 >> 26; h6 &= MASK26;
    h8 += h7 >> 25; h7 &= MASK25;
    h9 += h8 >> 26; h8 &= MASK26;
    h0 += (h9 >> 25) * 19; h9 &= MASK25;
  }
  let q = (h0 + 19) >> 26;
  q = (h1 + q) >> 25;
  q = (h2 + q) >> 26;
  q = (h3 + q) >> 25;
  q = (h4 + q) >> 26;
  q = (h5 + q) >> 25;
  q = (h6 + q) >> 26;
  q = (h7 + q) >> 25;
  q = (h8 + q) >> 26;
  q = (h9 + q) >> 25;
  h0 += 19 * q;
  h1 += h0 >> 26; h0 &= MASK26;
  h2 += h1 >> 25; h1 &= MASK25;
  h3 += h2 >> 26; h2 &= MASK26;
  h4 += h3 >> 25; h3 &= MASK25;
  h5 += h4 >> 26; h4 &= MASK26;
  h6 += h5 >> 25; h5 &= MASK25;
  h7 += h6 >> 26; h6 &= MASK26;
  h8 += h7 >> 25; h7 &= MASK25;
  h9 += h8 >> 26; h8 &= MASK26;
  h9 &= MASK25; // drops q · 2^255
  // Pack: limb i starts at bit ceil(25.5 i).
  const w0 = <u64>h0 | (<u64>h1 << 26) | (<u64>h2 << 51);
  const w1 = (<u64>h2 >> 13) | (<u64>h3 << 13) | (<u64>h4 << 38);
  const w2 = <u64>h5 | (<u64>h6 << 25) | (<u64>h7 << 51);
  const w3 = (<u64>h7 >> 13) | (<u64>h8 << 12) | (<u64>h9 << 38);
  store<u64>(s, w0, 0);
  store<u64>(s, w1, 8);
  store<u64>(s, w2, 16);
  store<u64>(s, w3, 24);
}

/** Whether f ≡ 0 (mod p). */
export function feIsZero(f: usize): bool {
  feToBytes(BYTES, f);
  return (load<u64>(BYTES, 0) | load<u64>(BYTES, 8) | load<u64>(BYTES, 16) | load<u64>(BYTES, 24)) == 0;
}

/** Whether f ≡ g (mod p). */
export function feEqual(f: usize, g: usize): bool {
  feSub(T4, f, g);
  return feIsZero(T4);
}

/** The least significant bit of the canonical residue of f: RFC 8032 §5.1.2's sign of x ("negative"). */
export function feIsNegative(f: usize): bool {
  feToBytes(BYTES, f);
  return (load<u8>(BYTES) & 1) != 0;
}

/**
 * t1 = z^(2^250 − 1), and leaves z^11 in T0 (for the inversion's tail). The chain raises to 2^k − 1 for
 * k = 5, 10, 20, 40, 50, 100, 200, 250 (each from smaller ones by x^(2^a − 1) · squarings), the usual
 * ladder for this exponent: 250 squarings and 11 multiplications in total.
 */
function pow2250m1(t1: usize, z: usize): void {
  feSq(T0, z); // z^2
  feSqN(T1, T0, 2); // z^8
  feMul(T1, z, T1); // z^9
  feMul(T0, T0, T1); // z^11
  feSq(T2, T0); // z^22
  feMul(T1, T1, T2); // z^31 = z^(2^5 − 1)
  feSqN(T2, T1, 5);
  feMul(T1, T2, T1); // 2^10 − 1
  feSqN(T2, T1, 10);
  feMul(T2, T2, T1); // 2^20 − 1
  feSqN(T3, T2, 20);
  feMul(T2, T3, T2); // 2^40 − 1
  feSqN(T2, T2, 10);
  feMul(T1, T2, T1); // 2^50 − 1
  feSqN(T2, T1, 50);
  feMul(T2, T2, T1); // 2^100 − 1
  feSqN(T3, T2, 100);
  feMul(T2, T3, T2); // 2^200 − 1
  feSqN(T2, T2, 50);
  feMul(t1, T2, T1); // 2^250 − 1
}

/** out = z^(p − 2) = z^(2^255 − 21) = 1/z for z ≢ 0 (and 0 for z ≡ 0). */
export function feInvert(out: usize, z: usize): void {
  pow2250m1(T1, z);
  feSqN(T1, T1, 5); // z^(2^255 − 32)
  feMul(out, T1, T0); // · z^11
}

/** out = z^((p − 5)/8) = z^(2^252 − 3), the exponent of RFC 8032 §5.1.3's square root. */
export function fePow22523(out: usize, z: usize): void {
  pow2250m1(T1, z);
  feSqN(T1, T1, 2); // z^(2^252 − 4)
  feMul(out, T1, z);
}

const UV3: usize = memory.data(40, 16);
const UV7: usize = memory.data(40, 16);
const CHECK: usize = memory.data(40, 16);

/**
 * x = a square root of u/v when u/v is a square mod p (returns true), following RFC 8032 §5.1.3 step 3
 * without an inversion: x = u v^3 (u v^7)^((p−5)/8), then v x^2 is u (done), −u (multiply x by
 * sqrt(−1)) or neither (u/v is not a square: false). u = 0 gives x = 0 and true. v must be ≢ 0. The
 * root's sign is whatever falls out; the caller chooses it. sqrtM1 points at sqrt(−1) = 2^((p−1)/4).
 */
export function feSqrtRatio(x: usize, u: usize, v: usize, sqrtM1: usize): bool {
  feSq(UV3, v);
  feMul(UV3, UV3, v); // v^3
  feSq(UV7, UV3);
  feMul(UV7, UV7, v); // v^7
  feMul(UV7, UV7, u); // u v^7
  feMul(UV3, UV3, u); // u v^3
  fePow22523(UV7, UV7);
  feMul(x, UV3, UV7);
  feSq(CHECK, x);
  feMul(CHECK, CHECK, v); // v x^2
  if (feEqual(CHECK, u)) return true;
  feAdd(CHECK, CHECK, u);
  if (!feIsZero(CHECK)) return false;
  feMul(x, x, sqrtM1);
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Two square roots at once (decoding two points: A and R of one signature, or the Rs of a batch), with
// the exponentiation's squarings and products paired. Same results as feSqrtRatio on each lane.

const T0B: usize = memory.data(40, 16);
const T1B: usize = memory.data(40, 16);
const T2B: usize = memory.data(40, 16);
const T3B: usize = memory.data(40, 16);
const UV3B: usize = memory.data(40, 16);
const UV7B: usize = memory.data(40, 16);
const CHECKB: usize = memory.data(40, 16);

/** ha = fa^(2^n), hb = fb^(2^n), n ≥ 1. */
function feSqNPair(ha: usize, hb: usize, fa: usize, fb: usize, n: i32): void {
  feSqPair(ha, hb, fa, fb);
  for (let i = 1; i < n; i++) feSqPair(ha, hb, ha, hb);
}

/** outA = za^(2^252 − 3), outB = zb^(2^252 − 3): fePow22523's chain on both lanes. */
function fePow22523Pair(outA: usize, outB: usize, za: usize, zb: usize): void {
  feSqPair(T0, T0B, za, zb); // z^2
  feSqNPair(T1, T1B, T0, T0B, 2); // z^8
  feMulPair(T1, T1B, za, T1, zb, T1B); // z^9
  feMulPair(T0, T0B, T0, T1, T0B, T1B); // z^11
  feSqPair(T2, T2B, T0, T0B); // z^22
  feMulPair(T1, T1B, T1, T2, T1B, T2B); // 2^5 − 1
  feSqNPair(T2, T2B, T1, T1B, 5);
  feMulPair(T1, T1B, T2, T1, T2B, T1B); // 2^10 − 1
  feSqNPair(T2, T2B, T1, T1B, 10);
  feMulPair(T2, T2B, T2, T1, T2B, T1B); // 2^20 − 1
  feSqNPair(T3, T3B, T2, T2B, 20);
  feMulPair(T2, T2B, T3, T2, T3B, T2B); // 2^40 − 1
  feSqNPair(T2, T2B, T2, T2B, 10);
  feMulPair(T1, T1B, T2, T1, T2B, T1B); // 2^50 − 1
  feSqNPair(T2, T2B, T1, T1B, 50);
  feMulPair(T2, T2B, T2, T1, T2B, T1B); // 2^100 − 1
  feSqNPair(T3, T3B, T2, T2B, 100);
  feMulPair(T2, T2B, T3, T2, T3B, T2B); // 2^200 − 1
  feSqNPair(T2, T2B, T2, T2B, 50);
  feMulPair(T1, T1B, T2, T1, T2B, T1B); // 2^250 − 1
  feSqNPair(T1, T1B, T1, T1B, 2); // 2^252 − 4
  feMulPair(outA, outB, T1, za, T1B, zb);
}

/** The end of feSqrtRatio for one lane: x holds the candidate root, check = v x^2. */
function finishSqrtRatio(x: usize, u: usize, check: usize, sqrtM1: usize): bool {
  if (feEqual(check, u)) return true;
  feAdd(check, check, u);
  if (!feIsZero(check)) return false;
  feMul(x, x, sqrtM1);
  return true;
}

/**
 * feSqrtRatio on two independent lanes: xa = sqrt(ua/va), xb = sqrt(ub/vb). Returns bit 0 set when
 * ua/va is a square, bit 1 when ub/vb is. xa must not be ub or vb, nor xb be ua or va.
 */
export function feSqrtRatioPair(
  xa: usize,
  ua: usize,
  va: usize,
  xb: usize,
  ub: usize,
  vb: usize,
  sqrtM1: usize,
): u32 {
  feSqPair(UV3, UV3B, va, vb);
  feMulPair(UV3, UV3B, UV3, va, UV3B, vb); // v^3
  feSqPair(UV7, UV7B, UV3, UV3B);
  feMulPair(UV7, UV7B, UV7, va, UV7B, vb); // v^7
  feMulPair(UV7, UV7B, UV7, ua, UV7B, ub); // u v^7
  feMulPair(UV3, UV3B, UV3, ua, UV3B, ub); // u v^3
  fePow22523Pair(UV7, UV7B, UV7, UV7B);
  feMulPair(xa, xb, UV3, UV7, UV3B, UV7B);
  feSqPair(CHECK, CHECKB, xa, xb);
  feMulPair(CHECK, CHECKB, CHECK, va, CHECKB, vb); // v x^2
  const a = finishSqrtRatio(xa, ua, CHECK, sqrtM1) ? 1 : 0;
  const b = finishSqrtRatio(xb, ub, CHECKB, sqrtM1) ? 2 : 0;
  return <u32>(a | b);
}
