// SPDX-License-Identifier: Apache-2.0
// P-384 (secp384r1) domain parameters: SEC 2 v2 §2.5.1, equal to NIST SP 800-186 §3.2.1.4.
// Constants only; the arithmetic is generic (field.ts, weierstrass.ts). Each value is written as the
// spec prints it: 32-bit words, most significant first.

/** Bytes of a field element, a coordinate and a scalar. */
// @ts-ignore: decorator
@inline export const P384_BYTES: usize = 48;
/** Limbs of a field element (384 / 32). */
// @ts-ignore: decorator
@inline export const P384_LIMBS: usize = 12;

/** p = 2^384 − 2^128 − 2^96 + 2^32 − 1. */
export const P384_P: usize = memory.data<u32>([
  0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
  0xffffffff, 0xfffffffe, 0xffffffff, 0x00000000, 0x00000000, 0xffffffff,
]);

/** The curve is y² = x³ + a·x + b with a = −3 (SEC 2 prints a = p − 3); weierstrass.ts assumes a = −3. */
export const P384_B: usize = memory.data<u32>([
  0xb3312fa7, 0xe23ee7e4, 0x988e056b, 0xe3f82d19, 0x181d9c6e, 0xfe814112,
  0x0314088f, 0x5013875a, 0xc656398d, 0x8a2ed19d, 0x2a85c8ed, 0xd3ec2aef,
]);

/** Base point G, affine x. */
export const P384_GX: usize = memory.data<u32>([
  0xaa87ca22, 0xbe8b0537, 0x8eb1c71e, 0xf320ad74, 0x6e1d3b62, 0x8ba79b98,
  0x59f741e0, 0x82542a38, 0x5502f25d, 0xbf55296c, 0x3a545e38, 0x72760ab7,
]);

/** Base point G, affine y. */
export const P384_GY: usize = memory.data<u32>([
  0x3617de4a, 0x96262c6f, 0x5d9e98bf, 0x9292dc29, 0xf8f41dbd, 0x289a147c,
  0xe9da3113, 0xb5f0b8c0, 0x0a60b1ce, 0x1d7e819d, 0x7a431d7c, 0x90ea0e5f,
]);

/** n, the prime order of G (cofactor 1). */
export const P384_N: usize = memory.data<u32>([
  0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
  0xc7634d81, 0xf4372ddf, 0x581a0db2, 0x48b0a77a, 0xecec196a, 0xccc52973,
]);
