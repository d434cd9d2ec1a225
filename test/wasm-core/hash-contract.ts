// SPDX-License-Identifier: Apache-2.0
// The hash contract suite (STYLE.md principle 7): one suite, run against every implementation —
// wasm-core SIMD, wasm-core scalar, the agent facade, @noble/hashes and node:crypto.
import { createHash, hash as nodeHash } from 'node:crypto';
import { sha1 as nobleSha1 } from '@noble/hashes/legacy.js';
import { sha256 as nobleSha256, sha384 as nobleSha384, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { randomBytes } from '../helpers/random.js';
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

        // noble's `partial` test: every split of a 768-byte buffer into three pieces at i and i + j.
        const buf = Uint8Array.from({ length: 768 }, (_, i) => (i * 7 + 13) & 0xff);
        test('256×256 split-point sweep', () => {
          const expected = hex(NODE[alg](buf));
          expect(hex(hash(buf))).toBe(expected);
          for (let i = 0; i < 256; i++) {
            const b1 = buf.subarray(0, i);
            for (let j = 0; j < 256; j++) {
              const h = create();
              h.update(b1);
              h.update(buf.subarray(i, i + j));
              h.update(buf.subarray(i + j));
              const got = h.digest();
              if (hex(got) !== expected) expect(hex(got), `split ${i}, ${j}`).toBe(expected);
            }
          }
        });

        test('256×256 split-point sweep over copied slices with a non-zero byteOffset', () => {
          const expected = hex(NODE[alg](buf));
          for (let i = 0; i < 256; i++) {
            const b1 = atOffset(buf.subarray(0, i), 1 + (i % 15));
            for (let j = 0; j < 256; j++) {
              const b2 = atOffset(buf.subarray(i, i + j), 1 + (j % 13));
              const b3 = atOffset(buf.subarray(i + j), 3);
              const h = create();
              h.update(b1);
              h.update(b2);
              h.update(b3);
              const got = h.digest();
              if (hex(got) !== expected) expect(hex(got), `split ${i}, ${j}`).toBe(expected);
            }
          }
          for (let off = 1; off < 64; off++) {
            expect(hex(hash(atOffset(buf, off))), `one-shot at byteOffset ${off}`).toBe(expected);
          }
        });

        test('update after digest throws', () => {
          const h = create();
          h.update(new Uint8Array([1, 2, 3]));
          h.digest();
          expect(() => h.update(new Uint8Array([4]))).toThrow();
        });

        if (!impl.noDigestInto)
          test('digestInto writes the digest and nothing past it', () => {
            const data = buf.subarray(0, 100);
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
