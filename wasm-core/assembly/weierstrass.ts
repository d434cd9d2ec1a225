// SPDX-License-Identifier: Apache-2.0
// Short Weierstrass curves y² = x³ − 3x + b over a prime field, and ECDSA signature verification on them
// (SEC 1 v2 §4.1.4; FIPS 186-5 §6.4.2), generic over the curve: a curve is a descriptor in memory built
// by curveInit from constants such as p256.ts and p384.ts. Only a = −3 is supported (every NIST prime
// curve), because the doubling formula below uses it.
//
// Points are in Jacobian coordinates (X, Y, Z) ↦ (X/Z², Y/Z³) with Z = 0 for the point at infinity.
// The addition formulas are the classic incomplete ones made exact by guards: an addition whose inputs
// turn out equal (H = 0 and R = 0) becomes a doubling, one whose inputs are opposite (H = 0, R ≠ 0)
// gives infinity, and an infinite input returns the other one. Doubling (dbl-2001-b) is exact for every
// input on a curve of odd order, infinity included. Formulas: Explicit-Formulas Database, "Jacobian
// coordinates with a4 = −3" (dbl-2001-b 3M+5S, add-1998-cmo-2 12M+4S, madd 8M+3S). Renes–Costello–Batina's
// complete formulas were considered: their mixed addition costs about as much as the guarded one here
// but their doubling costs 8M+3S+2 multiplications by b, which is what verification does most.
//
// u1·G + u2·Q is computed in one of two ways:
// - for a key not in the curve's key cache, in one chain of doublings (Straus's interleaving), with a
//   width-5 wNAF of u2 over the odd multiples Q, 3Q, …, 15Q (affine) and a width-G_WNAF_W wNAF of u1
//   over a static table of G's odd multiples, built on first use;
// - for the key in the curve's key cache (a batch under one key, or a key that has come
//   KEY_CACHE_AFTER times in a row; see "Key cache" below), as two halves added at the end, each a
//   fixed-base comb (signed radix-2^w digits, one mixed addition per digit and no doubling) over a
//   static table of G, built on first use, and over the key's table.
// Edge cases Wycheproof covers: r and s outside [1, n − 1] fail before any arithmetic; the sum at
// infinity fails; x(R) is compared with r and, when r + n < p, with r + n (x mod n = r); intermediate
// sums that meet equal or opposite points go through the guards above.
//
// Not covered: secrets (variable time throughout; DESIGN §2), curves with a ≠ −3, and group orders
// whose bit length is not a multiple of 8 (bits2int below truncates digests to whole bytes).
import {
  FIELD_DESC_BYTES,
  FIELD_SLOT_BYTES,
  fieldAdd,
  fieldCopy,
  fieldEq,
  fieldFromBytes,
  fieldFromMont,
  fieldInit,
  fieldInv,
  fieldIsZero,
  fieldLimbs,
  fieldModulus,
  fieldMul,
  fieldNeg,
  fieldOne,
  fieldSqr,
  fieldSqrt,
  fieldSub,
  fieldSubDouble,
  fieldSubHalf,
  fieldToMont,
  fieldTriple,
} from './field';
import { bnAdd, bnBit, bnCmp, bnFromBytesBE, bnIsZero, bnSub, bnZero } from './bignum';

// ---------------------------------------------------------------------------------------------------
// Curve descriptor

// @ts-ignore: decorator
@inline const SLOT: usize = FIELD_SLOT_BYTES;
// @ts-ignore: decorator
@inline const C_FP: usize = 0;
// @ts-ignore: decorator
@inline const C_FN: usize = FIELD_DESC_BYTES;
// @ts-ignore: decorator
@inline const C_LIMBS: usize = 2 * FIELD_DESC_BYTES;
// @ts-ignore: decorator
@inline const C_BYTES: usize = C_LIMBS + 4;
// @ts-ignore: decorator
@inline const C_NBITS: usize = C_LIMBS + 8;
// @ts-ignore: decorator
@inline const C_GTABLE: usize = C_LIMBS + 12;
// @ts-ignore: decorator
@inline const C_GTABLE_W: usize = C_LIMBS + 16;
// @ts-ignore: decorator
@inline const C_GTABLE_READY: usize = C_LIMBS + 20;
// The key cache: one public key per curve with its comb table (see "Key cache" below).
// @ts-ignore: decorator
@inline const C_KTABLE: usize = C_LIMBS + 24; // pointer to the key's comb table (window KEY_COMB_W)
// @ts-ignore: decorator
@inline const C_KEY_LEN: usize = C_LIMBS + 28; // byte length of the cached encoded key (0: none)
// @ts-ignore: decorator
@inline const C_KEY_USES: usize = C_LIMBS + 32; // consecutive verifications with the cached key
// @ts-ignore: decorator
@inline const C_KEY_READY: usize = C_LIMBS + 36; // the table is built
// @ts-ignore: decorator
@inline const C_KEY_BYTES: usize = C_LIMBS + 40; // the encoded key, up to KEY_MAX_BYTES
// @ts-ignore: decorator
@inline const KEY_MAX_BYTES: usize = 104; // 1 + 2·48, rounded up
// @ts-ignore: decorator
@inline const C_B: usize = C_KEY_BYTES + KEY_MAX_BYTES;
// @ts-ignore: decorator
@inline const C_GX: usize = C_B + SLOT;
// @ts-ignore: decorator
@inline const C_GY: usize = C_GX + SLOT;
// @ts-ignore: decorator
@inline const C_P_MINUS_N: usize = C_GY + SLOT; // p − n, plain, when p > n (else 0)
// @ts-ignore: decorator
@inline const C_THREE: usize = C_P_MINUS_N + SLOT; // 3 in Montgomery form
// @ts-ignore: decorator
@inline const C_GODD: usize = C_THREE + SLOT; // pointer to G's odd multiples (window G_WNAF_W)
// @ts-ignore: decorator
@inline const C_GODD_READY: usize = C_GODD + 4;
/** Bytes of a curve descriptor. */
// @ts-ignore: decorator
@inline export const CURVE_DESC_BYTES: usize = C_GODD + 8;

