// SPDX-License-Identifier: Apache-2.0
// Ed25519 signature verification (RFC 8032 §5.1.7), single and batch: the exported ABI. The acceptance
// rule is in ed25519-rule.ts, the batch kernel in ed25519-batch.ts.
//
// ABI (integers only; every pointer is an arena offset the loader has bounds-checked):
//   ed25519_verify(pkPtr, sigPtr, msgPtr, msgByteLen) → verdict
//       pk: 32 bytes, sig: 64 bytes (R ‖ S), msg: msgByteLen bytes.
//   ed25519_verify_digest(pkPtr, sigPtr, digestPtr) → verdict
//       the same with SHA-512(R ‖ A ‖ M) (64 bytes) computed by the caller, for messages that do not fit
//       the arena (the loader streams them through sha512_init/_blocks/_final).
//   ed25519_batch_scratch_byte_len(keyCount, itemCount) → bytes of scratch ed25519_verify_batch needs
//   ed25519_verify_batch(keysPtr, keyCount, itemsPtr, itemCount, randomPtr, outPtr, scratchPtr) → count
//       of valid items; see ed25519-batch.ts for the record layouts.
// Exported by testing.ts only (the testing builds), not by the production ABI:
//   ed25519_field_op / ed25519_scalar_op: arithmetic probes for the property tests.
//   ed25519_batch_set_msm(mode) / ed25519_batch_combined(): choose the multi-scalar multiplication, and
//       whether the last batch's combination held: knobs and probes for the tests and benchmarks.
// Verdicts are the codes of ed25519-rule.ts: 1 = valid, 2..11 = the first rule that failed.
//
// Single verification keeps the last public key decoded, with its table of odd multiples, so a run of
// signatures by one key skips a square root and eight point additions each (measured: about 15% of a
// verification). On a new key, A and R are decoded together, their square roots as one paired
// computation (field25519.ts feSqrtRatioPair). Nothing else carries over between calls.

import {
  feAdd,
  feCarry,
  feFromBytes,
  feInvert,
  feMul,
  feMulPair,
  feSq,
  feSq2,
  feSqPair,
  feSqSq2Pair,
  feSqrtRatio,
  feSub,
  feToBytes,
} from './field25519';
import { FE_SQRTM1, initCurve } from './ed25519-point';
import {
  buildOddMultiples,
  checkR,
  checkRAndKey,
  checkS,
  EQUATION_FAILS,
  equationHolds,
  hashRAM,
  ODD_MULTIPLES_BYTES,
  S_NOT_CANONICAL,
  VALID,
} from './ed25519-rule';
import {
  SC_ACC_BYTES,
  scFromAcc,
  scHalfGcd,
  scIsCanonical,
  scMulAddZ,
  scReduce64,
  scSignedDigits,
  scWnaf,
} from './ed25519-scalar';
export {
  ed25519_batch_combined,
  ed25519_batch_scratch_byte_len,
  ed25519_batch_set_msm,
  ed25519_verify_batch,
} from './ed25519-batch';

const RX: usize = memory.data(40, 16);
const RY: usize = memory.data(40, 16);
const DIGEST: usize = memory.data(64, 16);
const K: usize = memory.data(32, 16);

// The last public key: its bytes, checkKey verdict (0: none yet), affine point and odd multiples. A run
// of signatures by one key (an audit log, an issuer) decodes the key and builds its table once.
const KEY_BYTES: usize = memory.data(32, 16);
const KEY_X: usize = memory.data(40, 16);
const KEY_Y: usize = memory.data(40, 16);
const KEY_TABLE: usize = memory.data(<i32>ODD_MULTIPLES_BYTES, 16);
let keyCode: u32 = 0;
let keyTableReady = false;

/** Whether pk is the cached key. */
function isCachedKey(pk: usize): bool {
  return (
    keyCode != 0 &&
    load<u64>(pk, 0) == load<u64>(KEY_BYTES, 0) &&
    load<u64>(pk, 8) == load<u64>(KEY_BYTES, 8) &&
    load<u64>(pk, 16) == load<u64>(KEY_BYTES, 16) &&
    load<u64>(pk, 24) == load<u64>(KEY_BYTES, 24)
  );
}

/**
 * Rules 1–4 with k from the digest at digest (64 bytes), failures reported in the order of the rule's
 * codes (S, then R, then A, then the equation), whichever order the work is done in.
 */
function verifyWithDigest(pk: usize, sig: usize, digest: usize): u32 {
  initCurve();
  if (!checkS(sig)) return S_NOT_CANONICAL;
  if (isCachedKey(pk)) {
    const rCode = checkR(RX, RY, sig);
    if (rCode != VALID) return rCode;
  } else {
    // A new key: decode it beside R (one paired square root), and cache it whatever R's verdict.
    memory.copy(KEY_BYTES, pk, 32);
    keyTableReady = false;
    const codes = checkRAndKey(RX, RY, sig, KEY_X, KEY_Y, KEY_BYTES);
    keyCode = codes >> 8;
    if ((codes & 0xff) != VALID) return codes & 0xff;
  }
  if (keyCode != VALID) return keyCode;
  if (!keyTableReady) {
    buildOddMultiples(KEY_TABLE, KEY_X, KEY_Y);
    keyTableReady = true;
  }
  scReduce64(K, digest);
  return equationHolds(KEY_TABLE, RX, RY, K, sig + 32) ? VALID : EQUATION_FAILS;
}

/** Verifies one signature; returns its verdict code (1 = valid). */
export function ed25519_verify(pkPtr: usize, sigPtr: usize, msgPtr: usize, msgByteLen: usize): u32 {
  hashRAM(sigPtr, pkPtr, msgPtr, msgByteLen, DIGEST);
  return verifyWithDigest(pkPtr, sigPtr, DIGEST);
}

