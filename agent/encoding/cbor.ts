// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/encoding/cbor
 *
 * Strict deterministic CBOR (RFC 8949) for what execgate signs, hashes or stores: artifacts (COSE_Sign1,
 * RFC 9052, carrying CWT claims, RFC 8392) and audit records. One value has exactly one encoding, and
 * only that encoding is read back, so two readers of the same bytes see the same value and a signature
 * over a re-encoded value still verifies.
 *
 * `encodeCbor` writes RFC 8949 §4.2.1 core deterministic encoding: every head (integer, length, tag
 * number) in its shortest form, definite lengths only, map keys sorted by the bytewise lexicographic
 * order of their encodings.
 *
 * `decodeCbor` reads one data item and refuses, each with a stable CborError code:
 * - E_CBOR_FORMAT: input that is not one well-formed item (RFC 8949 §5.3.1 and Appendix F): truncation,
 *   reserved additional information 28–30, a stray break, simple values 0–31 in the two-byte form, text
 *   that is not UTF-8, and bytes after the item;
 * - E_CBOR_NONCANONICAL: well-formed input that is not in deterministic form: a head longer than needed,
 *   an indefinite length, map keys out of order;
 * - E_CBOR_DUPLICATE_KEY: a map with two equal keys (RFC 8949 §5.6: such a map is not valid);
 * - E_CBOR_TAG: a tag the caller did not allow (tag 18 is COSE_Sign1, RFC 9052 §4.2);
 * - E_CBOR_UNSUPPORTED: a valid item outside the supported subset (below);
 * - E_CBOR_LIMIT: input larger than `maxBytes`, nesting deeper than `maxDepth`, more than `maxItems` items.
 * The limits are checked before anything is allocated for a count: a head that claims 2^32 array items
 * costs one comparison.
 *
 * The subset: integers (−2^64 … 2^64−1), byte strings, text strings, arrays, maps whose keys are integers
 * or text, tags in the caller's allow-list, false, true and null. Not supported, on both sides: floating
 * point (a float has several encodings and JavaScript numbers cannot tell 1 from 1.0, so deterministic
 * floats would need a type of their own; nothing we sign needs one), undefined and the other simple
 * values, and map keys of other types.
 *
 * Values: integers decode to `number` when they are safe integers and to `bigint` otherwise (encode takes
 * either); byte strings to a `Uint8Array` that owns its memory; maps to a `Map` (never an object, so a key
 * named `__proto__` is data); tags to `CborTag`.
 *
 * Why not cbor-x at run time (it stays the quote bundle's codec, attest/quote.ts, and is this module's test
 * oracle): tried on hostile input, cbor-x 1.6.9's decoder keeps the last of duplicate keys, accepts
 * indefinite lengths and over-long heads, replaces invalid UTF-8 with U+FFFD, interprets tags through a
 * process-wide registry (1 → Date, 2/3 → bigint, 27 → calls `Error` or `RegExp` with input data, 28/29 →
 * shared references, 258 → Set, 0xdff9+ → records …), writes a `dataView` property onto the caller's
 * input, returns byte strings that alias it, and throws plain Errors; its encoder writes integers ≥ 2^32
 * as float64, bigints always with an 8-byte argument (1n as 1b0000000000000001), and −2^64 as a tag-3
 * bignum. Guarding all that takes a full pre-scan of the input and a walk to convert its output. The
 * bounded reader below already reads every head for the checks, so it builds the value as it goes, and
 * the writer is a small one that has no way to choose a longer form.
 */
import { ExecgateError } from '../errors.js';
import { compareBytes, equalBytes } from './bytes.js';

export type CborErrorCode =
  | 'E_CBOR_FORMAT'
  | 'E_CBOR_NONCANONICAL'
  | 'E_CBOR_DUPLICATE_KEY'
  | 'E_CBOR_TAG'
  | 'E_CBOR_UNSUPPORTED'
  | 'E_CBOR_LIMIT';

/** A CBOR input or value refused; `offset` is where in the input (decoding only). */
export class CborError extends ExecgateError<CborErrorCode> {
  readonly offset?: number;

  constructor(code: CborErrorCode, message: string, offset?: number) {
    super(code, offset === undefined ? message : `${message} (at offset ${offset})`);
    if (offset !== undefined) this.offset = offset;
  }
}

/** A tagged data item (RFC 8949 §3.4): the tag number and its content. */
export class CborTag {
  constructor(
    readonly tag: number,
    readonly value: CborValue,
  ) {
    if (!Number.isSafeInteger(tag) || tag < 0) throw new RangeError(`tag ${tag} is not a tag number`);
  }
}

