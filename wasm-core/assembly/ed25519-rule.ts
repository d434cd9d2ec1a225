// SPDX-License-Identifier: Apache-2.0
// The Ed25519 acceptance rule (RFC 8032 §5.1.7, cofactored), shared by single and batch verification so
// that the two can never disagree: batch verification applies the same input checks to every item and
// falls back to equationHolds() for every item of a batch whose combined equation fails.
//
// A signature (R ‖ S) on message M under public key A is accepted exactly when
//   1. S < L                                  (§5.1.7 step 1)
//   2. A and R decode per §5.1.3: y < p, a square root exists, and x = 0 only with the sign bit clear;
//      a non-canonical encoding is rejected, never reduced
//   3. neither A nor R has small order (order 1, 2, 4 or 8)
//   4. [8]([S]B − [k]A − R) is the identity, k = SHA-512(R ‖ A ‖ M) mod L (§5.1.7 step 3, cofactored;
//      the [8] applies to the whole difference, so reducing k mod L first cannot change the verdict)
// Failures are reported as the first of: S, R's encoding, R's order, A's encoding, A's order, equation.
//
// Why: rule 1 makes signatures non-malleable (without it S + L verifies too). Rule 4 is cofactored
// because that is the equation a random linear combination checks reliably: with the cofactorless one a
// batch accepts an item whose torsion part a single check rejects whenever its random multiplier happens
// to annihilate that torsion (probability 1/8 to 1/2), so the two would disagree. Rule 3 for A: a small-order key has [8]A = O, so R = [S]B passes for any S and
// any message: anyone could "sign" for it. Rejecting it also makes a signature bind its key (strong
// binding in Brendel, Cremers, Jackson and Zhao, "The provable security of Ed25519: theory and
// practice", S&P 2021; Chalkias, Garillot and Nikolaenko, "Taming the many EdDSAs", SSR 2020, discuss
// the same choices and wrote the speccheck cases below). Rule 3 for R: an RFC 8032 signer reaches a
// small-order R only with a nonce ≡ 0 (mod L), which SHA-512 does not yield in practice, so no honest
// signature is lost; libsodium and dalek's verify_strict reject it too. Rule 2 is the RFC's decoding,
// exactly. Not checked: that A lies in the prime-order subgroup (the cofactor makes its torsion part
// irrelevant; a full check would cost a scalar multiplication by L).
//
// ed25519-speccheck's cases (its README condition table), our decision, and the rule that decides:
//   case  A order   R order   S         decision  rule
//   0     small     small     0         reject    3 (R small; A is small too)
//   1     small     mixed     < L       reject    3 (A small)
//   2     mixed     small     < L       reject    3 (R small)
//   3     mixed     mixed     < L       accept    4 (both equations hold)
//   4     mixed     mixed     < L       accept    4 (only the cofactored equation holds)
//   5     mixed     L         < L       accept    4 (fails only if 8k is reduced before the [8])
//   6     L         L         > L       reject    1
//   7     L         L         ≫ L       reject    1
//   8, 9  mixed     small*    < L       reject    2 (R = (0, −1) encoded with the sign bit set)
//   10,11 small*    mixed     < L       reject    2 (A = (0, −1) encoded with the sign bit set)
// (node:crypto, i.e. OpenSSL, accepts 0–3 and 11 and rejects the rest: it is cofactorless and keeps
// small-order points; random signatures never reach any of these cases.)

import {
  addCached,
  addNiels,
  BASE128_TABLE,
  BASE_TABLE,
  BASE_WINDOW,
  CACHED_BYTES,
  dbl,
  DECODE_NEGATIVE_ZERO,
  DECODE_NONCANONICAL_Y,
  DECODE_OK,
  decodePoint,
  decodePointPair,
  isIdentity,
  isSmallOrder,
  NIELS_BYTES,
  p3FromAffine,
  setIdentity,
  subCached,
  subNiels,
  timesEight,
  toCached,
  toP2,
  toP3,
} from './ed25519-point';
import { SC_ACC_BYTES, scFromAcc, scHalfGcd, scIsCanonical, scMulAddZ, scWnaf } from './ed25519-scalar';
import { sha512_blocks, sha512_final, sha512_init } from './sha512';

