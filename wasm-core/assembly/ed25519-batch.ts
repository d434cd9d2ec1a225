// SPDX-License-Identifier: Apache-2.0
// Ed25519 batch verification by random linear combination (Bernstein, Duif, Lange, Schwabe, Yang,
// "High-speed high-security signatures", 2011, §5; cofactored as in ed25519-rule.ts). For items that pass
// the input checks of the shared rule, with caller-supplied 128-bit random z_i:
//   [8]( [Σ z_i S_i]B − Σ_j [Σ_{i: key j} z_i k_i]A_j − Σ_i [z_i]R_i ) = identity
// holds whenever every item satisfies the single equation; if some item does not, it fails except with
// probability at most 2^−128 over the z_i (the group has prime order L > 2^128 once multiplied by 8, so
// given the other z, at most one value of a failing item's z cancels its term). Items under one key
// share one A term, so a batch from a single signer costs one long scalar and n short ones. When the
// combination fails, every item is re-checked with equationHolds(), so the verdicts are the
// single-verification verdicts.
//
// ABI: ed25519_verify_batch(keysPtr, keyCount, itemsPtr, itemCount, randomPtr, outPtr, scratchPtr)
//   keysPtr     keyCount public keys of 32 bytes, back to back
//   itemsPtr    itemCount records of 5 u32 (ITEM_RECORD_BYTES): keyIndex, sigPtr (64 bytes R ‖ S), dataPtr,
//               dataByteLen, kind (0: data is the message; 1: data is SHA-512(R ‖ A ‖ M), 64 bytes)
//   randomPtr   itemCount × 16 random bytes (the z_i; the loader fills them from crypto.getRandomValues)
//   outPtr      itemCount verdict bytes (ed25519-rule.ts codes; 1 = valid)
//   scratchPtr  ed25519_batch_scratch_byte_len(keyCount, itemCount) bytes
// Returns the number of valid items. itemCount ≤ MAX_BATCH_ITEMS; keyIndex < keyCount (the loader checks).

import { feCopy, feMul, feNeg, feSetInt } from './field25519';
import {
  addCached,
  addNiels,
  BASE_TABLE,
  BASE_WINDOW,
  BASE_X,
  BASE_Y,
  CACHED_BYTES,
  dbl,
  initCurve,
  isIdentity,
  NIELS_BYTES,
  nielsFromAffine,
  P3_BYTES,
  PT,
  PX,
  PY,
  PZ,
  setIdentity,
  subCached,
  subNiels,
  timesEight,
  toCached,
  toP2,
  toP3,
} from './ed25519-point';
import {
  buildOddMultiples,
  checkKey,
  checkKeyPair,
  checkR,
  checkRPair,
  checkS,
  EQUATION_FAILS,
  equationHolds,
  hashRAM,
  ODD_MULTIPLES_BYTES,
  S_NOT_CANONICAL,
  VALID,
} from './ed25519-rule';
import { SC_ACC_BYTES, scFromAcc, scMulAddZ, scReduce64, scSignedDigits, scWnaf } from './ed25519-scalar';

/**
 * Up to this many items are checked one by one (equationHolds, with its half-size multipliers) rather
 * than combined: measured on the bench machine, the combination costs more per item for 2 items, about
 * the same for 3, and 15–20% less from 4 on.
 */
// @ts-ignore: decorator
@inline const SEPARATE_MAX: u32 = 2;

/** Items per call: keeps the unreduced scalar accumulators of ed25519-scalar.ts far from overflow. */
// @ts-ignore: decorator
@inline export const MAX_BATCH_ITEMS: u32 = 65536;
// @ts-ignore: decorator
@inline export const ITEM_RECORD_BYTES: usize = 20;