/** Bytes of a Jacobian point in scratch (three field slots). */
// @ts-ignore: decorator
@inline const JAC: usize = 3 * SLOT;

/**
 * Window width of the key cache's comb table: 43 mixed additions per u2·Q on P-256 against 37 for w = 7,
 * with half the table to build (1.1 ms on P-256, measured) and to keep (88,064 bytes).
 */
// @ts-ignore: decorator
@inline export const KEY_COMB_W: u32 = 6;

// @ts-ignore: decorator
@inline function fp(c: usize): usize {
  return c + C_FP;
}
// @ts-ignore: decorator
@inline function fn(c: usize): usize {
  return c + C_FN;
}
/** The descriptor of the base field (which = 0) or of the scalar field (which = 1). */
export function curveField(c: usize, which: u32): usize {
  return which == 0 ? fp(c) : fn(c);
}
// @ts-ignore: decorator
@inline export function curveBytes(c: usize): usize {
  return <usize>load<u32>(c + C_BYTES);
}
// @ts-ignore: decorator
@inline function curveLimbs(c: usize): usize {
  return <usize>load<u32>(c + C_LIMBS);
}

// ---------------------------------------------------------------------------------------------------
// Scratch (static; nothing allocates). Field temporaries, Jacobian points, digit strings.

const T0: usize = memory.data(<i32>SLOT, 16);
const T1: usize = memory.data(<i32>SLOT, 16);
const T2: usize = memory.data(<i32>SLOT, 16);
const T3: usize = memory.data(<i32>SLOT, 16);
const T4: usize = memory.data(<i32>SLOT, 16);
const T5: usize = memory.data(<i32>SLOT, 16);
const T6: usize = memory.data(<i32>SLOT, 16);
const T7: usize = memory.data(<i32>SLOT, 16);
const T8: usize = memory.data(<i32>SLOT, 16);
const WORDS: usize = memory.data(<i32>SLOT, 16);

const ACC: usize = memory.data(<i32>JAC, 16);
const ACC_G: usize = memory.data(<i32>JAC, 16);
const BASE: usize = memory.data(<i32>JAC, 16);
const PREV: usize = memory.data(<i32>JAC, 16);
/** Odd multiples Q, 3Q, …, 15Q for the width-5 wNAF, affine (2·limbs limbs each). */
// @ts-ignore: decorator
@inline const WNAF_W: u32 = 5;
const WNAF_AFFINE: usize = memory.data(<i32>(SLOT * 16), 16);
/**
 * Window width of u1's wNAF in the single-signature path, over a static table of G's odd multiples
 * G, 3G, …, (2^(w−1) − 1)G: 2^(w−2) affine points, 65,536 bytes for P-256 and 98,304 for P-384 at
 * w = 12, built in about the time of the comb table it replaces on this path. Measured, P-256 with a new
 * key: w = 8, 10, 11, 12 → 118.5, 116.3, 115.8, 114.7 µs (about 256/(w + 1) additions for u1·G).
 */
// @ts-ignore: decorator
@inline export const G_WNAF_W: u32 = 12;
/** wNAF digits, one i16 per bit position (≤ 385 for P-384): u2's in NAF, u1's in NAF_G. */
const NAF: usize = memory.data(800, 16);
const NAF_G: usize = memory.data(800, 16);

// Scalars (plain, Fn limbs) and field constants for one verification.
const SC_R: usize = memory.data(<i32>SLOT, 16);
const SC_S: usize = memory.data(<i32>SLOT, 16);
const SC_E: usize = memory.data(<i32>SLOT, 16);
const SC_W: usize = memory.data(<i32>SLOT, 16);
const SC_U1: usize = memory.data(<i32>SLOT, 16);
const SC_U2: usize = memory.data(<i32>SLOT, 16);
// The decoded public key (affine, Montgomery form).
const KEY_X: usize = memory.data(<i32>SLOT, 16);
const KEY_Y: usize = memory.data(<i32>SLOT, 16);

/** Jacobian points awaiting conversion to affine in one batch inversion (comb table building). */
// @ts-ignore: decorator
@inline const CHUNK: usize = 128;
const CHUNK_POINTS: usize = memory.data(<i32>(CHUNK * JAC), 16);
const CHUNK_PREFIX: usize = memory.data(<i32>(CHUNK * SLOT), 16);

// ---------------------------------------------------------------------------------------------------
// Descriptor setup

/** Read `limbs` 32-bit words, most significant first (as SEC 2 prints them), into little-endian limbs. */
function wordsToLimbs(r: usize, wordsBE: usize, limbs: usize): void {
  for (let i: usize = 0; i < limbs; i++) store<u32>(r + (i << 2), load<u32>(wordsBE + ((limbs - 1 - i) << 2)));
}

/**
 * Build the descriptor at c from words printed most significant first: p, n, b, Gx, Gy (each limbs
 * words), the field kernels to use for p and n, where G's comb table lives (gTable, window gW; see
 * computed by the first verification that needs it) and where the key cache keeps its table (keyTable,
 * window KEY_COMB_W); see the comb table sizes below.
 */
export function curveInit(
  c: usize,
  pWords: usize,
  nWords: usize,
  bWords: usize,
  gxWords: usize,
  gyWords: usize,
  limbs: usize,
  kernelP: u32,
  kernelN: u32,
  gTable: usize,
  gW: u32,
  keyTable: usize,
  gOddTable: usize,
): void {
  memory.fill(c, 0, CURVE_DESC_BYTES);
  store<u32>(c + C_KTABLE, <u32>keyTable);
  store<u32>(c + C_GODD, <u32>gOddTable);
  wordsToLimbs(WORDS, pWords, limbs);
  fieldInit(fp(c), WORDS, limbs, kernelP);
  wordsToLimbs(T0, nWords, limbs);
  fieldInit(fn(c), T0, limbs, kernelN);
  store<u32>(c + C_LIMBS, <u32>limbs);
  store<u32>(c + C_BYTES, <u32>(limbs << 2));
  store<u32>(c + C_NBITS, <u32>(limbs << 5));
  store<u32>(c + C_GTABLE, <u32>gTable);
  store<u32>(c + C_GTABLE_W, gW);
  const F = fp(c);
  wordsToLimbs(T1, bWords, limbs);
  fieldToMont(F, c + C_B, T1);
  wordsToLimbs(T1, gxWords, limbs);
  fieldToMont(F, c + C_GX, T1);
  wordsToLimbs(T1, gyWords, limbs);
  fieldToMont(F, c + C_GY, T1);
  // p − n: r + n is a candidate x-coordinate only when r < p − n (SEC 1 §4.1.4 step 7 reads x mod n).
  if (bnCmp(WORDS, T0, limbs) > 0) bnSub(c + C_P_MINUS_N, WORDS, T0, limbs);
  fieldAdd(F, T1, fieldOne(F), fieldOne(F));
  fieldAdd(F, c + C_THREE, T1, fieldOne(F));
}

