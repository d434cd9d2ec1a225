// SPDX-License-Identifier: Apache-2.0
// field.ts against BigInt (STYLE principle 9), through the probes of both testing builds (the release
// builds do not export them): the four fields with generated kernels (P-256 and P-384, base field and
// group order), the same moduli through the generic path, and random odd moduli (generic path; laws that
// need a prime are left out there). Laws: commutativity, associativity, distributivity, a·a⁻¹ = 1, the
// Montgomery round trip, every result equal to BigInt's, square roots (p ≡ 3 mod 4), with 0, 1 and p − 1
// among the operands.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { type ArithmeticExports, readLimbs, testingCores, writeLimbs } from './verify-harness.js';

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

function pow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  let x = mod(b, m);
  for (let k = e; k > 0n; k >>= 1n) {
    if (k & 1n) r = (r * x) % m;
    x = (x * x) % m;
  }
  return r;
}

/** A field as the tests drive it: plain BigInt in, plain BigInt out, through Montgomery form. */
class FieldProbe {
  readonly #x: ArithmeticExports;
  readonly #u8: Uint8Array;
  readonly #a: number;
  constructor(
    x: ArithmeticExports,
    u8: Uint8Array,
    readonly f: number,
    readonly p: bigint,
    readonly limbs: number,
  ) {
    this.#x = x;
    this.#u8 = u8;
    this.#a = x.arena_ptr() + 4096;
  }
  #slot(i: number): number {
    return this.#a + 64 * i;
  }
  #in(i: number, v: bigint): number {
    const ptr = this.#slot(i);
    writeLimbs(this.#u8, ptr, v, this.limbs);
    this.#x.field_to_mont(this.f, ptr, ptr);
    return ptr;
  }
  #out(ptr: number): bigint {
    this.#x.field_from_mont(this.f, ptr, ptr);
    return readLimbs(this.#u8, ptr, this.limbs);
  }
  roundTrip(a: bigint): bigint {
    return this.#out(this.#in(0, a));
  }
  /** The Montgomery form itself, a·R mod p. */
  montForm(a: bigint): bigint {
    return readLimbs(this.#u8, this.#in(0, a), this.limbs);
  }
  binary(op: 'mul' | 'add' | 'sub' | 'subDouble' | 'subHalf', a: bigint, b: bigint): bigint {
    const pa = this.#in(0, a);
    const pb = this.#in(1, b);
    const r = this.#slot(2);
    if (op === 'mul') this.#x.field_mul(this.f, r, pa, pb);
    else if (op === 'add') this.#x.field_add(this.f, r, pa, pb);
    else if (op === 'subDouble') this.#x.field_sub_double(this.f, r, pa, pb);
    else if (op === 'subHalf') this.#x.field_sub_half(this.f, r, pa, pb);
    else this.#x.field_sub(this.f, r, pa, pb);
    return this.#out(r);
  }
  unary(op: 'sqr' | 'half' | 'triple' | 'neg' | 'inv', a: bigint): bigint {
    const pa = this.#in(0, a);
    const r = this.#slot(2);
    if (op === 'sqr') this.#x.field_sqr(this.f, r, pa);
    else if (op === 'triple') this.#x.field_triple(this.f, r, pa);
    else if (op === 'half') this.#x.field_half(this.f, r, pa);
    else if (op === 'neg') this.#x.field_neg(this.f, r, pa);
    else this.#x.field_inv(this.f, r, pa);
    return this.#out(r);
  }
  sqrt(a: bigint): bigint | undefined {
    const pa = this.#in(0, a);
    const r = this.#slot(2);
    return this.#x.field_sqrt(this.f, r, pa) === 1 ? this.#out(r) : undefined;
  }
}

function element(p: bigint): fc.Arbitrary<bigint> {
  return fc.oneof(fc.constantFrom(0n, 1n, 2n, p - 1n, p - 2n), fc.bigInt({ min: 0n, max: p - 1n }));
}

