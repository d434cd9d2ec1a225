// SPDX-License-Identifier: Apache-2.0
// RFC 9162 §2.1 over leaf hashes in wasm-core, both builds: the batch steps (`merkleLeafHashesInto`,
// `merkleLevelInto`) and the root, proofs and inclusion verification from the leaf hashes a log stores,
// against the independent reference in merkle-reference.ts and against the leaf-data functions.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createWasmCore, type WasmCore } from '../../wasm-core/index.js';
import { randomBytes, randomInt } from '../helpers/random.js';
import { hex } from './hash-contract.js';
import { refConsistency, refLeafHash, refNodeHash, refPath, refRoot } from './merkle-reference.js';

const cores: Record<'simd' | 'scalar', WasmCore> = {
  simd: await createWasmCore({ variant: 'simd' }),
  scalar: await createWasmCore({ variant: 'scalar' }),
};

/** n leaves of random data, lengths 0..maxLen, each a subarray at an odd offset of its own buffer. */
function randomLeaves(n: number, maxLen = 200): Uint8Array[] {
  return Array.from({ length: n }, () => randomBytes(randomInt(maxLen + 2)).subarray(1));
}

const packed = (xs: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(xs.length * 32);
  xs.forEach((x, i) => {
    out.set(x, 32 * i);
  });
  return out;
};
const hexAll = (xs: readonly Uint8Array[]): string[] => xs.map(hex);

