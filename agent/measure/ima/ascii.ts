// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/ima/ascii
 *
 * The ASCII list (`ascii_runtime_measurements[_<alg>]`, security/integrity/ima/ima_fs.c
 * ima_ascii_measurements_show): `"%2d "` PCR, hex template hash, template name, then each field after one
 * space (nothing for an empty field), then "\n". Each field is rebuilt in its binary encoding so that the
 * template hash can be recomputed.
 *
 * The ASCII list cannot represent every path exactly (ima_write_template_field_data now replaces spaces
 * with '_', older kernels did not, and no kernel escapes newlines); a name with spaces is taken as the one
 * string field absorbing them.
 */
import {
  Entry,
  IMA_DIGEST_BYTES,
  IMA_NAME_HASH_BYTES,
  imaHashedData,
  isTemplateNameByte,
  latin1,
  MAX_IMA_PCR,
  type ParseState,
} from './entry.js';
import { checkTemplateData, IMA_FIELDS, templateFields } from './template.js';
import { type ImaListFormat, ImaLogError, type ImaLogErrorCode } from './types.js';

/** 'ascii' when the bytes start like an ASCII list line (`"%2d "`, then hex), else 'binary'. */
export function detectImaFormat(bytes: Uint8Array): ImaListFormat {
  let i = 0;
  if (bytes[i] === 0x20) i++;
  const digitsFrom = i;
  while (i < bytes.length && i - digitsFrom < 3 && isDigit(bytes[i])) i++;
  if (i === digitsFrom || bytes[i] !== 0x20) return 'binary';
  return hexValue(bytes[i + 1]) >= 0 ? 'ascii' : 'binary';
}

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= 0x30 && b <= 0x39;
}

function hexValue(b: number | undefined): number {
  if (b === undefined) return -1;
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}

/** Template data from its fields: each as `<u32 length><bytes>` (ima_template_lib.c). */
function lengthPrefixed(fields: readonly Uint8Array[], little: boolean): Uint8Array {
  let total = 0;
  for (const f of fields) total += 4 + f.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let p = 0;
  for (const f of fields) {
    view.setUint32(p, f.length, little);
    out.set(f, p + 4);
    p += 4 + f.length;
  }
  return out;
}

interface Token {
  readonly text: Uint8Array;
  readonly at: number;
}

/** Reader over one ASCII line [start, end) (without its "\n"). */
export class AsciiLine {
  constructor(
    private readonly bytes: Uint8Array,
    readonly start: number,
    readonly end: number,
    readonly line: number,
  ) {}

  fail(code: ImaLogErrorCode, message: string, offset: number): never {
    throw new ImaLogError(code, message, offset, this.start, this.line);
  }

  slice(from: number, to: number): Uint8Array {
    return this.bytes.subarray(from, to);
  }

  /** Tokens split on single spaces (empty tokens kept: an empty field prints nothing after its space). */
  tokens(): Token[] {
    const text = this.bytes.subarray(this.start, this.end);
    const out: Token[] = [];
    let from = 0;
    for (;;) {
      let to = text.indexOf(0x20, from);
      if (to < 0) to = text.length;
      out.push({ text: text.subarray(from, to), at: this.start + from });
      if (to === text.length) return out;
      from = to + 1;
    }
  }

  hex(token: Token, what: string): Uint8Array {
    const t = token.text;
    if (t.length % 2 !== 0) this.fail('E_IMA_FORMAT', `${what} has an odd number of hex digits`, token.at);
    const out = new Uint8Array(t.length / 2);
    for (let i = 0; i < out.length; i++) {
      const hi = hexValue(t[2 * i]);
      const lo = hexValue(t[2 * i + 1]);
      if (hi < 0 || lo < 0) this.fail('E_IMA_FORMAT', `${what} is not hex`, token.at + 2 * i);
      out[i] = (hi << 4) | lo;
    }
    return out;
  }
}

const BINARY_FORMATS = new Set(['digest', 'digest-with-algo', 'string', 'hex']);