// Verdict codes (the ABI: ed25519_verify's return value, the batch's per-item output byte). 0 is never
// a verdict, so an output the kernel did not write reads as a failure.
// @ts-ignore: decorator
@inline export const VALID: u32 = 1;
// @ts-ignore: decorator
@inline export const S_NOT_CANONICAL: u32 = 2;
// @ts-ignore: decorator
@inline export const A_NONCANONICAL: u32 = 3;
// @ts-ignore: decorator
@inline export const A_NOT_ON_CURVE: u32 = 4;
// @ts-ignore: decorator
@inline export const A_NEGATIVE_ZERO: u32 = 5;
// @ts-ignore: decorator
@inline export const A_SMALL_ORDER: u32 = 6;
// @ts-ignore: decorator
@inline export const R_NONCANONICAL: u32 = 7;
// @ts-ignore: decorator
@inline export const R_NOT_ON_CURVE: u32 = 8;
// @ts-ignore: decorator
@inline export const R_NEGATIVE_ZERO: u32 = 9;
// @ts-ignore: decorator
@inline export const R_SMALL_ORDER: u32 = 10;
// @ts-ignore: decorator
@inline export const EQUATION_FAILS: u32 = 11;

// @ts-ignore: decorator
@inline function decodeFailure(code: i32, base: u32): u32 {
  // DECODE_NONCANONICAL_Y → base, DECODE_NOT_ON_CURVE → base + 1, DECODE_NEGATIVE_ZERO → base + 2.
  return code == DECODE_NONCANONICAL_Y ? base : code == DECODE_NEGATIVE_ZERO ? base + 2 : base + 1;
}

/** Rules 2 and 3 for a decoded public key: VALID, or the failure. */
function keyVerdict(code: i32, x: usize, y: usize): u32 {
  if (code != DECODE_OK) return decodeFailure(code, A_NONCANONICAL);
  if (isSmallOrder(x, y)) return A_SMALL_ORDER;
  return VALID;
}

/** Rules 2 and 3 for a decoded R: VALID, or the failure. */
function rVerdict(code: i32, x: usize, y: usize): u32 {
  if (code != DECODE_OK) return decodeFailure(code, R_NONCANONICAL);
  if (isSmallOrder(x, y)) return R_SMALL_ORDER;
  return VALID;
}

/** Rules 2 and 3 for the public key at pk: VALID with affine (x, y) set, or the failure. */
export function checkKey(x: usize, y: usize, pk: usize): u32 {
  return keyVerdict(decodePoint(x, y, pk), x, y);
}

/** Rules 2 and 3 for R, the first half of the signature at sig: VALID with (x, y) set, or the failure. */
export function checkR(x: usize, y: usize, sig: usize): u32 {
  return rVerdict(decodePoint(x, y, sig), x, y);
}

/** Rule 1: S, the second half of the signature at sig, below L. */
export function checkS(sig: usize): bool {
  return scIsCanonical(sig + 32);
}

/** Rules 1–3 for the signature at sig (R ‖ S): VALID with R's affine (x, y) set, or the failure. */
export function checkSignature(x: usize, y: usize, sig: usize): u32 {
  if (!checkS(sig)) return S_NOT_CANONICAL;
  return checkR(x, y, sig);
}

/**
 * checkR and checkKey together, their square roots computed as a pair: returns rCode | keyCode << 8.
 * The verdicts are those of the two calls.
 */
export function checkRAndKey(rx: usize, ry: usize, sig: usize, ax: usize, ay: usize, pk: usize): u32 {
  const codes = decodePointPair(rx, ry, sig, ax, ay, pk);
  return rVerdict(codes & 0xff, rx, ry) | (keyVerdict(codes >> 8, ax, ay) << 8);
}

