// SPDX-License-Identifier: Apache-2.0
// The hash contract suite (STYLE.md principle 7): one suite, run against every implementation —
// wasm-core SIMD, wasm-core scalar, the agent facade, @noble/hashes and node:crypto.
import { createHash, hash as nodeHash } from 'node:crypto';
import { sha1 as nobleSha1 } from '@noble/hashes/legacy.js';
import { sha256 as nobleSha256, sha384 as nobleSha384, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { WasmCore } from '../../wasm-core/index.js';
import { randomBytes, randomInt } from '../helpers/random.js';
import { loadFips180Examples, loadShavs, SHA_ALGORITHMS, type ShaAlgorithm } from './vectors.js';

/** The streaming shape every implementation offers (node:crypto's Hash has no digestInto). */
export interface StreamingLike {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
  digestInto?: (out: Uint8Array) => void;
}

export interface HashImpl {
  readonly name: string;
  readonly hash: Readonly<Record<ShaAlgorithm, (data: Uint8Array) => Uint8Array>>;
  readonly create: Readonly<Record<ShaAlgorithm, () => StreamingLike>>;
  /** node:crypto's Hash has no digestInto: its contract leaves that test out rather than skipping it. */
  readonly noDigestInto?: true;
}

export const DIGEST_BYTES: Readonly<Record<ShaAlgorithm, number>> = {
  sha1: 20,
  sha256: 32,
  sha384: 48,
  sha512: 64,
};

/** SHAVS record counts stated in test/vectors/SOURCES.md (ShortMsg, LongMsg). */
const SHAVS_COUNTS: Readonly<Record<ShaAlgorithm, readonly [number, number]>> = {
  sha1: [65, 64],
  sha256: [65, 64],
  sha384: [129, 128],
  sha512: [129, 128],
};

const NOBLE: Readonly<Record<ShaAlgorithm, (data: Uint8Array) => Uint8Array>> = {
  sha1: (d) => nobleSha1(d),
  sha256: (d) => nobleSha256(d),
  sha384: (d) => nobleSha384(d),
  sha512: (d) => nobleSha512(d),
};

export const NODE: Readonly<Record<ShaAlgorithm, (data: Uint8Array) => Uint8Array>> = {
  sha1: (d) => new Uint8Array(nodeHash('sha1', d, 'buffer')),
  sha256: (d) => new Uint8Array(nodeHash('sha256', d, 'buffer')),
  sha384: (d) => new Uint8Array(nodeHash('sha384', d, 'buffer')),
  sha512: (d) => new Uint8Array(nodeHash('sha512', d, 'buffer')),
};

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** A copy of data that starts `offset` bytes into a larger buffer (a non-zero byteOffset). */
function atOffset(data: Uint8Array, offset: number): Uint8Array {
  const backing = new Uint8Array(data.length + offset + 7).fill(0xa5);
  const view = backing.subarray(offset, offset + data.length);
  view.set(data);
  return view;
}

/** Feed data in pieces whose sizes cycle through awkward values around block boundaries. */
const PIECES = [1, 3, 63, 64, 65, 127, 128, 129, 7, 200, 1000];
function streamInPieces(h: StreamingLike, data: Uint8Array): Uint8Array {
  let pos = 0;
  for (let i = 0; pos < data.length; i++) {
    const n = PIECES[i % PIECES.length] ?? 1;
    h.update(data.subarray(pos, pos + n));
    pos += n;
  }
  return h.digest();
}

/** The buffer the split-point sweeps cut into three pieces. */
const SPLIT_BUF = Uint8Array.from({ length: 768 }, (_, i) => (i * 7 + 13) & 0xff);
/** How many split points the sweeps try: 0..255 for each piece boundary (noble's `partial` test). */
const SPLITS = 256;

/**
 * The (i, j) pairs of `npm test`'s sweep: every first split i, and for each the second split j at an
 * offset from i's block that lands on, just before or just after a block boundary of `alg`, plus random j.
 */
function splitPairs(alg: ShaAlgorithm): Array<readonly [number, number]> {
  const block = alg === 'sha384' || alg === 'sha512' ? 128 : 64;
  const pairs: Array<readonly [number, number]> = [];
  for (let i = 0; i < SPLITS; i++) {
    const js = new Set<number>([0, 1, SPLITS - 1]);
    for (let edge = block - (i % block); edge < SPLITS + 1; edge += block)
      for (const d of [-1, 0, 1]) if (edge + d >= 0 && edge + d < SPLITS) js.add(edge + d);
    for (let k = 0; k < 4; k++) js.add(randomInt(SPLITS));
    for (const j of js) pairs.push([i, j]);
  }
  return pairs;
}

/** Every (i, j) pair of the full 256×256 sweep (the slow suite). */
export function allSplitPairs(): Array<readonly [number, number]> {
  return Array.from({ length: SPLITS * SPLITS }, (_, n) => [Math.floor(n / SPLITS), n % SPLITS] as const);
}

/**
 * Hashing SPLIT_BUF in three pieces cut at i and i + j gives its one-shot digest for each pair, with the
 * pieces as views of the buffer and as copies that start at a non-zero byteOffset; and one-shot hashing at
 * byteOffsets 1..63 does too.
 */
export function expectSplitsAgree(
  impl: HashImpl,
  alg: ShaAlgorithm,
  pairs: ReadonlyArray<readonly [number, number]>,
): void {
  const buf = SPLIT_BUF;
  const hash = impl.hash[alg];
  const create = impl.create[alg];
  const expected = hex(NODE[alg](buf));
  expect(hex(hash(buf))).toBe(expected);
  for (const [i, j] of pairs) {
    const views = create();
    views.update(buf.subarray(0, i));
    views.update(buf.subarray(i, i + j));
    views.update(buf.subarray(i + j));
    const got = hex(views.digest());
    if (got !== expected) expect(got, `split ${i}, ${j}`).toBe(expected);
    const copies = create();
    copies.update(atOffset(buf.subarray(0, i), 1 + (i % 15)));
    copies.update(atOffset(buf.subarray(i, i + j), 1 + (j % 13)));
    copies.update(atOffset(buf.subarray(i + j), 3));
    const gotCopies = hex(copies.digest());
    if (gotCopies !== expected) expect(gotCopies, `split ${i}, ${j} over copies`).toBe(expected);
  }
  for (let off = 1; off < 64; off++) {
    expect(hex(hash(atOffset(buf, off))), `one-shot at byteOffset ${off}`).toBe(expected);
  }
}

export function describeHashContract(impl: HashImpl): void {
  describe(`hash contract: ${impl.name}`, () => {
    for (const alg of SHA_ALGORITHMS) {
      const hash = impl.hash[alg];
      const create = impl.create[alg];
      const size = DIGEST_BYTES[alg];

      describe(alg, () => {
        test('NIST SHAVS short and long messages, whole and in pieces', () => {
          const short = loadShavs(alg, 'ShortMsg');
          const long = loadShavs(alg, 'LongMsg');
          expect([short.length, long.length]).toEqual(SHAVS_COUNTS[alg]);
          for (const v of [...short, ...long]) {
            expect(hex(hash(v.msg)), v.id).toBe(hex(v.md));
            expect(hex(streamInPieces(create(), v.msg)), `${v.id} in pieces`).toBe(hex(v.md));
          }
        });

        test('FIPS 180 example messages, whole and in pieces', () => {
          const examples = loadFips180Examples(alg);
          expect(examples.length).toBe(5);
          for (const v of examples) {
            expect(hex(hash(v.msg)), v.id).toBe(hex(v.md));
            expect(hex(streamInPieces(create(), v.msg)), `${v.id} in pieces`).toBe(hex(v.md));
          }
        });

        // noble's `partial` test: splits of a 768-byte buffer into three pieces at i and i + j; here every
        // i with the second split at and around each block boundary and at random, the slow suite every j.
        test('split-point sweep: every first split, the second at block boundaries and at random', () => {
          expectSplitsAgree(impl, alg, splitPairs(alg));
        });
        test('update after digest throws', () => {
          const h = create();
          h.update(new Uint8Array([1, 2, 3]));
          h.digest();
          expect(() => h.update(new Uint8Array([4]))).toThrow();
        });

        if (!impl.noDigestInto)
          test('digestInto writes the digest and nothing past it', () => {
            const data = SPLIT_BUF.subarray(0, 100);
            const out = new Uint8Array(size + 32).fill(0xee);
            const h = create();
            h.update(data);
            h.digestInto?.(out);
            expect(hex(out.subarray(0, size))).toBe(hex(NODE[alg](data)));
            expect(out.subarray(size).every((b) => b === 0xee)).toBe(true);
            const short = create();
            short.update(data);
            expect(() => short.digestInto?.(new Uint8Array(size - 1))).toThrow();
          });

        test('256-step chained hash agrees with node:crypto', () => {
          let ours: Uint8Array = new Uint8Array(0);
          let ref: Uint8Array = new Uint8Array(0);
          for (let i = 0; i < 256; i++) {
            const tail = new Uint8Array(i).fill(i);
            const nextOurs = new Uint8Array(ours.length + i);
            nextOurs.set(ours);
            nextOurs.set(tail, ours.length);
            const nextRef = new Uint8Array(ref.length + i);
            nextRef.set(ref);
            nextRef.set(tail, ref.length);
            ours = hash(nextOurs);
            ref = NODE[alg](nextRef);
          }
          expect(hex(ours)).toBe(hex(ref));
        });

        test('every length 0..300 and random lengths up to 10,000 agree with node:crypto and noble', () => {
          const data = randomBytes(10_000);
          for (let n = 0; n <= 300; n++) {
            const m = data.subarray(0, n);
            const got = hex(hash(m));
            if (got !== hex(NODE[alg](m))) expect(got, `length ${n}`).toBe(hex(NODE[alg](m)));
          }
          fc.assert(
            fc.property(fc.uint8Array({ minLength: 0, maxLength: 10_000 }), (m) => {
              const got = hex(hash(m));
              expect(got).toBe(hex(NODE[alg](m)));
              expect(got).toBe(hex(NOBLE[alg](m)));
            }),
            { numRuns: 60 },
          );
        });
      });
    }
  });
}

/** node:crypto as a contract implementation. */
export const NODE_IMPL: HashImpl = {
  name: 'node:crypto',
  noDigestInto: true,
  hash: NODE,
  create: {
    sha1: () => nodeStreaming('sha1'),
    sha256: () => nodeStreaming('sha256'),
    sha384: () => nodeStreaming('sha384'),
    sha512: () => nodeStreaming('sha512'),
  },
};

function nodeStreaming(alg: ShaAlgorithm): StreamingLike {
  const h = createHash(alg);
  return {
    update: (d) => h.update(d),
    digest: () => new Uint8Array(h.digest()),
  };
}

/** A wasm-core instance (one build) as a contract implementation. */
export function wasmCoreImpl(name: string, core: WasmCore): HashImpl {
  return {
    name,
    hash: {
      sha1: (d) => core.sha1(d),
      sha256: (d) => core.sha256(d),
      sha384: (d) => core.sha384(d),
      sha512: (d) => core.sha512(d),
    },
    create: {
      sha1: () => core.createSha1(),
      sha256: () => core.createSha256(),
      sha384: () => core.createSha384(),
      sha512: () => core.createSha512(),
    },
  };
}

/** @noble/hashes as a contract implementation. */
export const NOBLE_IMPL: HashImpl = {
  name: '@noble/hashes',
  hash: NOBLE,
  create: {
    sha1: () => nobleSha1.create(),
    sha256: () => nobleSha256.create(),
    sha384: () => nobleSha384.create(),
    sha512: () => nobleSha512.create(),
  },
};
