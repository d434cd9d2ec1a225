// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/encoding/canonical-json
 *
 * JSON for documents whose digest something signs: a strict I-JSON parser and the RFC 8785 JSON
 * Canonicalization Scheme (JCS).
 *
 * `parseJson` accepts RFC 8259 JSON text restricted to I-JSON (RFC 7493 §2): no duplicate member names
 * (§2.3, where JSON.parse silently keeps the last, so two readers of one file could see different
 * documents), no unpaired surrogates (§2.1), no numbers that overflow an IEEE 754 double (§2.2), and no
 * byte order mark. It also rejects −0, as RFC 8785 errata 7920 asks, since JCS serializes it as "0".
 * Objects come back without a prototype, so a member named `__proto__` is an ordinary member. Nesting is
 * bounded (`maxDepth`), so hostile input cannot exhaust the stack.
 *
 * `canonicalize` is JCS (RFC 8785 §3.2): no whitespace; strings and numbers serialized as ECMAScript's
 * JSON.stringify serializes them (§3.2.2.2 string escaping, §3.2.2.3 Number::toString), which is what
 * the RFC defines them by; object members sorted by their names as arrays of UTF-16 code units
 * (§3.2.3), which is JavaScript's default string order. `canonicalBytes` is its UTF-8 form (§3.2.4).
 *
 * Not covered: JSON text in encodings other than UTF-8; canonicalizing values that are not JSON data
 * (undefined, bigint, Map, typed arrays …), which is a caller bug and throws TypeError.
 */
import { ExecgateError } from '../errors.js';

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [name: string]: JsonValue;
}

export type JsonErrorCode = 'E_JSON_FORMAT' | 'E_JSON_LIMIT';

/** The text is not I-JSON (E_JSON_FORMAT) or exceeds the parser's limits (E_JSON_LIMIT). */
export class JsonError extends ExecgateError<JsonErrorCode> {
  /** Offset of the failure in UTF-16 code units of the decoded text. */
  readonly offset: number;
  /** 1-based line and column (in code units) of `offset`. */
  readonly line: number;
  readonly column: number;

  constructor(
    code: JsonErrorCode,
    message: string,
    text: string,
    offset: number,
    options?: { cause?: unknown },
  ) {
    let line = 1;
    let lineStart = 0;
    for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
      line++;
      lineStart = i + 1;
    }
    const column = offset - lineStart + 1;
    super(code, `${message} (line ${line}, column ${column})`, options);
    this.offset = offset;
    this.line = line;
    this.column = column;
  }
}

export interface JsonParseOptions {
  /** Deepest nesting of arrays and objects accepted; deeper is E_JSON_LIMIT. */
  readonly maxDepth?: number;
}

const DEFAULT_MAX_DEPTH = 64;

/** Matches an unpaired surrogate (with the u flag, a well-formed pair is one code point). */
const LONE_SURROGATE = /\p{Cs}/u;

const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/**
 * Parses I-JSON text (RFC 8259 + RFC 7493 §2). Bytes must be UTF-8 without a BOM (RFC 8259 §8.1).
 * Throws JsonError; never returns a value that `canonicalize` would reject.
 */
