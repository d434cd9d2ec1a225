// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/encoding/byte-reader
 *
 * The one bounds-checked cursor hostile bytes are read with: the measured-state parsers (the TCG PC
 * Client event log, its event data and the IMA binary list, in agent/measure/) use it today. It reads
 * unsigned integers of 1, 2, 4 and 8 bytes in the byte order chosen per reader (TCG structures are
 * little-endian; an IMA list is the host's order unless `ima_canonical_fmt` is set) and byte ranges as
 * views of the input, from a window [start, end) of a `Uint8Array`.
 *
 * A read past `end` does not throw here: it calls the caller's `onOverrun` with the standard message
 * "<what> ends inside <field>: need N bytes, have M", the offset of the read, and the reader's
 * `recordOffset`, so each parser throws its own typed error (EventLogError, ImaLogError, …) with its code.
 * Misuse by our own code (a window outside the bytes, a negative or fractional length) is a RangeError.
 *
 * Not checked here: anything about the values read (sizes against limits, enums, reserved bits); the
 * parsers check those, and report them through their own errors.
 */

/** Called for a read past the window's end; must throw (the parser's typed error). */
export type OverrunHandler = (message: string, offset: number, recordOffset: number) => never;

export interface ByteReaderOptions {
  /** Name of the structure the window holds, for the overrun message ("event log", "list", …). */
  readonly what: string;
  readonly onOverrun: OverrunHandler;
  /** First offset of the window in `bytes`; default 0. */
  readonly start?: number;
  /** Offset just past the window in `bytes`; default `bytes.length`. */
  readonly end?: number;
  /** Byte order of the integers; default little-endian. */
  readonly byteOrder?: 'little' | 'big';
}

/** A bounds-checked cursor over [start, end) of `bytes`; offsets are indices into `bytes`. */
export class ByteReader {
  /** Offset of the next read. Callers may move it within [start, end], e.g. past bytes checked in place. */
  pos: number;
  /** Offset of the record (event, entry) being read: set by the caller, passed to `onOverrun`. */
  recordOffset: number;
  readonly start: number;
  readonly end: number;
  readonly littleEndian: boolean;
  private readonly view: DataView;
  private readonly what: string;
  private readonly onOverrun: OverrunHandler;

  constructor(
    readonly bytes: Uint8Array,
    options: ByteReaderOptions,
  ) {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
    const start = options.start ?? 0;
    const end = options.end ?? bytes.length;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end) {
      throw new RangeError(`window [${start}, ${end}) is not a range of offsets`);
    }
    if (end > bytes.length) throw new RangeError(`window end ${end} is past the ${bytes.length} bytes`);
    this.pos = start;
    this.recordOffset = start;
    this.start = start;
    this.end = end;
    this.littleEndian = (options.byteOrder ?? 'little') === 'little';
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.what = options.what;
    this.onOverrun = options.onOverrun;
  }

  /** Bytes left in the window. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** Calls `onOverrun` unless `n` more bytes are in the window; `field` names what they would hold. */
  need(n: number, field: string): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${field}: ${n} is not a byte count`);
    if (n > this.end - this.pos) this.overrun(n, field);
  }

  // The fixed-width reads check bounds inline and read through the one DataView with the reader's byte
  // order: measured no slower than the IMA parser's former hand-composed u32, in either byte order.
  u8(field: string): number {
    const p = this.pos;
    if (this.end - p < 1) this.overrun(1, field);
    this.pos = p + 1;
    return this.view.getUint8(p);
  }

  u16(field: string): number {
    const p = this.pos;
    if (this.end - p < 2) this.overrun(2, field);
    this.pos = p + 2;
    return this.view.getUint16(p, this.littleEndian);
  }

  u32(field: string): number {
    const p = this.pos;
    if (this.end - p < 4) this.overrun(4, field);
    this.pos = p + 4;
    return this.view.getUint32(p, this.littleEndian);
  }

  u64(field: string): bigint {
    const p = this.pos;
    if (this.end - p < 8) this.overrun(8, field);
    this.pos = p + 8;
    return this.view.getBigUint64(p, this.littleEndian);
  }

  /** The next `n` bytes as a view of `bytes` (no copy: it shares their buffer). */
  take(n: number, field: string): Uint8Array {
    this.need(n, field);
    const p = this.pos;
    this.pos = p + n;
    return this.bytes.subarray(p, p + n);
  }

  private overrun(n: number, field: string): never {
    const have = this.end - this.pos;
    return this.onOverrun(
      `${this.what} ends inside ${field}: need ${n} bytes, have ${have}`,
      this.pos,
      this.recordOffset,
    );
  }
}
