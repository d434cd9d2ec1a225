// SPDX-License-Identifier: Apache-2.0
// Ed25519 verification against node:crypto (OpenSSL) on random cases (ed25519-differential.ts; 500 here,
// 10,000 in test/slow/signature-differential.slow.ts): seeded keys, random messages of 0..1000 bytes, and
// the same cases with one bit flipped in the signature, the message or the key. Also: batches that mix
// valid and invalid items, messages larger than the arena, and misuse. Verdicts are asserted on the
// release builds; forced multi-scalar multiplications run on the testing builds, which have the switch.
import { sign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  type Ed25519Item,
  ed25519Verify,
  ed25519VerifyBatch,
  ed25519VerifyBatchDetailed,
  ed25519VerifyDetailed,
} from '../../wasm-core/verify/ed25519.js';
import { randomBytes, randomInt } from '../helpers/random.js';
import { ed25519Differential, flipBit, freshCase, keyPair, nodeVerdict } from './ed25519-differential.js';
import { cores, type TestCore, type TestingCore, testingCores, withArena } from './ed25519-harness.js';

const CORES = await cores();
const TESTING_CORES = await testingCores();

describe('Ed25519 against node:crypto', () => {
  const [simd, scalar] = CORES as [TestCore, TestCore];
  const [testingSimd, testingScalar] = TESTING_CORES as [TestingCore, TestingCore];

  test('500 random cases and their one-bit mutations: the same verdict as node:crypto, single and batch', () => {
    ed25519Differential([simd, scalar], [testingSimd, testingScalar], 500);
  });

  test('batches mixing valid and invalid items report exactly the invalid ones', () => {
    const pool = Array.from({ length: 48 }, () => freshCase(200));
    const oneKey = keyPair();
    const sameKeyPk = oneKey.publicKey;
    const sameKey = Array.from({ length: 48 }, () => {
      const message = randomBytes(randomInt(0, 200));
      return {
        publicKey: sameKeyPk,
        message,
        signature: new Uint8Array(sign(null, message, oneKey.privateKey)),
      };
    });
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 1, max: 48 }),
        fc.array(fc.nat(47)),
        fc.constantFrom(0, 1, 3, 6),
        fc.boolean(),
        (oneSigner, n, badIndices, mode, useScalar) => {
          const source = oneSigner ? sameKey : pool;
          const bad = new Set(badIndices.filter((b) => b < n));
          const items = source
            .slice(0, n)
            .map((c, i) => (bad.has(i) ? { ...c, signature: flipBit(c.signature, 256 + (i % 250)) } : c));
          const expected = items.map((_, i) => !bad.has(i));
          expect(ed25519VerifyBatch(useScalar ? scalar : simd, items)).toEqual(expected);
          const testing = useScalar ? testingScalar : testingSimd;
          const old = testing.exports.ed25519_batch_set_msm(mode);
          try {
            expect(ed25519VerifyBatch(testing, items)).toEqual(expected);
            // The kernel runs from two items up (one goes the single path); its combination runs from
            // three valid-looking items up, and holds exactly when all are valid.
            if (n >= 2)
              expect(testing.exports.ed25519_batch_combined()).toBe(n > 2 && bad.size === 0 ? 1 : 0);
          } finally {
            testing.exports.ed25519_batch_set_msm(old);
          }
        },
      ),
      { numRuns: 120 },
    );
  });

  test('messages larger than the arena are streamed (single and batch)', () => {
    const big = freshCase(0);
    const { publicKey: pk, privateKey } = keyPair();
    // Past the 8 MiB arena of the real instance.
    const huge = new Uint8Array(simd.arenaByteLen + 1000);
    huge.fill(0x5a);
    const hugeSig = new Uint8Array(sign(null, huge, privateKey));
    expect(ed25519Verify(simd, pk, huge, hugeSig)).toBe(true);
    expect(ed25519Verify(simd, pk, flipBit(huge, 12345), hugeSig)).toBe(false);
    // A 16 KiB arena: messages past about 2.5 KiB take the streaming digest (whose chunks are 16 KiB −
    // 128 bytes), at lengths around the 128-byte block and the chunk boundaries.
    const small = withArena(simd, 16384);
    for (const len of [0, 1, 63, 64, 65, 127, 128, 2000, 3000, 16127, 16128, 16129, 16192, 16256, 40000]) {
      const message = randomBytes(len);
      const signature = new Uint8Array(sign(null, message, privateKey));
      expect(ed25519VerifyDetailed(small, pk, message, signature), `len ${len}`).toBe('valid');
      const items = [
        { publicKey: pk, message, signature },
        big,
        { publicKey: pk, message, signature: flipBit(signature, 3) },
      ];
      expect(ed25519VerifyBatch(small, items), `len ${len}`).toEqual([true, true, false]);
      expect(ed25519VerifyBatch(simd, items), `len ${len}`).toEqual([true, true, false]);
    }
  });

  test('batches larger than one arena chunk', () => {
    const items = Array.from({ length: 300 }, () => freshCase(100));
    const small = withArena(simd, 96 * 1024);
    const bad = new Set([0, 150, 299]);
    const mixed = items.map((c, i) => (bad.has(i) ? { ...c, message: flipBit(c.message, 0) } : c));
    const expected = mixed.map((c, i) => !bad.has(i) || c.message.length === 0);
    expect(ed25519VerifyBatch(small, mixed)).toEqual(expected);
  });

  test('hostile bytes produce a verdict, never an exception', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 70 }),
        fc.uint8Array({ maxLength: 100 }),
        (publicKey, signature, message) => {
          const single = ed25519VerifyDetailed(simd, publicKey, message, signature);
          const batch = ed25519VerifyBatchDetailed(simd, [{ publicKey, message, signature }]);
          expect(batch).toEqual([single]);
          if (publicKey.length !== 32 || signature.length !== 64) expect(single).toBe('malformed-length');
          expect(single === 'valid').toBe(nodeVerdict(publicKey, message, signature) && single === 'valid');
        },
      ),
      { numRuns: 300 },
    );
  });

  test('misuse throws a TypeError naming the argument', () => {
    const c = freshCase(10);
    const notBytes = [...c.signature] as unknown as Uint8Array;
    expect(() => ed25519Verify(simd, notBytes, c.message, c.signature)).toThrow(
      /publicKey must be a Uint8Array/,
    );
    expect(() => ed25519Verify(simd, c.publicKey, 'abc' as unknown as Uint8Array, c.signature)).toThrow(
      /message must be a Uint8Array/,
    );
    expect(() =>
      ed25519Verify(simd, c.publicKey, c.message, new Uint16Array(32) as unknown as Uint8Array),
    ).toThrow(/signature must be a Uint8Array, got Uint16Array/);
    expect(() => ed25519VerifyBatch(simd, {} as unknown as Ed25519Item[])).toThrow(TypeError);
    expect(() => ed25519VerifyBatch(simd, [c, null as unknown as Ed25519Item])).toThrow(/items\[1\]/);
    expect(() => ed25519VerifyBatch(simd, [c, { ...c, message: notBytes }])).toThrow(
      /items\[1\]\.message must be a Uint8Array/,
    );
    // Wrong lengths are data, not misuse.
    expect(ed25519Verify(simd, c.publicKey.subarray(1), c.message, c.signature)).toBe(false);
    expect(ed25519VerifyBatch(simd, [c, { ...c, signature: c.signature.subarray(0, 63) }, c])).toEqual([
      true,
      false,
      true,
    ]);
    // Buffer and subarrays with an offset are fine.
    const buf = Buffer.concat([Buffer.alloc(7), Buffer.from(c.signature)]);
    expect(ed25519Verify(simd, c.publicKey, c.message, buf.subarray(7))).toBe(true);
  });
});
