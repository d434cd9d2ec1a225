// SPDX-License-Identifier: Apache-2.0
// The group edwards25519 (RFC 8032 §5.1: −x^2 + y^2 = 1 + d x^2 y^2 over GF(2^255 − 19)): constants,
// point decoding, the addition and doubling formulas, and the fixed table of base-point multiples.
// Verification only, so every function is variable-time (DESIGN §2).
//
// Representations (each coordinate a field25519 element of FE_BYTES bytes, at the offsets below):
//   P2       (X : Y : Z)          x = X/Z, y = Y/Z                               3 elements
//   P3       (X : Y : Z : T)      extended coordinates, additionally xy = T/Z   4 elements
//   Completed (E, F, G, H)        the sum before its last products: X = EF, Y = GH, Z = FG, T = EH
//   Cached   (Y+X, Y−X, 2Z, 2dT)  a P3 prepared as the second operand of an addition
//   Niels    (y+x, y−x, 2dxy)     an affine point prepared the same way (Z = 1)
// The formulas are those of Hisil, Wong, Carter and Dawson, "Twisted Edwards curves revisited" (2008),
// §3.1 (addition with k = 2d) and §3.3 (doubling), with a = −1. They are complete on this curve (a is a
// square and d is not), so identity and small-order inputs need no special cases.

import {
  FE_BYTES,
  feAdd,
  feCarry,
  feCopy,
  feFromBytes,
  feInvert,
  feIsNegative,
  feIsZero,
  feMul,
  feMulPair,
  feNeg,
  fePow22523,
  feSetInt,
  feSq,
  feSqPair,
  feSqrtRatio,
  feSqrtRatioPair,
  feSqSq2Pair,
  feSub,
  feToBytes,
  isCanonicalFieldBytes,
} from './field25519';

// Coordinate offsets.
// @ts-ignore: decorator
@inline export const PX: usize = 0;
// @ts-ignore: decorator
@inline export const PY: usize = 40;
// @ts-ignore: decorator
@inline export const PZ: usize = 80;
// @ts-ignore: decorator
@inline export const PT: usize = 120;
// @ts-ignore: decorator
@inline export const P3_BYTES: usize = 160;
// @ts-ignore: decorator
@inline export const CACHED_BYTES: usize = 160;
// @ts-ignore: decorator
@inline export const NIELS_BYTES: usize = 120;
// Completed points name their elements E, F, G, H at the same four offsets.
// @ts-ignore: decorator
@inline const CE: usize = 0;
// @ts-ignore: decorator
@inline const CF: usize = 40;
// @ts-ignore: decorator
@inline const CG: usize = 80;
// @ts-ignore: decorator
@inline const CH: usize = 120;

// ---------------------------------------------------------------------------------------------------
// Constants, computed once from their closed forms by initCurve() (no opaque tables in the source).

/** d = −121665/121666 (RFC 8032 §5.1). */
export const FE_D: usize = memory.data(40, 16);
/** 2d, the k of the addition formulas. */
export const FE_D2: usize = memory.data(40, 16);
/** sqrt(−1) = 2^((p−1)/4) (RFC 8032 §5.1.3). */
export const FE_SQRTM1: usize = memory.data(40, 16);
/** 1. */
export const FE_ONE: usize = memory.data(40, 16);
/** The base point B = (x, 4/5) with x even (RFC 8032 §5.1), affine. */
export const BASE_X: usize = memory.data(40, 16);
export const BASE_Y: usize = memory.data(40, 16);

/** Window of the fixed tables: the odd multiples P, 3P, …, (2^(w−1) − 1)P of B and of B' = [2^128]B. */
// @ts-ignore: decorator
@inline export const BASE_WINDOW: i32 = 8;
// @ts-ignore: decorator
@inline const BASE_TABLE_LEN: usize = 64; // 2^(BASE_WINDOW − 2)
/** Odd multiples of B, Niels. */
export const BASE_TABLE: usize = memory.data(<i32>(BASE_TABLE_LEN * NIELS_BYTES), 16);
/** Odd multiples of [2^128]B, Niels: with BASE_TABLE, a 253-bit multiple of B costs two 128-bit ones. */
export const BASE128_TABLE: usize = memory.data(<i32>(BASE_TABLE_LEN * NIELS_BYTES), 16);

let initialised = false;

// Formula scratch (never aliased with caller arguments).
const TA: usize = memory.data(40, 16);
const TB: usize = memory.data(40, 16);
const TC: usize = memory.data(40, 16);
const TD: usize = memory.data(40, 16);
const U: usize = memory.data(40, 16);
const V: usize = memory.data(40, 16);
const SCRATCH_C: usize = memory.data(160, 16);
const SCRATCH_P: usize = memory.data(160, 16);

// ---------------------------------------------------------------------------------------------------
// Formulas

