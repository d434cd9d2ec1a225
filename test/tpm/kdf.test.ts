// SPDX-License-Identifier: Apache-2.0
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type HashAlgorithm, hashAlgOf } from '../../agent/crypto/algorithms.js';
import { kdfa, kdfe } from '../../agent/tpm/kdf.js';
import {
  KDFA_VECTORS,
  KDFE_VECTORS,
  type KdfVector,
  LEGACY_KDFA_VECTORS,
  LEGACY_KDFE_VECTORS,
  REF_SELFTEST_KDFA_VECTORS,
} from './fixtures/tpm-kdf-seed-vectors.js';
import { HASHES, hex, refKdfa, refKdfe, unhex } from './reference.js';

function run(f: typeof kdfa, v: KdfVector): string {
  return hex(f(hashAlgOf(v.hashAlg), unhex(v.secret), v.label, unhex(v.contextU), unhex(v.contextV), v.bits));
}

const hashArb = fc.constantFrom(...HASHES);
const bytesArb = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max });
// ASCII labels without NUL, sometimes with the terminating NUL already present.
const labelArb = fc
  .tuple(
    fc.string({ unit: fc.integer({ min: 1, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
    fc.boolean(),
  )
  .map(([s, nul]) => (nul ? `${s}\0` : s));
// Lengths from 1 bit to beyond several SHA-512 blocks, biased towards edges and non-byte multiples.
const bitsArb = fc.oneof(
  fc.integer({ min: 1, max: 2200 }),
  fc.constantFrom(1, 7, 8, 9, 159, 160, 161, 255, 256, 257, 383, 384, 385, 511, 512, 513, 521, 1024),
);

describe('kdfa (Part 1 §11.4.10.2)', () => {
  it.each([...KDFA_VECTORS, ...LEGACY_KDFA_VECTORS])('go-tpm vector $name', (v) => {
    expect(run(kdfa, v)).toBe(v.result);
  });

  it.each(REF_SELFTEST_KDFA_VECTORS)('ms-tpm-20-ref self-test $name (label already NUL-terminated)', (v) => {
    expect(run(kdfa, v)).toBe(v.result);
    // The same label without its NUL must give the same bits: the NUL is added only once.
    expect(run(kdfa, { ...v, label: v.label.slice(0, -1) })).toBe(v.result);
  });

  it('agrees with the noble-based reference on random inputs (lengths across block and byte edges)', () => {
    fc.assert(
      fc.property(
        hashArb,
        bytesArb(80),
        labelArb,
        bytesArb(70),
        bytesArb(70),
        bitsArb,
        (h, k, l, u, v, bits) => {
          expect(hex(kdfa(h, k, l, u, v, bits))).toBe(hex(refKdfa(h, k, l, u, v, bits)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('returns ⌈bits/8⌉ bytes with the unused high bits of the first byte cleared', () => {
    fc.assert(
      fc.property(hashArb, bytesArb(40), bitsArb, (h, k, bits) => {
        const out = kdfa(h, k, 'ATH', new Uint8Array(0), new Uint8Array(0), bits);
        expect(out).toBeInstanceOf(Uint8Array);
        expect(out.length).toBe(Math.ceil(bits / 8));
        if (bits % 8 !== 0) expect((out[0] ?? 0) >> (bits % 8)).toBe(0);
      }),
    );
  });

  it('hashes `bits` into every block, so a longer request is not an extension of a shorter one', () => {
    const k = unhex('00112233');
    const short = kdfa('sha256', k, 'CFB', unhex('aa'), unhex('bb'), 256);
    const long = kdfa('sha256', k, 'CFB', unhex('aa'), unhex('bb'), 512);
    expect(hex(long.subarray(0, 32))).not.toBe(hex(short));
  });

  it('throws RangeError/TypeError naming the argument on misuse', () => {
    const e = new Uint8Array(0);
    for (const bits of [0, -8, 1.5, 2 ** 32, Number.NaN]) {
      expect(() => kdfa('sha256', e, 'X', e, e, bits)).toThrow(RangeError);
      expect(() => kdfa('sha256', e, 'X', e, e, bits)).toThrow(/bits/);
    }
    expect(() => kdfa('sha256', e, 'A\0B', e, e, 8)).toThrow(RangeError);
    expect(() => kdfa('sha256', e, 'A\0\0', e, e, 8)).toThrow(/label/);
    expect(() => kdfa('sha256', e, 'CFBé', e, e, 8)).toThrow(RangeError);
    expect(() => kdfa('sha256', 'key' as unknown as Uint8Array, 'X', e, e, 8)).toThrow(TypeError);
    expect(() => kdfa('sha256', e, 'X', [1] as unknown as Uint8Array, e, 8)).toThrow(/contextU/);
    expect(() => kdfa('sha256', e, 'X', e, new Uint16Array(2) as unknown as Uint8Array, 8)).toThrow(
      /contextV/,
    );
    expect(() => kdfa('md5' as HashAlgorithm, e, 'X', e, e, 8)).toThrow(TypeError);
  });

  it('treats Uint8Array views with a non-zero byteOffset as their visible bytes only', () => {
    const backing = unhex('ffffffff0011223344ffffffff');
    const key = backing.subarray(4, 9);
    expect(hex(kdfa('sha384', key, 'XOR', backing.subarray(0, 2), backing.subarray(9), 300))).toBe(
      hex(refKdfa('sha384', key.slice(), 'XOR', unhex('ffff'), unhex('ffffffff'), 300)),
    );
  });
});

describe('kdfe (Part 1 §11.4.10.3)', () => {
  it.each([...KDFE_VECTORS, ...LEGACY_KDFE_VECTORS])('go-tpm vector $name', (v) => {
    expect(run(kdfe, v)).toBe(v.result);
  });

  it('agrees with the noble-based reference on random inputs', () => {
    fc.assert(
      fc.property(
        hashArb,
        bytesArb(80),
        labelArb,
        bytesArb(70),
        bytesArb(70),
        bitsArb,
        (h, z, l, u, v, bits) => {
          expect(hex(kdfe(h, z, l, u, v, bits))).toBe(hex(refKdfe(h, z, l, u, v, bits)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('does not hash `bits`: a shorter output is a prefix of a longer one up to masking', () => {
    const z = unhex('0102030405');
    const long = kdfe('sha1', z, 'SECRET', unhex('aa'), unhex('bb'), 800);
    const short = kdfe('sha1', z, 'SECRET', unhex('aa'), unhex('bb'), 320);
    expect(hex(long.subarray(0, 40))).toBe(hex(short));
  });

  it('is not kdfa: the same inputs give different bits', () => {
    const k = unhex('0102');
    expect(hex(kdfe('sha256', k, 'L', k, k, 256))).not.toBe(hex(kdfa('sha256', k, 'L', k, k, 256)));
  });

  it('throws naming the argument on misuse', () => {
    const e = new Uint8Array(0);
    expect(() => kdfe('sha256', 'z' as unknown as Uint8Array, 'X', e, e, 8)).toThrow(/z must/);
    expect(() => kdfe('sha256', e, 'X', null as unknown as Uint8Array, e, 8)).toThrow(/partyUInfo/);
    expect(() => kdfe('sha256', e, 'X', e, e, 0)).toThrow(RangeError);
  });
});