/** Verifies one signature given digestPtr = SHA-512(R ‖ A ‖ M) (64 bytes); returns its verdict code. */
export function ed25519_verify_digest(pkPtr: usize, sigPtr: usize, digestPtr: usize): u32 {
  return verifyWithDigest(pkPtr, sigPtr, digestPtr);
}

// ---------------------------------------------------------------------------------------------------
// Probes for the property tests: operands and results are 32-byte little-endian integers.

const FA: usize = memory.data(40, 16);
const FB: usize = memory.data(40, 16);
const FC: usize = memory.data(40, 16);
const FD: usize = memory.data(40, 16);
const FE: usize = memory.data(40, 16);

/**
 * Field probe: decodes a and b (255-bit, non-canonical values allowed), applies op, writes the canonical
 * result to out. Ops 8–11 feed deliberately unreduced limbs to the multiplier and the encoder, at the
 * bounds the point formulas use; ops 12–17 read one lane of the paired kernels (SIMD in the SIMD build)
 * with different operands in the other lane. Returns 1, or for op 5 whether a/b is a square.
 */
export function ed25519_field_op(op: u32, outPtr: usize, aPtr: usize, bPtr: usize): u32 {
  initCurve();
  feFromBytes(FA, aPtr);
  feFromBytes(FB, bPtr);
  let result: u32 = 1;
  switch (op) {
    case 0: feMul(FC, FA, FB); break; // a · b
    case 1: feSq(FC, FA); break; // a^2
    case 2: feAdd(FC, FA, FB); break; // a + b
    case 3: feSub(FC, FA, FB); break; // a − b
    case 4: feInvert(FC, FA); break; // 1/a (0 for a = 0)
    case 5: result = feSqrtRatio(FC, FA, FB, FE_SQRTM1) ? 1 : 0; break; // sqrt(a/b)
    case 6: feCarry(FC, FA); break; // a (reduction of a non-canonical input)
    case 7: feSq2(FC, FA); break; // 2 a^2
    case 8: // (2a + b) · (a + b): 3-bounded times 2-bounded
      feAdd(FD, FA, FB);
      feAdd(FC, FD, FA);
      feMul(FC, FC, FD);
      break;
    case 9: // (a + b)^2: a 2-bounded square
      feAdd(FD, FA, FB);
      feSq(FC, FD);
      break;
    case 10: // 2a + 2b encoded directly: a 4-bounded encoding
      feAdd(FD, FA, FB);
      feAdd(FC, FD, FD);
      break;
    case 11: // (a − b) · (b − 2a): signed 1-bounded times signed 2-bounded
      feSub(FD, FA, FB);
      feAdd(FC, FA, FA);
      feSub(FC, FB, FC);
      feMul(FC, FD, FC);
      break;
    case 12: // lane a of a pair: a · b beside (a + b)(a − b)
      feAdd(FC, FA, FB);
      feSub(FD, FA, FB);
      feMulPair(FC, FD, FA, FB, FC, FD);
      break;
    case 13: // lane b of the same pair: (a + b)(a − b), a 2-bounded times a signed 1-bounded operand
      feAdd(FC, FA, FB);
      feSub(FD, FA, FB);
      feMulPair(FE, FC, FA, FB, FC, FD);
      break;
    case 14: // lane a of a square pair: a^2 beside (a + b)^2
      feAdd(FD, FA, FB);
      feSqPair(FC, FD, FA, FD);
      break;
    case 15: // lane b of the same: (a + b)^2
      feAdd(FD, FA, FB);
      feSqPair(FE, FC, FA, FD);
      break;
    case 16: // lane a of the doubling's pair: (a + b)^2 beside 2 b^2
      feAdd(FD, FA, FB);
      feSqSq2Pair(FC, FD, FD, FB);
      break;
    case 17: // lane b of the same: 2 b^2
      feAdd(FD, FA, FB);
      feSqSq2Pair(FE, FC, FD, FB);
      break;
    default:
      return 0;
  }
  feToBytes(outPtr, FC);
  return result;
}

const ACC_PROBE: usize = memory.data(<i32>SC_ACC_BYTES, 16);

/**
 * Scalar probe: op 0: out = a (64 bytes) mod L; op 1: out = z · k mod L for z = a[0..16), k = b;
 * op 2: returns whether a < L; op 3: width-b[0] NAF of a as 264 i8 at out, returns the digit count;
 * op 4: b[1] signed radix-2^b[0] digits of a as i16 at out; op 5: scHalfGcd of a (< L): c1 at out,
 * |c0| at out + 32, returns 1 when c0 < 0.
 */
export function ed25519_scalar_op(op: u32, outPtr: usize, aPtr: usize, bPtr: usize): u32 {
  switch (op) {
    case 0:
      scReduce64(outPtr, aPtr);
      return 1;
    case 1:
      memory.fill(ACC_PROBE, 0, SC_ACC_BYTES);
      scMulAddZ(ACC_PROBE, aPtr, bPtr);
      scFromAcc(outPtr, ACC_PROBE);
      return 1;
    case 2:
      return scIsCanonical(aPtr) ? 1 : 0;
    case 3:
      return <u32>scWnaf(outPtr, aPtr, <i32>load<u8>(bPtr));
    case 4:
      scSignedDigits(outPtr, aPtr, <i32>load<u8>(bPtr), <i32>load<u8>(bPtr, 1));
      return 1;
    case 5:
      return scHalfGcd(outPtr, outPtr + 32, aPtr);
    default:
      return 0;
  }
}