describe.each(all)('field on wasm-core $name', ({ x, u8 }) => {
  const descBase = x.arena_ptr();
  const descBytes = x.field_desc_byte_len();
  const modulusPtr = descBase + 8 * descBytes;
  let nextDesc = 0;
  /** A descriptor for p on the generic kernel, in the arena. */
  function generic(p: bigint, limbs: number): number {
    const f = descBase + descBytes * (nextDesc++ % 8);
    writeLimbs(u8, modulusPtr, p, limbs);
    x.field_init(f, modulusPtr, limbs);
    return f;
  }

  const PRIMES = [
    ['P-256 p', 1, 0, P256P, 8],
    ['P-256 n', 1, 1, P256N, 8],
    ['P-384 p', 2, 0, P384P, 12],
    ['P-384 n', 2, 1, P384N, 12],
  ] as const;

  describe.each(PRIMES)('%s', (_name, curve, which, p, limbs) => {
    const probes = (): FieldProbe[] => [
      new FieldProbe(x, u8, x.ecdsa_field(curve, which), p, limbs),
      new FieldProbe(x, u8, generic(p, limbs), p, limbs),
    ];

    test('every operation equals BigInt (generated kernel and generic path)', () => {
      fc.assert(
        fc.property(element(p), element(p), (a, b) => {
          for (const F of probes()) {
            expect(F.roundTrip(a)).toBe(a);
            expect(F.montForm(a)).toBe(mod(a << BigInt(32 * limbs), p));
            expect(F.binary('mul', a, b)).toBe((a * b) % p);
            expect(F.binary('add', a, b)).toBe((a + b) % p);
            expect(F.binary('sub', a, b)).toBe(mod(a - b, p));
            expect(F.unary('sqr', a)).toBe((a * a) % p);
            expect(F.unary('neg', a)).toBe(mod(-a, p));
            expect(F.unary('half', a)).toBe((a * ((p + 1n) / 2n)) % p);
            // The fused kernels the point formulas use.
            expect(F.unary('triple', a)).toBe((3n * a) % p);
            expect(F.binary('subDouble', a, b)).toBe(mod(a - 2n * b, p));
            expect(F.binary('subHalf', a, b)).toBe(mod(a - b * ((p + 1n) / 2n), p));
          }
        }),
        { numRuns: 150 },
      );
    });

    test('laws: commutativity, associativity, distributivity, a·a⁻¹ = 1', () => {
      const [F] = probes();
      if (F === undefined) throw new Error('no probe');
      fc.assert(
        fc.property(element(p), element(p), element(p), (a, b, c) => {
          expect(F.binary('mul', a, b)).toBe(F.binary('mul', b, a));
          expect(F.binary('add', a, b)).toBe(F.binary('add', b, a));
          expect(F.binary('mul', F.binary('mul', a, b), c)).toBe(F.binary('mul', a, F.binary('mul', b, c)));
          expect(F.binary('add', F.binary('add', a, b), c)).toBe(F.binary('add', a, F.binary('add', b, c)));
          expect(F.binary('mul', a, F.binary('add', b, c))).toBe(
            F.binary('add', F.binary('mul', a, b), F.binary('mul', a, c)),
          );
          expect(F.binary('sub', F.binary('add', a, b), b)).toBe(a);
          if (a !== 0n) {
            const inv = F.unary('inv', a);
            expect(inv).toBe(pow(a, p - 2n, p));
            expect(F.binary('mul', a, inv)).toBe(1n);
          }
        }),
        { numRuns: 60 },
      );
    });

    if (p % 4n === 3n) {
      test('square roots: of a² a root, and none for a non-residue', () => {
        const [F] = probes();
        if (F === undefined) throw new Error('no probe');
        fc.assert(
          fc.property(element(p), (a) => {
            const r = F.sqrt((a * a) % p);
            expect(r === a || r === mod(-a, p)).toBe(true);
            // −1 is a non-residue when p ≡ 3 (mod 4), so −a² has no root unless a = 0.
            const none = F.sqrt(mod(-a * a, p));
            expect(none === undefined).toBe(a !== 0n);
          }),
          { numRuns: 40 },
        );
      });
    }
  });

  test('random odd moduli on the generic path (1 to 12 limbs)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }).chain((limbs) =>
          fc
            .bigInt({ min: 1n << BigInt(32 * limbs - 32), max: (1n << BigInt(32 * limbs)) - 1n })
            .map((m) => m | 1n)
            .filter((m) => m > 2n)
            .chain((m) => fc.tuple(fc.constant(limbs), fc.constant(m), element(m), element(m))),
        ),
        ([limbs, m, a, b]) => {
          const F = new FieldProbe(x, u8, generic(m, limbs), m, limbs);
          expect(F.roundTrip(a)).toBe(a);
          expect(F.binary('mul', a, b)).toBe((a * b) % m);
          expect(F.binary('add', a, b)).toBe((a + b) % m);
          expect(F.binary('sub', a, b)).toBe(mod(a - b, m));
          expect(F.unary('sqr', a)).toBe((a * a) % m);
          expect(F.unary('neg', a)).toBe(mod(-a, m));
          expect(F.unary('half', a)).toBe((a * ((m + 1n) / 2n)) % m);
        },
      ),
      { numRuns: 200 },
    );
  });
});
