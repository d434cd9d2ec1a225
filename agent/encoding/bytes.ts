// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/encoding/bytes
 *
 * The byte helpers every layer shares (STYLE.md §4: bytes, hex and equality live in one place): equality,
 * concatenation, and a strict hex codec. Inputs are `Uint8Array` (a Node `Buffer` is one); outputs are
 * plain `Uint8Array`s that own their memory, so a result never aliases Node's shared Buffer pool and
 * compares equal to other `Uint8Array`s in tests.
 */

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
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

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