/** checkR on two signatures at once: returns codeA | codeB << 8. */
export function checkRPair(xa: usize, ya: usize, sigA: usize, xb: usize, yb: usize, sigB: usize): u32 {
  const codes = decodePointPair(xa, ya, sigA, xb, yb, sigB);
  return rVerdict(codes & 0xff, xa, ya) | (rVerdict(codes >> 8, xb, yb) << 8);
}

/** checkKey on two keys at once: returns codeA | codeB << 8. */
export function checkKeyPair(xa: usize, ya: usize, pkA: usize, xb: usize, yb: usize, pkB: usize): u32 {
  const codes = decodePointPair(xa, ya, pkA, xb, yb, pkB);
  return keyVerdict(codes & 0xff, xa, ya) | (keyVerdict(codes >> 8, xb, yb) << 8);
}

// Window of the variable points' non-adjacent forms: odd multiples P, 3P, …, 15P.
// @ts-ignore: decorator
@inline const POINT_WINDOW: i32 = 5;
// @ts-ignore: decorator
@inline export const ODD_MULTIPLES_LEN: usize = 8;
// @ts-ignore: decorator
@inline export const ODD_MULTIPLES_BYTES: usize = ODD_MULTIPLES_LEN * CACHED_BYTES;

const TMP: usize = memory.data(160, 16); // P3
const TWO_P: usize = memory.data(160, 16); // P3
const SUM: usize = memory.data(160, 16); // Completed
const ACC: usize = memory.data(160, 16); // P2 accumulator

/** table[i] = (2i + 1)P (Cached) for the affine point P = (x, y), i < ODD_MULTIPLES_LEN. */
export function buildOddMultiples(table: usize, x: usize, y: usize): void {
  p3FromAffine(TMP, x, y);
  toCached(table, TMP);
  dbl(SUM, TMP);
  toP3(TWO_P, SUM);
  for (let i: usize = 1; i < ODD_MULTIPLES_LEN; i++) {
    addCached(SUM, TWO_P, table + (i - 1) * CACHED_BYTES);
    toP3(TMP, SUM);
    toCached(table + i * CACHED_BYTES, TMP);
  }
}

const C1: usize = memory.data(32, 16);
const C0: usize = memory.data(32, 16);
const U_ACC: usize = memory.data(<i32>SC_ACC_BYTES, 16);
const U: usize = memory.data(32, 16);
const U_LO: usize = memory.data(32, 16);
const U_HI: usize = memory.data(32, 16);
const R_TABLE: usize = memory.data(<i32>ODD_MULTIPLES_BYTES, 16);
const B_DIGITS: usize = memory.data(264);
const B128_DIGITS: usize = memory.data(264);
const A_DIGITS: usize = memory.data(264);
const R_DIGITS: usize = memory.data(264);

/**
 * Rule 4 for checked inputs: aTable = the odd multiples of A (buildOddMultiples), R = (rx, ry) affine,
 * k and S (32 bytes each, below L). Whether [8]([S]B − [k]A − R) is the identity.
 *
 * Half-size multipliers (after T. Pornin, "Optimized lattice basis reduction in dimension 2, and fast
 * Schnorr and EdDSA signature verification", 2020): with c0 k ≡ c1 (mod L) and |c0|, c1 < 2^127
 * (scHalfGcd), the check is [8]([u]B − [±c1]A − [|c0|]R) = identity for u = |c0| S mod L, which is the
 * original times c0 ≢ 0 (mod L) on a group of prime order L once multiplied by 8, so it accepts
 * exactly the same inputs. u splits into two 128-bit halves over B and [2^128]B, so all four scalars
 * are at most 128 bits and Straus' method needs 128 doublings instead of 253.
 */
