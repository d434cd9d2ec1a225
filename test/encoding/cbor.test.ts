// SPDX-License-Identifier: Apache-2.0
// Strict deterministic CBOR: the RFC 8949 Appendix A examples of the supported subset (both directions)
// and the refusal of the rest, §4.2.1 key order, one test per refusal code, what cbor-x accepts and we
// do not, and properties: round trip, a value or a CborError for any bytes (random and mutated
// encodings), and cbor-x (an independent decoder) reading our encodings as the same values. cborItemEnd
// (the item-boundary scan) against the decoder: the same end wherever the decoder reads an item.
import { Decoder as CborXDecoder, Tag as CborXTag } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../agent/encoding/bytes.js';
import {
  CBOR_DEFAULT_LIMITS,
  CborError,
  type CborErrorCode,
  type CborKey,
  type CborScanLimits,
  CborTag,
  type CborValue,
  cborItemBounds,
  cborItemEnd,
  decodeCbor,
  decodeCborSequence,
  encodeCbor,
} from '../../agent/encoding/cbor.js';

const NONE = { tags: [] } as const;

/** Calls `fn`; returns the CborError it throws, failing on success or any other exception. */
function cborError(fn: () => unknown): CborError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CborError) return e;
    throw e;
  }
  throw new Error('expected a CborError, got a value');
}

const decodeHex = (hex: string, tags: readonly number[] = []): CborValue =>
  decodeCbor(fromHex(hex), { tags });
const codeOf = (hex: string, options: Parameters<typeof decodeCbor>[1] = NONE): CborErrorCode =>
  cborError(() => decodeCbor(fromHex(hex), options)).code;

// RFC 8949 Appendix A, the examples inside the subset: [hex, value].
const APPENDIX_A: readonly (readonly [string, CborValue])[] = [
  ['00', 0],
  ['01', 1],
  ['0a', 10],
  ['17', 23],
  ['1818', 24],
  ['1819', 25],
  ['1864', 100],
  ['1903e8', 1000],
  ['1a000f4240', 1000000],
  ['1b000000e8d4a51000', 1000000000000],
  ['1bffffffffffffffff', 18446744073709551615n],
  ['c249010000000000000000', new CborTag(2, fromHex('010000000000000000'))],
  ['3bffffffffffffffff', -18446744073709551616n],
  ['c349010000000000000000', new CborTag(3, fromHex('010000000000000000'))],
  ['20', -1],
  ['29', -10],
  ['3863', -100],
  ['3903e7', -1000],
  ['f4', false],
  ['f5', true],
  ['f6', null],
  ['c074323031332d30332d32315432303a30343a30305a', new CborTag(0, '2013-03-21T20:04:00Z')],
  ['c11a514b67b0', new CborTag(1, 1363896240)],
  ['d74401020304', new CborTag(23, fromHex('01020304'))],
  ['d818456449455446', new CborTag(24, fromHex('6449455446'))],
  ['d82076687474703a2f2f7777772e6578616d706c652e636f6d', new CborTag(32, 'http://www.example.com')],
  ['40', new Uint8Array(0)],
  ['4401020304', fromHex('01020304')],
  ['60', ''],
  ['6161', 'a'],
  ['6449455446', 'IETF'],
  ['62225c', '"\\'],
  ['62c3bc', '\u00fc'],
  ['63e6b0b4', '\u6c34'],
  ['64f0908591', '\ud800\udd51'],
  ['80', []],
  ['83010203', [1, 2, 3]],
  ['8301820203820405', [1, [2, 3], [4, 5]]],
  ['98190102030405060708090a0b0c0d0e0f101112131415161718181819', Array.from({ length: 25 }, (_, i) => i + 1)],
  ['a0', new Map()],
  [
    'a201020304',
    new Map([
      [1, 2],
      [3, 4],
    ]),
  ],
  [
    'a26161016162820203',
    new Map<CborKey, CborValue>([
      ['a', 1],
      ['b', [2, 3]],
    ]),
  ],
  ['826161a161626163', ['a', new Map([['b', 'c']])]],
  [
    'a56161614161626142616361436164614461656145',
    new Map([
      ['a', 'A'],
      ['b', 'B'],
      ['c', 'C'],
      ['d', 'D'],
      ['e', 'E'],
    ]),
  ],
];
const APPENDIX_A_TAGS = [0, 1, 2, 3, 23, 24, 32];