/** c = 2p for p in P2 or P3 (only X, Y, Z are read). dbl-2008-hwcd with a = −1, scaled by −1. */
export function dbl(c: usize, p: usize): void {
  feSqPair(TA, TB, p + PX, p + PY); // A = X^2, B = Y^2
  feAdd(TD, p + PX, p + PY);
  feSqSq2Pair(TD, TC, TD, p + PZ); // (X + Y)^2, C = 2 Z^2
  feAdd(c + CH, TA, TB); // H = A + B                       (2-bounded)
  feSub(c + CE, TD, c + CH); // E = (X + Y)^2 − A − B        (2-bounded)
  feSub(c + CG, TB, TA); // G = B − A                         (1-bounded)
  feSub(c + CF, TC, c + CG); // F = C − G                     (2-bounded)
}

/** c = p + q for p in P3 and q a Niels point. add-2008-hwcd-3 with Z2 = 1. */
export function addNiels(c: usize, p: usize, q: usize): void {
  feAdd(TA, p + PY, p + PX);
  feSub(TB, p + PY, p + PX);
  feMulPair(TA, TB, TA, q, TB, q + 40); // (Y1 + X1)(y2 + x2), (Y1 − X1)(y2 − x2)
  feMul(TC, p + PT, q + 80); // T1 · 2d x2 y2
  feAdd(TD, p + PZ, p + PZ); // 2 Z1
  feSub(c + CE, TA, TB);
  feAdd(c + CH, TA, TB);
  feSub(c + CF, TD, TC);
  feAdd(c + CG, TD, TC); // (3-bounded)
}

/** c = p − q for p in P3 and q a Niels point (−q swaps y+x with y−x and negates 2dxy). */
export function subNiels(c: usize, p: usize, q: usize): void {
  feAdd(TA, p + PY, p + PX);
  feSub(TB, p + PY, p + PX);
  feMulPair(TA, TB, TA, q + 40, TB, q);
  feMul(TC, p + PT, q + 80);
  feAdd(TD, p + PZ, p + PZ);
  feSub(c + CE, TA, TB);
  feAdd(c + CH, TA, TB);
  feAdd(c + CF, TD, TC);
  feSub(c + CG, TD, TC);
}

/** c = p + q for p in P3 and q Cached. add-2008-hwcd-3. */
export function addCached(c: usize, p: usize, q: usize): void {
  feAdd(TA, p + PY, p + PX);
  feSub(TB, p + PY, p + PX);
  feMulPair(TA, TB, TA, q, TB, q + 40); // (Y1 + X1)(Y2 + X2), (Y1 − X1)(Y2 − X2)
  feMulPair(TC, TD, p + PT, q + 120, p + PZ, q + 80); // T1 · 2d T2, Z1 · 2 Z2
  feSub(c + CE, TA, TB);
  feAdd(c + CH, TA, TB);
  feSub(c + CF, TD, TC);
  feAdd(c + CG, TD, TC);
}

/** c = p − q for p in P3 and q Cached. */
export function subCached(c: usize, p: usize, q: usize): void {
  feAdd(TA, p + PY, p + PX);
  feSub(TB, p + PY, p + PX);
  feMulPair(TA, TB, TA, q + 40, TB, q);
  feMulPair(TC, TD, p + PT, q + 120, p + PZ, q + 80);
  feSub(c + CE, TA, TB);
  feAdd(c + CH, TA, TB);
  feAdd(c + CF, TD, TC);
  feSub(c + CG, TD, TC);
}

/** P2 from Completed (3 multiplications: a pair and one). */
export function toP2(p: usize, c: usize): void {
  feMulPair(p + PX, p + PY, c + CE, c + CF, c + CG, c + CH);
  feMul(p + PZ, c + CF, c + CG);
}

/** P3 from Completed (4 multiplications: two pairs). */
export function toP3(p: usize, c: usize): void {
  feMulPair(p + PX, p + PY, c + CE, c + CF, c + CG, c + CH);
  feMulPair(p + PZ, p + PT, c + CF, c + CG, c + CE, c + CH);
}

/** Cached from P3. */
export function toCached(q: usize, p: usize): void {
  feAdd(q, p + PY, p + PX);
  feSub(q + 40, p + PY, p + PX);
  feAdd(q + 80, p + PZ, p + PZ);
  feMul(q + 120, p + PT, FE_D2);
}

/** P3 from affine (x, y). */
export function p3FromAffine(p: usize, x: usize, y: usize): void {
  feCopy(p + PX, x);
  feCopy(p + PY, y);
  feSetInt(p + PZ, 1);
  feMul(p + PT, x, y);
}

/** Niels from affine (x, y). */
export function nielsFromAffine(q: usize, x: usize, y: usize): void {
  feAdd(q, y, x);
  feCarry(q, q);
  feSub(q + 40, y, x);
  feCarry(q + 40, q + 40);
  feMul(q + 80, x, y);
  feMul(q + 80, q + 80, FE_D2);
}