// Scratch records.
// KEY:  x, y (affine), acc (Σ z k, unreduced limbs), verdict of checkKey (u32, padded; 0 or KEY_NEEDED before)
// @ts-ignore: decorator
@inline const KEY_X: usize = 0;
// @ts-ignore: decorator
@inline const KEY_Y: usize = 40;
// @ts-ignore: decorator
@inline const KEY_ACC: usize = 80;
// @ts-ignore: decorator
@inline const KEY_CODE: usize = 80 + SC_ACC_BYTES;
// @ts-ignore: decorator
@inline const KEY_BYTES: usize = 80 + SC_ACC_BYTES + 16;
/** KEY_CODE while the key waits to be decoded (0: no item needs it). */
// @ts-ignore: decorator
@inline const KEY_NEEDED: u32 = 0xff;
// ITEM: R (affine), k
// @ts-ignore: decorator
@inline const ITEM_RX: usize = 0;
// @ts-ignore: decorator
@inline const ITEM_RY: usize = 40;
// @ts-ignore: decorator
@inline const ITEM_K: usize = 80;
// @ts-ignore: decorator
@inline const ITEM_BYTES: usize = 112;
// TERM (one point of the multi-scalar multiplication): scalar, affine x, y, x·y, Niels form
// @ts-ignore: decorator
@inline const TERM_SCALAR: usize = 0;
// @ts-ignore: decorator
@inline const TERM_X: usize = 32;
// @ts-ignore: decorator
@inline const TERM_Y: usize = 72;
// @ts-ignore: decorator
@inline const TERM_XY: usize = 112;
// @ts-ignore: decorator
@inline const TERM_NIELS: usize = 152;
// @ts-ignore: decorator
@inline const TERM_BYTES: usize = 152 + NIELS_BYTES;

// Straus: per term a width-5 NAF (264 i8) and the odd multiples P, 3P, …, 15P (Cached).
// @ts-ignore: decorator
@inline const STRAUS_WINDOW: i32 = 5;
// @ts-ignore: decorator
@inline const STRAUS_TABLE_LEN: usize = 8;
// @ts-ignore: decorator
@inline const STRAUS_TERM_BYTES: usize = 264 + STRAUS_TABLE_LEN * CACHED_BYTES;

// Pippenger: signed radix-2^c digits; buckets 1 .. 2^(c−1) in P3 with an "empty" flag each.
// @ts-ignore: decorator
@inline const PIPPENGER_MAX_WINDOW: i32 = 12;

/** Whether the last batch's combined equation held (1) or not (0): a probe for the tests. */
let lastCombined: u32 = 0;

/** 1 when the random linear combination of the last ed25519_verify_batch call held, else 0. */
export function ed25519_batch_combined(): u32 {
  return lastCombined;
}

/** 0: choose by size (measured: see chooseWindow); 1: force Straus; c ≥ 2: force Pippenger with window c. */
let msmOverride: i32 = 0;

/**
 * The window of Pippenger's method for `terms` points, or 0 for Straus. Measured with the msm section of
 * bench/ed25519.bench.ts (SIMD build; terms = 2 n + 1 for n items under n keys): Straus is best up to
 * 129 terms (it shares one chain of doublings and needs no bucket sums), then windows 6, 7 and 8 win at
 * 257, 513 and 1025–2049 terms. Windows 9 and 10 beyond follow the usual growth of about log2(terms) − 3.
 */
function chooseWindow(terms: u32): i32 {
  if (msmOverride == 1) return 0;
  if (msmOverride >= 2) return msmOverride;
  if (terms < 160) return 0;
  if (terms < 400) return 6;
  if (terms < 800) return 7;
  if (terms < 3000) return 8;
  if (terms < 8000) return 9;
  return 10;
}

// @ts-ignore: decorator
@inline function align16(n: usize): usize {
  return (n + 15) & ~(<usize>15);
}

// @ts-ignore: decorator
@inline function windowCount(c: i32): i32 {
  return (254 + c - 1) / c; // digits d_0 .. d_(count−1) absorb the final carry of a scalar below 2^253
}

/** Bytes of the algorithm-specific work area for `terms` terms. */
function workBytes(terms: u32): usize {
  const c = chooseWindow(terms);
  if (c == 0) return <usize>terms * STRAUS_TERM_BYTES;
  const digitBytes = align16(<usize>windowCount(c) * 2);
  const buckets: usize = <usize>1 << <usize>(c - 1);
  return <usize>terms * digitBytes + buckets * P3_BYTES + align16(buckets);
}