export type CborKey = number | bigint | string;
export type CborMap = ReadonlyMap<CborKey, CborValue>;
export type CborValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | readonly CborValue[]
  | CborMap
  | CborTag;

export interface CborDecodeOptions {
  /** Tag numbers accepted (e.g. [18] for COSE_Sign1); any other tag is E_CBOR_TAG. */
  readonly tags: readonly number[];
  /** Largest input accepted, in bytes. */
  readonly maxBytes?: number;
  /** Deepest nesting of arrays, maps and tags (a scalar at the top is depth 0). */
  readonly maxDepth?: number;
  /** Most data items (every key, value, element and tag counts one). */
  readonly maxItems?: number;
  /**
   * false: also accept well-formed input that is not in deterministic form (non-shortest heads, map keys
   * in any order; still definite lengths, no duplicate keys), to read examples produced elsewhere.
   * Nothing execgate signs or stores is read this way. Default true.
   */
  readonly deterministic?: boolean;
}

export interface CborEncodeOptions {
  /** Deepest nesting of arrays, maps and tags; deeper (or a cycle) is E_CBOR_LIMIT. */
  readonly maxDepth?: number;
}

export const CBOR_DEFAULT_LIMITS = Object.freeze({ maxBytes: 1 << 20, maxDepth: 16, maxItems: 65_536 });

/** Nesting beyond this would risk the JavaScript stack of the recursive reader and writer. */
const MAX_DEPTH_CAP = 256;

const MAJOR_UINT = 0;
const MAJOR_NINT = 1;
const MAJOR_BYTES = 2;
const MAJOR_TEXT = 3;
const MAJOR_ARRAY = 4;
const MAJOR_MAP = 5;
const MAJOR_TAG = 6;
const MAJOR_SIMPLE = 7;

const U32_LIMIT = 0x1_0000_0000;
const U64_MAX = 0xffff_ffff_ffff_ffffn;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Smallest argument each of the additional-information values 24–27 may carry (RFC 8949 §4.2.1). */
const SHORTEST_MIN = [24, 0x100, 0x1_0000, U32_LIMIT] as const;
/** With the u flag a well-formed surrogate pair is one code point, so this matches only unpaired ones. */
const LONE_SURROGATE = /\p{Cs}/u;
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const UTF8_ENCODER = new TextEncoder();
/**
 * Text up to this length that is all ASCII is read and written a code unit at a time: ASCII is valid
 * UTF-8 with one byte per UTF-16 code unit, so the result is the same, and TextDecoder.decode and
 * TextEncoder.encode cost 0.1–0.7 µs a call on short strings (the map keys and words of every audit
 * entry; measured for bench/audit-e2e.bench.ts). Longer or non-ASCII text takes the general path.
 */
const ASCII_FAST_MAX = 64;

function limit(
  value: number | undefined,
  fallback: number,
  name: string,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 0 || v > max)
    throw new RangeError(`${name} must be an integer 0..${max}`);
  return v;
}

// ── Decoding ─────────────────────────────────────────────────────────────────────────────────────────

interface Head {
  readonly major: number;
  readonly info: number;
  /** The argument (RFC 8949 §3): a number when safe, else a bigint (only from an 8-byte argument). */
  readonly arg: number | bigint;
  readonly at: number;
}

class Decoder {
  pos = 0;
  items = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly tags: ReadonlySet<number>,
    private readonly maxDepth: number,
    private readonly maxItems: number,
    private readonly deterministic: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(code: CborErrorCode, message: string, at: number): never {
    throw new CborError(code, message, at);
  }

  private need(n: number, what: string, at: number): void {
    const left = this.bytes.length - this.pos;
    if (n > left) this.fail('E_CBOR_FORMAT', `input ends inside ${what}: need ${n} bytes, have ${left}`, at);
  }

