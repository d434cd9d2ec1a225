// SPDX-License-Identifier: Apache-2.0
// P-256 (secp256r1, prime256v1) domain parameters: SEC 2 v2 §2.4.2, equal to NIST SP 800-186 §3.2.1.3.
// Constants only; the arithmetic is generic (field.ts, weierstrass.ts). Each value is written as the
// spec prints it: 32-bit words, most significant first.

/** Bytes of a field element, a coordinate and a scalar. */
// @ts-ignore: decorator
@inline export const P256_BYTES: usize = 32;
/** Limbs of a field element (256 / 32). */
// @ts-ignore: decorator
@inline export const P256_LIMBS: usize = 8;

/** p = 2^256 − 2^224 + 2^192 + 2^96 − 1. */
export const P256_P: usize = memory.data<u32>([
  0xffffffff, 0x00000001, 0x00000000, 0x00000000, 0x00000000, 0xffffffff, 0xffffffff, 0xffffffff,
]);

/** The curve is y² = x³ + a·x + b with a = −3 (SEC 2 prints a = p − 3); weierstrass.ts assumes a = −3. */
export const P256_B: usize = memory.data<u32>([
  0x5ac635d8, 0xaa3a93e7, 0xb3ebbd55, 0x769886bc, 0x651d06b0, 0xcc53b0f6, 0x3bce3c3e, 0x27d2604b,
]);

/** Base point G, affine x. */
export const P256_GX: usize = memory.data<u32>([
  0x6b17d1f2, 0xe12c4247, 0xf8bce6e5, 0x63a440f2, 0x77037d81, 0x2deb33a0, 0xf4a13945, 0xd898c296,
]);

/** Base point G, affine y. */
export const P256_GY: usize = memory.data<u32>([
  0x4fe342e2, 0xfe1a7f9b, 0x8ee7eb4a, 0x7c0f9e16, 0x2bce3357, 0x6b315ece, 0xcbb64068, 0x37bf51f5,
]);

/** n, the prime order of G (cofactor 1). */
export const P256_N: usize = memory.data<u32>([
  0xffffffff, 0x00000000, 0xffffffff, 0xffffffff, 0xbce6faad, 0xa7179e84, 0xf3b9cac2, 0xfc632551,
]);
