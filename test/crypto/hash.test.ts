// SPDX-License-Identifier: Apache-2.0
// The agent's hashing facade: the hash contract through it (both engines, by message size), routing by
// the measured crossover, and its behaviour before `initHashing()`.
import { hash } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import * as facade from '../../agent/crypto/index.js';
import { randomBytes } from '../helpers/random.js';
import { describeHashContract, hex } from '../wasm-core/hash-contract.js';
import { refRoot } from '../wasm-core/merkle-reference.js';

const ALGS = ['sha1', 'sha256', 'sha384', 'sha512'] as const;

describe('agent/crypto hash facade before initHashing()', () => {
  test('single messages and batches run on node:crypto; Merkle functions throw', () => {
    const d = randomBytes(100);
    expect(facade.engineFor('sha256', 100)).toBe('node:crypto');
    expect(hex(facade.sha256(d))).toBe(hash('sha256', d, 'hex'));
    expect(hex(facade.sha256Batch([d, d]))).toBe(hash('sha256', d, 'hex').repeat(2));
    expect(() => facade.merkleRoot([d])).toThrow(/initHashing/);
  });
});

describe('agent/crypto hash facade', () => {
  beforeAll(async () => {
    await facade.initHashing();
  });

  test('routes below NATIVE_MIN_BYTES to wasm-core and from it up to node:crypto', () => {
    for (const alg of ALGS) {
      const t = facade.NATIVE_MIN_BYTES[alg];
      expect(t).toBeGreaterThan(0);
      expect(facade.engineFor(alg, 0)).toBe('wasm-core');
      expect(facade.engineFor(alg, t - 1)).toBe('wasm-core');
      expect(facade.engineFor(alg, t)).toBe('node:crypto');
      expect(facade.engineFor(alg, 1 << 20)).toBe('node:crypto');
      for (const n of [0, t - 1, t, t + 1, 5000]) {
        const d = randomBytes(n);
        expect(hex(facade.digest(alg, d)), `${alg} ${n}`).toBe(hash(alg, d, 'hex'));
      }
    }
  });

  test('batches and Merkle trees go through wasm-core', () => {
    const leaves = Array.from({ length: 37 }, (_, i) => randomBytes(i * 3));
    expect(hex(facade.sha256Batch(leaves))).toBe(leaves.map((l) => hash('sha256', l, 'hex')).join(''));
    const root = facade.merkleRoot(leaves);
    expect(hex(root)).toBe(hex(refRoot(leaves)));
    expect(
      facade.verifyInclusion(leaves[5] as Uint8Array, 5, 37, facade.inclusionProof(leaves, 5), root),
    ).toBe(true);
    const rootM = facade.merkleRoot(leaves.slice(0, 20));
    expect(facade.verifyConsistency(20, 37, facade.consistencyProof(leaves, 20), rootM, root)).toBe(true);
  });

  test('argument checks name the argument', () => {
    const untyped = facade as unknown as Record<string, (...args: unknown[]) => unknown>;
    expect(() => untyped.digest?.('md5', new Uint8Array(1))).toThrow(/alg/);
    expect(() => untyped.sha256?.('abc')).toThrow(TypeError);
    expect(() => untyped.sha256?.('abc')).toThrow(/data/);
    expect(() => untyped.sha256Batch?.([new Uint8Array(1), 'x'])).toThrow(/messages\[1\]/);
    expect(() => facade.createHasher('sha512').digestInto(new Uint8Array(63))).toThrow(RangeError);
  });

  describeHashContract({
    name: 'agent/crypto facade',
    hash: {
      sha1: (d) => facade.sha1Legacy(d),
      sha256: (d) => facade.sha256(d),
      sha384: (d) => facade.sha384(d),
      sha512: (d) => facade.sha512(d),
    },
    create: {
      sha1: () => facade.createHasher('sha1'),
      sha256: () => facade.createHasher('sha256'),
      sha384: () => facade.createHasher('sha384'),
      sha512: () => facade.createHasher('sha512'),
    },
  });
});