export function equationHolds(aTable: usize, rx: usize, ry: usize, k: usize, s: usize): bool {
  const c0Negative = scHalfGcd(C1, C0, k) != 0;
  memory.fill(U_ACC, 0, SC_ACC_BYTES);
  scMulAddZ(U_ACC, C0, s);
  scFromAcc(U, U_ACC);
  memory.fill(U_LO, 0, 32);
  memory.fill(U_HI, 0, 32);
  memory.copy(U_LO, U, 16);
  memory.copy(U_HI, U + 16, 16);
  buildOddMultiples(R_TABLE, rx, ry);
  let top = scWnaf(B_DIGITS, U_LO, BASE_WINDOW);
  let n = scWnaf(B128_DIGITS, U_HI, BASE_WINDOW);
  if (n > top) top = n;
  n = scWnaf(A_DIGITS, C1, POINT_WINDOW);
  if (n > top) top = n;
  n = scWnaf(R_DIGITS, C0, POINT_WINDOW);
  if (n > top) top = n;
  setIdentity(ACC);
  setIdentity(TMP);
  let i = top;
  while (--i >= 0) {
    dbl(SUM, ACC);
    const db = load<i8>(B_DIGITS + <usize>i);
    if (db != 0) {
      toP3(TMP, SUM);
      if (db > 0) addNiels(SUM, TMP, BASE_TABLE + <usize>(db >> 1) * NIELS_BYTES);
      else subNiels(SUM, TMP, BASE_TABLE + <usize>(-db >> 1) * NIELS_BYTES);
    }
    const dh = load<i8>(B128_DIGITS + <usize>i);
    if (dh != 0) {
      toP3(TMP, SUM);
      if (dh > 0) addNiels(SUM, TMP, BASE128_TABLE + <usize>(dh >> 1) * NIELS_BYTES);
      else subNiels(SUM, TMP, BASE128_TABLE + <usize>(-dh >> 1) * NIELS_BYTES);
    }
    // −[c0 k]A: the sign of c0 (scHalfGcd gives c1 ≥ 0) decides whether a positive digit subtracts.
    const da = load<i8>(A_DIGITS + <usize>i);
    if (da != 0) {
      toP3(TMP, SUM);
      if ((da > 0) != c0Negative) subCached(SUM, TMP, aTable + <usize>((da > 0 ? da : -da) >> 1) * CACHED_BYTES);
      else addCached(SUM, TMP, aTable + <usize>((da > 0 ? da : -da) >> 1) * CACHED_BYTES);
    }
    const dr = load<i8>(R_DIGITS + <usize>i);
    if (dr != 0) {
      toP3(TMP, SUM);
      if (dr > 0) subCached(SUM, TMP, R_TABLE + <usize>(dr >> 1) * CACHED_BYTES);
      else addCached(SUM, TMP, R_TABLE + <usize>(-dr >> 1) * CACHED_BYTES);
    }
    toP2(ACC, SUM);
  }
  timesEight(ACC);
  return isIdentity(ACC);
}

const HASH_STATE: usize = memory.data(64, 16);
const HASH_BLOCK: usize = memory.data(128, 16);

/**
 * out (64 bytes) = SHA-512(R ‖ A ‖ M) (RFC 8032 §5.1.7 step 2) without copying M: the first block is R,
 * A and M's first 64 bytes assembled in HASH_BLOCK; the rest of M is compressed where it lies.
 */
export function hashRAM(r: usize, a: usize, m: usize, mByteLen: usize, out: usize): void {
  sha512_init(HASH_STATE, 64);
  memory.copy(HASH_BLOCK, r, 32);
  memory.copy(HASH_BLOCK + 32, a, 32);
  const total = <u64>mByteLen + 64;
  if (mByteLen < 64) {
    memory.copy(HASH_BLOCK + 64, m, mByteLen);
    sha512_final(HASH_STATE, HASH_BLOCK, 64 + mByteLen, <u32>total, <u32>(total >>> 32), out, 64);
    return;
  }
  memory.copy(HASH_BLOCK + 64, m, 64);
  sha512_blocks(HASH_STATE, HASH_BLOCK, 1);
  const rest = m + 64;
  const restByteLen = mByteLen - 64;
  const full = restByteLen >>> 7;
  sha512_blocks(HASH_STATE, rest, full);
  sha512_final(HASH_STATE, rest + (full << 7), restByteLen & 127, <u32>total, <u32>(total >>> 32), out, 64);
}