/** Scratch bytes ed25519_verify_batch needs for keyCount keys and itemCount items. */
export function ed25519_batch_scratch_byte_len(keyCount: u32, itemCount: u32): usize {
  const terms = 1 + keyCount + itemCount;
  return (
    <usize>keyCount * KEY_BYTES + <usize>itemCount * ITEM_BYTES + <usize>terms * TERM_BYTES + workBytes(terms)
  );
}

/** Sets the multi-scalar multiplication for tests and benchmarks (see msmOverride). Returns the old value. */
export function ed25519_batch_set_msm(mode: i32): i32 {
  const old = msmOverride;
  msmOverride = mode < 0 || mode > PIPPENGER_MAX_WINDOW ? 0 : mode;
  return old;
}

const DIGEST: usize = memory.data(64, 16);
const B_ACC: usize = memory.data(<i32>SC_ACC_BYTES, 16);
const ACC: usize = memory.data(160, 16);
const TMP: usize = memory.data(160, 16);
const SUM: usize = memory.data(160, 16);
const RUNNING: usize = memory.data(160, 16);
const WINDOW_SUM: usize = memory.data(160, 16);
const CACHED: usize = memory.data(160, 16);
const TWO_P: usize = memory.data(160, 16);
const FALLBACK_TABLE: usize = memory.data(<i32>ODD_MULTIPLES_BYTES, 16);
const B_DIGITS: usize = memory.data(264);

/** Fills a term from affine (x, y), negated when `negate`, with its scalar at `scalar`. */
function setTerm(t: usize, x: usize, y: usize, negate: bool, scalar: usize): void {
  memory.copy(t + TERM_SCALAR, scalar, 32);
  if (negate) feNeg(t + TERM_X, x);
  else feCopy(t + TERM_X, x);
  feCopy(t + TERM_Y, y);
  feMul(t + TERM_XY, t + TERM_X, y);
  nielsFromAffine(t + TERM_NIELS, t + TERM_X, y);
}