  /** One head (RFC 8949 §3), refusing reserved values, indefinite lengths and non-shortest arguments. */
  private head(): Head {
    const at = this.pos;
    this.need(1, 'an item', at);
    const initial = this.view.getUint8(this.pos++);
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === MAJOR_SIMPLE) return this.simpleHead(info, at);
    if (info < 24) return { major, info, arg: info, at };
    if (info === 31) {
      if (major >= MAJOR_BYTES && major <= MAJOR_MAP)
        this.fail('E_CBOR_NONCANONICAL', 'indefinite length (RFC 8949 §4.2.1: definite lengths only)', at);
      this.fail('E_CBOR_FORMAT', `additional information 31 with major type ${major}`, at);
    }
    if (info > 27) this.fail('E_CBOR_FORMAT', `reserved additional information ${info}`, at);
    const size = 1 << (info - 24);
    this.need(size, 'an item head', at);
    const p = this.pos;
    this.pos += size;
    let arg: number | bigint;
    if (size === 1) arg = this.view.getUint8(p);
    else if (size === 2) arg = this.view.getUint16(p);
    else if (size === 4) arg = this.view.getUint32(p);
    else {
      const big = this.view.getBigUint64(p);
      arg = big <= MAX_SAFE ? Number(big) : big;
    }
    if (this.deterministic && arg < (SHORTEST_MIN[info - 24] ?? 0))
      this.fail('E_CBOR_NONCANONICAL', `argument ${arg} is not in its shortest form`, at);
    return { major, info, arg, at };
  }

  /** Major type 7: false, true and null are read; the rest is malformed or unsupported. */
  private simpleHead(info: number, at: number): Head {
    if (info >= 20 && info <= 22) return { major: MAJOR_SIMPLE, info, arg: info, at };
    if (info === 24) {
      this.need(1, 'a simple value', at);
      const v = this.view.getUint8(this.pos++);
      // RFC 8949 §3.3: simple values 0..31 in the two-byte form are not well-formed.
      if (v < 32) this.fail('E_CBOR_FORMAT', `simple value ${v} in the two-byte form`, at);
      this.fail('E_CBOR_UNSUPPORTED', `simple value ${v}`, at);
    }
    if (info >= 25 && info <= 27) {
      this.need(1 << (info - 24), 'a float', at);
      this.fail('E_CBOR_UNSUPPORTED', 'floating-point value (not in the supported subset)', at);
    }
    if (info === 31) this.fail('E_CBOR_FORMAT', 'break outside an indefinite-length item', at);
    if (info > 27) this.fail('E_CBOR_FORMAT', `reserved additional information ${info}`, at);
    return this.fail('E_CBOR_UNSUPPORTED', info === 23 ? 'undefined' : `simple value ${info}`, at);
  }

  private count(): void {
    if (++this.items > this.maxItems) this.fail('E_CBOR_LIMIT', `more than ${this.maxItems} items`, this.pos);
  }

  /** Checks a container's claimed item count against the limits before anything is read or allocated. */
  private claim(n: number | bigint, perEntry: number, h: Head, depth: number): number {
    if (depth + 1 > this.maxDepth) this.fail('E_CBOR_LIMIT', `nesting deeper than ${this.maxDepth}`, h.at);
    const room = this.maxItems - this.items;
    if (typeof n === 'bigint' || n * perEntry > room)
      this.fail('E_CBOR_LIMIT', `${n} entries: more than ${this.maxItems} items`, h.at);
    // Every item takes at least one byte, so more entries than bytes left is a truncated input.
    if (n * perEntry > this.bytes.length - this.pos)
      this.fail('E_CBOR_FORMAT', `input ends inside ${n} entries`, h.at);
    return n;
  }

  private length(h: Head): number {
    const left = this.bytes.length - this.pos;
    if (typeof h.arg === 'bigint' || h.arg > left)
      this.fail('E_CBOR_FORMAT', `input ends inside a string of ${h.arg} bytes: have ${left}`, h.at);
    return h.arg;
  }

  item(depth: number): CborValue {
    this.count();
    const h = this.head();
    switch (h.major) {
      case MAJOR_UINT:
        return h.arg;
      case MAJOR_NINT:
        return typeof h.arg === 'number' && h.arg < Number.MAX_SAFE_INTEGER
          ? -1 - h.arg
          : -1n - BigInt(h.arg);
      case MAJOR_BYTES: {
        const n = this.length(h);
        const out = this.bytes.slice(this.pos, this.pos + n);
        this.pos += n;
        return out;
      }
      case MAJOR_TEXT: {
        const n = this.length(h);
        const start = this.pos;
        this.pos += n;
        const ascii = n <= ASCII_FAST_MAX ? this.ascii(start, n) : undefined;
        if (ascii !== undefined) return ascii;
        try {
          return UTF8.decode(this.bytes.subarray(start, start + n));
        } catch {
          return this.fail('E_CBOR_FORMAT', 'text string is not valid UTF-8 (RFC 8949 §3.1)', h.at);
        }
      }
      case MAJOR_ARRAY: {
        const n = this.claim(h.arg, 1, h, depth);
        const out: CborValue[] = [];
        for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        return out;
      }
      case MAJOR_MAP:
        return this.map(this.claim(h.arg, 2, h, depth), depth);
      case MAJOR_TAG: {
        if (typeof h.arg === 'bigint' || !this.tags.has(h.arg))
          this.fail('E_CBOR_TAG', `tag ${h.arg} is not allowed here`, h.at);
        this.claim(1, 1, h, depth);
        return new CborTag(h.arg, this.item(depth + 1));
      }
      default:
        // Major type 7: simpleHead let only false (20), true (21) and null (22) through.
        return h.info === 22 ? null : h.info === 21;
    }
  }

  /** The `n` bytes at `start` as text when they are all ASCII (ASCII_FAST_MAX), else undefined. */
  private ascii(start: number, n: number): string | undefined {
    const b = this.bytes;
    let s = '';
    for (let i = start; i < start + n; i++) {
      const c = b[i] ?? 0x80;
      if (c >= 0x80) return undefined;
      s += String.fromCharCode(c);
    }
    return s;
  }

  /** Bytewise order of the input ranges [a, aEnd) and [b, bEnd) (compareBytes without two subarrays). */
  private compareRanges(a: number, aEnd: number, b: number, bEnd: number): number {
    const bytes = this.bytes;
    const n = Math.min(aEnd - a, bEnd - b);
    for (let i = 0; i < n; i++) {
      const d = (bytes[a + i] ?? 0) - (bytes[b + i] ?? 0);
      if (d !== 0) return d;
    }
    return aEnd - a - (bEnd - b);
  }

  private map(n: number, depth: number): Map<CborKey, CborValue> {
    const out = new Map<CborKey, CborValue>();
    let prevStart = -1;
    let prevEnd = -1;
    for (let i = 0; i < n; i++) {
      const start = this.pos;
      const major = (this.bytes[start] ?? 0) >> 5;
      if (start < this.bytes.length && major !== MAJOR_UINT && major !== MAJOR_NINT && major !== MAJOR_TEXT)
        this.fail('E_CBOR_UNSUPPORTED', `map key of major type ${major} (keys are integers or text)`, start);
      const key = this.item(depth + 1) as CborKey;
      const end = this.pos;
      if (!this.deterministic) {
        if (out.has(key)) this.fail('E_CBOR_DUPLICATE_KEY', `duplicate map key ${String(key)}`, start);
      } else if (prevStart >= 0) {
        const order = this.compareRanges(prevStart, prevEnd, start, end);
        if (order === 0) this.fail('E_CBOR_DUPLICATE_KEY', `duplicate map key ${String(key)}`, start);
        if (order > 0)
          this.fail('E_CBOR_NONCANONICAL', 'map keys not in bytewise order of their encodings', start);
      }
      prevStart = start;
      prevEnd = end;
      out.set(key, this.item(depth + 1));
    }
    return out;
  }
}

