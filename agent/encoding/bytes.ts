// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/encoding/bytes
 *
 * The byte helpers every layer shares (STYLE.md §4: bytes, hex and equality live in one place): equality,
 * concatenation, and a strict hex codec. Inputs are `Uint8Array` (a Node `Buffer` is one); outputs are
 * plain `Uint8Array`s that own their memory, so a result never aliases Node's shared Buffer pool and
 * compares equal to other `Uint8Array`s in tests.
 *
 * Browser-safe (the auditor page, docs/auditor.md, runs this module): hex and base64 use Node's native
 * Buffer codecs where a `Buffer` global exists and a portable loop with the same output elsewhere.
 */

/** Node's Buffer (native hex and base64), or undefined in a browser. */
const NodeBuffer: typeof Buffer | undefined = (globalThis as { Buffer?: typeof Buffer }).Buffer;

function checkBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
}

/**
 * `a` and `b` hold the same bytes. Not constant-time: for public data (digests, names, encodings). A
 * comparison of secrets (an HMAC a peer must not learn by timing) uses node:crypto's timingSafeEqual.
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  checkBytes(a, 'a');
  checkBytes(b, 'b');
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Bytewise lexicographic order (RFC 8949 §4.2.1's map-key order), a shorter prefix first. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * `bytes` holds `want` at offset `at` (false when that runs past its end): a parser's compare in place,
 * without a subarray per call (measured on the IMA list's per-entry template-name check).
 */
export function equalBytesAt(bytes: Uint8Array, at: number, want: Uint8Array): boolean {
  checkBytes(bytes, 'bytes');
  checkBytes(want, 'want');
  if (!Number.isSafeInteger(at) || at < 0 || at > bytes.length - want.length) return false;
  for (let i = 0; i < want.length; i++) if (bytes[at + i] !== want[i]) return false;
  return true;
}

/** The parts one after another, in a new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) {
    checkBytes(p, 'part');
    length += p.length;
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Lowercase hex, two digits per byte (RFC 4648 §8's alphabet, lowercase as TPM tools print digests). */
export function toHex(bytes: Uint8Array): string {
  checkBytes(bytes, 'bytes');
  if (NodeBuffer !== undefined)
    return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  let out = '';
  for (const b of bytes) out += HEX_DIGITS[b];
  return out;
}

const HEX_DIGITS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

// Value of each ASCII hex digit (either case), -1 for every other code unit below 128.
const HEX_VALUE = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[0x41 + i] = 10 + i;
    t[0x61 + i] = 10 + i;
  }
  return t;
})();

/**
 * Hex (RFC 4648 §8, either case, no prefix, no separators) to bytes. Strict where Buffer.from(text, 'hex')
 * is not (it stops silently at the first non-hex pair): an odd length or any other character is a
 * RangeError naming the offset. Callers that read hostile text catch it into their own typed error, or
 * check the text first.
 */
export function fromHex(text: string): Uint8Array {
  if (typeof text !== 'string') throw new TypeError('hex must be a string');
  if (text.length % 2 !== 0) throw new RangeError(`hex has an odd number of digits (${text.length})`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = HEX_VALUE[text.charCodeAt(2 * i)] ?? -1;
    const lo = HEX_VALUE[text.charCodeAt(2 * i + 1)] ?? -1;
    if (hi < 0 || lo < 0)
      throw new RangeError(`hex has a non-hex character at offset ${hi < 0 ? 2 * i : 2 * i + 1}`);
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** `text` is hex as fromHex reads it (even length, hex digits only). */
export function isHex(text: string): boolean {
  return typeof text === 'string' && /^(?:[0-9a-fA-F]{2})*$/.test(text);
}

/** A Node `Buffer` (or any byte view) as a plain `Uint8Array` view of the same memory, without a copy. */
export function u8(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
// Value of each base64 digit of either alphabet (RFC 4648 §4 and §5), -1 for every other code unit below 128.
const B64_VALUE = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 64; i++) t[B64.charCodeAt(i)] = i;
  t[0x2d] = 62; // '-'
  t[0x5f] = 63; // '_'
  return t;
})();

/** Base64 (RFC 4648 §4, padded), or its URL alphabet without padding (§5) when `url`. */
export function toBase64(bytes: Uint8Array, url = false): string {
  checkBytes(bytes, 'bytes');
  if (NodeBuffer !== undefined)
    return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(
      url ? 'base64url' : 'base64',
    );
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const left = bytes.length - i;
    out += B64[(n >> 18) & 63] ?? '';
    out += B64[(n >> 12) & 63] ?? '';
    out += left > 1 ? (B64[(n >> 6) & 63] ?? '') : '=';
    out += left > 2 ? (B64[n & 63] ?? '') : '=';
  }
  return url ? out.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_') : out;
}

/**
 * Base64 of either alphabet to bytes, as leniently as Node's Buffer.from(text, 'base64'): characters
 * outside the alphabets are skipped (a code unit above 0xff counts as its low byte), the first "=" ends
 * the data, and bits short of a byte are dropped.
 * Callers that need strictness check the text first (a regular expression) or re-encode and compare.
 */
export function fromBase64(text: string): Uint8Array {
  if (typeof text !== 'string') throw new TypeError('base64 must be a string');
  if (NodeBuffer !== undefined) return Uint8Array.from(NodeBuffer.from(text, 'base64'));
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let n = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    // Buffer reads each UTF-16 code unit by its low byte ("Ł", U+0141, is an "A" to it): so does this,
    // or such a text would decode to other bytes in the auditor's browser than in the CLI.
    const c = text.charCodeAt(i) & 0xff;
    if (c === 0x3d) break;
    const v = c < 128 ? (B64_VALUE[c] ?? -1) : -1;
    if (v < 0) continue;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out.slice(0, n);
}

/** Bytes as a string of one code unit each (ISO 8859-1), as Buffer's 'latin1' decodes them. */
export function latin1(bytes: Uint8Array): string {
  checkBytes(bytes, 'bytes');
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192)
    out += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + 8192)));
  return out;
}

/** The UTF-8 length of `text` in bytes, as Buffer.byteLength(text, 'utf8') counts it (a lone surrogate: 3). */
export function utf8ByteLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (
      c >= 0xd800 &&
      c < 0xdc00 &&
      i + 1 < text.length &&
      (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
