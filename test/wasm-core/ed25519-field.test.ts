// SPDX-License-Identifier: Apache-2.0
// Laws of the arithmetic under Ed25519 verification, against BigInt (STYLE principle 9): GF(2^255 − 19)
// in wasm-core/assembly/field25519.ts and the integers mod L in ed25519-scalar.ts, through the testing
// builds' probes (ed25519_field_op, ed25519_scalar_op; not in the release builds). Inputs include the
// non-canonical encodings [p, 2^255) and the unreduced limb sums the point formulas feed to the multiplier.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { type TestingCore, testingCores } from './ed25519-harness.js';

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const RUNS = { numRuns: 400 };

const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;
function powMod(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  let x = mod(b, m);
  for (let k = e; k > 0n; k >>= 1n) {
    if (k & 1n) r = (r * x) % m;
    x = (x * x) % m;
  }
  return r;
}

function toLe(n: bigint, byteLen: number): Uint8Array {
  const out = new Uint8Array(byteLen);
  let x = n;
  for (let i = 0; i < byteLen; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}
function fromLe(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] ?? 0);
  return n;
}

/** 255-bit field inputs: uniform, near 0, near p (both sides, so [p, 2^255) is hit), near 2^255. */
const fieldInput = fc.oneof(
  fc.bigInt({ min: 0n, max: 2n ** 255n - 1n }),
  fc.bigInt({ min: 0n, max: 64n }),
  fc.bigInt({ min: P - 64n, max: 2n ** 255n - 1n }),
  fc.constantFrom(0n, 1n, P - 1n, P, P + 1n, 2n ** 255n - 1n, 2n ** 254n, 2n ** 26n - 1n),
);

/** Field probe: op on a, b; returns the canonical result and the probe's flag. */
function fieldOp(core: TestingCore, op: number, a: bigint, b: bigint): { r: bigint; flag: number } {
  const base = core.arenaPtr;
  core.u8.set(toLe(a, 32), base);
  core.u8.set(toLe(b, 32), base + 32);
  const flag = core.exports.ed25519_field_op(op, base + 64, base, base + 32);
  return { r: fromLe(core.u8.slice(base + 64, base + 96)), flag };
}

function scalarOp(
  core: TestingCore,
  op: number,
  a: Uint8Array,
  b: Uint8Array,
  outLen: number,
): { out: Uint8Array; ret: number } {
  const base = core.arenaPtr;
  core.u8.set(a, base);
  core.u8.set(b, base + 64);
  core.u8.fill(0xaa, base + 128, base + 128 + outLen + 16);
  const ret = core.exports.ed25519_scalar_op(op, base + 128, base, base + 64);
  // Nothing past the output is written.
  expect(core.u8.slice(base + 128 + outLen, base + 128 + outLen + 16).every((x) => x === 0xaa)).toBe(true);
  return { out: core.u8.slice(base + 128, base + 128 + outLen), ret };
}

