// SPDX-License-Identifier: Apache-2.0
// RSA signature verification (RFC 8017): the public operation s^e mod n (RSAVP1, §5.2.2) with bignum.ts's
// radix-2^28 Montgomery multiplication, then RSASSA-PKCS1-v1_5 (§8.2.2 with EMSA-PKCS1-v1_5, §9.2) by
// building the whole expected encoded message and comparing it byte for byte, never by parsing the
// decrypted block, or RSASSA-PSS (§8.1.2 with EMSA-PSS-VERIFY, §9.1.2) with MGF1 (§B.2.1) over the same
// hash.
//
// Policy (checked in rsa_key_init; the verify functions return 0 for a key that failed it):
// - modulus: odd, 2048 to 4096 bits. Smaller moduli are rejected (NIST SP 800-131A disallows < 2048 for
//   signatures; ring rejects them too). Larger ones are rejected to bound the work per signature.
// - public exponent: odd, 3 ≤ e < 2^32. (ring accepts up to 2^33 − 1; our keys never need more, and a
//   32-bit e keeps the exponentiation at ≤ 63 multiplications.)
// - signature: exactly k = ⌈modBits/8⌉ bytes (§8.2.2 step 1) and s < n (§5.2.2 step 1).
//
// ABI (integers only; pointers are byte offsets the loader has bounds-checked in the arena):
//   rsa_key_byte_len(modByteLen)                     → bytes of a prepared key record
//   rsa_key_init(keyPtr, modPtr, modByteLen, e)      → 1, or 0 when the key breaks the policy above
//   rsa_verify_pkcs1(keyPtr, sigPtr, sigByteLen, digestPtr, hashId)             → 1 valid, 0 not
//   rsa_verify_pss(keyPtr, sigPtr, sigByteLen, mHashPtr, hashId, saltByteLen)   → 1 valid, 0 not
// hashId: 1 SHA-1 (legacy), 2 SHA-256, 3 SHA-384, 4 SHA-512; the digest is of the message (mHash).
//
// Not covered: secrets (variable time; DESIGN §2), multi-prime keys (irrelevant to verification), and
// PSS with an MGF1 hash different from the message hash.
import {
  BN_MAX_LIMBS,
  bnBitLength,
  bnCmp,
  bnFromBytesBE,
  montInv32,
} from './bignum';
import {
  BN28_MAX_LIMBS,
  bn28FromBytesBE,
  bn28ToBytesBE,
  LIMB28_MASK,
  mont28Mul,
  mont28R2,
  mont28Sqr,
} from './bignum28';
import { sha1_digest } from './legacy-sha1';
import { sha256_digest } from './sha256';
import { sha512_digest } from './sha512';

/** Modulus bounds in bits (see the policy above). */
// @ts-ignore: decorator
@inline const MIN_MODULUS_BITS: u32 = 2048;
// @ts-ignore: decorator
@inline const MAX_MODULUS_BITS: u32 = 4096;
/** Bytes of the largest modulus, hence of every encoded message. */
// @ts-ignore: decorator
@inline const MAX_K: usize = 512;

// Key record layout (byte offsets); n and R^2 mod n follow as K_LIMBS 28-bit limbs each.
// @ts-ignore: decorator
@inline const K_LIMBS: usize = 0;
// @ts-ignore: decorator
@inline const K_M0INV: usize = 4;
// @ts-ignore: decorator
@inline const K_E: usize = 8;
// @ts-ignore: decorator
@inline const K_BITS: usize = 12;
// @ts-ignore: decorator
@inline const K_BYTES: usize = 16;
// @ts-ignore: decorator
@inline const K_N: usize = 32;

// Scratch. N32 holds the modulus in 32-bit limbs while rsa_key_init checks it. EM holds the recovered
// encoded message, EXPECTED the one built for comparison (PKCS#1) or the unmasked DB (PSS), MPRIME the
// PSS M' and MGF1 input.
const N32: usize = memory.data(<i32>(BN_MAX_LIMBS << 2), 16);
const S: usize = memory.data(<i32>(BN28_MAX_LIMBS << 2), 16);
const X: usize = memory.data(<i32>(BN28_MAX_LIMBS << 2), 16);
const ACC: usize = memory.data(<i32>(BN28_MAX_LIMBS << 2), 16);
const EM: usize = memory.data(<i32>MAX_K, 16);
const EXPECTED: usize = memory.data(<i32>MAX_K, 16);
const MPRIME: usize = memory.data(<i32>(MAX_K + 72), 16);
const HASH_OUT: usize = memory.data(64, 16);

/**
 * DigestInfo prefixes: the DER of DigestInfo { AlgorithmIdentifier { OID, NULL }, OCTET STRING (hLen) }
 * up to the digest itself, exactly as RFC 8017 §9.2 Note 1 lists them.
 */
const PREFIX_SHA1: usize = memory.data<u8>([
  0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
]);
const PREFIX_SHA256: usize = memory.data<u8>([
  0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
]);
const PREFIX_SHA384: usize = memory.data<u8>([
  0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30,
]);
const PREFIX_SHA512: usize = memory.data<u8>([
  0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40,
]);

