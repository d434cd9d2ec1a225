// SPDX-License-Identifier: Apache-2.0
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TpmParseError } from '../../agent/tpm/errors.js';
import { Reader, Writer } from '../../agent/tpm/marshal.js';

describe('Writer', () => {
  it('keeps every byte when writes cross its growth points (u8/u16/u32/u64 and byte runs of any size)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.integer({ min: 0, max: 255 }).map((v) => ({ k: 'u8' as const, v })),
            fc.integer({ min: 0, max: 0xffff }).map((v) => ({ k: 'u16' as const, v })),
            fc.integer({ min: 0, max: 0xffff_ffff }).map((v) => ({ k: 'u32' as const, v })),
            fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => ({ k: 'u64' as const, v })),
            fc.uint8Array({ maxLength: 700 }).map((v) => ({ k: 'bytes' as const, v })),
          ),
          { maxLength: 40 },
        ),
        (ops) => {
          const w = new Writer();
          const expected: number[] = [];
          const b = Buffer.alloc(8);
          for (const op of ops) {
            if (op.k === 'u8') {
              w.u8(op.v);
              expected.push(op.v);
            } else if (op.k === 'u16') {
              w.u16(op.v);
              b.writeUInt16BE(op.v);
              expected.push(...b.subarray(0, 2));
            } else if (op.k === 'u32') {
              w.u32(op.v);
              b.writeUInt32BE(op.v);
              expected.push(...b.subarray(0, 4));
            } else if (op.k === 'u64') {
              w.u64(op.v);
              b.writeBigUInt64BE(op.v);
              expected.push(...b);
            } else {
              w.bytes(op.v);
              expected.push(...op.v);
            }
          }
          expect([...w.finish()]).toEqual(expected);
        },
      ),
    );
  });
});

describe('Reader', () => {
  it('reads within a sub-range and reports offsets relative to the whole buffer', () => {
    const r = new Reader(new Uint8Array([9, 9, 0, 1, 0, 0, 0, 2]), 2);
    expect(r.u16()).toBe(1);
    expect(r.u32()).toBe(2);
    r.done('test');
    const short = new Reader(new Uint8Array([1, 2, 3]), 1);
    try {
      short.u32();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TpmParseError);
      expect((e as TpmParseError).offset).toBe(1);
    }
  });

  it('sub() bounds nested reads and done() rejects trailing bytes', () => {
    const r = new Reader(new Uint8Array([0, 0, 0, 5, 7]));
    const sub = r.sub(3, 'inner');
    expect(() => sub.u32()).toThrow(TpmParseError);
    expect(() => sub.done('inner')).toThrow(TpmParseError);
    expect(r.remaining).toBe(2);
  });
});