export function ed25519_verify_batch(
  keysPtr: usize,
  keyCount: u32,
  itemsPtr: usize,
  itemCount: u32,
  randomPtr: usize,
  outPtr: usize,
  scratchPtr: usize,
): u32 {
  initCurve();
  lastCombined = 0;
  if (itemCount > MAX_BATCH_ITEMS) return 0; // the loader never asks; nothing is written (all fail)
  const keys = scratchPtr;
  const items = keys + <usize>keyCount * KEY_BYTES;
  const terms = items + <usize>itemCount * ITEM_BYTES;
  const work = terms + <usize>(1 + keyCount + itemCount) * TERM_BYTES;
  const maxTerms = 1 + keyCount + itemCount;

  // Rules 1–3 for each item, R decoded two at a time; the verdict byte holds the item's code so far
  // (S, then R, then its key: the order verifyWithDigest in ed25519.ts reports them in).
  let waiting: isize = -1; // an item whose R waits for a partner
  for (let i: usize = 0; i < <usize>itemCount; i++) {
    const rec = itemsPtr + i * ITEM_RECORD_BYTES;
    if (load<u32>(rec, 0) >= keyCount) {
      store<u8>(outPtr + i, <u8>EQUATION_FAILS); // a loader bug, never data: fail closed
      continue;
    }
    const sig = <usize>load<u32>(rec, 4);
    if (!checkS(sig)) {
      store<u8>(outPtr + i, <u8>S_NOT_CANONICAL);
      continue;
    }
    if (waiting < 0) {
      waiting = <isize>i;
      continue;
    }
    const w = <usize>waiting;
    const itemW = items + w * ITEM_BYTES;
    const item = items + i * ITEM_BYTES;
    const codes = checkRPair(
      itemW + ITEM_RX, itemW + ITEM_RY, <usize>load<u32>(itemsPtr + w * ITEM_RECORD_BYTES, 4),
      item + ITEM_RX, item + ITEM_RY, sig,
    );
    store<u8>(outPtr + w, <u8>(codes & 0xff));
    store<u8>(outPtr + i, <u8>(codes >> 8));
    waiting = -1;
  }
  if (waiting >= 0) {
    const w = <usize>waiting;
    const itemW = items + w * ITEM_BYTES;
    const sig = <usize>load<u32>(itemsPtr + w * ITEM_RECORD_BYTES, 4);
    store<u8>(outPtr + w, <u8>checkR(itemW + ITEM_RX, itemW + ITEM_RY, sig));
  }
  // Rules 2–3 for the keys those items use (a key no item needs is never decoded), two at a time.
  for (let j: usize = 0; j < <usize>keyCount; j++) store<u32>(keys + j * KEY_BYTES + KEY_CODE, 0);
  for (let i: usize = 0; i < <usize>itemCount; i++) {
    if (load<u8>(outPtr + i) != <u8>VALID) continue;
    const key = keys + <usize>load<u32>(itemsPtr + i * ITEM_RECORD_BYTES) * KEY_BYTES;
    store<u32>(key + KEY_CODE, KEY_NEEDED);
  }
  let waitingKey: isize = -1;
  for (let j: usize = 0; j < <usize>keyCount; j++) {
    const key = keys + j * KEY_BYTES;
    if (load<u32>(key + KEY_CODE) != KEY_NEEDED) continue;
    memory.fill(key + KEY_ACC, 0, SC_ACC_BYTES);
    if (waitingKey < 0) {
      waitingKey = <isize>j;
      continue;
    }
    const w = <usize>waitingKey;
    const keyW = keys + w * KEY_BYTES;
    const codes = checkKeyPair(
      keyW + KEY_X, keyW + KEY_Y, keysPtr + (w << 5),
      key + KEY_X, key + KEY_Y, keysPtr + (j << 5),
    );
    store<u32>(keyW + KEY_CODE, codes & 0xff);
    store<u32>(key + KEY_CODE, codes >> 8);
    waitingKey = -1;
  }
  if (waitingKey >= 0) {
    const w = <usize>waitingKey;
    const keyW = keys + w * KEY_BYTES;
    store<u32>(keyW + KEY_CODE, checkKey(keyW + KEY_X, keyW + KEY_Y, keysPtr + (w << 5)));
  }
  memory.fill(B_ACC, 0, SC_ACC_BYTES);
  let pending: u32 = 0;
  for (let i: usize = 0; i < <usize>itemCount; i++) {
    if (load<u8>(outPtr + i) != <u8>VALID) continue;
    const rec = itemsPtr + i * ITEM_RECORD_BYTES;
    const keyIndex = load<u32>(rec, 0);
    const key = keys + <usize>keyIndex * KEY_BYTES;
    const keyCode = load<u32>(key + KEY_CODE);
    if (keyCode != VALID) {
      store<u8>(outPtr + i, <u8>keyCode);
      continue;
    }
    const sig = <usize>load<u32>(rec, 4);
    const item = items + i * ITEM_BYTES;
    const data = <usize>load<u32>(rec, 8);
    let digest = data;
    if (load<u32>(rec, 16) == 0) {
      hashRAM(sig, keysPtr + (<usize>keyIndex << 5), data, <usize>load<u32>(rec, 12), DIGEST);
      digest = DIGEST;
    }
    scReduce64(item + ITEM_K, digest);
    const z = randomPtr + (i << 4);
    scMulAddZ(key + KEY_ACC, z, item + ITEM_K);
    scMulAddZ(B_ACC, z, sig + 32);
    store<u8>(outPtr + i, 0); // pending: decided by the combination (or the fallback) below
    pending++;
  }
  if (pending == 0) return 0;

  let combined = false;
  if (pending <= SEPARATE_MAX) {
    // Too few items for the combination to pay for its doublings: check each on its own (measured).
    combined = false;
  } else {
    // Terms: −R_i with z_i, −A_j with Σ z k, and B with Σ z S (Pippenger only; Straus uses BASE_TABLE).
    let n: u32 = 0;
    for (let i: usize = 0; i < <usize>itemCount; i++) {
      if (load<u8>(outPtr + i) != 0) continue;
      const item = items + i * ITEM_BYTES;
      memory.fill(DIGEST, 0, 32);
      memory.copy(DIGEST, randomPtr + (i << 4), 16);
      setTerm(terms + <usize>n * TERM_BYTES, item + ITEM_RX, item + ITEM_RY, true, DIGEST);
      n++;
    }
    for (let j: usize = 0; j < <usize>keyCount; j++) {
      const key = keys + j * KEY_BYTES;
      if (load<u32>(key + KEY_CODE) != VALID) continue;
      scFromAcc(DIGEST, key + KEY_ACC);
      if ((load<u64>(DIGEST) | load<u64>(DIGEST, 8) | load<u64>(DIGEST, 16) | load<u64>(DIGEST, 24)) == 0) continue;
      setTerm(terms + <usize>n * TERM_BYTES, key + KEY_X, key + KEY_Y, true, DIGEST);
      n++;
    }
    scFromAcc(DIGEST + 32, B_ACC);
    const c = chooseWindow(maxTerms);
    if (c == 0) {
      straus(ACC, terms, n, work, DIGEST + 32);
    } else {
      setTerm(terms + <usize>n * TERM_BYTES, BASE_X, BASE_Y, false, DIGEST + 32);
      n++;
      pippenger(ACC, terms, n, work, c);
    }
    timesEight(ACC);
    combined = isIdentity(ACC);
    lastCombined = combined ? 1 : 0;
  }

  let valid: u32 = 0;
  let tableKey: i64 = -1;
  for (let i: usize = 0; i < <usize>itemCount; i++) {
    if (load<u8>(outPtr + i) != 0) continue;
    let code = VALID;
    if (!combined) {
      const item = items + i * ITEM_BYTES;
      const rec = itemsPtr + i * ITEM_RECORD_BYTES;
      const keyIndex = load<u32>(rec, 0);
      if (<i64>keyIndex != tableKey) {
        const key = keys + <usize>keyIndex * KEY_BYTES;
        buildOddMultiples(FALLBACK_TABLE, key + KEY_X, key + KEY_Y);
        tableKey = keyIndex;
      }
      const sig = <usize>load<u32>(rec, 4);
      const ok = equationHolds(FALLBACK_TABLE, item + ITEM_RX, item + ITEM_RY, item + ITEM_K, sig + 32);
      code = ok ? VALID : EQUATION_FAILS;
    }
    store<u8>(outPtr + i, <u8>code);
    if (code == VALID) valid++;
  }
  return valid;
}

