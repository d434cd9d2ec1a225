// SPDX-License-Identifier: Apache-2.0
// ByteReader: hand-computed values in both byte orders, every window edge for every width, views that share
// the input's buffer, inputs at a non-zero byteOffset, caller misuse, and a fast-check property comparing
// any read sequence on any bytes with a DataView oracle.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteReader, type ByteReaderOptions } from '../../agent/encoding/byte-reader.js';

/** What the failure callback was called with; thrown by it so the read stops as a parser's would. */
class Overrun {
  constructor(
    readonly message: string,
    readonly offset: number,
    readonly recordOffset: number,
  ) {}
}

const onOverrun = (message: string, offset: number, recordOffset: number): never => {
  throw new Overrun(message, offset, recordOffset);
};

function reader(bytes: Uint8Array, options: Partial<ByteReaderOptions> = {}): ByteReader {
  return new ByteReader(bytes, { what: 'test data', onOverrun, ...options });
}

/** Calls `fn`; returns the Overrun it throws, failing the test on success or any other exception. */
function overrun(fn: () => unknown): Overrun {
  try {
    fn();
  } catch (e) {
    if (e instanceof Overrun) return e;
    throw e;
  }
  throw new Error('expected the failure callback to be called');
}

/** `bytes` copied into a larger buffer at byte `offset`, with 0xEE around it. */
function atOffset(bytes: Uint8Array, offset: number): Uint8Array {
  const big = new Uint8Array(offset + bytes.length + 9).fill(0xee);
  big.set(bytes, offset);
  return big.subarray(offset, offset + bytes.length);
}

const SEQ = Uint8Array.from([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xff]);
const WIDTHS = [
  ['u8', 1],
  ['u16', 2],
  ['u32', 4],
  ['u64', 8],
] as const;

describe('values', () => {
  // Expected values written out from the definition of each byte order, not from a DataView.
  it('reads little-endian integers least significant byte first', () => {
    const r = reader(SEQ);
    expect(r.littleEndian).toBe(true);
    expect(r.u8('a')).toBe(0x01);
    expect(r.u16('b')).toBe(0x0302);
    expect(r.u32('c')).toBe(0x07060504);
    expect(r.pos).toBe(7);
    expect(reader(SEQ).u64('d')).toBe(0x0807060504030201n);
  });

  it('reads big-endian integers most significant byte first', () => {
    const r = reader(SEQ, { byteOrder: 'big' });
    expect(r.littleEndian).toBe(false);
    expect(r.u8('a')).toBe(0x01);
    expect(r.u16('b')).toBe(0x0203);
    expect(r.u32('c')).toBe(0x04050607);
    expect(reader(SEQ, { byteOrder: 'big' }).u64('d')).toBe(0x0102030405060708n);
  });

  it('reads the top values unsigned, u64 beyond 2^53 exactly', () => {
    const ones = new Uint8Array(8).fill(0xff);
    for (const byteOrder of ['little', 'big'] as const) {
      expect(reader(ones, { byteOrder }).u8('x')).toBe(0xff);
      expect(reader(ones, { byteOrder }).u16('x')).toBe(0xffff);
      expect(reader(ones, { byteOrder }).u32('x')).toBe(0xffff_ffff);
      expect(reader(ones, { byteOrder }).u64('x')).toBe(2n ** 64n - 1n);
    }
    const high = Uint8Array.from([0, 0, 0, 0, 0, 0, 0x20, 0x01]);
    expect(reader(high).u64('x')).toBe(2n ** 56n + 2n ** 53n);
    expect(reader(high.slice().reverse(), { byteOrder: 'big' }).u64('x')).toBe(2n ** 56n + 2n ** 53n);
  });

  it('reads the same values from an input at a non-zero byteOffset, and nothing around it', () => {
    for (const offset of [1, 3, 5, 7]) {
      const bytes = atOffset(SEQ, offset);
      expect(bytes.byteOffset).toBe(offset);
      const r = reader(bytes);
      expect(r.u8('a')).toBe(0x01);
      expect(r.u16('b')).toBe(0x0302);
      expect(r.u32('c')).toBe(0x07060504);
      expect(r.u8('d')).toBe(0x08);
      expect(r.u8('e')).toBe(0xff);
      // The next byte of the buffer (0xEE) is outside the array: an overrun, not a value.
      expect(overrun(() => r.u8('f')).offset).toBe(9);
      expect(reader(bytes, { byteOrder: 'big' }).u64('g')).toBe(0x0102030405060708n);
    }
  });
});