for (const core of await testingCores()) {
  describe(`GF(2^255 − 19) (wasm-core ${core.name})`, () => {
    const f = (op: number, a: bigint, b = 0n): bigint => fieldOp(core, op, a, b).r;

    test('mul, square, add, sub and 2a^2 agree with BigInt, including non-canonical inputs', () => {
      fc.assert(
        fc.property(fieldInput, fieldInput, (a, b) => {
          expect(f(0, a, b)).toBe(mod(a * b, P));
          expect(f(1, a)).toBe(mod(a * a, P));
          expect(f(2, a, b)).toBe(mod(a + b, P));
          expect(f(3, a, b)).toBe(mod(a - b, P));
          expect(f(7, a)).toBe(mod(2n * a * a, P));
        }),
        RUNS,
      );
    });

    test('reduction: a non-canonical input encodes as its residue', () => {
      fc.assert(
        fc.property(fieldInput, (a) => {
          expect(f(6, a)).toBe(mod(a, P));
        }),
        RUNS,
      );
      for (let k = 0n; k < 19n; k++) expect(f(6, P + k)).toBe(k);
    });

    test('unreduced limbs at the bounds the point formulas use', () => {
      fc.assert(
        fc.property(fieldInput, fieldInput, (a, b) => {
          expect(f(8, a, b)).toBe(mod((2n * a + b) * (a + b), P));
          expect(f(9, a, b)).toBe(mod((a + b) ** 2n, P));
          expect(f(10, a, b)).toBe(mod(2n * a + 2n * b, P));
          expect(f(11, a, b)).toBe(mod((a - b) * (b - 2n * a), P));
        }),
        RUNS,
      );
    });

    test('paired kernels: each lane equals its own product, with other operands in the other lane', () => {
      fc.assert(
        fc.property(fieldInput, fieldInput, (a, b) => {
          expect(f(12, a, b)).toBe(mod(a * b, P));
          expect(f(13, a, b)).toBe(mod((a + b) * (a - b), P));
          expect(f(14, a, b)).toBe(mod(a * a, P));
          expect(f(15, a, b)).toBe(mod((a + b) ** 2n, P));
          expect(f(16, a, b)).toBe(mod((a + b) ** 2n, P));
          expect(f(17, a, b)).toBe(mod(2n * b * b, P));
        }),
        RUNS,
      );
    });

    test('laws: commutative, associative, distributive; a · a⁻¹ = 1', () => {
      fc.assert(
        fc.property(fieldInput, fieldInput, fieldInput, (a, b, c) => {
          expect(f(0, a, b)).toBe(f(0, b, a));
          expect(f(0, f(0, a, b), c)).toBe(f(0, a, f(0, b, c)));
          expect(f(0, a, f(2, b, c))).toBe(f(2, f(0, a, b), f(0, a, c)));
          const inv = f(4, a);
          expect(inv).toBe(mod(a, P) === 0n ? 0n : powMod(a, P - 2n, P));
          if (mod(a, P) !== 0n) expect(f(0, a, inv)).toBe(1n);
        }),
        { numRuns: 150 },
      );
    });

    test('sqrt-ratio: a root exactly when a/b is a square, and it squares back', () => {
      fc.assert(
        fc.property(fieldInput, fieldInput, (a, b) => {
          fc.pre(mod(b, P) !== 0n);
          const { r, flag } = fieldOp(core, 5, a, b);
          const ratio = mod(a * powMod(b, P - 2n, P), P);
          const isSquare = ratio === 0n || powMod(ratio, (P - 1n) / 2n, P) === 1n;
          expect(flag).toBe(isSquare ? 1 : 0);
          if (isSquare) expect(mod(r * r * b, P)).toBe(mod(a, P));
        }),
        { numRuns: 200 },
      );
      // Squares on purpose: a = x^2 b.
      fc.assert(
        fc.property(fieldInput, fieldInput, (x, b) => {
          fc.pre(mod(b, P) !== 0n);
          const a = mod(x * x * b, P);
          const { r, flag } = fieldOp(core, 5, a, b);
          expect(flag).toBe(1);
          expect([mod(x, P), mod(-x, P)]).toContain(r);
        }),
        { numRuns: 100 },
      );
    });
  });

  describe(`integers mod L (wasm-core ${core.name})`, () => {
    const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

    test('a 512-bit hash reduces to its residue mod L', () => {
      fc.assert(
        fc.property(
          fc.oneof(
            bytes(64),
            fc.constant(new Uint8Array(64).fill(0xff)),
            fc.constant(toLe(L, 64)),
            fc.constant(toLe(L - 1n, 64)),
          ),
          (h) => {
            expect(fromLe(scalarOp(core, 0, h, new Uint8Array(32), 32).out)).toBe(fromLe(h) % L);
          },
        ),
        RUNS,
      );
    });

    test('z · k mod L for 128-bit z', () => {
      fc.assert(
        fc.property(bytes(16), fc.bigInt({ min: 0n, max: L - 1n }), (z, k) => {
          const r = scalarOp(core, 1, z, toLe(k, 32), 32).out;
          expect(fromLe(r)).toBe((fromLe(z) * k) % L);
        }),
        RUNS,
      );
    });

    test('S < L is decided exactly at the boundary', () => {
      for (const s of [
        0n,
        1n,
        L - 1n,
        L,
        L + 1n,
        2n ** 253n,
        2n ** 256n - 1n,
        L - 2n ** 64n,
        L + 2n ** 128n,
      ]) {
        expect(scalarOp(core, 2, toLe(s, 32), new Uint8Array(32), 0).ret, s.toString(16)).toBe(s < L ? 1 : 0);
      }
      fc.assert(
        fc.property(fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }), (s) => {
          expect(scalarOp(core, 2, toLe(s, 32), new Uint8Array(32), 0).ret).toBe(s < L ? 1 : 0);
        }),
        RUNS,
      );
    });

    test('width-w NAF: odd digits below 2^(w−1), w apart, summing to the scalar', () => {
      fc.assert(
        fc.property(fc.bigInt({ min: 0n, max: 2n ** 253n - 1n }), fc.integer({ min: 2, max: 8 }), (s, w) => {
          const { out, ret } = scalarOp(core, 3, toLe(s, 32), Uint8Array.of(w), 264);
          const digits = Array.from(new Int8Array(out.buffer, out.byteOffset, 264));
          let sum = 0n;
          let last = -w;
          let top = 0;
          digits.forEach((d, i) => {
            if (d === 0) return;
            expect(Math.abs(d) % 2).toBe(1);
            expect(Math.abs(d)).toBeLessThan(2 ** (w - 1));
            expect(i - last).toBeGreaterThanOrEqual(w);
            last = i;
            top = i + 1;
            sum += BigInt(d) << BigInt(i);
          });
          expect(sum).toBe(s);
          expect(ret).toBe(top);
        }),
        RUNS,
      );
    });

    test('half extended Euclid: c0 · k ≡ c1 (mod L) with c1 < 2^127 and 0 < |c0| ≤ 2^126', () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.bigInt({ min: 0n, max: L - 1n }),
            fc.bigInt({ min: 0n, max: 2n ** 130n }),
            fc.constantFrom(0n, 1n, 2n ** 127n - 1n, 2n ** 127n, L - 1n, L - 2n, (L - 1n) / 2n),
          ),
          (k) => {
            const { out, ret } = scalarOp(core, 5, toLe(k, 32), new Uint8Array(32), 64);
            const c1 = fromLe(out.subarray(0, 32));
            const c0abs = fromLe(out.subarray(32, 64));
            const c0 = ret === 1 ? -c0abs : c0abs;
            expect(c1).toBeLessThan(2n ** 127n);
            expect(c0abs).toBeGreaterThan(0n);
            expect(c0abs).toBeLessThanOrEqual(2n ** 126n);
            expect(mod(c0 * k - c1, L)).toBe(0n);
          },
        ),
        RUNS,
      );
    });

    test('signed radix-2^c digits sum to the scalar', () => {
      fc.assert(
        fc.property(fc.bigInt({ min: 0n, max: L - 1n }), fc.integer({ min: 2, max: 12 }), (s, c) => {
          const count = Math.ceil(254 / c);
          const { out } = scalarOp(core, 4, toLe(s, 32), Uint8Array.of(c, count), count * 2);
          const digits = Array.from(new Int16Array(out.slice().buffer, 0, count));
          let sum = 0n;
          digits.forEach((d, i) => {
            expect(d).toBeGreaterThanOrEqual(-(2 ** (c - 1)));
            expect(d).toBeLessThan(2 ** (c - 1));
            sum += BigInt(d) << BigInt(c * i);
          });
          expect(sum).toBe(s);
        }),
        RUNS,
      );
    });
  });
}
