// SPDX-License-Identifier: Apache-2.0
// RFC 9162 §2.1 Merkle trees in wasm-core, both builds, against the independent reference in
// merkle-reference.ts (recursive definitions on node:crypto).
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createWasmCore, type WasmCore } from '../../wasm-core/index.js';
import { randomBytes } from '../helpers/random.js';
import { hex } from './hash-contract.js';
import {
  consistencyShape,
  pathShape,
  refConsistency,
  refLeafHash,
  refNodeHash,
  refPath,
  refRoot,
} from './merkle-reference.js';

const cores: Record<'simd' | 'scalar', WasmCore> = {
  simd: await createWasmCore({ variant: 'simd' }),
  scalar: await createWasmCore({ variant: 'scalar' }),
};

/** n leaves of random data, lengths 0..maxLen, as independent arrays. */
function randomLeaves(n: number, maxLen = 80): Uint8Array[] {
  const lens = randomBytes(n);
  return Array.from({ length: n }, (_, i) => randomBytes((lens[i] ?? 0) % (maxLen + 1)));
}

/** A copy of proof with one bit of one byte flipped. */
function flipBit(proof: readonly Uint8Array[], element: number, byte: number, bit: number): Uint8Array[] {
  return proof.map((p, i) => {
    if (i !== element) return p;
    const q = p.slice();
    q[byte] = (q[byte] ?? 0) ^ (1 << bit);
    return q;
  });
}

const hexAll = (xs: readonly Uint8Array[]): string[] => xs.map(hex);