/** Digest bytes of hashId (FIPS 180-4 §1), or 0 for an unknown id. */
function hashLen(hashId: u32): usize {
  switch (hashId) {
    case 1:
      return 20;
    case 2:
      return 32;
    case 3:
      return 48;
    case 4:
      return 64;
    default:
      return 0;
  }
}

/** out = Hash_hashId(data[0 .. byteLen)). */
function hash(hashId: u32, data: usize, byteLen: usize, out: usize): void {
  switch (hashId) {
    case 1:
      sha1_digest(data, byteLen, out);
      break;
    case 2:
      sha256_digest(data, byteLen, out);
      break;
    case 3:
      sha512_digest(data, byteLen, out, 48);
      break;
    default:
      sha512_digest(data, byteLen, out, 64);
  }
}

export function rsa_key_byte_len(modByteLen: usize): usize {
  const limbs = (modByteLen * 8 + 27) / 28;
  return K_N + (limbs << 3);
}

/**
 * Prepare the key record at key from the modulus (modByteLen big-endian bytes, leading zeros allowed)
 * and the exponent: check the policy, then store n, −n^−1 mod 2^28 and R^2 mod n in radix 2^28.
 */
export function rsa_key_init(key: usize, mod: usize, modByteLen: usize, e: u32): u32 {
  store<u32>(key + K_LIMBS, 0); // marks the record unusable until every check has passed
  const limbs = (modByteLen + 3) >>> 2;
  if (limbs == 0 || limbs > BN_MAX_LIMBS) return 0;
  bnFromBytesBE(N32, limbs, mod, modByteLen);
  const bits = bnBitLength(N32, limbs);
  if (bits < MIN_MODULUS_BITS || bits > MAX_MODULUS_BITS) return 0;
  if ((load<u32>(N32) & 1) == 0) return 0;
  if ((e & 1) == 0 || e < 3) return 0;
  // The limbs the modulus needs (leading zero bytes would only add zero limbs above it).
  const used = <usize>((bits + 27) / 28);
  const n = key + K_N;
  bn28FromBytesBE(n, used, mod, modByteLen);
  const m0inv = montInv32(load<u32>(N32)) & LIMB28_MASK;
  store<u32>(key + K_M0INV, m0inv);
  store<u32>(key + K_E, e);
  store<u32>(key + K_BITS, bits);
  store<u32>(key + K_BYTES, (bits + 7) >>> 3);
  mont28R2(n + (used << 2), n, m0inv, used, bits);
  store<u32>(key + K_LIMBS, <u32>used);
  return 1;
}

/**
 * RSAVP1 (§5.2.2) into EM: s = OS2IP(sig) must have exactly k bytes and be below n; EM = I2OSP(s^e mod n,
 * k). Left to right over the bits of e in Montgomery form (X = s·R via R^2). e is odd, so the last step
 * is always a multiplication by s, and multiplying the Montgomery form s^(e−1)·R by the plain s gives
 * the plain s^e directly, which saves the conversion out of Montgomery form. Returns false for a bad
 * length or s ≥ n.
 */
function rsavp1(key: usize, sig: usize, sigByteLen: usize): bool {
  const limbs = <usize>load<u32>(key + K_LIMBS);
  const k = <usize>load<u32>(key + K_BYTES);
  if (sigByteLen != k) return false;
  const n = key + K_N;
  const r2 = n + (limbs << 2);
  const m0inv = load<u32>(key + K_M0INV);
  const e = load<u32>(key + K_E);
  if (!bn28FromBytesBE(S, limbs, sig, sigByteLen)) return false;
  if (bnCmp(S, n, limbs) >= 0) return false;
  mont28Mul(X, S, r2, n, m0inv, limbs);
  memory.copy(ACC, X, limbs << 2);
  // Bits of e below the top one, except bit 0 (handled by the final multiplication).
  for (let bit = 30 - <i32>clz<u32>(e); bit >= 1; bit--) {
    mont28Sqr(ACC, ACC, n, m0inv, limbs);
    if (((e >>> <u32>bit) & 1) != 0) mont28Mul(ACC, ACC, X, n, m0inv, limbs);
  }
  mont28Sqr(ACC, ACC, n, m0inv, limbs);
  mont28Mul(ACC, ACC, S, n, m0inv, limbs);
  bn28ToBytesBE(EM, k, ACC, limbs);
  return true;
}

/**
 * RSASSA-PKCS1-v1_5 verification (§8.2.2): EM must equal EMSA-PKCS1-v1_5(digest) =
 * 00 01 FF…FF 00 ‖ DigestInfo prefix ‖ digest, with at least 8 bytes of FF (§9.2 step 3). The comparison
 * covers every byte, so a DigestInfo without the NULL parameters, with trailing garbage, or with a
 * different hash is rejected.
 */