/** Number of comb windows for window width w: ⌈(nbits + 1)/w⌉, so the top signed digit has no carry. */
// @ts-ignore: decorator
@inline function combWindows(c: usize, w: u32): u32 {
  return (load<u32>(c + C_NBITS) + w) / w;
}

// A comb table with window width w holds combWindows(c, w) × 2^(w−1) affine points of 2·limbs limbs:
// for P-256, w = 6 takes 43 × 32 × 64 = 88,064 bytes and w = 7 takes 37 × 64 × 64 = 151,552 bytes.

// ---------------------------------------------------------------------------------------------------
// Point arithmetic (Jacobian, a = −3)

// @ts-ignore: decorator
@inline function PX(p: usize): usize {
  return p;
}
// @ts-ignore: decorator
@inline function PY(p: usize): usize {
  return p + SLOT;
}
// @ts-ignore: decorator
@inline function PZ(p: usize): usize {
  return p + 2 * SLOT;
}

// @ts-ignore: decorator
@inline function setInfinity(F: usize, p: usize): void {
  memory.fill(p, 0, JAC);
  fieldCopy(F, PX(p), fieldOne(F));
  fieldCopy(F, PY(p), fieldOne(F));
}

// @ts-ignore: decorator
@inline function isInfinity(F: usize, p: usize): bool {
  return fieldIsZero(F, PZ(p));
}

/** Jacobian point r from affine (x, y). */
function fromAffine(F: usize, r: usize, x: usize, y: usize): void {
  fieldCopy(F, PX(r), x);
  fieldCopy(F, PY(r), y);
  fieldCopy(F, PZ(r), fieldOne(F));
}

/**
 * r = 2p for a = −3: dbl-2001-b rewritten over Y' = 2Y (γ' = Y'² = 4Y², β' = X·γ' = 4XY², Z3 = Y'·Z,
 * 8Y⁴ = γ'²/2), which trades one squaring and six additions for one multiplication and a halving
 * (4M + 4S + 10 additions against 3M + 5S + 16; measured 8% faster per P-256 verification). The
 * additions go through the fused 3a, a − 2b and a − b/2 (7 calls instead of 10). r may alias p.
 */
function pointDouble(F: usize, r: usize, p: usize): void {
  fieldAdd(F, T1, PY(p), PY(p)); // Y' = 2Y
  fieldSqr(F, T0, PZ(p)); // delta = Z²
  fieldMul(F, PZ(r), T1, PZ(p)); // Z3 = 2YZ
  fieldSqr(F, T2, T1); // gamma' = 4Y²
  fieldMul(F, T3, PX(p), T2); // beta' = 4XY²
  fieldSub(F, T4, PX(p), T0);
  fieldAdd(F, T5, PX(p), T0);
  fieldMul(F, T4, T4, T5);
  fieldTriple(F, T4, T4); // alpha = 3(X − delta)(X + delta)
  fieldSqr(F, T5, T4);
  fieldSubDouble(F, PX(r), T5, T3); // X3 = alpha² − 2·beta'
  fieldSub(F, T3, T3, PX(r));
  fieldMul(F, T3, T4, T3);
  fieldSqr(F, T2, T2); // 16Y⁴
  fieldSubHalf(F, PY(r), T3, T2); // Y3 = alpha·(beta' − X3) − 8Y⁴
}

/**
 * r = p + (x, y) for an affine point (madd, Z2 = 1), guarded: p = ∞ gives (x, y); p = (x, y) doubles;
 * p = −(x, y) gives ∞. r may alias p.
 */
function pointAddAffine(F: usize, r: usize, p: usize, x: usize, y: usize): void {
  if (isInfinity(F, p)) {
    fromAffine(F, r, x, y);
    return;
  }
  fieldSqr(F, T0, PZ(p)); // Z1Z1
  fieldMul(F, T1, x, T0); // U2
  fieldMul(F, T2, y, PZ(p));
  fieldMul(F, T2, T2, T0); // S2
  fieldSub(F, T1, T1, PX(p)); // H = U2 − X1
  fieldSub(F, T2, T2, PY(p)); // R = S2 − Y1
  if (fieldIsZero(F, T1)) {
    if (fieldIsZero(F, T2)) pointDouble(F, r, p);
    else setInfinity(F, r);
    return;
  }
  fieldSqr(F, T3, T1); // HH
  fieldMul(F, T4, T1, T3); // HHH
  fieldMul(F, T3, PX(p), T3); // V = X1·HH
  fieldMul(F, T5, PY(p), T4); // Y1·HHH
  fieldMul(F, PZ(r), PZ(p), T1); // Z3 = Z1·H
  fieldSqr(F, T6, T2);
  fieldSub(F, T6, T6, T4);
  fieldSubDouble(F, PX(r), T6, T3); // X3 = R² − HHH − 2V
  fieldSub(F, T3, T3, PX(r));
  fieldMul(F, T3, T2, T3);
  fieldSub(F, PY(r), T3, T5); // Y3 = R(V − X3) − Y1·HHH
}