/** Sets p (P2 or P3) to the identity (0 : 1 : 1 : 0). */
export function setIdentity(p: usize): void {
  feSetInt(p + PX, 0);
  feSetInt(p + PY, 1);
  feSetInt(p + PZ, 1);
  feSetInt(p + PT, 0);
}

/** Whether p (P2 or P3) is the identity: X ≡ 0 and Y ≡ Z. */
export function isIdentity(p: usize): bool {
  if (!feIsZero(p + PX)) return false;
  feSub(U, p + PY, p + PZ);
  return feIsZero(U);
}

/** p = [8]p for p in P2 (three doublings; the result is P2). */
export function timesEight(p: usize): void {
  dbl(SCRATCH_C, p);
  toP2(p, SCRATCH_C);
  dbl(SCRATCH_C, p);
  toP2(p, SCRATCH_C);
  dbl(SCRATCH_C, p);
  toP2(p, SCRATCH_C);
}

/**
 * Whether the affine point (x, y) has small order (1, 2, 4 or 8): [8]P is the identity. The 8-torsion
 * of edwards25519 is exactly these eight points, and [8] maps every other point to a non-identity one.
 */
export function isSmallOrder(x: usize, y: usize): bool {
  feCopy(SCRATCH_P + PX, x);
  feCopy(SCRATCH_P + PY, y);
  feSetInt(SCRATCH_P + PZ, 1);
  timesEight(SCRATCH_P);
  return isIdentity(SCRATCH_P);
}

// ---------------------------------------------------------------------------------------------------
// Decoding (RFC 8032 §5.1.3)

/** decodePoint results. */
// @ts-ignore: decorator
@inline export const DECODE_OK: i32 = 0;
/** y ≥ p: the encoding is not canonical (§5.1.3 step 1). */
// @ts-ignore: decorator
@inline export const DECODE_NONCANONICAL_Y: i32 = 1;
/** (y^2 − 1)/(d y^2 + 1) is not a square: no point has this y (§5.1.3 step 3). */
// @ts-ignore: decorator
@inline export const DECODE_NOT_ON_CURVE: i32 = 2;
/** x = 0 with the sign bit set: the non-canonical encoding of (0, ±1) (§5.1.3 step 4). */
// @ts-ignore: decorator
@inline export const DECODE_NEGATIVE_ZERO: i32 = 3;

const U_B: usize = memory.data(40, 16);
const V_B: usize = memory.data(40, 16);

/** u = y^2 − 1 and v = d y^2 + 1 for y from the encoding at s (§5.1.3 steps 1–2). */
function decodePrepare(y: usize, u: usize, v: usize, s: usize): void {
  feFromBytes(y, s);
  feSq(u, y);
  feMul(v, u, FE_D);
  feSub(u, u, FE_ONE); // u = y^2 − 1
  feAdd(v, v, FE_ONE); // v = d y^2 + 1 (never 0: −1/d is not a square)
  feCarry(v, v);
}

/** §5.1.3 step 4 once the square root x of u/v is known: the sign bit picks x or −x. */
function decodeFinish(x: usize, s: usize): i32 {
  const sign = (load<u8>(s, 31) >> 7) != 0;
  if (feIsZero(x)) {
    if (sign) return DECODE_NEGATIVE_ZERO;
  } else if (feIsNegative(x) != sign) {
    feNeg(x, x);
  }
  feCarry(x, x);
  return DECODE_OK;
}

/**
 * Decodes the 32-byte point encoding at s into affine (x, y) following RFC 8032 §5.1.3 exactly: every
 * failure the RFC names is a failure here (see the DECODE_ codes). x and y are reduced.
 */
export function decodePoint(x: usize, y: usize, s: usize): i32 {
  if (!isCanonicalFieldBytes(s)) return DECODE_NONCANONICAL_Y;
  decodePrepare(y, U, V, s);
  if (!feSqrtRatio(x, U, V, FE_SQRTM1)) return DECODE_NOT_ON_CURVE;
  return decodeFinish(x, s);
}

/**
 * decodePoint on two encodings at once (their square roots share the paired kernels); returns the two
 * DECODE_ codes as codeA | codeB << 8. The four outputs must be distinct.
 */