// RFC 8949 Appendix A, the examples outside the subset or not in deterministic form.
const APPENDIX_A_REFUSED: readonly (readonly [string, CborErrorCode])[] = [
  ...[
    'f90000',
    'f98000',
    'f93c00',
    'fb3ff199999999999a',
    'f93e00',
    'f97bff',
    'fa47c35000',
    'fa7f7fffff',
    'fb7e37e43c8800759c',
    'f90001',
    'f90400',
    'f9c400',
    'fbc010666666666666',
    'f97c00',
    'f97e00',
    'f9fc00',
    'fa7f800000',
    'fa7fc00000',
    'faff800000',
    'fb7ff0000000000000',
    'fb7ff8000000000000',
    'fbfff0000000000000',
    'f7',
    'f0',
    'f8ff',
    'c1fb41d452d9ec200000',
  ].map((hex) => [hex, 'E_CBOR_UNSUPPORTED'] as const),
  ...[
    '5f42010243030405ff',
    '7f657374726561646d696e67ff',
    '9fff',
    '9f018202039f0405ffff',
    '9f01820203820405ff',
    '83018202039f0405ff',
    '83019f0203ff820405',
    '9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff',
    'bf61610161629f0203ffff',
    '826161bf61626163ff',
    'bf6346756ef563416d7421ff',
  ].map((hex) => [hex, 'E_CBOR_NONCANONICAL'] as const),
];

describe('RFC 8949 Appendix A', () => {
  it.each(APPENDIX_A)('%s decodes and re-encodes', (hex, value) => {
    expect(decodeHex(hex, APPENDIX_A_TAGS)).toStrictEqual(value);
    expect(toHex(encodeCbor(value))).toBe(hex);
  });

  it.each(APPENDIX_A_REFUSED)('%s is refused: %s', (hex, code) => {
    expect(codeOf(hex, { tags: APPENDIX_A_TAGS })).toBe(code);
  });
});

