// SPDX-License-Identifier: Apache-2.0
/**
 * Byte Reader and Writer for TPM wire types: big-endian integers and byte runs (Part 1 §18, Part 2 §5).
 * The Reader is the only place response bytes are consumed, so every read is bounds-checked here and
 * fails with a TpmParseError that names the offset.
 */
import { TpmParseError } from './errors.js';

export class Reader {
  private pos: number;
  private readonly view: DataView;

  /** Reads `bytes[start, end)`; offsets in errors are relative to `bytes`. */
  constructor(
    private readonly data: Uint8Array,
    start = 0,
    private readonly end = data.length,
  ) {
    this.pos = start;
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private take(byteLen: number, what: string): number {
    if (byteLen > this.end - this.pos) {
      throw new TpmParseError(
        `truncated: ${what} needs ${byteLen} bytes, ${this.end - this.pos} left`,
        this.pos,
      );
    }
    const at = this.pos;
    this.pos += byteLen;
    return at;
  }

  u8(what = 'UINT8'): number {
    return this.view.getUint8(this.take(1, what));
  }

  u16(what = 'UINT16'): number {
    return this.view.getUint16(this.take(2, what));
  }

  u32(what = 'UINT32'): number {
    return this.view.getUint32(this.take(4, what));
  }

  u64(what = 'UINT64'): bigint {
    return this.view.getBigUint64(this.take(8, what));
  }

  /** A copy of the next `byteLen` bytes, so results never alias a transport buffer. */
  bytes(byteLen: number, what = 'bytes'): Uint8Array {
    const at = this.take(byteLen, what);
    return this.data.slice(at, at + byteLen);
  }

  /** A Reader over the next `byteLen` bytes (a TPM2B's contents); this Reader moves past them. */
  sub(byteLen: number, what: string): Reader {
    const at = this.take(byteLen, what);
    return new Reader(this.data, at, at + byteLen);
  }

  /** Fails unless every byte was consumed: trailing bytes are a framing error, never ignored. */
  done(what: string): void {
    if (this.pos !== this.end) {
      throw new TpmParseError(`${this.end - this.pos} unexpected trailing bytes after ${what}`, this.pos);
    }
  }
}

export class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private len = 0;

  get length(): number {
    return this.len;
  }

  private room(byteLen: number): number {
    if (this.len + byteLen > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.len + byteLen));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.len;
    this.len += byteLen;
    return at;
  }

  u8(v: number): void {
    const at = this.room(1);
    this.view.setUint8(at, v);
  }

  u16(v: number): void {
    const at = this.room(2);
    this.view.setUint16(at, v);
  }

  u32(v: number): void {
    const at = this.room(4);
    this.view.setUint32(at, v);
  }

  u64(v: bigint): void {
    const at = this.room(8);
    this.view.setBigUint64(at, v);
  }

  bytes(b: Uint8Array): void {
    // room() may replace this.buf, so it must run before this.buf is read.
    const at = this.room(b.length);
    this.buf.set(b, at);
  }

  /** Overwrites a u16 written earlier (a TPM2B size known only after its contents). */
  patchU16(at: number, v: number): void {
    this.view.setUint16(at, v);
  }

  /** Overwrites a u32 written earlier (a command's size or parameterSize). */
  patchU32(at: number, v: number): void {
    this.view.setUint32(at, v);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