/**
 * Doubling with update (DBLU, Goundar, Joye, Miyaji, Rivain and Venelli, "Scalar multiplication on
 * Weierstraß elliptic curves from Co-Z arithmetic", J. Cryptogr. Eng. 1 (2011), §4.1) for the affine
 * point P = (x, y), a = −3: r = 2P and s = P in Jacobian coordinates with the same Z = 2y, for 2M + 4S.
 * With Z = 2y, s = (x·Z², y·Z³, Z) = (4xy², 8y⁴, 2y), and r follows from the tangent slope
 * (3x² + a)/Z. y ≠ 0 because the curve has odd order (no point of order 2). r, s must not alias x, y.
 */
function pointDoubleCoZ(F: usize, r: usize, s: usize, x: usize, y: usize): void {
  fieldSqr(F, T0, x);
  fieldSub(F, T0, T0, fieldOne(F));
  fieldAdd(F, T1, T0, T0);
  fieldAdd(F, T0, T1, T0); // M = 3(x² − 1) = 3x² + a
  fieldSqr(F, T1, y); // E = y²
  fieldMul(F, T2, x, T1);
  fieldAdd(F, T2, T2, T2);
  fieldAdd(F, PX(s), T2, T2); // S = 4xy²
  fieldSqr(F, T1, T1);
  fieldAdd(F, T1, T1, T1);
  fieldAdd(F, T1, T1, T1);
  fieldAdd(F, PY(s), T1, T1); // 8y⁴
  fieldAdd(F, PZ(s), y, y); // Z = 2y
  fieldCopy(F, PZ(r), PZ(s));
  fieldSqr(F, T3, T0);
  fieldSub(F, T3, T3, PX(s));
  fieldSub(F, PX(r), T3, PX(s)); // X = M² − 2S
  fieldSub(F, T3, PX(s), PX(r));
  fieldMul(F, T3, T0, T3);
  fieldSub(F, PY(r), T3, PY(s)); // Y = M(S − X) − 8y⁴
}

/**
 * Co-Z addition with update (Meloni, "New point addition formulae for ECC applications", WAIFI 2007;
 * ZADDU in Goundar et al., cited above, §3): for p and q with the same Z, r = p + q, and p is replaced by
 * the same point with r's Z, for 5M + 2S. Unguarded: the caller guarantees p ≠ ±q (and neither is
 * infinity). r must alias neither p nor q.
 */
function pointAddCoZ(F: usize, r: usize, p: usize, q: usize): void {
  fieldSub(F, T0, PX(p), PX(q)); // X1 − X2
  fieldSqr(F, T1, T0); // C = (X1 − X2)²
  fieldMul(F, T2, PX(p), T1); // W1 = X1·C
  fieldMul(F, T3, PX(q), T1); // W2 = X2·C
  fieldSub(F, T4, PY(p), PY(q)); // Y1 − Y2
  fieldSub(F, T5, T2, T3);
  fieldMul(F, T5, PY(p), T5); // A1 = Y1·(W1 − W2) = Y1·(X1 − X2)³
  fieldMul(F, PZ(r), PZ(p), T0); // Z3 = Z·(X1 − X2)
  fieldSqr(F, T6, T4);
  fieldSub(F, T6, T6, T2);
  fieldSub(F, PX(r), T6, T3); // X3 = (Y1 − Y2)² − W1 − W2
  fieldSub(F, T6, T2, PX(r));
  fieldMul(F, T6, T4, T6);
  fieldSub(F, PY(r), T6, T5); // Y3 = (Y1 − Y2)(W1 − X3) − A1
  // p = (W1, A1, Z3): the same point, now sharing Z3 with r.
  fieldCopy(F, PX(p), T2);
  fieldCopy(F, PY(p), T5);
  fieldCopy(F, PZ(p), PZ(r));
}

/** r = p + q (add-1998-cmo-2), guarded as pointAddAffine. r may alias p or q. */
function pointAdd(F: usize, r: usize, p: usize, q: usize): void {
  if (isInfinity(F, p)) {
    memory.copy(r, q, JAC);
    return;
  }
  if (isInfinity(F, q)) {
    memory.copy(r, p, JAC);
    return;
  }
  fieldSqr(F, T0, PZ(p)); // Z1Z1
  fieldSqr(F, T1, PZ(q)); // Z2Z2
  fieldMul(F, T2, PX(p), T1); // U1
  fieldMul(F, T3, PX(q), T0); // U2
  fieldMul(F, T4, PY(p), PZ(q));
  fieldMul(F, T4, T4, T1); // S1
  fieldMul(F, T5, PY(q), PZ(p));
  fieldMul(F, T5, T5, T0); // S2
  fieldSub(F, T3, T3, T2); // H
  fieldSub(F, T5, T5, T4); // R
  if (fieldIsZero(F, T3)) {
    if (fieldIsZero(F, T5)) pointDouble(F, r, p);
    else setInfinity(F, r);
    return;
  }
  fieldMul(F, T6, PZ(p), PZ(q));
  fieldMul(F, PZ(r), T6, T3); // Z3 = Z1·Z2·H
  fieldSqr(F, T0, T3); // HH
  fieldMul(F, T1, T3, T0); // HHH
  fieldMul(F, T2, T2, T0); // V = U1·HH
  fieldMul(F, T4, T4, T1); // S1·HHH
  fieldSqr(F, T6, T5);
  fieldSub(F, T6, T6, T1);
  fieldSubDouble(F, PX(r), T6, T2); // X3 = R² − HHH − 2V
  fieldSub(F, T2, T2, PX(r));
  fieldMul(F, T2, T5, T2);
  fieldSub(F, PY(r), T2, T4); // Y3 = R(V − X3) − S1·HHH
}

// ---------------------------------------------------------------------------------------------------
// Public keys

/**
 * Decode a public key point (SEC 1 v2 §2.3.4): 04‖X‖Y, or 02/03‖X (compressed), with coordinates below
 * p and the point on the curve, into affine Montgomery coordinates at (x, y). The single byte 00
 * (infinity) and every other form return false. This is the full public key validation of SEC 1
 * §3.2.2.1 for cofactor 1: on the curve, not infinity, coordinates in range.
 */