describe('deterministic encoding (RFC 8949 §4.2.1)', () => {
  it('sorts map keys by their encodings: shorter integers, then negative, then text by length', () => {
    // §4.2.1's example, restricted to integer and text keys: 10, 100, -1, "z", "aa".
    const m = new Map<CborKey, CborValue>([
      ['aa', 5],
      ['z', 4],
      [-1, 3],
      [100, 2],
      [10, 1],
    ]);
    expect(toHex(encodeCbor(m))).toBe('a50a011864022003617a0462616105');
  });

  it('encodes the same map the same way whatever the insertion order', () => {
    const entries = fc.uniqueArray(fc.tuple(fc.oneof(fc.integer(), fc.string()), fc.integer()), {
      selector: ([k]) => k,
      maxLength: 12,
    });
    const twoOrders = entries.chain((e) =>
      fc.tuple(fc.constant(e), fc.shuffledSubarray(e, { minLength: e.length, maxLength: e.length })),
    );
    fc.assert(
      fc.property(twoOrders, ([a, b]) => {
        expect(encodeCbor(new Map(b))).toStrictEqual(encodeCbor(new Map(a)));
      }),
    );
  });

  it('writes every integer head in its shortest form at each boundary', () => {
    const cases: [number | bigint, string][] = [
      [23, '17'],
      [24, '1818'],
      [255, '18ff'],
      [256, '190100'],
      [65535, '19ffff'],
      [65536, '1a00010000'],
      [2 ** 32 - 1, '1affffffff'],
      [2 ** 32, '1b0000000100000000'],
      [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
      [1n, '01'],
      [2n ** 32n, '1b0000000100000000'],
      [-1n, '20'],
      [-(2 ** 32), '3affffffff'],
      [-(2 ** 32) - 1, '3b0000000100000000'],
      [-(2n ** 64n), '3bffffffffffffffff'],
      [-0, '00'],
    ];
    for (const [v, hex] of cases) expect(toHex(encodeCbor(v)), String(v)).toBe(hex);
  });

  it('decodes integers to numbers when safe, to bigints beyond', () => {
    expect(decodeHex('1b001fffffffffffff')).toBe(Number.MAX_SAFE_INTEGER);
    expect(decodeHex('1b0020000000000000')).toBe(2n ** 53n);
    expect(decodeHex('3b001ffffffffffffe')).toBe(-Number.MAX_SAFE_INTEGER);
    expect(decodeHex('3b001fffffffffffff')).toBe(-(2n ** 53n));
  });
});

describe('refusals, one code each', () => {
  const cases: readonly (readonly [string, string, CborErrorCode])[] = [
    ['empty input', '', 'E_CBOR_FORMAT'],
    ['a truncated head', '1a0000', 'E_CBOR_FORMAT'],
    ['a truncated string', '6461', 'E_CBOR_FORMAT'],
    ['a string longer than the input', '5affffffff00', 'E_CBOR_FORMAT'],
    ['a truncated array', '830102', 'E_CBOR_FORMAT'],
    ['trailing bytes', '0000', 'E_CBOR_FORMAT'],
    ['reserved additional information', '1c', 'E_CBOR_FORMAT'],
    ['a stray break', 'ff', 'E_CBOR_FORMAT'],
    ['an indefinite integer', '1f', 'E_CBOR_FORMAT'],
    ['simple value 24 in the two-byte form', 'f818', 'E_CBOR_FORMAT'],
    ['text that is not UTF-8', '62c328', 'E_CBOR_FORMAT'],
    ['a UTF-8-encoded surrogate', '63eda080', 'E_CBOR_FORMAT'],
    ['an over-long UTF-8 sequence', '62c0af', 'E_CBOR_FORMAT'],
    ['a one-byte head for 0', '1800', 'E_CBOR_NONCANONICAL'],
    ['a two-byte head for 255', '1900ff', 'E_CBOR_NONCANONICAL'],
    ['a four-byte head for 65535', '1a0000ffff', 'E_CBOR_NONCANONICAL'],
    ['an eight-byte head for 2^32 − 1', '1b00000000ffffffff', 'E_CBOR_NONCANONICAL'],
    ['a non-shortest negative integer', '3800', 'E_CBOR_NONCANONICAL'],
    ['a non-shortest string length', '780161', 'E_CBOR_NONCANONICAL'],
    ['a non-shortest array length', '9800', 'E_CBOR_NONCANONICAL'],
    ['a non-shortest (allowed) tag number', 'd81240', 'E_CBOR_NONCANONICAL'],
    ['an indefinite-length array', '9f01ff', 'E_CBOR_NONCANONICAL'],
    ['map keys out of order', 'a2020001f6', 'E_CBOR_NONCANONICAL'],
    ['text keys out of length order', 'a262616100616201', 'E_CBOR_NONCANONICAL'],
    ['a duplicate integer key', 'a201000101', 'E_CBOR_DUPLICATE_KEY'],
    ['a duplicate text key', 'a2616100616101', 'E_CBOR_DUPLICATE_KEY'],
    ['a tag not in the allow-list', 'c040', 'E_CBOR_TAG'],
    ['a tag number beyond 2^53', 'dbffffffffffffffff00', 'E_CBOR_TAG'],
    ['a tag not in the allow-list inside an allowed one', 'd281c000', 'E_CBOR_TAG'],
    ['a half-precision float', 'f93c00', 'E_CBOR_UNSUPPORTED'],
    ['undefined', 'f7', 'E_CBOR_UNSUPPORTED'],
    ['simple value 16', 'f0', 'E_CBOR_UNSUPPORTED'],
    ['a byte-string map key', 'a14100f6', 'E_CBOR_UNSUPPORTED'],
    ['an array map key', 'a180f6', 'E_CBOR_UNSUPPORTED'],
    ['a boolean map key', 'a1f5f6', 'E_CBOR_UNSUPPORTED'],
    ['an array claiming 2^32 − 1 items', '9affffffff', 'E_CBOR_LIMIT'],
    ['an array claiming 2^64 − 1 items', '9bffffffffffffffff', 'E_CBOR_LIMIT'],
    ['a map claiming 2^32 − 1 entries', 'baffffffff', 'E_CBOR_LIMIT'],
  ];
  it.each(cases)('%s (%s): %s', (_name, hex, code) => {
    expect(codeOf(hex, { tags: [18] })).toBe(code);
  });

  it('accepts an allowed tag (18, COSE_Sign1) and keeps it as a CborTag', () => {
    // tag 18 [protected h'a10126' ({1: -7}), unprotected {}, payload nil, signature h'01020304']
    const sign1 = 'd28443a10126a0f64401020304';
    const v = decodeHex(sign1, [18]);
    expect(v).toStrictEqual(new CborTag(18, [fromHex('a10126'), new Map(), null, fromHex('01020304')]));
    expect(toHex(encodeCbor(v))).toBe(sign1);
  });

  it('applies the size, depth and item limits', () => {
    expect(codeOf('4100', { tags: [], maxBytes: 1 })).toBe('E_CBOR_LIMIT');
    expect(() => decodeCbor(fromHex('4100'), { tags: [], maxBytes: 2 })).not.toThrow();
    expect(codeOf('81818100', { tags: [], maxDepth: 2 })).toBe('E_CBOR_LIMIT');
    expect(decodeCbor(fromHex('81818100'), { tags: [], maxDepth: 3 })).toStrictEqual([[[0]]]);
    expect(codeOf('d2d200', { tags: [18], maxDepth: 1 })).toBe('E_CBOR_LIMIT');
    expect(codeOf('a1008100', { tags: [], maxDepth: 1 })).toBe('E_CBOR_LIMIT');
    expect(codeOf('8a00000000000000000000', { tags: [], maxItems: 10 })).toBe('E_CBOR_LIMIT');
    expect(decodeCbor(fromHex('89000000000000000000'), { tags: [], maxItems: 10 })).toHaveLength(9);
    expect(codeOf('a3000001000200', { tags: [], maxItems: 6 })).toBe('E_CBOR_LIMIT');
    expect(codeOf(`${'81'.repeat(100_000)}00`)).toBe('E_CBOR_LIMIT');
    const big = new Uint8Array(CBOR_DEFAULT_LIMITS.maxBytes + 1);
    expect(cborError(() => decodeCbor(big, NONE)).code).toBe('E_CBOR_LIMIT');
  });

  it('names the offset of the failing item', () => {
    const e = cborError(() => decodeHex('8301180003'));
    expect([e.code, e.offset]).toEqual(['E_CBOR_NONCANONICAL', 2]);
    expect(e.message).toContain('offset 2');
  });

  it('refuses bad arguments as programmer errors, not CborErrors', () => {
    expect(() => decodeCbor([0] as unknown as Uint8Array, NONE)).toThrow(TypeError);
    expect(() => decodeCbor(new Uint8Array([0]), { tags: [-1] })).toThrow(RangeError);
    expect(() => decodeCbor(new Uint8Array([0]), { tags: [], maxDepth: 10_000 })).toThrow(RangeError);
    expect(() => new CborTag(1.5, null)).toThrow(RangeError);
  });
});

describe('what cbor-x accepts and decodeCbor does not', () => {
  const cborX = new CborXDecoder({ useRecords: false, mapsAsObjects: false });

  it('a duplicate key: cbor-x keeps the last value, we refuse', () => {
    const dup = fromHex('a201000101');
    expect(cborX.decode(Uint8Array.from(dup))).toStrictEqual(new Map([[1, 1]]));
    expect(cborError(() => decodeCbor(dup, NONE)).code).toBe('E_CBOR_DUPLICATE_KEY');
  });

  it('a non-shortest integer: cbor-x reads 0, we refuse', () => {
    const long = fromHex('1b0000000000000000');
    expect(cborX.decode(Uint8Array.from(long))).toBe(0n);
    expect(cborError(() => decodeCbor(long, NONE)).code).toBe('E_CBOR_NONCANONICAL');
    expect(cborError(() => decodeCbor(fromHex('1800'), NONE)).code).toBe('E_CBOR_NONCANONICAL');
  });

  it('invalid UTF-8: cbor-x substitutes U+FFFD, we refuse', () => {
    expect(cborX.decode(fromHex('62c328'))).toBe('\ufffd(');
    expect(cborError(() => decodeHex('62c328')).code).toBe('E_CBOR_FORMAT');
  });

  it('tag 27: cbor-x calls a global constructor with input data, we refuse unless allowed', () => {
    expect(cborX.decode(fromHex('d81b82654572726f726162'))).toBeInstanceOf(Error);
    expect(cborError(() => decodeHex('d81b82654572726f726162')).code).toBe('E_CBOR_TAG');
    expect(decodeHex('d81b82654572726f726162', [27])).toStrictEqual(new CborTag(27, ['Error', 'b']));
  });

  it('a key named __proto__ is an ordinary Map entry', () => {
    const v = decodeHex('a1695f5f70726f746f5f5fa168706f6c6c75746564f5');
    expect(v).toStrictEqual(new Map([['__proto__', new Map([['polluted', true]])]]));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('does not alias or mutate the input', () => {
    const input = fromHex('4401020304');
    const out = decodeCbor(input, NONE) as Uint8Array;
    expect(out.buffer).not.toBe(input.buffer);
    out[0] = 9;
    expect(input[1]).toBe(1);
    expect(Object.keys(input)).toEqual(['0', '1', '2', '3', '4']);
  });

  it('keeps a leading byte order mark in text (stripping it would change the value)', () => {
    expect(decodeHex('63efbbbf')).toBe('\ufeff');
  });
});

describe('encodeCbor refusals', () => {
  const cases: readonly (readonly [string, unknown, CborErrorCode])[] = [
    ['a float', 0.5, 'E_CBOR_UNSUPPORTED'],
    ['NaN', Number.NaN, 'E_CBOR_UNSUPPORTED'],
    ['an unsafe integer as a number', 2 ** 53, 'E_CBOR_UNSUPPORTED'],
    ['undefined', undefined, 'E_CBOR_UNSUPPORTED'],
    ['a plain object', { a: 1 }, 'E_CBOR_UNSUPPORTED'],
    ['a symbol', Symbol('s'), 'E_CBOR_UNSUPPORTED'],
    ['an Int16Array', new Int16Array(1), 'E_CBOR_UNSUPPORTED'],
    ['a hole in an array', new Array(2), 'E_CBOR_UNSUPPORTED'],
    ['undefined in an array', [1, undefined], 'E_CBOR_UNSUPPORTED'],
    ['2^64', 2n ** 64n, 'E_CBOR_UNSUPPORTED'],
    ['−2^64 − 1', -(2n ** 64n) - 1n, 'E_CBOR_UNSUPPORTED'],
    ['an unpaired surrogate', 'a\ud800', 'E_CBOR_UNSUPPORTED'],
    ['a byte-string map key', new Map([[new Uint8Array(1), 0]]), 'E_CBOR_UNSUPPORTED'],
    ['a float map key', new Map([[1.5, 0]]), 'E_CBOR_UNSUPPORTED'],
    [
      'keys 1 and 1n',
      new Map<unknown, number>([
        [1, 0],
        [1n, 1],
      ]),
      'E_CBOR_DUPLICATE_KEY',
    ],
    ['nesting deeper than the limit', [[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]], 'E_CBOR_LIMIT'],
  ];
  it.each(cases)('%s', (_name, value, code) => {
    expect(cborError(() => encodeCbor(value as CborValue)).code).toBe(code);
  });

  it('stops at a cycle', () => {
    const a: unknown[] = [];
    a.push(a);
    expect(cborError(() => encodeCbor(a as CborValue)).code).toBe('E_CBOR_LIMIT');
  });

  it('encodes a Buffer as a byte string', () => {
    expect(toHex(encodeCbor(Buffer.from([1, 2])))).toBe('420102');
  });
});

// ── Properties ───────────────────────────────────────────────────────────────────────────────────────

/** Tags cbor-x reads as plain tags (it interprets 0–6, 14, 15, 27–29, 51, 64–87, 105, 258, 259, 0xdff9+). */
const PLAIN_TAGS = [16, 17, 18, 32, 61, 96, 97, 98, 1000, 65_535, 65_536, 2 ** 31];
const ALL_TAGS = [...PLAIN_TAGS, 0, 1, 2, 27, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER];

const integer = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n - 1n }),
  fc.constantFrom(0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1),
);
const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const key: fc.Arbitrary<CborKey> = fc.oneof(integer, text);