/**
 * acc (P2) = [b]B + Σ [s_t]P_t by Straus' method: one chain of doublings shared by all terms, width-5 NAF
 * digits and a table of odd multiples per term, width-8 NAF digits of b over the static base table.
 */
function straus(acc: usize, terms: usize, n: u32, work: usize, b: usize): void {
  let top: i32 = 0;
  for (let t: usize = 0; t < <usize>n; t++) {
    const term = terms + t * TERM_BYTES;
    const w = work + t * STRAUS_TERM_BYTES;
    const count = scWnaf(w, term + TERM_SCALAR, STRAUS_WINDOW);
    if (count > top) top = count;
    const table = w + 264;
    // table[i] = (2i + 1)P: P from affine, 2P, then repeated additions of 2P.
    feCopy(TMP + PX, term + TERM_X);
    feCopy(TMP + PY, term + TERM_Y);
    feSetInt(TMP + PZ, 1);
    feCopy(TMP + PT, term + TERM_XY);
    toCached(table, TMP);
    dbl(SUM, TMP);
    toP3(TWO_P, SUM);
    for (let i: usize = 1; i < STRAUS_TABLE_LEN; i++) {
      // (2i + 1)P = (2i − 1)P + 2P
      addCached(SUM, TWO_P, table + (i - 1) * CACHED_BYTES);
      toP3(TMP, SUM);
      toCached(table + i * CACHED_BYTES, TMP);
    }
  }
  const nb = scWnaf(B_DIGITS, b, BASE_WINDOW);
  if (nb > top) top = nb;
  setIdentity(acc);
  setIdentity(TMP);
  let i = top;
  while (--i >= 0) {
    dbl(SUM, acc);
    for (let t: usize = 0; t < <usize>n; t++) {
      const w = work + t * STRAUS_TERM_BYTES;
      const d = load<i8>(w + <usize>i);
      if (d == 0) continue;
      toP3(TMP, SUM);
      if (d > 0) addCached(SUM, TMP, w + 264 + <usize>(d >> 1) * CACHED_BYTES);
      else subCached(SUM, TMP, w + 264 + <usize>(-d >> 1) * CACHED_BYTES);
    }
    const db = load<i8>(B_DIGITS + <usize>i);
    if (db != 0) {
      toP3(TMP, SUM);
      if (db > 0) addNiels(SUM, TMP, BASE_TABLE + <usize>(db >> 1) * NIELS_BYTES);
      else subNiels(SUM, TMP, BASE_TABLE + <usize>(-db >> 1) * NIELS_BYTES);
    }
    toP2(acc, SUM);
  }
}