export function decodePoint(c: usize, x: usize, y: usize, src: usize, byteLen: usize): bool {
  const F = fp(c);
  const nb = curveBytes(c);
  if (byteLen == 0) return false;
  const tag = load<u8>(src);
  if (tag == 4 && byteLen == 1 + 2 * nb) {
    if (!fieldFromBytes(F, T7, src + 1, nb)) return false;
    if (!fieldFromBytes(F, T8, src + 1 + nb, nb)) return false;
    fieldToMont(F, x, T7);
    fieldToMont(F, y, T8);
    curveRhs(c, T7, x);
    fieldSqr(F, T8, y);
    return fieldEq(F, T7, T8);
  }
  if ((tag == 2 || tag == 3) && byteLen == 1 + nb) {
    if (!fieldFromBytes(F, T7, src + 1, nb)) return false;
    fieldToMont(F, x, T7);
    curveRhs(c, T7, x);
    if (!fieldSqrt(F, y, T7)) return false;
    fieldFromMont(F, T8, y);
    if ((load<u32>(T8) & 1) != <u32>(tag & 1)) {
      if (fieldIsZero(F, y)) return false;
      fieldNeg(F, y, y);
    }
    return true;
  }
  return false;
}

/** r = x³ − 3x + b (Montgomery form). */
function curveRhs(c: usize, r: usize, x: usize): void {
  const F = fp(c);
  fieldSqr(F, r, x);
  fieldSub(F, r, r, c + C_THREE);
  fieldMul(F, r, r, x);
  fieldAdd(F, r, r, c + C_B);
}

// ---------------------------------------------------------------------------------------------------
// Scalar multiplication

/**
 * Width-w NAF of the plain scalar k (limbs limbs) into out[0 .. bits] (i16 each): digits are 0 or odd in
 * (−2^(w−1), 2^(w−1)), and any w consecutive digits hold at most one non-zero. Returns the index of the
 * highest non-zero digit, or −1 for k = 0.
 */
function wnaf(out: usize, k: usize, bits: u32, w: u32): i32 {
  memory.fill(out, 0, (bits + 1) << 1);
  let carry: u32 = 0;
  let top: i32 = -1;
  let i: u32 = 0;
  const full: u32 = 1 << w;
  const half: u32 = 1 << (w - 1);
  while (i < bits + 1) {
    const bit = i < bits ? bnBit(k, i) : 0;
    if (bit == carry) {
      i++;
      continue;
    }
    // bit + carry is odd here: take w bits starting at i, plus the carry.
    let v: u32 = carry;
    for (let j: u32 = 0; j < w; j++) if (i + j < bits) v += bnBit(k, i + j) << j;
    // v is odd, so it never equals half (w ≥ 2): digits are odd in (−half, half).
    let d = <i32>v;
    carry = 0;
    if (v > half) {
      d = <i32>v - <i32>full;
      carry = 1;
    }
    store<i16>(out + (<usize>i << 1), <i16>d);
    top = <i32>i;
    i += w;
  }
  return top;
}

/**
 * Add the wNAF digit d (odd, or 0 for nothing) times the point whose odd multiples are in table (entry i
 * = (2i + 1)·P, affine, stride bytes) to ACC: a mixed addition, with the entry's y negated for d < 0.
 * Inlined into mulJoint's loop (measured 113.2 → 112.5 µs per P-256 verification).
 */
// @ts-ignore: decorator
@inline function addDigit(F: usize, d: i32, table: usize, stride: usize, yOff: usize): void {
  if (d == 0) return;
  const entry = table + <usize>((d < 0 ? -d : d) >> 1) * stride;
  if (d > 0) {
    pointAddAffine(F, ACC, ACC, entry, entry + yOff);
  } else {
    fieldNeg(F, T8, entry + yOff);
    pointAddAffine(F, ACC, ACC, entry, T8);
  }
}

/**
 * ACC = k2·(qx, qy) + k1·G (the single-signature path), Straus's interleaving: one chain of doublings
 * with k2's width-5 wNAF over the odd multiples Q, 3Q, …, 15Q and k1's width-G_WNAF_W wNAF over G's
 * static table of odd multiples. G's additions thus share the doublings that Q needs anyway: about
 * 256/13 ≈ 20 mixed additions on P-256 against 37 for G's comb, which needs no doubling, and no final
 * addition of two halves (measured: 121.5 → 114.7 µs per P-256 verification). Q's odd multiples are
 * made affine with one inversion, which turns each of the ~43 additions into a mixed one (8M + 3S
 * instead of 12M + 4S): on P-256, about 8 µs saved for about 3 µs of normalization (computed from the
 * kernel timings).
 */
function mulJoint(c: usize, k2: usize, qx: usize, qy: usize, k1: usize): void {
  const F = fp(c);
  const limbs = curveLimbs(c);
  const stride: usize = limbs << 3;
  const yOff: usize = limbs << 2;
  const bits = load<u32>(c + C_NBITS);
  // CHUNK_POINTS[i] = (2i + 1)·Q in Jacobian coordinates, then WNAF_AFFINE[i] its affine form. The
  // chain runs on co-Z additions: BASE = 2Q shares its Z with each odd multiple in turn (5M + 2S per
  // step instead of 11M + 4S for a general addition). No guard is needed: 2Q = ±(2i − 1)Q would need n
  // to divide 2i − 3 or 2i + 1 (at most 15), and decodePoint has checked that Q is a point of order n.
  pointDoubleCoZ(F, BASE, CHUNK_POINTS, qx, qy);
  for (let i: usize = 1; i < 8; i++) pointAddCoZ(F, CHUNK_POINTS + i * JAC, BASE, CHUNK_POINTS + (i - 1) * JAC);
  normalizeChunk(F, WNAF_AFFINE, stride, limbs, 8);
  const topQ = wnaf(NAF, k2, bits, WNAF_W);
  const topG = wnaf(NAF_G, k1, bits, G_WNAF_W);
  const gOdd = <usize>load<u32>(c + C_GODD);
  const top = topQ > topG ? topQ : topG;
  setInfinity(F, ACC);
  for (let i = top; i >= 0; i--) {
    if (i < top) pointDouble(F, ACC, ACC);
    addDigit(F, <i32>load<i16>(NAF + (<usize>i << 1)), WNAF_AFFINE, stride, yOff);
    addDigit(F, <i32>load<i16>(NAF_G + (<usize>i << 1)), gOdd, stride, yOff);
  }
}