function values(tags: readonly number[]): fc.Arbitrary<CborValue> {
  const { value } = fc.letrec<{
    value: CborValue;
    array: CborValue[];
    map: Map<CborKey, CborValue>;
    tag: CborTag;
  }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom<CborValue>(null, true, false),
      integer,
      text,
      fc.uint8Array({ maxLength: 40 }),
      tie('array'),
      tie('map'),
      tie('tag'),
    ),
    array: fc.array(tie('value'), { maxLength: 5 }),
    map: fc
      .uniqueArray(fc.tuple(key, tie('value')), { selector: ([k]) => normalize(k), maxLength: 5 })
      .map((entries) => new Map(entries)),
    tag: fc.tuple(fc.constantFrom(...tags), tie('value')).map(([t, v]) => new CborTag(t, v)),
  }));
  return value;
}

/** What decodeCbor gives back for `v`: integers as numbers when safe. */
function normalize(v: unknown): unknown {
  if (typeof v === 'bigint')
    return v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (Array.isArray(v)) return v.map(normalize);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [normalize(k), normalize(x)]));
  if (v instanceof CborTag) return new CborTag(v.tag, normalize(v.value) as CborValue);
  return v;
}

/** cbor-x's reading in our types: Buffer → Uint8Array, its Tag → CborTag, safe bigints → numbers. */
function fromCborX(v: unknown): unknown {
  if (v instanceof Uint8Array) return Uint8Array.from(v);
  if (Array.isArray(v)) return v.map(fromCborX);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [fromCborX(k), fromCborX(x)]));
  if (v instanceof CborXTag) return new CborTag(v.tag, fromCborX(v.value) as CborValue);
  return normalize(v);
}

