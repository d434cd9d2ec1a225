// SPDX-License-Identifier: Apache-2.0
// decodeCborSequence (RFC 8742): items back to back, each read strictly with its own limits, views of
// the input returned with their offsets; every malformation of one item is reported at its offset.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex } from '../../agent/encoding/bytes.js';
import { CborError, type CborValue, decodeCborSequence, encodeCbor } from '../../agent/encoding/cbor.js';

const items = (bytes: Uint8Array, maxBytes?: number) => [
  ...decodeCborSequence(bytes, { tags: [], ...(maxBytes === undefined ? {} : { maxBytes }) }),
];

function refusal(bytes: Uint8Array, maxBytes?: number): string {
  try {
    items(bytes, maxBytes);
  } catch (e) {
    if (e instanceof CborError) return `${e.code}@${e.offset}`;
    throw e;
  }
  return 'accepted';
}

describe('decodeCborSequence', () => {
  it('yields each item with its bytes and offset; an empty input is an empty sequence', () => {
    const parts = [encodeCbor(new Map([['a', 1]])), encodeCbor(new Uint8Array(300)), encodeCbor('x')];
    const got = items(concatBytes(parts));
    expect(got.map((i) => i.offset)).toEqual([
      0,
      parts[0]?.length,
      (parts[0]?.length ?? 0) + (parts[1]?.length ?? 0),
    ]);
    expect(got.map((i) => i.bytes)).toEqual(parts);
    expect(got[2]?.value).toBe('x');
    expect(items(new Uint8Array(0))).toEqual([]);
  });

  it('round-trips any list of values, item by item', () => {
    const value: fc.Arbitrary<CborValue> = fc.oneof(
      fc.integer(),
      fc.string(),
      fc.uint8Array({ maxLength: 40 }),
      fc.array(fc.integer(), { maxLength: 5 }),
    );
    fc.assert(
      fc.property(fc.array(value, { maxLength: 20 }), (values) => {
        const got = items(concatBytes(values.map((v) => encodeCbor(v))));
        expect(got.map((i) => i.value)).toEqual(values);
      }),
    );
  });

  it('from an offset: the items after it, offsets (and errors) still those of the whole input', () => {
    const parts = [encodeCbor(new Uint8Array(300)), encodeCbor('x'), encodeCbor(7)];
    const all = concatBytes(parts);
    const start = parts[0]?.length ?? 0;
    const got = [...decodeCborSequence(all, { tags: [] }, start)];
    expect(got.map((i) => [i.value, i.offset])).toEqual([
      ['x', start],
      [7, start + (parts[1]?.length ?? 0)],
    ]);
    expect([...decodeCborSequence(all, { tags: [] }, all.length)]).toEqual([]);
    const bad = concatBytes([all, fromHex('1800')]);
    try {
      [...decodeCborSequence(bad, { tags: [] }, start)];
      expect.unreachable();
    } catch (e) {
      expect([(e as CborError).code, (e as CborError).offset]).toEqual(['E_CBOR_NONCANONICAL', all.length]);
    }
    for (const from of [-1, all.length + 1, 0.5])
      expect(() => [...decodeCborSequence(all, { tags: [] }, from)]).toThrow(RangeError);
  });

  it('a bad item is refused at its offset: truncated, non-canonical, over the per-item limit', () => {
    const ok = encodeCbor(1234);
    expect(refusal(concatBytes([ok, fromHex('5a0001000000')]))).toBe(`E_CBOR_FORMAT@${ok.length}`);
    expect(refusal(concatBytes([ok, ok, fromHex('1800')]))).toBe(`E_CBOR_NONCANONICAL@${2 * ok.length}`);
    expect(refusal(concatBytes([ok, fromHex('a2616101616101')]))).toBe(
      `E_CBOR_DUPLICATE_KEY@${ok.length + 4}`,
    );
    const big = encodeCbor(new Uint8Array(100));
    expect(refusal(concatBytes([ok, big, ok]), 64)).toBe(`E_CBOR_LIMIT@${ok.length}`);
    expect(refusal(concatBytes([ok, big]), 200)).toBe('accepted');
  });
});