/**
 * Decodes one data item in deterministic form (RFC 8949 §4.2.1) from `bytes`, which must hold exactly
 * that item. Throws CborError (codes in the module comment) for anything else, TypeError/RangeError for
 * a bad argument.
 */
export function decodeCbor(bytes: Uint8Array, options: CborDecodeOptions): CborValue {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  const maxBytes = limit(options.maxBytes, CBOR_DEFAULT_LIMITS.maxBytes, 'maxBytes');
  const maxDepth = limit(options.maxDepth, CBOR_DEFAULT_LIMITS.maxDepth, 'maxDepth', MAX_DEPTH_CAP);
  const maxItems = limit(options.maxItems, CBOR_DEFAULT_LIMITS.maxItems, 'maxItems');
  const tags = new Set<number>();
  for (const t of options.tags) {
    if (!Number.isSafeInteger(t) || t < 0) throw new RangeError(`tags: ${t} is not a tag number`);
    tags.add(t);
  }
  if (bytes.length > maxBytes)
    throw new CborError('E_CBOR_LIMIT', `${bytes.length} bytes: more than ${maxBytes}`);
  const deterministic = options.deterministic !== false;
  const d = new Decoder(bytes, tags, maxDepth, maxItems, deterministic);
  const value = d.item(0);
  if (d.pos !== bytes.length)
    d.fail('E_CBOR_FORMAT', `${bytes.length - d.pos} bytes after the data item`, d.pos);
  // The reader's checks and the writer must agree on the one encoding; should they ever differ, the
  // input is refused rather than believed.
  if (deterministic && !encodesTo(value, bytes, maxDepth))
    throw new CborError('E_CBOR_NONCANONICAL', 'the input does not re-encode to the same bytes');
  return value;
}

/** One item of a CBOR sequence: its value and the exact bytes it was read from. */
export interface CborSequenceItem {
  readonly value: CborValue;
  /** A view of the input (not a copy): the item's encoding. */
  readonly bytes: Uint8Array;
  readonly offset: number;
}

/**
 * The items of a CBOR sequence (RFC 8742: items back to back, nothing else), one at a time, each read as
 * `decodeCbor` reads one item (deterministic, `maxBytes` per item, the other limits per item). For large
 * files of small records (an audit bundle): nothing but the current item is held. `from` is the offset
 * of the first item to read: a sequence whose parts have different limits is read as one generator per
 * part, with offsets (and error offsets) still those of `bytes`.
 */