/**
 * acc (P3) = Σ [s_t]P_t by Pippenger's bucket method with signed radix-2^c digits: per window, each term
 * is added to (or subtracted from) bucket |digit|, and Σ_b b · bucket_b comes from two running sums.
 */
function pippenger(acc: usize, terms: usize, n: u32, work: usize, c: i32): void {
  const count = windowCount(c);
  const digitBytes = align16(<usize>count * 2);
  const buckets = work + <usize>n * digitBytes;
  const bucketCount: usize = <usize>1 << <usize>(c - 1);
  const flags = buckets + bucketCount * P3_BYTES;
  for (let t: usize = 0; t < <usize>n; t++) {
    scSignedDigits(work + t * digitBytes, terms + t * TERM_BYTES + TERM_SCALAR, c, count);
  }
  setIdentity(acc); // P3 throughout, except between the doublings of one window
  for (let wi = count - 1; wi >= 0; wi--) {
    if (wi < count - 1) {
      for (let k = 0; k < c; k++) {
        dbl(SUM, acc);
        if (k < c - 1) toP2(acc, SUM);
        else toP3(acc, SUM);
      }
    }
    memory.fill(flags, 0, bucketCount);
    let any = false;
    for (let t: usize = 0; t < <usize>n; t++) {
      const d = <i32>load<i16>(work + t * digitBytes + (<usize>wi << 1));
      if (d == 0) continue;
      const term = terms + t * TERM_BYTES;
      const bi = <usize>((d > 0 ? d : -d) - 1);
      const bucket = buckets + bi * P3_BYTES;
      if (load<u8>(flags + bi) == 0) {
        store<u8>(flags + bi, 1);
        if (d > 0) {
          feCopy(bucket + PX, term + TERM_X);
          feCopy(bucket + PT, term + TERM_XY);
        } else {
          feNeg(bucket + PX, term + TERM_X);
          feNeg(bucket + PT, term + TERM_XY);
        }
        feCopy(bucket + PY, term + TERM_Y);
        feSetInt(bucket + PZ, 1);
      } else {
        if (d > 0) addNiels(SUM, bucket, term + TERM_NIELS);
        else subNiels(SUM, bucket, term + TERM_NIELS);
        toP3(bucket, SUM);
      }
      any = true;
    }
    if (!any) continue;
    // Σ_b (b + 1) bucket_b = Σ_b running_b with running_b = Σ_{b' ≥ b} bucket_b'.
    let started = false;
    for (let b = <isize>bucketCount - 1; b >= 0; b--) {
      const bucket = buckets + <usize>b * P3_BYTES;
      if (load<u8>(flags + <usize>b) != 0) {
        if (!started) {
          memory.copy(RUNNING, bucket, P3_BYTES);
        } else {
          toCached(CACHED, bucket);
          addCached(SUM, RUNNING, CACHED);
          toP3(RUNNING, SUM);
        }
      } else if (!started) {
        continue;
      }
      if (!started) {
        memory.copy(WINDOW_SUM, RUNNING, P3_BYTES);
        started = true;
      } else {
        toCached(CACHED, RUNNING);
        addCached(SUM, WINDOW_SUM, CACHED);
        toP3(WINDOW_SUM, SUM);
      }
    }
    toCached(CACHED, WINDOW_SUM);
    addCached(SUM, acc, CACHED);
    toP3(acc, SUM);
  }
}