export function parseJson(input: string | Uint8Array, options?: JsonParseOptions): JsonValue {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
    } catch (cause) {
      throw new JsonError('E_JSON_FORMAT', 'the bytes are not valid UTF-8', '', 0, { cause });
    }
  }
  const maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
  let pos = 0;

  const fail = (message: string, at = pos): never => {
    throw new JsonError('E_JSON_FORMAT', message, text, at);
  };
  const skipWs = (): void => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      pos++;
    }
  };
  const literal = (word: string, value: JsonValue): JsonValue => {
    if (!text.startsWith(word, pos)) fail('unexpected character');
    pos += word.length;
    return value;
  };

  const parseString = (): string => {
    const start = pos;
    pos++; // the opening quote
    let out = '';
    let runStart = pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (Number.isNaN(c)) fail('unterminated string', start);
      if (c === 0x22) break;
      if (c < 0x20) fail('control character in a string (RFC 8259 §7: it must be escaped)');
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(runStart, pos);
      const e = text.charAt(pos + 1);
      if (e === 'u') {
        const hex = text.slice(pos + 2, pos + 6);
        if (!/^[0-9A-Fa-f]{4}$/.test(hex)) fail('bad \\u escape');
        out += String.fromCharCode(Number.parseInt(hex, 16));
        pos += 6;
      } else {
        const ch = ESCAPES[e];
        if (ch === undefined) fail('bad escape');
        out += ch;
        pos += 2;
      }
      runStart = pos;
    }
    out += text.slice(runStart, pos);
    pos++; // the closing quote
    if (LONE_SURROGATE.test(out)) fail('unpaired surrogate in a string (RFC 7493 §2.1)', start);
    return out;
  };

  const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
  const parseNumber = (): number => {
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (m === null) return fail('unexpected character');
    const value = Number(m[0]);
    if (!Number.isFinite(value)) fail('number beyond the IEEE 754 double range (RFC 7493 §2.2)');
    if (Object.is(value, -0)) fail('-0 (RFC 8785 errata 7920: JCS would serialize it as 0)');
    pos += m[0].length;
    return value;
  };

  const parseValue = (depth: number): JsonValue => {
    skipWs();
    const c = text.charCodeAt(pos);
    if (c === 0x22) return parseString();
    if (c === 0x7b || c === 0x5b) {
      if (depth >= maxDepth)
        throw new JsonError('E_JSON_LIMIT', `nesting deeper than ${maxDepth}`, text, pos);
      return c === 0x7b ? parseObject(depth + 1) : parseArray(depth + 1);
    }
    if (c === 0x74) return literal('true', true);
    if (c === 0x66) return literal('false', false);
    if (c === 0x6e) return literal('null', null);
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return parseNumber();
    return fail(Number.isNaN(c) ? 'unexpected end of text' : 'unexpected character');
  };

  const parseArray = (depth: number): JsonValue[] => {
    pos++;
    const out: JsonValue[] = [];
    skipWs();
    if (text.charCodeAt(pos) === 0x5d) {
      pos++;
      return out;
    }
    for (;;) {
      out.push(parseValue(depth));
      skipWs();
      const c = text.charCodeAt(pos++);
      if (c === 0x5d) return out;
      if (c !== 0x2c) fail("expected ',' or ']'", pos - 1);
    }
  };

  const parseObject = (depth: number): JsonObject => {
    pos++;
    const out: Record<string, JsonValue> = Object.create(null);
    skipWs();
    if (text.charCodeAt(pos) === 0x7d) {
      pos++;
      return out;
    }
    for (;;) {
      skipWs();
      if (text.charCodeAt(pos) !== 0x22) fail('expected a member name');
      const at = pos;
      const name = parseString();
      if (Object.hasOwn(out, name)) fail(`duplicate member name ${JSON.stringify(name)} (RFC 7493 §2.3)`, at);
      skipWs();
      if (text.charCodeAt(pos) !== 0x3a) fail("expected ':'");
      pos++;
      out[name] = parseValue(depth);
      skipWs();
      const c = text.charCodeAt(pos++);
      if (c === 0x7d) return out;
      if (c !== 0x2c) fail("expected ',' or '}'", pos - 1);
    }
  };

  if (text.charCodeAt(0) === 0xfeff) fail('byte order mark (RFC 8259 §8.1)');
  const value = parseValue(0);
  skipWs();
  if (pos !== text.length) fail('text after the JSON value');
  return value;
}

/**
 * parseJson for a document that must be a JSON object (a state file, a record): duplicate member names,
 * lone surrogates and the rest refused as by parseJson, which JSON.parse would let through (it keeps the
 * last of two equal names, so two readers of one file could disagree). Throws JsonError.
 */
export function parseJsonObject(input: string | Uint8Array, options?: JsonParseOptions): JsonObject {
  const value = parseJson(input, options);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new JsonError('E_JSON_FORMAT', 'expected a JSON object', '', 0);
  return value as JsonObject;
}

/** The RFC 8785 canonical form of `value`. Throws TypeError/RangeError for values that are not I-JSON. */
export function canonicalize(value: JsonValue): string {
  const parts: string[] = [];
  write(value, parts);
  return parts.join('');
}

/** `canonicalize(value)` as UTF-8 (RFC 8785 §3.2.4): the bytes to hash or sign. */
export function canonicalBytes(value: JsonValue): Uint8Array {
  return new TextEncoder().encode(canonicalize(value));
}

function writeString(s: string, parts: string[]): void {
  if (LONE_SURROGATE.test(s)) throw new RangeError('canonicalize: a string has an unpaired surrogate');
  parts.push(JSON.stringify(s));
}

function write(value: JsonValue, parts: string[]): void {
  switch (typeof value) {
    case 'string':
      writeString(value, parts);
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new RangeError(`canonicalize: ${value} is not an I-JSON number`);
      parts.push(JSON.stringify(value));
      return;
    case 'boolean':
      parts.push(value ? 'true' : 'false');
      return;
    case 'object':
      break;
    default:
      throw new TypeError(`canonicalize: a ${typeof value} is not JSON`);
  }
  if (value === null) {
    parts.push('null');
    return;
  }
  if (Array.isArray(value)) {
    parts.push('[');
    value.forEach((item: JsonValue, i) => {
      if (i > 0) parts.push(',');
      write(item, parts);
    });
    parts.push(']');
    return;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError('canonicalize: only plain objects are JSON objects');
  }
  const object = value as JsonObject;
  parts.push('{');
  // Default sort order compares UTF-16 code units: RFC 8785 §3.2.3.
  const names = Object.keys(object).sort();
  names.forEach((name, i) => {
    if (i > 0) parts.push(',');
    writeString(name, parts);
    parts.push(':');
    const member = object[name];
    if (member === undefined)
      throw new TypeError(`canonicalize: member ${JSON.stringify(name)} is undefined`);
    write(member, parts);
  });
  parts.push('}');
}