export function* decodeCborSequence(
  bytes: Uint8Array,
  options: CborDecodeOptions,
  from = 0,
): Generator<CborSequenceItem, void, undefined> {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  if (!Number.isSafeInteger(from) || from < 0 || from > bytes.length)
    throw new RangeError(`from must be an offset 0..${bytes.length}`);
  const maxBytes = limit(options.maxBytes, CBOR_DEFAULT_LIMITS.maxBytes, 'maxBytes');
  const maxDepth = limit(options.maxDepth, CBOR_DEFAULT_LIMITS.maxDepth, 'maxDepth', MAX_DEPTH_CAP);
  const maxItems = limit(options.maxItems, CBOR_DEFAULT_LIMITS.maxItems, 'maxItems');
  const tags = new Set(options.tags);
  const deterministic = options.deterministic !== false;
  let offset = from;
  while (offset < bytes.length) {
    // The window is one item's limit: a head that claims more fails inside it, as over the limit.
    const end = Math.min(bytes.length, offset + maxBytes);
    const window = bytes.subarray(offset, end);
    const d = new Decoder(window, tags, maxDepth, maxItems, deterministic);
    let value: CborValue;
    try {
      value = d.item(0);
    } catch (e) {
      if (e instanceof CborError && e.code === 'E_CBOR_FORMAT' && end < bytes.length)
        throw new CborError(
          'E_CBOR_LIMIT',
          `an item of the sequence is larger than ${maxBytes} bytes`,
          offset,
        );
      if (e instanceof CborError && e.offset !== undefined)
        throw new CborError(e.code, e.message.replace(/ \(at offset \d+\)$/, ''), offset + e.offset);
      throw e;
    }
    const item = window.subarray(0, d.pos);
    if (deterministic && !encodesTo(value, item, maxDepth))
      throw new CborError('E_CBOR_NONCANONICAL', 'the item does not re-encode to the same bytes', offset);
    yield { value, bytes: item, offset };
    offset += d.pos;
  }
}

/** scanItem's "the item goes past the window", allocated once: cborItemEnd throws its own in its place. */
const SCAN_CUT = new CborError('E_CBOR_FORMAT', 'input ends inside an item');

/** The limits `cborItemEnd` checks: a decoder's, less what only a decoder can see (values, item count). */
export type CborScanLimits = Pick<CborDecodeOptions, 'tags' | 'maxBytes' | 'maxDepth'>;

/**
 * Where the data item at `offset` of `bytes` ends: its heads and lengths walked, nothing decoded or
 * allocated. For records whose integrity comes from elsewhere (an audit bundle's entries under a signed
 * root), so only their boundaries are needed. Refuses, as `decodeCborSequence` would at that item, with
 * a CborError at its offset in `bytes`: a truncated item, reserved additional information, an
 * indefinite length or a break, a tag not in `tags`, nesting deeper than `maxDepth`, an item larger than
 * `maxBytes` (E_CBOR_LIMIT). Not checked (the decoder's): shortest heads, key order and types, UTF-8,
 * the supported simple values, `maxItems` (every item has a head of at least one byte, so the work is at
 * most one step per byte of the item). When `decodeCborSequence` reads an item, this gives its end.
 */
export function cborItemEnd(bytes: Uint8Array, offset: number, limits: CborScanLimits): number {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > bytes.length)
    throw new RangeError(`offset must be an offset 0..${bytes.length}`);
  const maxBytes = limit(limits.maxBytes, CBOR_DEFAULT_LIMITS.maxBytes, 'maxBytes');
  const maxDepth = limit(limits.maxDepth, CBOR_DEFAULT_LIMITS.maxDepth, 'maxDepth', MAX_DEPTH_CAP);
  return itemEnd(bytes, offset, maxBytes, maxDepth, limits.tags);
}

/** `cborItemEnd` once its arguments are checked: a cut item is over the limit, or truncated input. */
function itemEnd(
  bytes: Uint8Array,
  offset: number,
  maxBytes: number,
  maxDepth: number,
  tags: readonly number[],
): number {
  const window = Math.min(bytes.length, offset + maxBytes);
  try {
    return scanItem(bytes, offset, 0, window, maxDepth, tags);
  } catch (e) {
    // Cut by the window, not by the input: the item is over the limit (as decodeCborSequence says).
    if (e !== SCAN_CUT) throw e;
    if (window < bytes.length)
      throw new CborError('E_CBOR_LIMIT', `an item of the sequence is larger than ${maxBytes} bytes`, offset);
    throw new CborError('E_CBOR_FORMAT', 'input ends inside an item', offset);
  }
}