export function rsa_verify_pkcs1(key: usize, sig: usize, sigByteLen: usize, digest: usize, hashId: u32): u32 {
  const hLen = hashLen(hashId);
  if (hLen == 0 || load<u32>(key + K_LIMBS) == 0) return 0;
  let prefix: usize = PREFIX_SHA512;
  let prefixLen: usize = 19;
  if (hashId == 1) {
    prefix = PREFIX_SHA1;
    prefixLen = 15;
  } else if (hashId == 2) {
    prefix = PREFIX_SHA256;
  } else if (hashId == 3) {
    prefix = PREFIX_SHA384;
  }
  const k = <usize>load<u32>(key + K_BYTES);
  const tLen = prefixLen + hLen;
  if (k < tLen + 11) return 0; // §9.2 step 3: "intended encoded message length too short"
  if (!rsavp1(key, sig, sigByteLen)) return 0;
  const psLen = k - tLen - 3;
  store<u8>(EXPECTED, 0x00);
  store<u8>(EXPECTED + 1, 0x01);
  memory.fill(EXPECTED + 2, 0xff, psLen);
  store<u8>(EXPECTED + 2 + psLen, 0x00);
  memory.copy(EXPECTED + 3 + psLen, prefix, prefixLen);
  memory.copy(EXPECTED + 3 + psLen + prefixLen, digest, hLen);
  return memory.compare(EM, EXPECTED, k) == 0 ? 1 : 0;
}

/** dst[0 .. len) ^= MGF1(seed[0 .. hLen), len) (RFC 8017 §B.2.1) with hashId. */
function xorMgf1(hashId: u32, dst: usize, len: usize, seed: usize, hLen: usize): void {
  memory.copy(MPRIME, seed, hLen);
  let counter: u32 = 0;
  for (let done: usize = 0; done < len; done += hLen) {
    store<u32>(MPRIME + hLen, bswap<u32>(counter));
    hash(hashId, MPRIME, hLen + 4, HASH_OUT);
    const n = len - done < hLen ? len - done : hLen;
    for (let i: usize = 0; i < n; i++) store<u8>(dst + done + i, load<u8>(dst + done + i) ^ load<u8>(HASH_OUT + i));
    counter++;
  }
}

/**
 * RSASSA-PSS verification (§8.1.2, EMSA-PSS-VERIFY §9.1.2) with MGF1 over the message hash and a salt of
 * exactly saltLen bytes. emBits = modBits − 1, so EM has emLen = ⌈emBits/8⌉ bytes; when modBits ≡ 1
 * (mod 8) the k-byte RSAVP1 output has one more leading byte, which must be zero (I2OSP, §8.1.2 2c).
 */
export function rsa_verify_pss(
  key: usize,
  sig: usize,
  sigByteLen: usize,
  mHash: usize,
  hashId: u32,
  saltLen: usize,
): u32 {
  const hLen = hashLen(hashId);
  if (hLen == 0 || load<u32>(key + K_LIMBS) == 0) return 0;
  if (!rsavp1(key, sig, sigByteLen)) return 0;
  const k = <usize>load<u32>(key + K_BYTES);
  const emBits = load<u32>(key + K_BITS) - 1;
  const emLen = <usize>((emBits + 7) >>> 3);
  let em = EM;
  if (emLen < k) {
    if (load<u8>(EM) != 0) return 0;
    em = EM + 1;
  }
  // Step 3: emLen < hLen + sLen + 2 is "inconsistent".
  if (saltLen > emLen || emLen < hLen + saltLen + 2) return 0;
  // Step 4: the trailer field.
  if (load<u8>(em + emLen - 1) != 0xbc) return 0;
  const dbLen = emLen - hLen - 1;
  const h = em + dbLen;
  // Step 6: the leftmost 8·emLen − emBits bits of maskedDB must be zero.
  const topBits = (<u32>emLen << 3) - emBits;
  const topMask = <u8>(<u32>0xff >>> topBits);
  if ((load<u8>(em) & ~topMask) != 0) return 0;
  // Steps 7–9: DB = maskedDB ⊕ MGF1(H, dbLen), with the same top bits cleared.
  memory.copy(EXPECTED, em, dbLen);
  xorMgf1(hashId, EXPECTED, dbLen, h, hLen);
  store<u8>(EXPECTED, load<u8>(EXPECTED) & topMask);
  // Step 10: DB = PS (zeros) ‖ 0x01 ‖ salt.
  const psLen = dbLen - saltLen - 1;
  for (let i: usize = 0; i < psLen; i++) if (load<u8>(EXPECTED + i) != 0) return 0;
  if (load<u8>(EXPECTED + psLen) != 0x01) return 0;
  // Steps 11–14: H' = Hash(00×8 ‖ mHash ‖ salt) must equal H.
  memory.fill(MPRIME, 0, 8);
  memory.copy(MPRIME + 8, mHash, hLen);
  memory.copy(MPRIME + 8 + hLen, EXPECTED + dbLen - saltLen, saltLen);
  hash(hashId, MPRIME, 8 + hLen + saltLen, HASH_OUT);
  return memory.compare(HASH_OUT, h, hLen) == 0 ? 1 : 0;
}