/** Decodes `bytes`; a value must re-encode to them, and anything else must be a CborError. */
function valueOrCborError(bytes: Uint8Array): void {
  let v: CborValue;
  try {
    v = decodeCbor(bytes, { tags: ALL_TAGS, maxDepth: 8, maxItems: 64 });
  } catch (e) {
    if (e instanceof CborError) return;
    throw e;
  }
  expect(encodeCbor(v, { maxDepth: 8 })).toStrictEqual(bytes);
}

describe('text: the ASCII fast path (≤ 64 code units) gives what TextEncoder and TextDecoder give', () => {
  const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  /** The text item of `utf8` as RFC 8949 writes it: head (major 3, shortest form), then the bytes. */
  const textItem = (utf8: Uint8Array): Uint8Array => {
    const n = utf8.length;
    const head = n < 24 ? [0x60 | n] : n < 0x100 ? [0x78, n] : [0x79, n >> 8, n & 0xff];
    return Uint8Array.from([...head, ...utf8]);
  };

  it('encodes any text to its UTF-8 item and reads it back, at and around the boundaries', () => {
    const boundary = [
      '',
      '\0',
      '\x7f',
      'a'.repeat(63),
      'a'.repeat(64),
      'a'.repeat(65),
      `${'a'.repeat(63)}é`,
      'é',
    ];
    for (const s of boundary) {
      const item = textItem(new TextEncoder().encode(s));
      expect(encodeCbor(s), JSON.stringify(s)).toStrictEqual(item);
      expect(decodeCbor(item, NONE)).toBe(s);
    }
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'Z', '\x7f', '\x80', 'é', '€', '😀'), maxLength: 80 }),
        (s) => {
          const item = textItem(new TextEncoder().encode(s));
          expect(encodeCbor(s)).toStrictEqual(item);
          expect(decodeCbor(item, NONE)).toBe(s);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('reads any bytes as text exactly when a fatal TextDecoder does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        let want: string | undefined;
        try {
          want = UTF8.decode(bytes);
        } catch {
          want = undefined;
        }
        if (want === undefined)
          expect(cborError(() => decodeCbor(textItem(bytes), NONE)).code).toBe('E_CBOR_FORMAT');
        else expect(decodeCbor(textItem(bytes), NONE)).toBe(want);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('the re-encode check (one shared buffer for items up to 64 KiB)', () => {
  it('is unaffected by a large item before, and still refuses what does not re-encode', () => {
    const large = encodeCbor(new Map([['x', new Uint8Array(100_000)]]));
    expect(decodeCbor(large, NONE)).toStrictEqual(new Map([['x', new Uint8Array(100_000)]]));
    expect(decodeHex('a2616100616201')).toStrictEqual(
      new Map([
        ['a', 0],
        ['b', 1],
      ]),
    );
    expect(codeOf('a2616201616100')).toBe('E_CBOR_NONCANONICAL');
    expect(decodeCbor(large, NONE)).toStrictEqual(new Map([['x', new Uint8Array(100_000)]]));
  });
});

describe('properties', () => {
  it('round trip: decode(encode(v)) is v (integers normalized) and re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(values(ALL_TAGS), (v) => {
        const bytes = encodeCbor(v);
        const back = decodeCbor(bytes, { tags: ALL_TAGS });
        expect(back).toStrictEqual(normalize(v));
        expect(encodeCbor(back)).toStrictEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('cbor-x, an independent decoder, reads our encodings as the same values', () => {
    const cborX = new CborXDecoder({ useRecords: false, mapsAsObjects: false });
    fc.assert(
      fc.property(values(PLAIN_TAGS), (v) => {
        // A fresh copy: cbor-x caches a `dataView` property on the array it is given.
        expect(fromCborX(cborX.decode(Uint8Array.from(encodeCbor(v))))).toStrictEqual(normalize(v));
      }),
      { numRuns: 500 },
    );
  });

  it('arbitrary bytes: a value that re-encodes to them, or a CborError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => valueOrCborError(b)),
      { numRuns: 5000 },
    );
  });

  it('mutated encodings (flips, cuts, insertions): a value that re-encodes to them, or a CborError', () => {
    const edit = fc.tuple(
      fc.constantFrom('flip', 'cut', 'insert', 'set'),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
    );
    fc.assert(
      fc.property(values(ALL_TAGS), fc.array(edit, { minLength: 1, maxLength: 3 }), (v, edits) => {
        let b = Array.from(encodeCbor(v));
        if (b.length > 256) return;
        for (const [op, at, byte] of edits) {
          const i = at % (b.length + 1);
          if (op === 'flip' && i < b.length) b[i] = (b[i] ?? 0) ^ (1 << (byte % 8));
          else if (op === 'cut') b = b.slice(0, i);
          else if (op === 'insert') b.splice(i, 0, byte);
          else if (i < b.length) b[i] = byte;
        }
        valueOrCborError(Uint8Array.from(b));
      }),
      { numRuns: 3000 },
    );
  });

  it('a long flat array is read in linear time', () => {
    const n = 60_000;
    const bytes = encodeCbor(Array.from({ length: n }, (_, i) => i));
    const t0 = performance.now();
    expect(decodeCbor(bytes, { tags: [], maxItems: n + 1 })).toHaveLength(n);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe('cborItemEnd: the item-boundary scan', () => {
  const LIMITS: CborScanLimits = { tags: ALL_TAGS, maxDepth: 8, maxBytes: 512 };

  /** The scan's end of the item at `offset`, or its CborError code; anything else thrown fails the test. */
  function scan(bytes: Uint8Array, offset: number, limits = LIMITS): number | CborErrorCode {
    try {
      return cborItemEnd(bytes, offset, limits);
    } catch (e) {
      if (e instanceof CborError) return e.code;
      throw e;
    }
  }

  /** The end of the item decodeCborSequence reads at `offset` (deterministic or not), or undefined. */
  function decodedEnd(bytes: Uint8Array, offset: number, deterministic: boolean): number | undefined {
    try {
      const it = decodeCborSequence(bytes, { ...LIMITS, deterministic }, offset).next();
      return it.done ? undefined : it.value.offset + it.value.bytes.length;
    } catch (e) {
      if (e instanceof CborError) return undefined;
      throw e;
    }
  }

  it('valid items, with bytes before and after: the end of the item', () => {
    fc.assert(
      fc.property(
        values(ALL_TAGS),
        fc.uint8Array({ maxLength: 8 }),
        fc.uint8Array({ maxLength: 8 }),
        (v, before, after) => {
          const item = encodeCbor(v);
          const bytes = Uint8Array.from([...before, ...item, ...after]);
          expect(cborItemEnd(bytes, before.length, { tags: ALL_TAGS })).toBe(before.length + item.length);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('mutated and random input: a CborError or, wherever the decoder reads an item, its end', () => {
    const edit = fc.tuple(
      fc.constantFrom('flip', 'cut', 'insert', 'set'),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
    );
    const check = (bytes: Uint8Array) => {
      const end = scan(bytes, 0);
      for (const deterministic of [true, false]) {
        const want = decodedEnd(bytes, 0, deterministic);
        if (want !== undefined) expect(end).toBe(want);
      }
    };
    fc.assert(
      fc.property(values(ALL_TAGS), fc.array(edit, { minLength: 1, maxLength: 3 }), (v, edits) => {
        let b = Array.from(encodeCbor(v));
        for (const [op, at, byte] of edits) {
          const i = at % (b.length + 1);
          if (op === 'flip' && i < b.length) b[i] = (b[i] ?? 0) ^ (1 << (byte % 8));
          else if (op === 'cut') b = b.slice(0, i);
          else if (op === 'insert') b.splice(i, 0, byte);
          else if (i < b.length) b[i] = byte;
        }
        check(Uint8Array.from(b));
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => check(b)),
      { numRuns: 5000 },
    );
  });

  it("refusals: the decoder's limits and malformations, at the item's offset in the input", () => {
    const at = (hex: string, limits = LIMITS) => scan(fromHex(hex), 0, limits);
    expect(at('')).toBe('E_CBOR_FORMAT');
    expect(at('5b00000000000000ff')).toBe('E_CBOR_FORMAT'); // a string longer than the input
    expect(at('9bffffffffffffffff')).toBe('E_CBOR_FORMAT'); // 2^64 − 1 elements claimed
    expect(at('bbffffffffffffffff')).toBe('E_CBOR_FORMAT');
    expect(at('1c')).toBe('E_CBOR_FORMAT'); // reserved additional information
    expect(at('ff')).toBe('E_CBOR_FORMAT'); // a stray break
    expect(at('9f01ff')).toBe('E_CBOR_NONCANONICAL'); // an indefinite length
    expect(at('c101', { ...LIMITS, tags: [] })).toBe('E_CBOR_TAG');
    expect(at('81818100', { ...LIMITS, maxDepth: 2 })).toBe('E_CBOR_LIMIT');
    expect(at('818100', { ...LIMITS, maxDepth: 2 })).toBe(3);
    // Larger than maxBytes with more input after: over the limit; cut by the input's end: truncated.
    const big = encodeCbor(new Uint8Array(600));
    expect(scan(Uint8Array.from([...big, 0]), 0)).toBe('E_CBOR_LIMIT');
    expect(scan(big.subarray(0, 100), 0)).toBe('E_CBOR_FORMAT');
    const e = (() => {
      try {
        cborItemEnd(fromHex('0001ff'), 2, LIMITS);
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(CborError);
    expect((e as CborError).offset).toBe(2);
  });

  it('property: cborItemBounds equals cborItemEnd item after item, and refuses where it does', () => {
    const edit = fc.tuple(
      fc.constantFrom('flip', 'cut', 'insert'),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
    );
    const limits = { tags: ALL_TAGS, maxDepth: 3, maxBytes: 64 };
    fc.assert(
      fc.property(
        fc.array(values(ALL_TAGS), { maxLength: 12 }),
        fc.array(edit, { maxLength: 2 }),
        fc.integer({ min: 1, max: 5 }),
        (vs, edits, chunk) => {
          const b = vs.flatMap((v) => Array.from(encodeCbor(v)));
          for (const [op, at, byte] of edits) {
            const i = at % (b.length + 1);
            if (op === 'flip' && i < b.length) b[i] = (b[i] ?? 0) ^ (1 << (byte % 8));
            else if (op === 'cut') b.splice(i, byte % 3);
            else b.splice(i, 0, byte);
          }
          const bytes = Uint8Array.from(b);
          // The oracle: cborItemEnd from item to item, to the end or to the first refusal.
          const want: number[] = [];
          let refusal: string | undefined;
          for (let at = 0; at < bytes.length; ) {
            const end = scan(bytes, at, limits);
            if (typeof end === 'string') {
              refusal = end;
              break;
            }
            want.push(end);
            at = end;
          }
          // The same in calls of `chunk` items: each call's bounds go on from where the last ended.
          const got: number[] = [];
          const bounds = new Float64Array(chunk + 1);
          let offset = 0;
          let error: string | undefined;
          for (;;) {
            let n: number;
            try {
              n = cborItemBounds(bytes, offset, limits, bounds, chunk);
            } catch (e) {
              if (!(e instanceof CborError)) throw e;
              expect(e.offset).toBeGreaterThanOrEqual(offset);
              error = e.code;
              break;
            }
            expect(bounds[0]).toBe(offset);
            if (n === 0) break;
            for (let k = 1; k <= n; k++) got.push(bounds[k] as number);
            offset = bounds[n] as number;
          }
          expect(got).toEqual(want);
          expect(error).toBe(refusal);
        },
      ),
      { numRuns: 2000 },
    );
    expect(() => cborItemBounds(new Uint8Array(1), 0, limits, new Float64Array(2), 2)).toThrow(RangeError);
    expect(() => cborItemBounds(new Uint8Array(1), 2, limits, new Float64Array(2), 1)).toThrow(RangeError);
  });

  it('linear: a long flat array, and hostile heads, at any depth limit', () => {
    const n = 500_000;
    const bytes = encodeCbor(Array.from({ length: n }, (_, i) => i));
    const t0 = performance.now();
    expect(cborItemEnd(bytes, 0, { tags: [], maxBytes: bytes.length })).toBe(bytes.length);
    // 1 MiB of heads claiming more than is left: refused at the first; of one-element arrays: at the limit.
    const claims = new Uint8Array(1 << 20).fill(0x9a);
    expect(scan(claims, 0, { tags: [], maxDepth: 256, maxBytes: claims.length })).toBe('E_CBOR_FORMAT');
    const deep = new Uint8Array(1 << 20).fill(0x81);
    expect(scan(deep, 0, { tags: [], maxDepth: 256, maxBytes: deep.length })).toBe('E_CBOR_LIMIT');
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