/**
 * `cborItemEnd` over consecutive items, into an array of boundaries instead of one call and one
 * subarray per item: scans up to `count` items from `offset`, writes bounds[0] = offset and
 * bounds[k + 1] = the end of item k, and returns how many it scanned. It stops early at the end of the
 * input, and before an item `cborItemEnd` refuses: the items before it are returned, and the call that
 * starts at it (bounds[k]) throws that CborError, so every refusal names its item's own offset. Float64
 * boundaries: exact for any offset a Uint8Array can have.
 */
export function cborItemBounds(
  bytes: Uint8Array,
  offset: number,
  limits: CborScanLimits,
  bounds: Float64Array,
  count: number,
): number {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > bytes.length)
    throw new RangeError(`offset must be an offset 0..${bytes.length}`);
  if (!(bounds instanceof Float64Array)) throw new TypeError('bounds must be a Float64Array');
  if (!Number.isSafeInteger(count) || count < 0 || count >= bounds.length)
    throw new RangeError(`count must be an integer 0..${bounds.length - 1} (bounds holds count + 1)`);
  const maxBytes = limit(limits.maxBytes, CBOR_DEFAULT_LIMITS.maxBytes, 'maxBytes');
  const maxDepth = limit(limits.maxDepth, CBOR_DEFAULT_LIMITS.maxDepth, 'maxDepth', MAX_DEPTH_CAP);
  const length = bytes.length;
  bounds[0] = offset;
  let k = 0;
  for (let at = offset; k < count && at < length; k++) {
    try {
      at = itemEnd(bytes, at, maxBytes, maxDepth, limits.tags);
    } catch (e) {
      if (k > 0 && e instanceof CborError) break;
      throw e;
    }
    bounds[k + 1] = at;
  }
  return k;
}

/** The big-endian uint32 at bytes[p .. p + 4) (the caller has checked the bounds). */
const uint32At = (bytes: Uint8Array, p: number): number =>
  (bytes[p] as number) * 0x100_0000 +
  (((bytes[p + 1] as number) << 16) | ((bytes[p + 2] as number) << 8) | (bytes[p + 3] as number));

/** The end of the item at `pos` of `bytes[..window]`, `depth` containers deep (`cborItemEnd`). */
function scanItem(
  bytes: Uint8Array,
  pos: number,
  depth: number,
  window: number,
  maxDepth: number,
  tags: readonly number[],
): number {
  if (pos >= window) throw SCAN_CUT;
  const initial = bytes[pos] as number;
  const major = initial >> 5;
  const info = initial & 0x1f;
  let p = pos + 1;
  // The argument as a number: past 2^53 it only matters as "more than is left", which it then is.
  let arg = info;
  if (info >= 24 && info <= 27) {
    // Read whole, not byte by byte in a loop: the scan's hot path (about an eighth faster on entries).
    const size = 1 << (info - 24);
    if (p + size > window) throw SCAN_CUT;
    if (size === 1) arg = bytes[p] as number;
    else if (size === 2) arg = ((bytes[p] as number) << 8) | (bytes[p + 1] as number);
    else {
      arg = uint32At(bytes, p);
      if (size === 8) arg = arg * 0x1_0000_0000 + uint32At(bytes, p + 4);
    }
    p += size;
  } else if (info === 31) {
    if (major === MAJOR_SIMPLE)
      throw new CborError('E_CBOR_FORMAT', 'break outside an indefinite-length item', pos);
    throw new CborError(
      'E_CBOR_NONCANONICAL',
      'indefinite length (RFC 8949 §4.2.1: definite lengths only)',
      pos,
    );
  } else if (info > 27) {
    throw new CborError('E_CBOR_FORMAT', `reserved additional information ${info}`, pos);
  }
  switch (major) {
    case MAJOR_BYTES:
    case MAJOR_TEXT:
      if (arg > window - p) throw SCAN_CUT;
      return p + arg;
    case MAJOR_ARRAY:
    case MAJOR_MAP:
    case MAJOR_TAG: {
      if (major === MAJOR_TAG && !tags.includes(arg))
        throw new CborError('E_CBOR_TAG', `tag ${arg} is not allowed here`, pos);
      if (depth + 1 > maxDepth) throw new CborError('E_CBOR_LIMIT', `nesting deeper than ${maxDepth}`, pos);
      const n = major === MAJOR_TAG ? 1 : major === MAJOR_MAP ? 2 * arg : arg;
      // Every item takes at least one byte: more items than bytes left is a cut item.
      if (n > window - p) throw SCAN_CUT;
      for (let i = 0; i < n; i++) p = scanItem(bytes, p, depth + 1, window, maxDepth, tags);
      return p;
    }
    default:
      // Integers, and major type 7 (false, true, null, other simple values, floats): the head is all.
      return p;
  }
}