/** Reads the entry on line `l` (ima_fs.c ima_ascii_measurements_show's layout); throws ImaLogError. */
export function readAsciiEntry(l: AsciiLine, s: ParseState, index: number): Entry {
  const tokens = l.tokens();
  // "%2d ": a PCR below 10 is preceded by a space, which splits off as an empty first token.
  if (tokens[0]?.text.length === 0 && tokens.length > 1) tokens.shift();
  const [pcrTok, hashTok, nameTok, ...rest] = tokens;
  if (pcrTok === undefined || hashTok === undefined || nameTok === undefined) {
    l.fail('E_IMA_FORMAT', 'line has fewer than 3 fields (PCR, template hash, template name)', l.start);
  }
  if (pcrTok.text.length === 0 || pcrTok.text.length > 2 || !pcrTok.text.every((b) => isDigit(b))) {
    l.fail('E_IMA_FORMAT', 'PCR is not a decimal number of 1–2 digits', pcrTok.at);
  }
  const pcr = Number(latin1(pcrTok.text));
  if (pcr > MAX_IMA_PCR) l.fail('E_IMA_FORMAT', `PCR ${pcr} is above ${MAX_IMA_PCR}`, pcrTok.at);
  if (hashTok.text.length !== 2 * s.hashSize) {
    l.fail(
      'E_IMA_FORMAT',
      `template hash has ${hashTok.text.length} hex digits, not ${2 * s.hashSize}`,
      hashTok.at,
    );
  }
  const templateHash = l.hex(hashTok, 'template hash');
  if (nameTok.text.length === 0 || !nameTok.text.every(isTemplateNameByte)) {
    l.fail('E_IMA_FORMAT', 'template name is empty or not printable ASCII', nameTok.at);
  }
  if (nameTok.text.length > s.limits.maxTemplateNameBytes) {
    l.fail(
      'E_IMA_LIMIT',
      `template name length ${nameTok.text.length} is over ${s.limits.maxTemplateNameBytes}`,
      nameTok.at,
    );
  }
  const templateName = latin1(nameTok.text);
  const ids = templateFields(templateName);
  const formats = ids?.map((id) => IMA_FIELDS[id] ?? 'hex');
  if (ids === undefined || formats === undefined || !formats.every((f) => BINARY_FORMATS.has(f))) {
    const asciiFields = rest.map((t) => latin1(t.text));
    return new Entry(
      index,
      l.start,
      l.line,
      pcr,
      templateHash,
      templateName,
      undefined,
      asciiFields,
      ids,
      s.little,
    );
  }

  // The one string field absorbs surplus tokens (a path with spaces, from a kernel that kept them).
  const strings = formats.filter((f) => f === 'string').length;
  if (rest.length < ids.length || (rest.length > ids.length && strings !== 1)) {
    l.fail(
      'E_IMA_FORMAT',
      `template ${templateName} has ${ids.length} fields, the line has ${rest.length}`,
      nameTok.at,
    );
  }
  const surplus = rest.length - ids.length;
  const fieldTokens: Token[] = [];
  let t = 0;
  for (const f of formats) {
    const first = rest[t];
    if (first === undefined) l.fail('E_IMA_FORMAT', 'missing field', l.end);
    if (f === 'string' && surplus > 0) {
      const last = rest[t + surplus];
      const endAt = last === undefined ? first.at : last.at + last.text.length;
      fieldTokens.push({ text: l.slice(first.at, endAt), at: first.at });
      t += surplus + 1;
    } else {
      fieldTokens.push(first);
      t += 1;
    }
  }

  const isIma = templateName === 'ima';
  const fields = ids.map((id, i) =>
    asciiFieldData(
      l,
      id,
      formats[i] ?? 'hex',
      fieldTokens[i] ?? { text: new Uint8Array(0), at: l.end },
      isIma,
    ),
  );
  if (isIma) {
    const [d, n] = fields;
    if (d === undefined || n === undefined || d.length !== IMA_DIGEST_BYTES) {
      l.fail(
        'E_IMA_FORMAT',
        `'ima' template digest is not ${IMA_DIGEST_BYTES} bytes`,
        fieldTokens[0]?.at ?? l.end,
      );
    }
    if (n.length >= IMA_NAME_HASH_BYTES) {
      l.fail(
        'E_IMA_FORMAT',
        "'ima' template name is over IMA_EVENT_NAME_LEN_MAX 255",
        fieldTokens[1]?.at ?? l.end,
      );
    }
    if (n.indexOf(0) >= 0)
      l.fail('E_IMA_FORMAT', "'ima' template name has a NUL inside", fieldTokens[1]?.at ?? l.end);
    const hashed = imaHashedData(d, n);
    return new Entry(
      index,
      l.start,
      l.line,
      pcr,
      templateHash,
      templateName,
      hashed,
      undefined,
      ids,
      s.little,
    );
  }
  const hashedData = lengthPrefixed(fields, s.little);
  if (hashedData.length - 4 * fields.length > s.limits.maxTemplateDataBytes) {
    l.fail('E_IMA_LIMIT', `template data is over ${s.limits.maxTemplateDataBytes} bytes`, l.start);
  }
  const defect = checkTemplateData(ids, hashedData, s.little, s.prefixes);
  if (defect !== undefined) {
    l.fail('E_IMA_FORMAT', `${templateName}: ${defect.message}`, fieldTokens[defect.field]?.at ?? nameTok.at);
  }
  return new Entry(
    index,
    l.start,
    l.line,
    pcr,
    templateHash,
    templateName,
    hashedData,
    undefined,
    ids,
    s.little,
  );
}

/** The binary encoding of an ASCII field token (ima_template_lib.c, the inverse of its ASCII show). */
function asciiFieldData(l: AsciiLine, id: string, format: string, tok: Token, isIma: boolean): Uint8Array {
  switch (format) {
    case 'string': {
      if (isIma) return tok.text;
      const out = new Uint8Array(tok.text.length + 1);
      out.set(tok.text);
      return out;
    }
    case 'digest-with-algo': {
      if (tok.text.length === 0) return tok.text;
      const colon = tok.text.lastIndexOf(0x3a);
      if (colon < 0) l.fail('E_IMA_FORMAT', `${id} is not <algo>:<hex>`, tok.at);
      const hex = l.hex({ text: tok.text.subarray(colon + 1), at: tok.at + colon + 1 }, `${id} digest`);
      const out = new Uint8Array(colon + 2 + hex.length);
      out.set(tok.text.subarray(0, colon + 1));
      out.set(hex, colon + 2);
      return out;
    }
    default:
      return l.hex(tok, `${id} field`);
  }
}