/**
 * r = k·P for the plain scalar k by the comb table of P (window w): k = Σ d_j·2^(w·j) with signed digits
 * d_j in [−2^(w−1) + 1, 2^(w−1)], and table entry (j, |d| − 1) = |d|·2^(w·j)·P, affine.
 */
function mulComb(c: usize, r: usize, table: usize, w: u32, k: usize): void {
  const F = fp(c);
  const limbs = curveLimbs(c);
  const bits = load<u32>(c + C_NBITS);
  const windows = combWindows(c, w);
  const perWindow: usize = <usize>1 << (w - 1);
  const stride: usize = limbs << 3;
  const yOff: usize = limbs << 2;
  const half: u32 = 1 << (w - 1);
  setInfinity(F, r);
  let carry: u32 = 0;
  for (let j: u32 = 0; j < windows; j++) {
    let v: u32 = carry;
    const base = j * w;
    for (let b: u32 = 0; b < w; b++) if (base + b < bits) v += bnBit(k, base + b) << b;
    // v = 0 is a zero digit; v = 2^w (all ones plus a carry) is a zero digit that carries on.
    if (v == 0 || v == <u32>1 << w) {
      carry = v >>> w;
      continue;
    }
    let mag = v;
    let negative = false;
    if (v > half) {
      mag = (1 << w) - v;
      negative = true;
      carry = 1;
    } else {
      carry = 0;
    }
    const entry = table + (<usize>j * perWindow + <usize>(mag - 1)) * stride;
    if (negative) {
      fieldNeg(F, T8, entry + yOff);
      pointAddAffine(F, r, r, entry, T8);
    } else {
      pointAddAffine(F, r, r, entry, entry + yOff);
    }
  }
}

/**
 * Write the comb table of the affine point (px, py) with window w at table (sized as above):
 * entry (j, d − 1) = d·2^(w·j)·P for d = 1 … 2^(w−1). Points are made affine CHUNK at a time with one
 * inversion (Montgomery's simultaneous inversion).
 */
export function combBuild(c: usize, table: usize, w: u32, px: usize, py: usize): void {
  const F = fp(c);
  const limbs = curveLimbs(c);
  const windows = combWindows(c, w);
  const perWindow: usize = <usize>1 << (w - 1);
  const stride: usize = limbs << 3;
  let pending: usize = 0; // points in CHUNK_POINTS
  let out = table; // where the first pending point goes
  fromAffine(F, BASE, px, py);
  for (let j: u32 = 0; j < windows; j++) {
    // The window's base in affine form (one inversion), so that the multiples below are mixed
    // additions (measured: P-256 key tables built 11% faster than with full Jacobian additions).
    if (j > 0) {
      fieldInv(F, T7, PZ(BASE));
      fieldSqr(F, T6, T7);
      fieldMul(F, PX(BASE), PX(BASE), T6);
      fieldMul(F, T6, T6, T7);
      fieldMul(F, PY(BASE), PY(BASE), T6);
      fieldCopy(F, PZ(BASE), fieldOne(F));
    }
    // PREV runs through BASE, 2·BASE, …, perWindow·BASE.
    memory.copy(PREV, BASE, JAC);
    for (let d: usize = 1; d <= perWindow; d++) {
      if (d == 2) pointDouble(F, PREV, BASE);
      else if (d > 2) pointAddAffine(F, PREV, PREV, PX(BASE), PY(BASE));
      memory.copy(CHUNK_POINTS + pending * JAC, PREV, JAC);
      pending++;
      if (pending == CHUNK) {
        normalizeChunk(F, out, stride, limbs, pending);
        out += pending * stride;
        pending = 0;
      }
    }
    // Next window's base: 2^w·BASE = 2·(2^(w−1)·BASE).
    pointDouble(F, BASE, PREV);
  }
  if (pending > 0) normalizeChunk(F, out, stride, limbs, pending);
}

/** Affine (x, y) of the count Jacobian points in CHUNK_POINTS, written at out with the given stride. */
function normalizeChunk(F: usize, out: usize, stride: usize, limbs: usize, count: usize): void {
  // prefix[i] = Z_0·…·Z_i; none is zero (no multiple d·2^(wj)·P with d < 2^w is infinity for n > 2^w).
  fieldCopy(F, CHUNK_PREFIX, PZ(CHUNK_POINTS));
  for (let i: usize = 1; i < count; i++) {
    fieldMul(F, CHUNK_PREFIX + i * SLOT, CHUNK_PREFIX + (i - 1) * SLOT, PZ(CHUNK_POINTS + i * JAC));
  }
  fieldInv(F, T7, CHUNK_PREFIX + (count - 1) * SLOT); // (Z_0 … Z_(count−1))^−1
  const yOff = limbs << 2;
  for (let i = <isize>count - 1; i >= 0; i--) {
    const pt = CHUNK_POINTS + <usize>i * JAC;
    if (i > 0) {
      fieldMul(F, T6, T7, CHUNK_PREFIX + (<usize>i - 1) * SLOT); // Z_i^−1
      fieldMul(F, T7, T7, PZ(pt));
    } else {
      fieldCopy(F, T6, T7);
    }
    fieldSqr(F, T5, T6);
    const dst = out + <usize>i * stride;
    fieldMul(F, dst, PX(pt), T5);
    fieldMul(F, T5, T5, T6);
    fieldMul(F, dst + yOff, PY(pt), T5);
  }
}

/**
 * Make sure G's odd multiples G, 3G, …, (2^(G_WNAF_W−1) − 1)G exist, affine, at the descriptor's table
 * (computed once per instance, on the first single verification with a key not in the cache): a co-Z
 * chain from 2G as in mulJoint, made affine CHUNK points at a time.
 */