// ── Encoding ─────────────────────────────────────────────────────────────────────────────────────────

/**
 * Encodings of recent map keys: the same few keys ("exe", 1, "scope", …) recur in every artifact and
 * audit entry, and encoding each into its own Encoder was a third of a strict decode's re-encoding.
 * Bounded; the cached bytes are only ever copied out.
 */
const KEY_CACHE = new Map<string | number, Uint8Array>();
const KEY_CACHE_MAX = 1024;

function keyBytes(k: string | number | bigint, maxDepth: number): Uint8Array {
  const cacheable = typeof k === 'number' || (typeof k === 'string' && k.length <= 64);
  const hit = cacheable ? KEY_CACHE.get(k as string | number) : undefined;
  if (hit) return hit;
  const e = new Encoder(maxDepth);
  e.value(k, 1);
  const out = e.result();
  if (cacheable) {
    if (KEY_CACHE.size >= KEY_CACHE_MAX) KEY_CACHE.clear();
    KEY_CACHE.set(k as string | number, out);
  }
  return out;
}

const compareKeys = (keys: readonly Uint8Array[], a: number, b: number): number =>
  compareBytes(keys[a] as Uint8Array, keys[b] as Uint8Array);

class Encoder {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  constructor(
    private maxDepth: number,
    capacity = 256,
  ) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  /** Empty again, for another value (the decoders' re-encode check reuses one encoder and its buffer). */
  reset(maxDepth: number): this {
    this.maxDepth = maxDepth;
    this.len = 0;
    return this;
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  /** Whether what was written is exactly `bytes` (result() and equalBytes without the copy). */
  equals(bytes: Uint8Array): boolean {
    if (this.len !== bytes.length) return false;
    const buf = this.buf;
    for (let i = 0; i < bytes.length; i++) if (buf[i] !== bytes[i]) return false;
    return true;
  }

  raw(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  /** A head in its shortest form (RFC 8949 §4.2.1); `arg` is a non-negative integer below 2^64. */
  head(major: number, arg: number | bigint): void {
    this.room(9);
    const m = major << 5;
    if (typeof arg === 'bigint' && arg < U32_LIMIT) arg = Number(arg);
    if (typeof arg === 'bigint' || arg >= U32_LIMIT) {
      this.view.setUint8(this.len, m | 27);
      this.view.setBigUint64(this.len + 1, BigInt(arg));
      this.len += 9;
    } else if (arg < 24) {
      this.view.setUint8(this.len++, m | arg);
    } else if (arg < 0x100) {
      this.view.setUint8(this.len, m | 24);
      this.view.setUint8(this.len + 1, arg);
      this.len += 2;
    } else if (arg < 0x1_0000) {
      this.view.setUint8(this.len, m | 25);
      this.view.setUint16(this.len + 1, arg);
      this.len += 3;
    } else {
      this.view.setUint8(this.len, m | 26);
      this.view.setUint32(this.len + 1, arg);
      this.len += 5;
    }
  }

  value(v: unknown, depth: number): void {
    switch (typeof v) {
      case 'number':
        if (!Number.isSafeInteger(v))
          throw new CborError('E_CBOR_UNSUPPORTED', `${v} is not a safe integer (floats are not supported)`);
        if (v >= 0) this.head(MAJOR_UINT, v);
        else this.head(MAJOR_NINT, -1 - v);
        return;
      case 'bigint':
        if (v >= 0n ? v > U64_MAX : -1n - v > U64_MAX)
          throw new CborError(
            'E_CBOR_UNSUPPORTED',
            `${v} is outside −2^64 … 2^64−1 (bignums are not supported)`,
          );
        if (v >= 0n) this.head(MAJOR_UINT, v);
        else this.head(MAJOR_NINT, -1n - v);
        return;
      case 'string': {
        if (v.length <= ASCII_FAST_MAX && this.ascii(v)) return;
        if (LONE_SURROGATE.test(v))
          throw new CborError('E_CBOR_UNSUPPORTED', 'text with an unpaired surrogate');
        const utf8 = UTF8_ENCODER.encode(v);
        this.head(MAJOR_TEXT, utf8.length);
        this.raw(utf8);
        return;
      }
      case 'boolean':
        this.head(MAJOR_SIMPLE, v ? 21 : 20);
        return;
      case 'object':
        break;
      default:
        throw new CborError('E_CBOR_UNSUPPORTED', `a value of type ${typeof v}`);
    }
    if (v === null) {
      this.head(MAJOR_SIMPLE, 22);
      return;
    }
    if (v instanceof Uint8Array) {
      this.head(MAJOR_BYTES, v.length);
      this.raw(v);
      return;
    }
    const isContainer = Array.isArray(v) || v instanceof Map || v instanceof CborTag;
    if (!isContainer) {
      const what = Object.getPrototypeOf(v) === Object.prototype ? 'a plain object (use a Map)' : 'an object';
      throw new CborError('E_CBOR_UNSUPPORTED', `${what} is not a CBOR value`);
    }
    if (depth + 1 > this.maxDepth)
      throw new CborError('E_CBOR_LIMIT', `nesting deeper than ${this.maxDepth} (or a cycle)`);
    if (Array.isArray(v)) {
      this.head(MAJOR_ARRAY, v.length);
      // Indexed, not for…of, so that a hole is seen (as undefined) instead of skipped.
      for (let i = 0; i < v.length; i++) this.value(v[i], depth + 1);
    } else if (v instanceof Map) {
      this.map(v, depth);
    } else if (v instanceof CborTag) {
      this.head(MAJOR_TAG, v.tag);
      this.value(v.value, depth + 1);
    }
  }

  /** Writes `v` as text if it is all ASCII (ASCII_FAST_MAX); false, with nothing written, if not. */
  private ascii(v: string): boolean {
    for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) >= 0x80) return false;
    this.head(MAJOR_TEXT, v.length);
    this.room(v.length);
    for (let i = 0; i < v.length; i++) this.buf[this.len + i] = v.charCodeAt(i);
    this.len += v.length;
    return true;
  }