for (const variant of ['simd', 'scalar'] as const) {
  const core = cores[variant];

  describe(`merkle over leaf hashes (${variant})`, () => {
    test('merkleLeafHashesInto: SHA-256(0x00 ‖ d) of each leaf, mixed and equal lengths, nothing past 32 n', () => {
      for (const leaves of [randomLeaves(1000), Array.from({ length: 999 }, () => randomBytes(150)), []]) {
        const out = new Uint8Array(leaves.length * 32 + 7).fill(0xee);
        core.merkleLeafHashesInto(leaves, out);
        expect(hex(out.subarray(0, leaves.length * 32))).toBe(hex(packed(leaves.map(refLeafHash))));
        expect([...out.subarray(leaves.length * 32)]).toEqual(Array(7).fill(0xee));
      }
      expect(() => core.merkleLeafHashesInto([randomBytes(3)], new Uint8Array(31))).toThrow(RangeError);
      expect(() => core.merkleLeafHashesInto([randomBytes(3), 'x' as never], new Uint8Array(64))).toThrow(
        /leaves\[1\]/,
      );
    });

    test('property: merkleLeafHashesOfItemsInto equals merkleLeafHashesInto of the items as subarrays', () => {
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 60 }),
          fc.nat({ max: 9 }),
          fc.nat({ max: 5 }),
          (lengths, before, after) => {
            const bounds = new Float64Array(lengths.length + 1 + after);
            bounds[0] = before;
            lengths.forEach((len, i) => {
              bounds[i + 1] = (bounds[i] as number) + len;
            });
            const bytes = randomBytes((bounds[lengths.length] as number) + after);
            const items = lengths.map((_, i) => bytes.subarray(bounds[i], bounds[i + 1]));
            const want = new Uint8Array(items.length * 32);
            core.merkleLeafHashesInto(items, want);
            const out = new Uint8Array(items.length * 32 + 5).fill(0xee);
            core.merkleLeafHashesOfItemsInto(bytes, bounds, items.length, out);
            expect(hex(out.subarray(0, items.length * 32))).toBe(hex(want));
            expect([...out.subarray(items.length * 32)]).toEqual(Array(5).fill(0xee));
          },
        ),
        { numRuns: 300 },
      );
    });

    test('merkleLeafHashesOfItemsInto: batches larger than the arena, an item larger than it, bad bounds', () => {
      // 9 MB of items (over the 8 MB arena: several kernel calls), then one item of 9 MB alone (streamed).
      const lengths = [...Array.from({ length: 40_000 }, () => 200 + randomInt(50)), 9_000_000, 3];
      const bounds = new Float64Array(lengths.length + 1);
      lengths.forEach((len, i) => {
        bounds[i + 1] = (bounds[i] as number) + len;
      });
      const bytes = randomBytes(bounds[lengths.length] as number);
      const out = new Uint8Array(lengths.length * 32);
      core.merkleLeafHashesOfItemsInto(bytes, bounds, lengths.length, out);
      const want = new Uint8Array(lengths.length * 32);
      core.merkleLeafHashesInto(
        lengths.map((_, i) => bytes.subarray(bounds[i], bounds[i + 1])),
        want,
      );
      expect(hex(out)).toBe(hex(want));
      const small = randomBytes(10);
      const call =
        (b: number[], count = b.length - 1, o = new Uint8Array(64)) =>
        () =>
          core.merkleLeafHashesOfItemsInto(small, Float64Array.from(b), count, o);
      expect(call([0, 4, 10])).not.toThrow();
      expect(call([0, 4, 11])).toThrow(/bounds\[2\]/); // past the bytes
      expect(call([5, 4, 10])).toThrow(/bounds\[1\]/); // decreasing
      expect(call([0, 2.5, 10])).toThrow(RangeError);
      expect(call([0, 4, 10], 3)).toThrow(RangeError); // count + 1 bounds not there
      expect(call([0, 4, 10], 2, new Uint8Array(63))).toThrow(RangeError);
      expect(() => core.merkleLeafHashesOfItemsInto(small, [0, 4] as never, 1, new Uint8Array(32))).toThrow(
        TypeError,
      );
    });

    test('merkleLevelInto: pairs hashed as SHA-256(0x01 ‖ l ‖ r), an odd last node copied up', () => {
      for (const count of [0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 1001]) {
        const nodes = Array.from({ length: count }, () => randomBytes(32));
        const out = new Uint8Array(Math.ceil(count / 2) * 32);
        expect(core.merkleLevelInto(packed(nodes), out)).toBe(Math.ceil(count / 2));
        const want: Uint8Array[] = [];
        for (let i = 0; i + 1 < count; i += 2)
          want.push(refNodeHash(nodes[i] as Uint8Array, nodes[i + 1] as Uint8Array));
        if (count % 2 === 1) want.push(nodes[count - 1] as Uint8Array);
        expect(hex(out), `count ${count}`).toBe(hex(packed(want)));
      }
    });

    test('merkleLevelInto: a level larger than the arena is hashed in pieces', () => {
      const count = Math.floor(core.arenaByteLen / 32) + 3;
      const nodes = randomBytes(count * 32);
      const out = new Uint8Array(Math.ceil(count / 2) * 32);
      core.merkleLevelInto(nodes, out);
      for (const pair of [
        0,
        1,
        Math.floor(count / 2) - 1,
        Math.floor(count / 4),
        Math.floor(core.arenaByteLen / 64),
      ]) {
        const want = refNodeHash(
          nodes.subarray(64 * pair, 64 * pair + 32),
          nodes.subarray(64 * pair + 32, 64 * pair + 64),
        );
        expect(hex(out.subarray(32 * pair, 32 * pair + 32)), `pair ${pair}`).toBe(hex(want));
      }
      expect(hex(out.subarray(out.length - 32))).toBe(hex(nodes.subarray(nodes.length - 32)));
    });

    test('merkleLevelInto: misuse throws RangeError (ragged nodes, short or overlapping out)', () => {
      const nodes = randomBytes(96);
      expect(() => core.merkleLevelInto(nodes.subarray(0, 95), new Uint8Array(64))).toThrow(RangeError);
      expect(() => core.merkleLevelInto(nodes, new Uint8Array(63))).toThrow(RangeError);
      const shared = new Uint8Array(256);
      expect(() => core.merkleLevelInto(shared.subarray(0, 128), shared.subarray(96, 160))).toThrow(
        /overlap/,
      );
      expect(core.merkleLevelInto(shared.subarray(0, 128), shared.subarray(128, 192))).toBe(2);
    });

    test('root and proofs from leaf hashes equal the reference and the leaf-data functions, sizes 0..300', () => {
      const all = randomLeaves(300, 80);
      const hashes = packed(all.map(refLeafHash));
      expect(hex(core.merkleRootOfLeafHashes(new Uint8Array(0)))).toBe(hex(core.merkleRoot([])));
      for (let n = 1; n <= 300; n++) {
        const leaves = all.slice(0, n);
        const h = hashes.subarray(0, 32 * n);
        const root = core.merkleRootOfLeafHashes(h);
        expect(hex(root), `size ${n}`).toBe(hex(refRoot(leaves)));
        const index = randomInt(n);
        const proof = core.inclusionProofOfLeafHashes(h, index);
        expect(hexAll(proof)).toEqual(hexAll(refPath(index, leaves)));
        expect(hexAll(proof)).toEqual(hexAll(core.inclusionProof(leaves, index)));
        expect(
          core.verifyInclusionOfLeafHash(h.subarray(32 * index, 32 * index + 32), index, n, proof, root),
        ).toBe(true);
        const m = randomInt(n + 1);
        const cp = core.consistencyProofOfLeafHashes(h, m);
        expect(hexAll(cp), `m ${m} n ${n}`).toEqual(
          m === 0 || m === n ? [] : hexAll(refConsistency(m, leaves)),
        );
        expect(
          core.verifyConsistency(m, n, cp, core.merkleRootOfLeafHashes(hashes.subarray(0, 32 * m)), root),
        ).toBe(true);
      }
    });

    test('a tree of leaf hashes larger than the arena', () => {
      const n = Math.floor(core.arenaByteLen / 32) + 1000;
      const leaves = Array.from({ length: n }, (_, i) => Uint8Array.of(i & 0xff, (i >> 8) & 0xff, i >> 16));
      const hashes = new Uint8Array(32 * n);
      core.merkleLeafHashesInto(leaves, hashes);
      const root = core.merkleRootOfLeafHashes(hashes);
      expect(hex(root)).toBe(hex(core.merkleRoot(leaves)));
      const index = n - 3;
      const proof = core.inclusionProofOfLeafHashes(hashes, index);
      expect(core.verifyInclusion(leaves[index] as Uint8Array, index, n, proof, root)).toBe(true);
    });

    test('verifyInclusionOfLeafHash: altered proofs, leaf hashes, indices and shapes give false, never throw', () => {
      // Distinct leaves (their index first): two equal neighbours would make the next index verify too.
      const leaves = randomLeaves(97, 40).map((l, i) => Uint8Array.of(i, ...l));
      const hashes = packed(leaves.map(refLeafHash));
      const root = core.merkleRootOfLeafHashes(hashes);
      fc.assert(
        fc.property(fc.nat(96), fc.nat(), (index, bits) => {
          const leaf = hashes.slice(32 * index, 32 * index + 32);
          const proof = core.inclusionProofOfLeafHashes(hashes, index);
          expect(core.verifyInclusionOfLeafHash(leaf, index, 97, proof, root)).toBe(true);
          const flipped = leaf.slice();
          flipped[bits % 32] = (flipped[bits % 32] ?? 0) ^ (1 << (bits % 8));
          expect(core.verifyInclusionOfLeafHash(flipped, index, 97, proof, root)).toBe(false);
          const bad = proof.map((p, i) =>
            i === bits % proof.length ? p.map((b, j) => (j === 0 ? b ^ 1 : b)) : p,
          );
          expect(core.verifyInclusionOfLeafHash(leaf, index, 97, bad, root)).toBe(false);
          expect(core.verifyInclusionOfLeafHash(leaf, (index + 1) % 97, 97, proof, root)).toBe(false);
          expect(core.verifyInclusionOfLeafHash(leaf.subarray(1), index, 97, proof, root)).toBe(false);
          expect(core.verifyInclusionOfLeafHash(Uint8Array.of(...leaf, 0), index, 97, proof, root)).toBe(
            false,
          );
          for (const size of [-1, Number.NaN, 2 ** 53, index, 1.5]) {
            expect(core.verifyInclusionOfLeafHash(leaf, index, size, proof, root)).toBe(false);
          }
        }),
        { numRuns: 100 },
      );
      expect(() => core.verifyInclusionOfLeafHash('x' as never, 0, 1, [], root)).toThrow(/leafHash/);
      expect(() => core.inclusionProofOfLeafHashes(hashes, 97)).toThrow(RangeError);
      expect(() => core.inclusionProofOfLeafHashes(hashes.subarray(1), 0)).toThrow(RangeError);
      expect(() => core.consistencyProofOfLeafHashes(hashes, 98)).toThrow(RangeError);
      expect(() => core.merkleRootOfLeafHashes(hashes.subarray(0, 33))).toThrow(RangeError);
    });
  });
}

test('the free functions on the default instance follow it', async () => {
  const wasmCore = await import('../../wasm-core/index.js');
  await wasmCore.init();
  const leaves = randomLeaves(5);
  const hashes = new Uint8Array(5 * 32);
  wasmCore.merkleLeafHashesInto(leaves, hashes);
  const root = wasmCore.merkleRootOfLeafHashes(hashes);
  expect(hex(root)).toBe(hex(refRoot(leaves)));
  const proof = wasmCore.inclusionProofOfLeafHashes(hashes, 4);
  expect(wasmCore.verifyInclusionOfLeafHash(hashes.subarray(128), 4, 5, proof, root)).toBe(true);
  const cp = wasmCore.consistencyProofOfLeafHashes(hashes, 3);
  expect(hexAll(cp)).toEqual(hexAll(refConsistency(3, leaves)));
  const level = new Uint8Array(96);
  expect(wasmCore.merkleLevelInto(hashes, level)).toBe(3);
  expect(hex(level.subarray(64))).toBe(hex(hashes.subarray(128)));
});