describe('bounds', () => {
  it('reads each width that ends exactly at the window end, and overruns one byte later', () => {
    const bytes = Uint8Array.from({ length: 24 }, (_, i) => i + 1);
    for (const [method, width] of WIDTHS) {
      for (const [start, end] of [
        [0, 24],
        [3, 17],
        [5, 5 + width],
        [7, 7 + width - 1],
      ] as const) {
        for (let at = start; at <= end; at++) {
          const r = reader(bytes, { start, end });
          r.pos = at;
          r.recordOffset = start + 1;
          if (end - at >= width) {
            r[method]('field');
            expect(r.pos).toBe(at + width);
            expect(r.remaining).toBe(end - at - width);
          } else {
            const e = overrun(() => r[method]('field'));
            expect(e.message).toBe(`test data ends inside field: need ${width} bytes, have ${end - at}`);
            expect(e.offset).toBe(at);
            expect(e.recordOffset).toBe(start + 1);
            expect(r.pos).toBe(at);
          }
        }
      }
    }
  });

  it('take and need accept every count up to the remaining bytes, and overrun above it', () => {
    const bytes = Uint8Array.from({ length: 12 }, (_, i) => i);
    for (let n = 0; n <= 9; n++) {
      const r = reader(bytes, { start: 2, end: 10 });
      if (n <= 8) {
        r.need(n, 'x');
        expect(r.pos).toBe(2);
        expect([...r.take(n, 'x')]).toEqual([...bytes.subarray(2, 2 + n)]);
        expect(r.pos).toBe(2 + n);
      } else {
        const e = overrun(() => r.take(n, 'blob'));
        expect(e.message).toBe('test data ends inside blob: need 9 bytes, have 8');
        expect(e.offset).toBe(2);
        expect(overrun(() => r.need(n, 'blob')).offset).toBe(2);
      }
    }
  });

  it('an empty window reads nothing but zero bytes', () => {
    const r = reader(SEQ, { start: 4, end: 4 });
    expect(r.remaining).toBe(0);
    expect(r.take(0, 'x').length).toBe(0);
    for (const [method] of WIDTHS) expect(overrun(() => r[method]('x')).offset).toBe(4);
  });

  it('starts recordOffset at the window start', () => {
    expect(reader(SEQ, { start: 3 }).recordOffset).toBe(3);
    expect(overrun(() => reader(SEQ, { start: 6 }).u32('x')).recordOffset).toBe(6);
  });
});

describe('views', () => {
  it('take returns a view sharing the input buffer (no copy)', () => {
    const bytes = atOffset(SEQ, 5);
    const r = reader(bytes);
    r.u16('skip');
    const view = r.take(3, 'view');
    expect(view.buffer).toBe(bytes.buffer);
    expect(view.byteOffset).toBe(5 + 2);
    expect([...view]).toEqual([3, 4, 5]);
    bytes[3] = 0x99;
    expect(view[1]).toBe(0x99);
    view[2] = 0x42;
    expect(bytes[4]).toBe(0x42);
  });
});

describe('caller misuse', () => {
  it('rejects a window outside the bytes', () => {
    expect(() => reader(SEQ, { start: -1 })).toThrow(RangeError);
    expect(() => reader(SEQ, { start: 5, end: 4 })).toThrow(RangeError);
    expect(() => reader(SEQ, { end: SEQ.length + 1 })).toThrow(RangeError);
    expect(() => reader(SEQ, { start: 0.5 })).toThrow(RangeError);
    expect(() => reader(SEQ, { end: Number.NaN })).toThrow(RangeError);
    expect(() => reader(new Uint16Array(4) as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('rejects a count that is not a non-negative integer', () => {
    const r = reader(SEQ);
    for (const n of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => r.need(n, 'x')).toThrow(RangeError);
      expect(() => r.take(n, 'x')).toThrow(RangeError);
    }
    expect(r.pos).toBe(0);
  });
});

type Op = { readonly op: 'u8' | 'u16' | 'u32' | 'u64' | 'take' | 'need'; readonly n: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.constantFrom<Op>({ op: 'u8', n: 1 }, { op: 'u16', n: 2 }, { op: 'u32', n: 4 }, { op: 'u64', n: 8 }),
  fc.record({ op: fc.constantFrom('take' as const, 'need' as const), n: fc.nat({ max: 40 }) }),
);

describe('property: any read sequence on any bytes', () => {
  it('returns the DataView oracle values or calls the failure callback at the failing offset', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.nat({ max: 15 }),
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        fc.array(opArb, { maxLength: 24 }),
        (raw, byteOffset, s, e, little, ops) => {
          const bytes = atOffset(raw, byteOffset);
          const start = raw.length === 0 ? 0 : s % (raw.length + 1);
          const end = start + (e % (raw.length - start + 1));
          const r = reader(bytes, { start, end, byteOrder: little ? 'little' : 'big' });
          // The oracle reads a copy, so a wrong view or byteOffset in the reader cannot agree with it.
          const oracle = new DataView(raw.slice().buffer);
          let pos = start;
          for (const { op, n } of ops) {
            r.recordOffset = pos;
            if (n > end - pos) {
              const fail = overrun(() =>
                op === 'need' ? r.need(n, op) : op === 'take' ? r.take(n, op) : r[op](op),
              );
              expect(fail.offset).toBe(pos);
              expect(fail.recordOffset).toBe(pos);
              expect(fail.message).toBe(`test data ends inside ${op}: need ${n} bytes, have ${end - pos}`);
              expect(r.pos).toBe(pos);
              return;
            }
            switch (op) {
              case 'u8':
                expect(r.u8(op)).toBe(oracle.getUint8(pos));
                break;
              case 'u16':
                expect(r.u16(op)).toBe(oracle.getUint16(pos, little));
                break;
              case 'u32':
                expect(r.u32(op)).toBe(oracle.getUint32(pos, little));
                break;
              case 'u64':
                expect(r.u64(op)).toBe(oracle.getBigUint64(pos, little));
                break;
              case 'take': {
                const view = r.take(n, op);
                expect(view.buffer).toBe(bytes.buffer);
                expect([...view]).toEqual([...raw.subarray(pos, pos + n)]);
                break;
              }
              case 'need':
                r.need(n, op);
                break;
            }
            if (op !== 'need') pos += n;
            expect(r.pos).toBe(pos);
            expect(r.remaining).toBe(end - pos);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