  private map(m: ReadonlyMap<unknown, unknown>, depth: number): void {
    const keys: Uint8Array[] = [];
    const values: unknown[] = [];
    let ascending = true;
    for (const [k, value] of m) {
      if (
        typeof k !== 'string' &&
        typeof k !== 'bigint' &&
        !(typeof k === 'number' && Number.isSafeInteger(k))
      )
        throw new CborError('E_CBOR_UNSUPPORTED', 'a map key that is not an integer or text');
      const key = keyBytes(k, this.maxDepth);
      const last = keys[keys.length - 1];
      if (last !== undefined && compareBytes(last, key) >= 0) ascending = false;
      keys.push(key);
      values.push(value);
    }
    // A map the decoder built is in key order already (every decoded map is re-encoded): sorted only
    // when it is not, and strictly ascending keys cannot repeat.
    const order = ascending ? undefined : keys.map((_, i) => i).sort((a, b) => compareKeys(keys, a, b));
    this.head(MAJOR_MAP, keys.length);
    for (let j = 0; j < keys.length; j++) {
      const i = order === undefined ? j : (order[j] as number);
      const key = keys[i] as Uint8Array;
      // 1 and 1n are two keys of a Map but one CBOR key.
      if (order !== undefined && j > 0 && equalBytes(keys[order[j - 1] as number] as Uint8Array, key))
        throw new CborError('E_CBOR_DUPLICATE_KEY', 'two map keys with the same encoding');
      this.raw(key);
      this.value(values[i], depth + 1);
    }
  }
}

/**
 * The RFC 8949 §4.2.1 core deterministic encoding of `value`. Throws CborError: E_CBOR_UNSUPPORTED for a
 * value outside the subset (a float, undefined, a plain object, a bignum …), E_CBOR_DUPLICATE_KEY for two
 * map keys with one encoding, E_CBOR_LIMIT for nesting deeper than `maxDepth` (which also stops a cycle).
 */
export function encodeCbor(value: CborValue, options?: CborEncodeOptions): Uint8Array {
  const e = new Encoder(limit(options?.maxDepth, CBOR_DEFAULT_LIMITS.maxDepth, 'maxDepth', MAX_DEPTH_CAP));
  e.value(value, 0);
  return e.result();
}

/** Items up to this size are re-encoded into one shared buffer; a larger one gets its own, not kept. */
const CHECKER_BYTES = 64 * 1024;
/** The decoders' encoder for small items (synchronous, so never in use twice). */
const CHECKER = new Encoder(CBOR_DEFAULT_LIMITS.maxDepth, 1024);

/**
 * Whether `value` encodes to exactly `bytes`: the decoders' closing check, without a copy, and for the
 * many small items of a sequence (an audit bundle's entries) without an allocation each.
 */
function encodesTo(value: CborValue, bytes: Uint8Array, maxDepth: number): boolean {
  const e = bytes.length <= CHECKER_BYTES ? CHECKER.reset(maxDepth) : new Encoder(maxDepth, bytes.length);
  e.value(value, 0);
  return e.equals(bytes);
}
