// SPDX-License-Identifier: Apache-2.0
// The generated kernels (wasm-core/codegen/field-kernels.mjs) on raw limbs against BigInt (STYLE
// principle 9): field.test.ts goes through the Montgomery conversions, whose outputs look random; here
// the operands are written as limbs directly, so that the limb patterns the kernels' carry and borrow
// chains treat specially reach them: all-ones and all-zero 32- and 64-bit words, 0, 1, p − 1, p − 2,
// values at or above 2^(32·limbs) − p (whose sums overflow the top word), and the signed-digit reduction's
// negative intermediate columns. Laws: mul = a·b·R⁻¹ mod p, sqr = a²·R⁻¹, add, sub, half, through the probes
// of both testing builds (the release builds do not export them), with the result aliasing an operand as
// the point formulas do.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { readLimbs, testingCores, writeLimbs } from './verify-harness.js';

const P256P = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n;
const P256N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P384P = 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n;
const P384N =
  0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n;

const all = await testingCores();

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a, m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

/** A limb chosen among the special words, or any word. */
const limb = fc.oneof(
  fc.constantFrom(0, 1, 2, 0xffffffff, 0xfffffffe, 0x80000000, 0x7fffffff),
  fc.integer({ min: 0, max: 0xffffffff }),
);

/** An element of [0, p): edge values, values ≥ 2^(32·limbs) − p, or limbs from the special words. */
function element(p: bigint, limbs: number): fc.Arbitrary<bigint> {
  const top = 1n << BigInt(32 * limbs);
  return fc.oneof(
    fc.constantFrom(0n, 1n, 2n, p - 1n, p - 2n, top - p, (top - p) * 2n, p >> 1n, (p + 1n) >> 1n),
    fc.bigInt({ min: top - p, max: p - 1n }),
    fc.array(limb, { minLength: limbs, maxLength: limbs }).map((ws) => {
      let v = 0n;
      for (const w of ws) v = (v << 32n) | BigInt(w);
      return v % p;
    }),
    fc.bigInt({ min: 0n, max: p - 1n }),
  );
}

const FIELDS = [
  ['P-256 p', 1, 0, P256P, 8],
  ['P-256 n', 1, 1, P256N, 8],
  ['P-384 p', 2, 0, P384P, 12],
  ['P-384 n', 2, 1, P384N, 12],
] as const;

describe.each(all)('field kernels on wasm-core $name', ({ x, u8 }) => {
  describe.each(FIELDS)('%s', (_name, curve, which, p, limbs) => {
    const f = x.ecdsa_field(curve, which);
    const base = x.arena_ptr() + 8192;
    const A = base;
    const B = base + 64;
    const R = base + 128;
    const rInv = inverse(mod(1n << BigInt(32 * limbs), p), p);
    const put = (ptr: number, v: bigint): number => {
      writeLimbs(u8, ptr, v, limbs);
      return ptr;
    };
    const get = (ptr: number): bigint => readLimbs(u8, ptr, limbs);

    test('mul, sqr, add, sub, half on raw limbs equal BigInt', () => {
      fc.assert(
        fc.property(element(p, limbs), element(p, limbs), (a, b) => {
          x.field_mul(f, R, put(A, a), put(B, b));
          expect(get(R)).toBe((a * b * rInv) % p);
          x.field_sqr(f, R, put(A, a));
          expect(get(R)).toBe((a * a * rInv) % p);
          x.field_add(f, R, put(A, a), put(B, b));
          expect(get(R)).toBe((a + b) % p);
          x.field_sub(f, R, put(A, a), put(B, b));
          expect(get(R)).toBe(mod(a - b, p));
          x.field_half(f, R, put(A, a));
          expect(get(R)).toBe((a * ((p + 1n) / 2n)) % p);
          x.field_neg(f, R, put(A, a));
          expect(get(R)).toBe(mod(-a, p));
        }),
        { numRuns: 400 },
      );
    });

    test('results may alias an operand', () => {
      fc.assert(
        fc.property(element(p, limbs), element(p, limbs), (a, b) => {
          put(B, b);
          x.field_mul(f, A, put(A, a), B);
          expect(get(A)).toBe((a * b * rInv) % p);
          x.field_sqr(f, A, put(A, a));
          expect(get(A)).toBe((a * a * rInv) % p);
          x.field_add(f, A, put(A, a), B);
          expect(get(A)).toBe((a + b) % p);
          x.field_sub(f, B, put(A, a), put(B, b));
          expect(get(B)).toBe(mod(a - b, p));
          x.field_sub(f, A, put(A, a), put(B, b));
          expect(get(A)).toBe(mod(a - b, p));
        }),
        { numRuns: 150 },
      );
    });

    test('every pair of edge values', () => {
      const top = 1n << BigInt(32 * limbs);
      const edges = [0n, 1n, 2n, p - 1n, p - 2n, top - p, p >> 1n, (p + 1n) >> 1n, p - (top - p)];
      for (const a of edges) {
        for (const b of edges) {
          x.field_mul(f, R, put(A, a), put(B, b));
          expect(get(R)).toBe((a * b * rInv) % p);
          x.field_add(f, R, put(A, a), put(B, b));
          expect(get(R)).toBe((a + b) % p);
          x.field_sub(f, R, put(A, a), put(B, b));
          expect(get(R)).toBe(mod(a - b, p));
        }
        x.field_sqr(f, R, put(A, a));
        expect(get(R)).toBe((a * a * rInv) % p);
      }
    });
  });
});