function ensureGOddTable(c: usize): void {
  if (load<u32>(c + C_GODD_READY) != 0) return;
  const F = fp(c);
  const limbs = curveLimbs(c);
  const stride: usize = limbs << 3;
  const count: usize = <usize>1 << (G_WNAF_W - 2);
  let out = <usize>load<u32>(c + C_GODD);
  // PREV = (2i − 1)·G sharing its Z with BASE = 2G; the next odd multiple goes to the chunk.
  pointDoubleCoZ(F, BASE, PREV, c + C_GX, c + C_GY);
  memory.copy(CHUNK_POINTS, PREV, JAC);
  let pending: usize = 1;
  for (let i: usize = 1; i < count; i++) {
    const cur = CHUNK_POINTS + pending * JAC;
    pointAddCoZ(F, cur, BASE, PREV);
    memory.copy(PREV, cur, JAC);
    pending++;
    if (pending == CHUNK) {
      normalizeChunk(F, out, stride, limbs, pending);
      out += pending * stride;
      pending = 0;
    }
  }
  if (pending > 0) normalizeChunk(F, out, stride, limbs, pending);
  store<u32>(c + C_GODD_READY, 1);
}

/** Make sure G's comb table exists (computed once per instance, on the first verification). */
function ensureGTable(c: usize): void {
  if (load<u32>(c + C_GTABLE_READY) != 0) return;
  combBuild(c, <usize>load<u32>(c + C_GTABLE), load<u32>(c + C_GTABLE_W), c + C_GX, c + C_GY);
  store<u32>(c + C_GTABLE_READY, 1);
}

// ---------------------------------------------------------------------------------------------------
// ECDSA verification (SEC 1 v2 §4.1.4)

/**
 * Parse r‖s (each curveBytes(c) bytes, big-endian) into SC_R, SC_S and check 1 ≤ r, s < n
 * (SEC 1 §4.1.4 step 1).
 */
function loadSignature(c: usize, sig: usize): bool {
  const N = fn(c);
  const nb = curveBytes(c);
  if (!fieldFromBytes(N, SC_R, sig, nb) || !fieldFromBytes(N, SC_S, sig + nb, nb)) return false;
  const limbs = curveLimbs(c);
  return !bnIsZero(SC_R, limbs) && !bnIsZero(SC_S, limbs);
}

/**
 * SC_E = bits2int(digest) mod n (SEC 1 §4.1.4 steps 4–5): the leftmost ⌈log2 n⌉ bits of the digest,
 * which for byte-aligned orders is its first curveBytes(c) bytes (or all of it, when shorter).
 */
function loadDigest(c: usize, digest: usize, digestLen: usize): void {
  const nb = curveBytes(c);
  const limbs = curveLimbs(c);
  bnFromBytesBE(SC_E, limbs, digest, digestLen < nb ? digestLen : nb);
  // e < 2^nbits < 2n for these orders (n > 2^(nbits − 1)), so one subtraction reduces it.
  const n = fieldModulus(fn(c));
  if (bnCmp(SC_E, n, limbs) >= 0) bnSub(SC_E, SC_E, n, limbs);
}

/** SC_U1 = e·w, SC_U2 = r·w (plain) where wM = s^−1·R mod n (Montgomery form of s^−1). */
function scalarsFromInverse(c: usize, wM: usize): void {
  const N = fn(c);
  // e·(s^−1·R)·R^−1 = e·s^−1: a plain operand times a Montgomery one gives a plain product.
  fieldMul(N, SC_U1, SC_E, wM);
  fieldMul(N, SC_U2, SC_R, wM);
}

/**
 * Whether the Jacobian point at p has x-coordinate ≡ r (mod n) (SEC 1 §4.1.4 steps 6–8), without an
 * inversion: X = x·Z², so test X = r·Z² and, when r < p − n, X = (r + n)·Z². False for infinity.
 */
function xMatches(c: usize, p: usize): bool {
  const F = fp(c);
  const limbs = curveLimbs(c);
  if (isInfinity(F, p)) return false;
  fieldSqr(F, T7, PZ(p));
  fieldToMont(F, T8, SC_R); // r < n < p, so r is a field element
  fieldMul(F, T8, T8, T7);
  if (fieldEq(F, T8, PX(p))) return true;
  if (bnCmp(SC_R, c + C_P_MINUS_N, limbs) >= 0) return false;
  bnAdd(T8, SC_R, fieldModulus(fn(c)), limbs);
  fieldToMont(F, T8, T8);
  fieldMul(F, T8, T8, T7);
  return fieldEq(F, T8, PX(p));
}

// ---------------------------------------------------------------------------------------------------
// Key cache: a public key that verifies many signatures gets a comb table, so that u2·Q costs one mixed
// addition per window instead of a doubling per bit (P-256: 44 µs per signature instead of 154,
// measured with npm run bench -- sig). One key per curve is kept, with its encoded bytes; a batch (ecdsaKeyTable) builds the table
// at once, a run of single verifications builds it when the same key arrives for the KEY_CACHE_AFTER-th
// time in a row (building costs about seven verifications, so a key used a few times never pays for it).

/** Consecutive single verifications with one key after which its table is built. */
// @ts-ignore: decorator
@inline const KEY_CACHE_AFTER: u32 = 8;

function isCachedKey(c: usize, key: usize, keyLen: usize): bool {
  return (
    <usize>load<u32>(c + C_KEY_LEN) == keyLen && memory.compare(c + C_KEY_BYTES, key, keyLen) == 0
  );
}

/**
 * Decode key into KEY_X, KEY_Y and make it the cached key (its table not built). False for an invalid
 * key, which leaves the cache empty.
 */
function cacheKey(c: usize, key: usize, keyLen: usize): bool {
  store<u32>(c + C_KEY_LEN, 0);
  store<u32>(c + C_KEY_READY, 0);
  store<u32>(c + C_KEY_USES, 0);
  if (keyLen > KEY_MAX_BYTES || !decodePoint(c, KEY_X, KEY_Y, key, keyLen)) return false;
  memory.copy(c + C_KEY_BYTES, key, keyLen);
  store<u32>(c + C_KEY_LEN, <u32>keyLen);
  return true;
}

