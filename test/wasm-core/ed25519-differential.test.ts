// SPDX-License-Identifier: Apache-2.0
// Ed25519 verification against node:crypto (OpenSSL) on random cases: fresh keys, random messages of
// 0..1000 bytes, and the same cases with one bit flipped in the signature, the message or the key. The
// two rules differ only on crafted small-order or mixed-order inputs (OpenSSL is cofactorless and keeps
// small-order keys), which random cases never produce, so every verdict must agree. Also: batches that
// mix valid and invalid items, messages larger than the arena, and misuse. Verdicts are asserted on the
// release builds; forced multi-scalar multiplications run on the testing builds, which have the switch.
import {
  createPublicKey,
  generateKeyPairSync,
  verify as nodeVerify,
  randomBytes,
  randomInt,
  sign,
} from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  type Ed25519Item,
  ed25519Verify,
  ed25519VerifyBatch,
  ed25519VerifyBatchDetailed,
  ed25519VerifyDetailed,
} from '../../wasm-core/verify/ed25519.js';
import { cores, type TestCore, type TestingCore, testingCores, unhex, withArena } from './ed25519-harness.js';

const CORES = await cores();
const TESTING_CORES = await testingCores();
const SPKI_PREFIX = unhex('302a300506032b6570032100'); // RFC 8410 §4 SubjectPublicKeyInfo, Ed25519

interface Case extends Ed25519Item {
  readonly expected: boolean;
  readonly what: string;
}

function nodeVerdict(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  try {
    const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pk]), format: 'der', type: 'spki' });
    return nodeVerify(null, msg, key, sig);
  } catch {
    return false;
  }
}

function freshCase(maxMessage = 1000): { publicKey: Uint8Array; message: Uint8Array; signature: Uint8Array } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const message = new Uint8Array(randomBytes(randomInt(0, maxMessage + 1)));
  const signature = new Uint8Array(sign(null, message, privateKey));
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { publicKey: new Uint8Array(spki.subarray(spki.length - 32)), message, signature };
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[bit >> 3] = (out[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return out;
}

/** The case with one bit flipped in the signature, the message (when it has one) or the key. */
function mutate(c: { publicKey: Uint8Array; message: Uint8Array; signature: Uint8Array }, i: number): Case {
  const where = c.message.length === 0 && i % 3 === 1 ? 0 : i % 3;
  if (where === 0) {
    const bit = randomInt(512);
    const signature = flipBit(c.signature, bit);
    return {
      ...c,
      signature,
      expected: nodeVerdict(c.publicKey, c.message, signature),
      what: `sig bit ${bit}`,
    };
  }
  if (where === 1) {
    const bit = randomInt(c.message.length * 8);
    const message = flipBit(c.message, bit);
    return {
      ...c,
      message,
      expected: nodeVerdict(c.publicKey, message, c.signature),
      what: `msg bit ${bit}`,
    };
  }
  const bit = randomInt(256);
  const publicKey = flipBit(c.publicKey, bit);
  return {
    ...c,
    publicKey,
    expected: nodeVerdict(publicKey, c.message, c.signature),
    what: `key bit ${bit}`,
  };
}

/** Random-size batches over `cases`; each verdict must equal `expected`. */
function checkInBatches(core: TestCore, cases: readonly Case[]): void {
  for (let i = 0; i < cases.length; ) {
    const n = Math.min(cases.length - i, 1 + randomInt(96));
    const chunk = cases.slice(i, i + n);
    const got = ed25519VerifyBatch(core, chunk);
    chunk.forEach((c, k) => {
      if (got[k] !== c.expected) expect.fail(`${core.name} batch item ${i + k}: ${c.what}: got ${got[k]}`);
    });
    i += n;
  }
}

/** checkInBatches on a testing build under ed25519_batch_set_msm(mode). */
function checkInBatchesWithMsm(core: TestingCore, cases: readonly Case[], mode: number): void {
  const old = core.exports.ed25519_batch_set_msm(mode);
  try {
    checkInBatches({ ...core, name: `${core.name} (MSM mode ${mode})` }, cases);
  } finally {
    core.exports.ed25519_batch_set_msm(old);
  }
}

describe('Ed25519 against node:crypto', () => {
  const [simd, scalar] = CORES as [TestCore, TestCore];
  const [testingSimd, testingScalar] = TESTING_CORES as [TestingCore, TestingCore];

  test('10,000 random cases and their one-bit mutations: the same verdict as node:crypto, single and batch', () => {
    const cases: Case[] = [];
    for (let i = 0; i < 10_000; i++) {
      const c = freshCase();
      cases.push({ ...c, expected: true, what: `case ${i}` });
      cases.push(mutate(c, i));
    }
    let disagreements = 0;
    cases.forEach((c, i) => {
      // The scalar build takes every 8th case (the field code is shared; SHA-512 differs between builds).
      const core = i % 8 === 7 ? scalar : simd;
      const got = ed25519Verify(core, c.publicKey, c.message, c.signature);
      if (got !== c.expected) {
        disagreements++;
        expect.fail(`${core.name} ${c.what}: got ${got}, node:crypto ${c.expected}`);
      }
    });
    expect(disagreements).toBe(0);
    // Mutations hit every kind, and at least some mutated cases still verify (e.g. a flipped bit of a
    // key that decodes to the same point cannot happen, so these come only from… none); record counts.
    const rejected = cases.filter((c) => !c.expected).length;
    expect(rejected).toBeGreaterThan(9_900);
    checkInBatches(simd, cases.slice(0, 6000));
    checkInBatchesWithMsm(testingSimd, cases.slice(6000, 9000), 1);
    checkInBatchesWithMsm(testingSimd, cases.slice(9000, 12000), 5);
    checkInBatches(scalar, cases.slice(12000, 14000));
  });

  test('batches mixing valid and invalid items report exactly the invalid ones', () => {
    const pool = Array.from({ length: 48 }, () => freshCase(200));
    const oneKey = generateKeyPairSync('ed25519');
    const spki = oneKey.publicKey.export({ format: 'der', type: 'spki' });
    const sameKeyPk = new Uint8Array(spki.subarray(spki.length - 32));
    const sameKey = Array.from({ length: 48 }, () => {
      const message = new Uint8Array(randomBytes(randomInt(0, 200)));
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
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const pk = new Uint8Array(spki.subarray(spki.length - 32));
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
      const message = new Uint8Array(randomBytes(len));
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