export function decodePointPair(xa: usize, ya: usize, sa: usize, xb: usize, yb: usize, sb: usize): i32 {
  const canonicalA = isCanonicalFieldBytes(sa);
  const canonicalB = isCanonicalFieldBytes(sb);
  if (!canonicalA || !canonicalB) {
    const codeA = canonicalA ? decodePoint(xa, ya, sa) : DECODE_NONCANONICAL_Y;
    const codeB = canonicalB ? decodePoint(xb, yb, sb) : DECODE_NONCANONICAL_Y;
    return codeA | (codeB << 8);
  }
  decodePrepare(ya, U, V, sa);
  decodePrepare(yb, U_B, V_B, sb);
  const squares = feSqrtRatioPair(xa, U, V, xb, U_B, V_B, FE_SQRTM1);
  const codeA = (squares & 1) != 0 ? decodeFinish(xa, sa) : DECODE_NOT_ON_CURVE;
  const codeB = (squares & 2) != 0 ? decodeFinish(xb, sb) : DECODE_NOT_ON_CURVE;
  return codeA | (codeB << 8);
}

// ---------------------------------------------------------------------------------------------------
// Initialisation

const INIT_BYTES: usize = memory.data(32, 16);
const TMP_P3: usize = memory.data(160, 16);
const TWO_B: usize = memory.data(160, 16);
const TMP_CACHED: usize = memory.data(160, 16);
/** Table entries in P3 before normalisation, and the running products of their Z (Montgomery's trick). */
const TABLE_P3: usize = memory.data(<i32>(BASE_TABLE_LEN * P3_BYTES), 16);
const PREFIX: usize = memory.data(<i32>(BASE_TABLE_LEN * FE_BYTES), 16);

/**
 * table[i] = (2i + 1)P for i < BASE_TABLE_LEN, as affine Niels points: the multiples in P3, then one
 * shared inversion of their Z (Montgomery's trick) makes them affine.
 */
function buildNielsTable(table: usize, p: usize): void {
  memory.copy(TABLE_P3, p, P3_BYTES);
  dbl(SCRATCH_C, p);
  toP3(TWO_B, SCRATCH_C);
  toCached(TMP_CACHED, TWO_B);
  for (let i: usize = 1; i < BASE_TABLE_LEN; i++) {
    addCached(SCRATCH_C, TABLE_P3 + (i - 1) * P3_BYTES, TMP_CACHED);
    toP3(TABLE_P3 + i * P3_BYTES, SCRATCH_C);
  }
  feCopy(PREFIX, TABLE_P3 + PZ);
  for (let i: usize = 1; i < BASE_TABLE_LEN; i++) {
    feMul(PREFIX + i * FE_BYTES, PREFIX + (i - 1) * FE_BYTES, TABLE_P3 + i * P3_BYTES + PZ);
  }
  feInvert(TA, PREFIX + (BASE_TABLE_LEN - 1) * FE_BYTES); // 1 / (Z_0 ⋯ Z_63)
  for (let i = <isize>BASE_TABLE_LEN - 1; i >= 0; i--) {
    const e = TABLE_P3 + <usize>i * P3_BYTES;
    if (i > 0) {
      feMul(TB, TA, PREFIX + <usize>(i - 1) * FE_BYTES); // 1 / Z_i
      feMul(TA, TA, e + PZ); // 1 / (Z_0 ⋯ Z_(i−1))
    } else {
      feCopy(TB, TA);
    }
    feMul(U, e + PX, TB);
    feMul(V, e + PY, TB);
    nielsFromAffine(table + <usize>i * NIELS_BYTES, U, V);
  }
}

/**
 * Computes the constants and the two base-point tables once per instance. Every exported entry point
 * calls it first; it costs about as much as two verifications.
 */
export function initCurve(): void {
  if (initialised) return;
  feSetInt(FE_ONE, 1);
  // d = −121665 / 121666.
  feSetInt(TA, 121666);
  feInvert(TB, TA);
  feSetInt(TA, 121665);
  feMul(TB, TB, TA);
  feNeg(TB, TB);
  feCarry(FE_D, TB);
  feAdd(FE_D2, FE_D, FE_D);
  feCarry(FE_D2, FE_D2);
  // sqrt(−1) = 2^((p−1)/4) = (2^((p−5)/8))^2 · 2, since (p−1)/4 = 2 (p−5)/8 + 1.
  feSetInt(TA, 2);
  fePow22523(TB, TA);
  feSq(TB, TB);
  feMul(FE_SQRTM1, TB, TA);
  // B: y = 4/5 and the even x (RFC 8032 §5.1); its encoding has the sign bit clear.
  feSetInt(TA, 5);
  feInvert(TB, TA);
  feSetInt(TA, 4);
  feMul(BASE_Y, TB, TA);
  feToBytes(INIT_BYTES, BASE_Y);
  decodePoint(BASE_X, TC, INIT_BYTES);
  p3FromAffine(TMP_P3, BASE_X, BASE_Y);
  buildNielsTable(BASE_TABLE, TMP_P3);
  for (let i = 0; i < 128; i++) {
    dbl(SCRATCH_C, TMP_P3);
    toP3(TMP_P3, SCRATCH_C);
  }
  buildNielsTable(BASE128_TABLE, TMP_P3);
  initialised = true;
}
