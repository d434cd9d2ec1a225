// SPDX-License-Identifier: Apache-2.0
// The shared byte helpers: hex against Node's codec (round trip, both cases), every refusal of the strict
// decoder, equality (whole and at an offset) and concatenation against simple oracles, and views at a
// non-zero byteOffset.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  concatBytes,
  equalBytes,
  equalBytesAt,
  fromHex,
  isHex,
  toHex,
  u8,
} from '../../agent/encoding/bytes.js';

describe('hex', () => {
  it('encodes lowercase, two digits per byte, and reads either case', () => {
    expect(toHex(new Uint8Array([0, 1, 0xab, 0xff]))).toBe('0001abff');
    expect(fromHex('0001ABff')).toEqual(new Uint8Array([0, 1, 0xab, 0xff]));
    expect(toHex(new Uint8Array(0))).toBe('');
    expect(fromHex('')).toEqual(new Uint8Array(0));
  });

  it('encodes only the view, not the whole buffer behind it', () => {
    const whole = new Uint8Array([1, 2, 3, 4, 5]);
    expect(toHex(whole.subarray(1, 3))).toBe('0203');
  });

  it('round-trips any bytes and agrees with Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const h = toHex(b);
        expect(h).toBe(Buffer.from(b).toString('hex'));
        expect(fromHex(h)).toEqual(b);
        expect(fromHex(h.toUpperCase())).toEqual(b);
        expect(isHex(h)).toBe(true);
      }),
    );
  });

  it.each([
    ['odd length', 'abc', /odd number of digits/],
    ['a non-hex character', 'a0g1', /offset 2/],
    ['a non-hex second digit', '0z', /offset 1/],
    ['a 0x prefix', '0x00', /offset 1/],
    ['whitespace', 'ab  cd', /offset 2/],
    ['a non-ASCII digit', '١٢', /offset 0/],
    ['a sign', '-1', /offset 0/],
  ])('refuses %s with a RangeError (Buffer would stop silently)', (_name, text, message) => {
    expect(() => fromHex(text)).toThrow(RangeError);
    expect(() => fromHex(text)).toThrow(message);
    expect(isHex(text)).toBe(false);
  });

  it('returns a plain Uint8Array that owns its memory', () => {
    const out = fromHex('00ff');
    expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype);
    expect(out.byteOffset).toBe(0);
    expect(out.buffer.byteLength).toBe(2);
  });

  it('refuses what is not bytes or text', () => {
    expect(() => toHex([1, 2] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => fromHex(12 as unknown as string)).toThrow(TypeError);
  });
});

describe('equalBytes', () => {
  it('compares lengths and contents, at any byteOffset', () => {
    const whole = new Uint8Array([9, 1, 2, 3]);
    expect(equalBytes(whole.subarray(1), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(equalBytes(whole.subarray(1, 3), new Uint8Array([1, 2, 3]))).toBe(false);
    expect(equalBytes(new Uint8Array([1, 2, 4]), new Uint8Array([1, 2, 3]))).toBe(false);
    expect(equalBytes(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });

  it('agrees with Buffer.equals', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), (a, b) => {
        expect(equalBytes(a, b)).toBe(Buffer.from(a).equals(b));
        expect(equalBytes(a, Uint8Array.from(a))).toBe(true);
      }),
    );
  });

  it('refuses arrays that are not bytes', () => {
    expect(() => equalBytes([1] as unknown as Uint8Array, new Uint8Array([1]))).toThrow(TypeError);
  });
});

describe('equalBytesAt', () => {
  it('finds `want` at the offset, and is false past the end or at a bad offset', () => {
    const b = new Uint8Array([1, 2, 3, 4]);
    expect(equalBytesAt(b, 1, new Uint8Array([2, 3]))).toBe(true);
    expect(equalBytesAt(b, 2, new Uint8Array([3, 4]))).toBe(true);
    expect(equalBytesAt(b, 3, new Uint8Array([4, 5]))).toBe(false);
    expect(equalBytesAt(b, 4, new Uint8Array(0))).toBe(true);
    expect(equalBytesAt(b, 5, new Uint8Array(0))).toBe(false);
    expect(equalBytesAt(b, -1, new Uint8Array([1]))).toBe(false);
    expect(equalBytesAt(b, 0.5, new Uint8Array([1]))).toBe(false);
  });

  it('agrees with equalBytes over a subarray', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 12 }),
        fc.uint8Array({ maxLength: 4 }),
        fc.nat(14),
        (b, w, at) => {
          const inRange = at + w.length <= b.length;
          expect(equalBytesAt(b, at, w)).toBe(inRange && equalBytes(b.subarray(at, at + w.length), w));
        },
      ),
    );
  });
});

describe('concatBytes', () => {
  it('joins the parts in order into a new array', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 6 }), (parts) => {
        const out = concatBytes(parts);
        expect(out).toEqual(new Uint8Array(Buffer.concat(parts)));
        expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype);
        if (parts[0] !== undefined) expect(out.buffer).not.toBe(parts[0].buffer);
      }),
    );
  });

  it('refuses a part that is not bytes', () => {
    expect(() => concatBytes([new Uint8Array(1), 'ab' as unknown as Uint8Array])).toThrow(TypeError);
  });
});

describe('u8', () => {
  it('views a Buffer as a plain Uint8Array over the same memory', () => {
    const b = Buffer.from([1, 2, 3]).subarray(1);
    const v = u8(b);
    expect(Object.getPrototypeOf(v)).toBe(Uint8Array.prototype);
    expect(v).toEqual(new Uint8Array([2, 3]));
    v[0] = 7;
    expect(b[0]).toBe(7);
  });
});
