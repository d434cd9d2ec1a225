// SPDX-License-Identifier: Apache-2.0
// bignum.ts's Montgomery multiplication, squaring, R² and binary-GCD inverse against BigInt (STYLE
// principle 9), through the probes of both testing builds (the release builds do not export them), for
// limb counts on both sides of the SIMD kernel's threshold (16 limbs): random odd moduli with a non-zero
// top limb, random operands below them, and the edge operands 0, 1, m − 1.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { readLimbs, testingCores, writeLimbs } from './verify-harness.js';

const all = await testingCores();

/** Limb counts: small, the EC sizes, both sides of 16, RSA-2048/3072/4096 and odd sizes between. */
const LIMB_COUNTS = [1, 2, 3, 8, 12, 15, 16, 17, 33, 64, 65, 96, 128];

/** A random odd modulus of exactly `limbs` limbs (top limb non-zero), from fast-check's bigints. */
function modulusArb(limbs: number): fc.Arbitrary<bigint> {
  const bits = BigInt(32 * limbs);
  return fc
    .bigInt({ min: 1n << (bits - 32n), max: (1n << bits) - 1n })
    .map((m) => m | 1n)
    .filter((m) => m > 1n);
}

function operandArb(m: bigint): fc.Arbitrary<bigint> {
  return fc.oneof(fc.constantFrom(0n, 1n, m - 1n), fc.bigInt({ min: 0n, max: m - 1n }));
}

describe.each(all)('bignum on wasm-core $name', ({ x, u8 }) => {
  const A = x.arena_ptr();
  const [pa, pb, pm, pr] = [A, A + 1024, A + 2048, A + 3072];

  test.each(LIMB_COUNTS)('montMul(a, b) = a·b·R⁻¹ mod m and R² mod m, %i limbs', (limbs) => {
    const R = 1n << BigInt(32 * limbs);
    const runs = limbs >= 64 ? 40 : 120;
    fc.assert(
      fc.property(
        modulusArb(limbs).chain((m) => fc.tuple(fc.constant(m), operandArb(m), operandArb(m))),
        ([m, a, b]) => {
          writeLimbs(u8, pm, m, limbs);
          writeLimbs(u8, pa, a, limbs);
          writeLimbs(u8, pb, b, limbs);
          // R⁻¹ exists since m is odd; a·b·R⁻¹ ≡ r  ⇔  r·R ≡ a·b (mod m), which needs no inverse.
          x.bn_mont_mul(pr, pa, pb, pm, limbs);
          const r = readLimbs(u8, pr, limbs);
          expect(r < m).toBe(true);
          expect((r * R) % m).toBe((a * b) % m);
          // Squaring, with its own kernel.
          x.bn_mont_sqr(pr, pa, pm, limbs);
          const s = readLimbs(u8, pr, limbs);
          expect(s < m).toBe(true);
          expect((s * R) % m).toBe((a * a) % m);
          // Aliasing: the output may be an input.
          x.bn_mont_mul(pa, pa, pb, pm, limbs);
          expect(readLimbs(u8, pa, limbs)).toBe(r);
          x.bn_mont_r2(pr, pm, limbs);
          expect(readLimbs(u8, pr, limbs)).toBe((R * R) % m);
        },
      ),
      { numRuns: runs },
    );
  });

  test('montMul is commutative and its round trip through R² is the identity', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(8, 16, 64)
          .chain((limbs) =>
            modulusArb(limbs).chain((m) =>
              fc.tuple(fc.constant(limbs), fc.constant(m), operandArb(m), operandArb(m)),
            ),
          ),
        ([limbs, m, a, b]) => {
          writeLimbs(u8, pm, m, limbs);
          writeLimbs(u8, pa, a, limbs);
          writeLimbs(u8, pb, b, limbs);
          x.bn_mont_mul(pr, pa, pb, pm, limbs);
          const ab = readLimbs(u8, pr, limbs);
          x.bn_mont_mul(pr, pb, pa, pm, limbs);
          expect(readLimbs(u8, pr, limbs)).toBe(ab);
          // to Montgomery form (·R² ·R⁻¹) and back (·1 ·R⁻¹) returns a.
          x.bn_mont_r2(pb, pm, limbs);
          x.bn_mont_mul(pr, pa, pb, pm, limbs);
          writeLimbs(u8, pb, 1n, limbs);
          x.bn_mont_mul(pr, pr, pb, pm, limbs);
          expect(readLimbs(u8, pr, limbs)).toBe(a);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe.each(all)('bignum modular inverse on wasm-core $name', ({ x, u8 }) => {
  const A = x.arena_ptr();
  const [py, pm, pr] = [A, A + 1024, A + 2048];

  /** y⁻¹ mod m by the extended Euclidean algorithm on BigInt, or undefined when gcd(y, m) ≠ 1. */
  function inverse(y: bigint, m: bigint): bigint | undefined {
    let [r0, r1, s0, s1] = [m, y, 0n, 1n];
    while (r1 !== 0n) {
      const q = r0 / r1;
      [r0, r1] = [r1, r0 - q * r1];
      [s0, s1] = [s1, s0 - q * s1];
    }
    return r0 === 1n ? ((s0 % m) + m) % m : undefined;
  }

  test('binary GCD inverse equals BigInt for random odd moduli (1–17 and 64 limbs), including non-invertible y', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(1, 2, 3, 8, 12, 17, 64)
          .chain((limbs) =>
            modulusArb(limbs).chain((m) =>
              fc.tuple(
                fc.constant(limbs),
                fc.constant(m),
                fc.oneof(fc.constantFrom(0n, 1n, m - 1n, m - 2n), fc.bigInt({ min: 0n, max: m - 1n })),
                fc.boolean(),
              ),
            ),
          ),
        ([limbs, m0, y0, shareFactor]) => {
          // Half of the time, make gcd(y, m) = 3 likely by multiplying both by 3 (keeping m odd).
          const m = shareFactor && m0 * 3n < 1n << BigInt(32 * limbs) ? m0 * 3n : m0;
          const y = shareFactor ? (y0 * 3n) % m : y0 % m;
          writeLimbs(u8, pm, m, limbs);
          writeLimbs(u8, py, y, limbs);
          const ok = x.bn_mod_inverse(pr, py, pm, limbs);
          const want = inverse(y, m);
          expect(ok === 1).toBe(want !== undefined);
          if (want !== undefined) expect(readLimbs(u8, pr, limbs)).toBe(want);
        },
      ),
      { numRuns: 600 },
    );
  });
});