for (const variant of ['simd', 'scalar'] as const) {
  const core = cores[variant];

  describe(`merkle (${variant})`, () => {
    test('the empty tree hashes to SHA-256 of the empty string', () => {
      expect(hex(core.merkleRoot([]))).toBe(
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      );
    });

    test('every tree size 1..300: root, and one random leaf whose proof matches the reference and verifies', () => {
      const all = randomLeaves(300);
      for (let n = 1; n <= 300; n++) {
        const leaves = all.slice(0, n);
        const root = core.merkleRoot(leaves);
        expect(hex(root), `size ${n}`).toBe(hex(refRoot(leaves)));
        const index = (randomBytes(2).reduce((a, b) => a * 256 + b, 0) % n) | 0;
        const proof = core.inclusionProof(leaves, index);
        expect(hexAll(proof), `size ${n} index ${index}`).toEqual(hexAll(refPath(index, leaves)));
        expect(core.verifyInclusion(leaves[index] as Uint8Array, index, n, proof, root)).toBe(true);
      }
    });

    test('inclusion: any altered proof bit, index or size fails (unless the size keeps the path shape)', () => {
      const all = randomLeaves(300);
      const roots = new Map<number, Uint8Array>();
      const rootOf = (n: number): Uint8Array => {
        let r = roots.get(n);
        if (r === undefined) {
          r = core.merkleRoot(all.slice(0, n));
          roots.set(n, r);
        }
        return r;
      };
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 300 }),
          fc.nat(),
          fc.nat(),
          fc.nat(),
          (n, pick, bitPick, other) => {
            const index = pick % n;
            const leaves = all.slice(0, n);
            const leaf = leaves[index] as Uint8Array;
            const root = rootOf(n);
            const proof = core.inclusionProof(leaves, index);
            expect(core.verifyInclusion(leaf, index, n, proof, root)).toBe(true);
            if (proof.length > 0) {
              const el = bitPick % proof.length;
              const altered = flipBit(proof, el, (bitPick >> 3) % 32, bitPick % 8);
              expect(core.verifyInclusion(leaf, index, n, altered, root)).toBe(false);
              expect(core.verifyInclusion(leaf, index, n, proof.slice(1), root)).toBe(false);
            }
            expect(core.verifyInclusion(leaf, index, n, [...proof, new Uint8Array(32)], root)).toBe(false);
            const flippedRoot = root.slice();
            flippedRoot[bitPick % 32] = (flippedRoot[bitPick % 32] ?? 0) ^ 1;
            expect(core.verifyInclusion(leaf, index, n, proof, flippedRoot)).toBe(false);
            const otherIndex = other % n;
            if (otherIndex !== index)
              expect(core.verifyInclusion(leaf, otherIndex, n, proof, root)).toBe(false);
            for (const size of [n - 1, n + 1, n + 1 + (other % 300), 2 * n]) {
              const same = index < size && pathShape(index, size) === pathShape(index, n);
              expect(core.verifyInclusion(leaf, index, size, proof, root), `size ${n} -> ${size}`).toBe(same);
            }
          },
        ),
        { numRuns: 300 },
      );
    });

    test('consistency: proofs match the reference and verify; altered bits, m or n fail', () => {
      const all = randomLeaves(300);
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), fc.nat(), (n, pick, bitPick) => {
          const m = 1 + (pick % n);
          const leaves = all.slice(0, n);
          const rootM = core.merkleRoot(leaves.slice(0, m));
          const rootN = core.merkleRoot(leaves);
          const proof = core.consistencyProof(leaves, m);
          expect(hexAll(proof), `m ${m} n ${n}`).toEqual(hexAll(refConsistency(m, leaves)));
          expect(core.verifyConsistency(m, n, proof, rootM, rootN)).toBe(true);
          if (proof.length > 0) {
            const altered = flipBit(proof, bitPick % proof.length, (bitPick >> 3) % 32, bitPick % 8);
            expect(core.verifyConsistency(m, n, altered, rootM, rootN)).toBe(false);
            expect(core.verifyConsistency(m, n, proof.slice(0, -1), rootM, rootN)).toBe(false);
          }
          expect(core.verifyConsistency(m, n, [...proof, rootN], rootM, rootN)).toBe(false);
          for (const [m2, n2] of [
            [m - 1, n],
            [m + 1, n],
            [m, n + 1],
            [m, n - 1],
          ] as const) {
            if (m2 === m && n2 === n) continue;
            const same =
              m2 >= 1 &&
              m2 <= n2 &&
              m2 !== n2 &&
              m !== n &&
              consistencyShape(m2, n2) === consistencyShape(m, n);
            const got = core.verifyConsistency(m2, n2, proof, rootM, rootN);
            expect(got, `(${m}, ${n}) -> (${m2}, ${n2})`).toBe(same);
          }
        }),
        { numRuns: 300 },
      );
    });

    test('consistency edge cases: m = n, m = 0, m > n, empty proofs', () => {
      const leaves = randomLeaves(13);
      const root = core.merkleRoot(leaves);
      const empty = core.merkleRoot([]);
      expect(core.consistencyProof(leaves, 13)).toEqual([]);
      expect(core.consistencyProof(leaves, 0)).toEqual([]);
      expect(core.verifyConsistency(13, 13, [], root, root)).toBe(true);
      expect(core.verifyConsistency(13, 13, [root], root, root)).toBe(false);
      expect(core.verifyConsistency(0, 13, [], empty, root)).toBe(true);
      expect(core.verifyConsistency(0, 13, [], root, root)).toBe(false);
      expect(core.verifyConsistency(5, 13, [], core.merkleRoot(leaves.slice(0, 5)), root)).toBe(false);
      expect(core.verifyConsistency(14, 13, [], root, root)).toBe(false);
      expect(() => core.consistencyProof(leaves, 14)).toThrow(RangeError);
      expect(() => core.consistencyProof(leaves, -1)).toThrow(RangeError);
      expect(() => core.inclusionProof(leaves, 13)).toThrow(RangeError);
      expect(() => core.inclusionProof(leaves, 1.5)).toThrow(RangeError);
    });

    test('proofs of wrong length, sizes out of range and non-integers verify false and never throw', () => {
      const leaves = randomLeaves(9);
      const root = core.merkleRoot(leaves);
      const proof = core.inclusionProof(leaves, 4);
      const leaf = leaves[4] as Uint8Array;
      const short = proof.map((p, i) => (i === 1 ? p.subarray(0, 31) : p));
      const long = proof.map((p, i) => (i === 0 ? Uint8Array.of(...p, 0) : p));
      expect(core.verifyInclusion(leaf, 4, 9, short, root)).toBe(false);
      expect(core.verifyInclusion(leaf, 4, 9, long, root)).toBe(false);
      expect(core.verifyInclusion(leaf, 4, 9, proof, root.subarray(0, 31))).toBe(false);
      expect(core.verifyInclusion(leaf, 4, 9, [], root)).toBe(false);
      for (const bad of [-1, 9, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, -0.5]) {
        expect(core.verifyInclusion(leaf, bad, 9, proof, root)).toBe(false);
      }
      for (const bad of [-1, 0, 4, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 9.5]) {
        expect(core.verifyInclusion(leaf, 4, bad, proof, root)).toBe(false);
      }
      const cp = core.consistencyProof(leaves, 3);
      const rootM = core.merkleRoot(leaves.slice(0, 3));
      expect(core.verifyConsistency(3, 9, cp, rootM, root)).toBe(true);
      expect(
        core.verifyConsistency(
          3,
          9,
          cp.map((p) => p.subarray(1)),
          rootM,
          root,
        ),
      ).toBe(false);
      expect(core.verifyConsistency(3, 9, cp, rootM.subarray(1), root)).toBe(false);
      expect(core.verifyConsistency(3, 9, cp, rootM, Uint8Array.of(...root, 1))).toBe(false);
      for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) {
        expect(core.verifyConsistency(bad, 9, cp, rootM, root)).toBe(false);
        expect(core.verifyConsistency(3, bad, cp, rootM, root)).toBe(false);
      }
      // A proof far longer than any tree needs.
      expect(
        core.verifyInclusion(
          leaf,
          4,
          9,
          Array.from({ length: 100 }, () => new Uint8Array(32)),
          root,
        ),
      ).toBe(false);
    });

    test('every tree size 1..300 with 64-byte leaves (the equal-length kernel)', () => {
      const all = Array.from({ length: 300 }, () => randomBytes(64));
      for (let n = 1; n <= 300; n++) {
        const leaves = all.slice(0, n);
        expect(hex(core.merkleRoot(leaves)), `size ${n}`).toBe(hex(refRoot(leaves)));
      }
    });

    test('trees larger than one chunk (16,384 leaves) and leaves larger than the arena', () => {
      const leaves = randomLeaves(2 * 16384 + 5, 40);
      expect(hex(core.merkleRoot(leaves))).toBe(hex(refRoot(leaves)));
      const equal = Array.from({ length: 2 * 16384 + 5 }, () => randomBytes(64));
      expect(hex(core.merkleRoot(equal))).toBe(hex(refRoot(equal)));
      // Five 3 MB leaves do not fit the 8 MB arena together; one 9 MB leaf does not fit at all.
      const big = [randomBytes(3e6), randomBytes(10), randomBytes(3e6), randomBytes(9e6), randomBytes(3e6)];
      expect(hex(core.merkleRoot(big))).toBe(hex(refRoot(big)));
      const proof = core.inclusionProof(big, 3);
      expect(core.verifyInclusion(big[3] as Uint8Array, 3, 5, proof, core.merkleRoot(big))).toBe(true);
    });

    test('leaf and node hashing match the reference prefixes 0x00 and 0x01', () => {
      const a = randomBytes(32);
      const b = randomBytes(32);
      expect(hex(core.merkleRoot([a]))).toBe(hex(refLeafHash(a)));
      expect(hex(core.merkleRoot([a, b]))).toBe(hex(refNodeHash(refLeafHash(a), refLeafHash(b))));
    });

    test('non-array or non-Uint8Array arguments throw TypeError naming the argument', () => {
      const leaves = randomLeaves(4);
      const root = core.merkleRoot(leaves);
      const proof = core.inclusionProof(leaves, 1);
      const untyped = core as unknown as Record<string, (...args: unknown[]) => unknown>;
      const call =
        (name: string, ...args: unknown[]) =>
        () =>
          (untyped[name] as (...a: unknown[]) => unknown).apply(core, args);
      expect(call('merkleRoot', null)).toThrow(/leaves/);
      expect(call('merkleRoot', [leaves[0], 'x'])).toThrow(TypeError);
      expect(call('merkleRoot', [leaves[0], 'x'])).toThrow(/leaves\[1\]/);
      expect(call('inclusionProof', leaves, '1')).toThrow(/index/);
      expect(call('verifyInclusion', 'x', 1, 4, proof, root)).toThrow(/leafData/);
      expect(call('verifyInclusion', leaves[1], 1, 4, proof, [1, 2])).toThrow(/root/);
      expect(call('verifyInclusion', leaves[1], 1, 4, [new Uint16Array(16)], root)).toThrow(/proof\[0\]/);
      expect(call('verifyInclusion', leaves[1], 1n, 4, proof, root)).toThrow(/index/);
      expect(call('verifyConsistency', 1, 4, 'proof', root, root)).toThrow(/proof/);
      expect(call('verifyConsistency', 1, 4, [], root, null)).toThrow(/rootN/);
    });
  });
}