/** Build the cached key's table from the key decoded in KEY_X, KEY_Y. */
function buildKeyTable(c: usize): void {
  combBuild(c, <usize>load<u32>(c + C_KTABLE), KEY_COMB_W, KEY_X, KEY_Y);
  store<u32>(c + C_KEY_READY, 1);
}

/**
 * Verify the signature r‖s (sig, 2·curveBytes(c) bytes) of digest under the public key point encoded at
 * key (decodePoint). Returns 1 when valid, 0 otherwise (including every malformed input).
 */
export function ecdsaVerify(c: usize, key: usize, keyLen: usize, digest: usize, digestLen: usize, sig: usize): u32 {
  const F = fp(c);
  const N = fn(c);
  let useTable = false;
  if (isCachedKey(c, key, keyLen)) {
    const uses = load<u32>(c + C_KEY_USES) + 1;
    store<u32>(c + C_KEY_USES, uses);
    if (load<u32>(c + C_KEY_READY) == 0) {
      // KEY_X, KEY_Y may hold another key decoded since (ecdsaKeyTable does not disturb the cache, but
      // be exact): decode again, which for a cached key cannot fail.
      if (!decodePoint(c, KEY_X, KEY_Y, key, keyLen)) return 0;
      if (uses >= KEY_CACHE_AFTER) buildKeyTable(c);
    }
    useTable = load<u32>(c + C_KEY_READY) != 0;
  } else if (!cacheKey(c, key, keyLen)) {
    return 0;
  }
  if (!loadSignature(c, sig)) return 0;
  loadDigest(c, digest, digestLen);
  fieldToMont(N, SC_W, SC_S);
  fieldInv(N, SC_W, SC_W);
  scalarsFromInverse(c, SC_W);
  if (useTable) {
    // No doubling at all: both halves from comb tables.
    ensureGTable(c);
    mulComb(c, ACC, <usize>load<u32>(c + C_KTABLE), KEY_COMB_W, SC_U2);
    mulComb(c, ACC_G, <usize>load<u32>(c + C_GTABLE), load<u32>(c + C_GTABLE_W), SC_U1);
    pointAdd(F, ACC, ACC, ACC_G);
  } else {
    ensureGOddTable(c);
    mulJoint(c, SC_U2, KEY_X, KEY_Y, SC_U1);
  }
  return xMatches(c, ACC) ? 1 : 0;
}

/**
 * Make the public key at key the cached key of curve c with its comb table built (nothing to do when it
 * already is), for ecdsaVerifyBatch. Returns 0 for an invalid key.
 */
export function ecdsaKeyTable(c: usize, key: usize, keyLen: usize): u32 {
  if (isCachedKey(c, key, keyLen)) {
    if (load<u32>(c + C_KEY_READY) != 0) return 1;
    if (!decodePoint(c, KEY_X, KEY_Y, key, keyLen)) return 0;
  } else if (!cacheKey(c, key, keyLen)) {
    return 0;
  }
  buildKeyTable(c);
  return 1;
}

/**
 * Verify count signatures under the cached key, whose table ecdsaKeyTable has built. items holds count
 * records of three u32 (digest pointer, digest byte length, pointer to r‖s); out receives one byte per
 * item, 1 for valid. The inverses of all s are computed with one field inversion (Montgomery's trick),
 * using inv (count field slots of scratch) for the prefix products.
 */
export function ecdsaVerifyBatch(c: usize, items: usize, count: usize, out: usize, inv: usize): void {
  const F = fp(c);
  const N = fn(c);
  if (load<u32>(c + C_KEY_READY) == 0) {
    memory.fill(out, 0, count);
    return;
  }
  const table = <usize>load<u32>(c + C_KTABLE);
  ensureGTable(c);
  // Pass 1: range-check every signature; inv[i] = the product of s_j·R over the good j < i.
  let good: usize = 0;
  fieldCopy(N, T8, fieldOne(N));
  for (let i: usize = 0; i < count; i++) {
    const ok = loadSignature(c, <usize>load<u32>(items + i * 12, 8));
    store<u8>(out + i, ok ? 1 : 0);
    if (!ok) continue;
    fieldCopy(N, inv + i * SLOT, T8);
    fieldToMont(N, SC_S, SC_S);
    fieldMul(N, T8, T8, SC_S);
    good++;
  }
  if (good == 0) return;
  // Pass 2, backwards, with T7 = (product of s_j·R over the good j ≤ i)^−1: w_i = T7·inv[i] is
  // (s_i·R)^−1·R^2 = s_i^−1·R, the Montgomery form of s_i^−1; then s_i leaves T7.
  fieldInv(N, T7, T8);
  for (let i = <isize>count - 1; i >= 0; i--) {
    const ui = <usize>i;
    if (load<u8>(out + ui) == 0) continue;
    loadSignature(c, <usize>load<u32>(items + ui * 12, 8));
    fieldMul(N, inv + ui * SLOT, T7, inv + ui * SLOT);
    fieldToMont(N, SC_S, SC_S);
    fieldMul(N, T7, T7, SC_S);
  }
  // Pass 3: each verification with both halves from comb tables.
  const gTable = <usize>load<u32>(c + C_GTABLE);
  const gW = load<u32>(c + C_GTABLE_W);
  for (let i: usize = 0; i < count; i++) {
    if (load<u8>(out + i) == 0) continue;
    const rec = items + i * 12;
    loadSignature(c, <usize>load<u32>(rec, 8));
    loadDigest(c, <usize>load<u32>(rec), <usize>load<u32>(rec, 4));
    scalarsFromInverse(c, inv + i * SLOT);
    mulComb(c, ACC_G, gTable, gW, SC_U1);
    mulComb(c, ACC, table, KEY_COMB_W, SC_U2);
    pointAdd(F, ACC, ACC, ACC_G);
    store<u8>(out + i, xMatches(c, ACC) ? 1 : 0);
  }
}
