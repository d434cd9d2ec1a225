// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/ima
 *
 * A strict, bounds-checked parser of the Linux IMA runtime measurement list and its replay into PCRs.
 * Layouts are the kernel's (security/integrity/ima/ima_fs.c):
 *
 * - binary (`binary_runtime_measurements[_<alg>]`, ima_measurements_show): per entry u32 PCR, the template
 *   hash (SHA-1 in the classic list; the bank's digest size in a per-bank list), u32 template-name length,
 *   the name, then for every template but `ima` u32 template-data length and the template data (a sequence of
 *   `<u32 len><field>`); the `ima` template instead carries its 20-byte digest and `<u32 len><name>` with no
 *   NUL. Integers are the host's byte order unless `ima_canonical_fmt` is set, and the canonical format is
 *   little-endian (cpu_to_le32): x86 and canonical lists are little-endian, a big-endian host's native list
 *   is big-endian (`byteOrder` option);
 * - ASCII (`ascii_runtime_measurements[_<alg>]`, ima_ascii_measurements_show): `"%2d "` PCR, hex template
 *   hash, template name, then each field after one space (nothing for an empty field), then "\n".
 *
 * Template hash (ima_crypto.c ima_calc_field_array_hash_tfm): for `ima`, H(digest ‖ name NUL-padded to
 * IMA_EVENT_NAME_LEN_MAX + 1 = 256 bytes); for every other template, H(template data) with the length
 * prefixes. A list whose template hash does not recompute is reported per entry (`templateHashCheck`),
 * not rejected: that is a finding about the log, not a parse failure. An all-zero template hash is a
 * violation (ima_add_violation does not compute it).
 *
 * Replay (ima_queue.c ima_add_template_entry → ima_pcr_extend): PCR[p] = H(PCR[p] ‖ template digest) per
 * entry, grouped by the entry's PCR (policy `pcr=` may route entries away from PCR 10), from all zeros.
 * A violation extends 0xFF × the bank's digest size (ima_init_digests). For a bank other than the list's
 * own (`derive`):
 * - `recompute`: since Linux 5.8 ("ima: Calculate and extend PCR with digests in ima_template_entry"),
 *   ima_calc_field_array_hash computes the template hash separately with each
 *   allocated bank's algorithm, so e.g. the SHA-256 bank receives SHA-256 of the template data, which is
 *   recomputed here from the entry;
 * - `padded-sha1`: a bank whose algorithm the kernel cannot hash (`ima_algo_array[i].tfm == NULL`), and every
 *   bank before 5.8, receives the SHA-1 template hash zero-padded to the bank size; a violation then extends
 *   0xFF × 20 followed by zeros (ima_init_digests uses SHA1_DIGEST_SIZE for such banks).
 *
 * Errors are `ImaLogError` with the byte offset of the failing field (`offset`), of its entry
 * (`entryOffset`), and for the ASCII list the entry's line:
 * - E_IMA_TRUNCATED: the bytes end inside an entry (a tail cut off a longer list: with `allowTruncatedTail`
 *   it is reported in `truncatedTail` instead);
 * - E_IMA_FORMAT: the bytes contradict the layout (PCR ≥ 64, an empty or non-ASCII template name, fields
 *   that do not tile the template data, a malformed field or ASCII token);
 * - E_IMA_LIMIT: a size or count beyond `IMA_LIMITS`.
 *
 * Not supported: the `ima` template with 16-byte MD5 digests (`ima_hash=md5` on old kernels); its entries
 * are read as 20-byte digests and fail to parse.
 *
 * Not checked here: file digests against an allowlist, signatures in `sig` fields, the boot_aggregate
 * against quoted PCRs (boot-aggregate.ts), and whether replayed values match a TPM (the caller compares
 * them with a verified quote; replay does not prove the values came from a TPM). The ASCII list cannot represent every path
 * exactly (ima_write_template_field_data now replaces spaces with '_', older kernels did not, and no
 * kernel escapes newlines); a name with spaces is taken as the one string field absorbing them.
 */
import { assertHashAlgorithm, digestByteLen } from '../crypto/algorithms.js';
import { digest, type HashAlgorithm, sha256Batch } from '../crypto/hash.js';
import { ExecgateError } from '../errors.js';
import { ByteReader, type OverrunHandler } from './byte-reader.js';
import {
  checkTemplateData,
  decodeDigestWithAlgo,
  IMA_FIELDS,
  type ImaField,
  type ImaFileDigest,
  newPrefixCache,
  type PrefixCache,
  splitTemplateData,
  templateFields,
} from './ima-template.js';

export type { ImaField, ImaFileDigest } from './ima-template.js';

export type ImaLogErrorCode = 'E_IMA_TRUNCATED' | 'E_IMA_FORMAT' | 'E_IMA_LIMIT';

/** The bytes are not a well-formed IMA measurement list within the limits. */
export class ImaLogError extends ExecgateError<ImaLogErrorCode> {
  /** Byte offset of the field that failed. */
  readonly offset: number;
  /** Byte offset of the entry the field belongs to. */
  readonly entryOffset: number;
  /** ASCII list: the entry's line (1-based); undefined for the binary list. */
  readonly line: number | undefined;

  constructor(
    code: ImaLogErrorCode,
    message: string,
    offset: number,
    entryOffset: number,
    line?: number,
    options?: { cause?: unknown },
  ) {
    const where = line === undefined ? `entry at byte ${entryOffset}` : `entry on line ${line}`;
    super(code, `${message} (at byte ${offset}, ${where})`, options);
    this.offset = offset;
    this.entryOffset = entryOffset;
    this.line = line;
  }
}

/** Parser limits. A list beyond them is rejected with E_IMA_LIMIT. */
export const IMA_LIMITS = {
  /** Whole list. 100,000 ima-ng entries are about 15 MB. */
  maxLogBytes: 256 * 1024 * 1024,
  maxEntries: 4_000_000,
  /** Template name (the kernel's are ≤ 15 bytes; a custom format string shown as the name is longer). */
  maxTemplateNameBytes: 255,
  /** One entry's template data (`sig` and `buf` fields are the large ones). */
  maxTemplateDataBytes: 1024 * 1024,
} as const;

export type ImaLimits = { readonly [K in keyof typeof IMA_LIMITS]: number };

export type ImaListFormat = 'binary' | 'ascii';

export interface ImaParseOptions {
  /** Default: detected from the first bytes (`detectImaFormat`). */
  readonly format?: ImaListFormat;
  /** The list's template-hash algorithm: `sha1` for the classic list, the bank's for a per-bank list. */
  readonly templateHashAlgorithm?: HashAlgorithm;
  /** Byte order of the binary list's integers (and of the length prefixes rebuilt from an ASCII list). */
  readonly byteOrder?: 'little' | 'big';
  /** Stop before an entry the bytes end inside, and report it in `truncatedTail`, instead of failing. */
  readonly allowTruncatedTail?: boolean;
  /**
   * Parse only the entries from this point on (the list is append-only): `entryCount` entries were read
   * before, the next one starting at `byteOffset` (an `ImaLog.end` or `ImaCheckpoint.byteOffset`).
   */
  readonly resume?: { readonly entryCount: number; readonly byteOffset: number };
  readonly limits?: Partial<ImaLimits>;
}

/**
 * - `match`: the template hash recomputes from the template data;
 * - `mismatch`: it does not (the entry's data or hash was altered, or the list is not what it claims);
 * - `violation`: an all-zero template hash, which the kernel does not compute;
 * - `unchecked`: the template data cannot be rebuilt (an ASCII entry of an unknown template or one with
 *   integer fields).
 */
export type TemplateHashCheck = 'match' | 'mismatch' | 'violation' | 'unchecked';

export interface ImaEntry {
  /** Position in the list, from 0. */
  readonly index: number;
  /** Byte offset of the entry. */
  readonly offset: number;
  /** ASCII list: line number (1-based); undefined for the binary list. */
  readonly line: number | undefined;
  readonly pcr: number;
  readonly templateHash: Uint8Array;
  readonly templateName: string;
  /** The template fields (for an ASCII list, rebuilt in their binary encoding). */
  readonly fields: readonly ImaField[];
  /** ASCII entry whose fields could not be rebuilt: the raw tokens. */
  readonly asciiFields: readonly string[] | undefined;
  /** From the first `d`, `d-ng` or `d-ngv2` field. */
  readonly fileDigest: ImaFileDigest | undefined;
  /** From the `n` or `n-ng` field, without the NUL (bytes, as the kernel stores them). */
  readonly pathBytes: Uint8Array | undefined;
  /** `pathBytes` decoded as UTF-8 (invalid sequences replaced). */
  readonly path: string | undefined;
  /** A non-empty `sig` field. */
  readonly signature: Uint8Array | undefined;
  /** A non-empty `buf` field. */
  readonly buffer: Uint8Array | undefined;
  /** The bytes the template hash covers; undefined when they cannot be rebuilt. */
  readonly hashedData: Uint8Array | undefined;
  readonly templateHashCheck: TemplateHashCheck;
}

export interface ImaTruncatedTail {
  /** Byte offset where the incomplete entry starts. */
  readonly offset: number;
  readonly byteLength: number;
  /** Why it is incomplete (the E_IMA_TRUNCATED message). */
  readonly reason: string;
}

export interface ImaLog {
  readonly format: ImaListFormat;
  readonly templateHashAlgorithm: HashAlgorithm;
  readonly byteOrder: 'little' | 'big';
  /** Entries in list order (from `resume.entryCount` when resumed). */
  readonly entries: readonly ImaEntry[];
  /** Index the first parsed entry has (0 unless resumed). */
  readonly firstIndex: number;
  /** Byte offset just past the last complete entry. */
  readonly end: number;
  readonly truncatedTail?: ImaTruncatedTail;
}

/** Highest PCR an IMA policy rule may name: INVALID_PCR in ima_policy.c (bits of `measured_pcrs`). */
const MAX_IMA_PCR = 63;
/** The `ima` template's name buffer for the template hash (IMA_EVENT_NAME_LEN_MAX + 1). */
const IMA_NAME_HASH_BYTES = 256;
/** The `ima` template's digest field (IMA_DIGEST_SIZE). */
const IMA_DIGEST_BYTES = 20;

const UTF8 = new TextDecoder('utf-8');

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

function isZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false;
  return true;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** bytes[at, at + length) equals `want`. */
function sameBytesAt(bytes: Uint8Array, at: number, length: number, want: Uint8Array): boolean {
  if (want.length !== length) return false;
  for (let i = 0; i < length; i++) if (bytes[at + i] !== want[i]) return false;
  return true;
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** Printable ASCII without space (template names and field ids). */
function isTemplateNameByte(b: number): boolean {
  return b > 0x20 && b < 0x7f;
}

interface ParseState {
  readonly bytes: Uint8Array;
  readonly prefixes: PrefixCache;
  readonly limits: ImaLimits;
  readonly hashSize: number;
  readonly little: boolean;
}

/** Bytes a template hash covers for the `ima` template: digest ‖ name NUL-padded to 256 bytes. */
function imaHashedData(d: Uint8Array, name: Uint8Array): Uint8Array {
  const out = new Uint8Array(IMA_DIGEST_BYTES + IMA_NAME_HASH_BYTES);
  out.set(d, 0);
  out.set(name, IMA_DIGEST_BYTES);
  return out;
}

interface Decoded {
  readonly fields: readonly ImaField[];
  readonly fileDigest: ImaFileDigest | undefined;
  readonly pathBytes: Uint8Array | undefined;
  readonly path: string | undefined;
  readonly signature: Uint8Array | undefined;
  readonly buffer: Uint8Array | undefined;
}

/**
 * An entry whose fields are decoded on first access from `hashedData` (which the parser has checked): a
 * 100,000-entry list then costs a few objects per entry, not a dozen (measured: bench/ima.bench.ts).
 */
class Entry implements ImaEntry {
  templateHashCheck: TemplateHashCheck = 'unchecked';
  #decoded: Decoded | undefined;

  constructor(
    readonly index: number,
    readonly offset: number,
    readonly line: number | undefined,
    readonly pcr: number,
    readonly templateHash: Uint8Array,
    readonly templateName: string,
    readonly hashedData: Uint8Array | undefined,
    readonly asciiFields: readonly string[] | undefined,
    private readonly ids: readonly string[] | undefined,
    private readonly little: boolean,
  ) {}

  get fields(): readonly ImaField[] {
    return this.decoded().fields;
  }
  get fileDigest(): ImaFileDigest | undefined {
    return this.decoded().fileDigest;
  }
  get pathBytes(): Uint8Array | undefined {
    return this.decoded().pathBytes;
  }
  get path(): string | undefined {
    return this.decoded().path;
  }
  get signature(): Uint8Array | undefined {
    return this.decoded().signature;
  }
  get buffer(): Uint8Array | undefined {
    return this.decoded().buffer;
  }

  private decoded(): Decoded {
    this.#decoded ??= decodeEntry(this.templateName, this.ids, this.hashedData, this.little);
    return this.#decoded;
  }
}

function decodeEntry(
  templateName: string,
  ids: readonly string[] | undefined,
  data: Uint8Array | undefined,
  little: boolean,
): Decoded {
  let fields: ImaField[] = [];
  if (data !== undefined && templateName === 'ima') {
    const name = data.subarray(IMA_DIGEST_BYTES);
    const nul = name.indexOf(0);
    fields = [
      { id: 'd', data: data.subarray(0, IMA_DIGEST_BYTES) },
      { id: 'n', data: nul < 0 ? name : name.subarray(0, nul) },
    ];
  } else if (data !== undefined) {
    fields = splitTemplateData(ids, data, little);
  }
  let fileDigest: ImaFileDigest | undefined;
  let pathBytes: Uint8Array | undefined;
  let signature: Uint8Array | undefined;
  let buffer: Uint8Array | undefined;
  for (const f of fields) {
    switch (f.id) {
      case 'd':
        // ima_eventdigest_init: SHA-1 or MD5 only (ima_template_hash_algo_allowed).
        fileDigest ??= { algorithm: f.data.length === 16 ? 'md5' : 'sha1', digest: f.data };
        break;
      case 'd-ng':
      case 'd-ngv2':
        fileDigest ??= decodeDigestWithAlgo(f.id, f.data);
        break;
      case 'n':
        pathBytes ??= templateName === 'ima' ? f.data : f.data.subarray(0, Math.max(0, f.data.length - 1));
        break;
      case 'n-ng':
        pathBytes ??= f.data.subarray(0, Math.max(0, f.data.length - 1));
        break;
      case 'sig':
        if (f.data.length > 0) signature = f.data;
        break;
      case 'buf':
        if (f.data.length > 0) buffer = f.data;
        break;
    }
  }
  const path = pathBytes === undefined ? undefined : UTF8.decode(pathBytes);
  return { fields, fileDigest, pathBytes, path, signature, buffer };
}

/** Throws the ImaLogError of `code` for a failure at `offset` of the entry `r` is reading. */
function fail(r: ByteReader, code: ImaLogErrorCode, message: string, offset: number): never {
  throw new ImaLogError(code, message, offset, r.recordOffset);
}

/** A read past the binary list's end is E_IMA_TRUNCATED: the bytes stop inside an entry. */
const truncated: OverrunHandler = (message, offset, entryOffset) => {
  throw new ImaLogError('E_IMA_TRUNCATED', message, offset, entryOffset);
};

/** The template of the previous entry, reused while names repeat (they nearly always do). */
interface TemplateCache {
  nameBytes: Uint8Array;
  name: string;
  ids: readonly string[] | undefined;
}

function readBinaryEntry(r: ByteReader, s: ParseState, index: number, cache: TemplateCache): Entry {
  const offset = r.pos;
  r.recordOffset = offset;
  const pcrAt = r.pos;
  const pcr = r.u32('PCR index');
  if (pcr > MAX_IMA_PCR) fail(r, 'E_IMA_FORMAT', `PCR ${pcr} is above ${MAX_IMA_PCR}`, pcrAt);
  const templateHash = r.take(s.hashSize, 'template hash');
  const nameAt = r.pos;
  const nameLen = r.u32('template name length');
  if (nameLen === 0) fail(r, 'E_IMA_FORMAT', 'template name is empty', nameAt);
  if (nameLen > s.limits.maxTemplateNameBytes) {
    fail(
      r,
      'E_IMA_LIMIT',
      `template name length ${nameLen} is over ${s.limits.maxTemplateNameBytes}`,
      nameAt,
    );
  }
  r.need(nameLen, 'template name');
  if (!sameBytesAt(s.bytes, r.pos, nameLen, cache.nameBytes)) {
    const nameBytes = s.bytes.slice(r.pos, r.pos + nameLen);
    for (let i = 0; i < nameBytes.length; i++) {
      if (!isTemplateNameByte(nameBytes[i] ?? 0)) {
        fail(r, 'E_IMA_FORMAT', 'template name has a byte that is not printable ASCII', r.pos + i);
      }
    }
    cache.nameBytes = nameBytes;
    cache.name = latin1(nameBytes);
    cache.ids = templateFields(cache.name);
  }
  r.pos += nameLen;

  if (cache.name === 'ima') {
    // ima_measurements_show: `d` without a length (IMA_SHOW_BINARY_NO_FIELD_LEN), `n` as strlen + bytes.
    const d = r.take(IMA_DIGEST_BYTES, "'ima' template digest");
    const nLenAt = r.pos;
    const nLen = r.u32("'ima' template name length");
    if (nLen >= IMA_NAME_HASH_BYTES) {
      fail(
        r,
        'E_IMA_FORMAT',
        `'ima' template name length ${nLen} is over IMA_EVENT_NAME_LEN_MAX 255`,
        nLenAt,
      );
    }
    const name = r.take(nLen, "'ima' template name");
    const nul = name.indexOf(0);
    if (nul >= 0) fail(r, 'E_IMA_FORMAT', "'ima' template name has a NUL inside", nLenAt + 4 + nul);
    const hashed = imaHashedData(d, name);
    return new Entry(
      index,
      offset,
      undefined,
      pcr,
      templateHash,
      cache.name,
      hashed,
      undefined,
      cache.ids,
      s.little,
    );
  }

  const lenAt = r.pos;
  const dataLen = r.u32('template data length');
  if (dataLen > s.limits.maxTemplateDataBytes) {
    fail(r, 'E_IMA_LIMIT', `template data length ${dataLen} is over ${s.limits.maxTemplateDataBytes}`, lenAt);
  }
  const dataAt = r.pos;
  const data = r.take(dataLen, 'template data');
  const defect = checkTemplateData(cache.ids, data, s.little, s.prefixes);
  if (defect !== undefined) fail(r, 'E_IMA_FORMAT', `${cache.name}: ${defect.message}`, dataAt + defect.at);
  return new Entry(
    index,
    offset,
    undefined,
    pcr,
    templateHash,
    cache.name,
    data,
    undefined,
    cache.ids,
    s.little,
  );
}

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
class AsciiLine {
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

function readAsciiEntry(l: AsciiLine, s: ParseState, index: number): Entry {
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

function resolveLimits(options: ImaParseOptions | undefined): ImaLimits {
  return { ...IMA_LIMITS, ...options?.limits };
}

function checkResume(resume: ImaParseOptions['resume']): { entryCount: number; byteOffset: number } {
  if (resume === undefined) return { entryCount: 0, byteOffset: 0 };
  const { entryCount, byteOffset } = resume;
  if (!Number.isSafeInteger(entryCount) || entryCount < 0)
    throw new RangeError('resume.entryCount must be a non-negative integer');
  if (!Number.isSafeInteger(byteOffset) || byteOffset < 0)
    throw new RangeError('resume.byteOffset must be a non-negative integer');
  return { entryCount, byteOffset };
}

/**
 * Parses an IMA measurement list (binary or ASCII) and checks every entry's template hash. Throws
 * `ImaLogError` for anything that is not a well-formed list within the limits; never another exception for
 * any `Uint8Array` input. An empty list is a list of no entries.
 */
export function parseImaLog(bytes: Uint8Array, options?: ImaParseOptions): ImaLog {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('IMA list must be a Uint8Array');
  const limits = resolveLimits(options);
  const alg = options?.templateHashAlgorithm ?? 'sha1';
  assertHashAlgorithm(alg, 'templateHashAlgorithm');
  const hashSize = digestByteLen(alg);
  const byteOrder = options?.byteOrder ?? 'little';
  const { entryCount, byteOffset } = checkResume(options?.resume);
  if (bytes.length > limits.maxLogBytes) {
    throw new ImaLogError(
      'E_IMA_LIMIT',
      `IMA list is ${bytes.length} bytes, over the ${limits.maxLogBytes}-byte limit`,
      0,
      0,
    );
  }
  if (byteOffset > bytes.length) {
    throw new ImaLogError(
      'E_IMA_TRUNCATED',
      `IMA list is ${bytes.length} bytes, shorter than the resume offset ${byteOffset}`,
      bytes.length,
      bytes.length,
    );
  }
  const format = options?.format ?? detectImaFormat(bytes.subarray(byteOffset));
  const s: ParseState = {
    bytes,
    prefixes: newPrefixCache(),
    limits,
    hashSize,
    little: byteOrder === 'little',
  };
  const raw: Entry[] = [];
  let end = byteOffset;
  let truncatedTail: ImaTruncatedTail | undefined;
  const tooMany = (at: number): never => {
    throw new ImaLogError('E_IMA_LIMIT', `IMA list has more than ${limits.maxEntries} entries`, at, at);
  };

  try {
    if (format === 'binary') {
      const r = new ByteReader(bytes, { what: 'list', onOverrun: truncated, start: byteOffset, byteOrder });
      const cache: TemplateCache = { nameBytes: new Uint8Array(0), name: '', ids: undefined };
      while (r.remaining > 0) {
        if (entryCount + raw.length >= limits.maxEntries) tooMany(r.pos);
        raw.push(readBinaryEntry(r, s, entryCount + raw.length, cache));
        end = r.pos;
      }
    } else {
      let pos = byteOffset;
      while (pos < bytes.length) {
        if (entryCount + raw.length >= limits.maxEntries) tooMany(pos);
        const nl = bytes.indexOf(0x0a, pos);
        const lineNo = entryCount + raw.length + 1;
        if (nl < 0) {
          throw new ImaLogError('E_IMA_TRUNCATED', 'last line has no "\\n"', bytes.length, pos, lineNo);
        }
        raw.push(readAsciiEntry(new AsciiLine(bytes, pos, nl, lineNo), s, entryCount + raw.length));
        pos = nl + 1;
        end = pos;
      }
    }
  } catch (e) {
    if (!(e instanceof ImaLogError) || e.code !== 'E_IMA_TRUNCATED' || options?.allowTruncatedTail !== true)
      throw e;
    truncatedTail = { offset: end, byteLength: bytes.length - end, reason: e.message };
  }

  const entries = checkTemplateHashes(raw, alg);
  const log: ImaLog = { format, templateHashAlgorithm: alg, byteOrder, entries, firstIndex: entryCount, end };
  return truncatedTail === undefined ? log : { ...log, truncatedTail };
}

/** Sets every entry's `templateHashCheck`, recomputing SHA-256 in one batch and the others one by one. */
function checkTemplateHashes(entries: Entry[], alg: HashAlgorithm): ImaEntry[] {
  const todo: Entry[] = [];
  for (const e of entries) {
    if (isZero(e.templateHash)) e.templateHashCheck = 'violation';
    else if (e.hashedData !== undefined) todo.push(e);
  }
  if (alg === 'sha256') {
    const out = sha256Batch(todo.map((e) => e.hashedData ?? new Uint8Array(0)));
    todo.forEach((e, k) => {
      e.templateHashCheck = equalBytes(out.subarray(32 * k, 32 * k + 32), e.templateHash)
        ? 'match'
        : 'mismatch';
    });
  } else {
    for (const e of todo) {
      e.templateHashCheck = equalBytes(digest(alg, e.hashedData ?? new Uint8Array(0)), e.templateHash)
        ? 'match'
        : 'mismatch';
    }
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------------
// Replay

/**
 * The running PCR values after the first `entryCount` entries, to continue replay from (the list is
 * append-only). A checkpoint trusts that those entries are the ones it folded: the comparison with a
 * quote of the new values detects a list that changed below it.
 */
export interface ImaCheckpoint {
  /** The bank the values belong to. */
  readonly bank: HashAlgorithm;
  readonly entryCount: number;
  /** Byte offset of entry `entryCount` in the list (for `parseImaLog`'s `resume`). */
  readonly byteOffset: number;
  /** PCR index → value, for the PCRs some entry extended. */
  readonly pcrs: ReadonlyMap<number, Uint8Array>;
}

export interface ImaReplayOptions {
  /** Bank to replay into; default the list's template-hash algorithm. */
  readonly bank?: HashAlgorithm;
  /**
   * How entries reach a bank other than the list's own (required then): `recompute` (Linux ≥ 5.8, a bank
   * the kernel can hash) or `padded-sha1` (Linux < 5.8, or a bank the kernel cannot hash; SHA-1 lists).
   */
  readonly derive?: 'recompute' | 'padded-sha1';
  /** Continue from this checkpoint: entries with index < `from.entryCount` are skipped. */
  readonly from?: ImaCheckpoint;
}

interface Fold {
  readonly bank: HashAlgorithm;
  readonly size: number;
  readonly value: (e: ImaEntry) => Uint8Array;
  readonly pcrs: Map<number, Uint8Array>;
  readonly start: number;
}

function prepareFold(log: ImaLog, options: ImaReplayOptions | undefined): Fold {
  const listAlg = log.templateHashAlgorithm;
  const bank = options?.bank ?? listAlg;
  assertHashAlgorithm(bank, 'bank');
  const size = digestByteLen(bank);
  const derive = options?.derive;
  if (bank !== listAlg && derive === undefined) {
    throw new RangeError(`replaying a ${listAlg} list into the ${bank} bank needs options.derive`);
  }
  if (derive === 'padded-sha1' && listAlg !== 'sha1') {
    throw new RangeError(`derive 'padded-sha1' needs a sha1 list, this one is ${listAlg}`);
  }
  const from = options?.from;
  const pcrs = new Map<number, Uint8Array>();
  let start = 0;
  if (from !== undefined) {
    if (from.bank !== bank) throw new RangeError(`checkpoint is for the ${from.bank} bank, not ${bank}`);
    if (log.firstIndex > from.entryCount) {
      throw new RangeError(
        `list starts at entry ${log.firstIndex}, after the checkpoint's ${from.entryCount}`,
      );
    }
    const have = log.firstIndex + log.entries.length;
    if (have < from.entryCount) {
      throw new ImaLogError(
        'E_IMA_TRUNCATED',
        `list has ${have} entries, fewer than the checkpoint's ${from.entryCount}`,
        log.end,
        log.end,
      );
    }
    for (const [pcr, v] of from.pcrs) pcrs.set(pcr, v);
    start = from.entryCount - log.firstIndex;
  }

  const violation = new Uint8Array(size);
  violation.fill(0xff, 0, derive === 'padded-sha1' ? digestByteLen('sha1') : size);
  let value: (e: ImaEntry) => Uint8Array;
  if (bank === listAlg && derive !== 'recompute') {
    value = (e) => (e.templateHashCheck === 'violation' ? violation : e.templateHash);
  } else if (derive === 'padded-sha1') {
    value = (e) => {
      if (e.templateHashCheck === 'violation') return violation;
      const out = new Uint8Array(size);
      out.set(e.templateHash);
      return out;
    };
  } else {
    value = (e) => {
      if (e.templateHashCheck === 'violation') return violation;
      if (e.hashedData === undefined) {
        throw new ImaLogError(
          'E_IMA_FORMAT',
          `entry ${e.index}'s template data cannot be rebuilt to hash it with ${bank}`,
          e.offset,
          e.offset,
          e.line,
        );
      }
      return digest(bank, e.hashedData);
    };
  }
  return { bank, size, value, pcrs, start };
}

/**
 * Folds entries [fold.start, …) into fold.pcrs; `stop(count)` is asked after each entry and before the
 * first (count = entries folded so far) and ends the fold early when it returns true.
 */
function runFold(
  log: ImaLog,
  fold: Fold,
  stop?: (count: number, pcr: number | undefined) => boolean,
): number {
  const { bank, size, pcrs } = fold;
  const input = new Uint8Array(2 * size);
  const zero = new Uint8Array(size);
  const entries = log.entries;
  if (stop?.(log.firstIndex + fold.start, undefined) === true) return fold.start;
  for (let i = fold.start; i < entries.length; i++) {
    const e = entries[i] as ImaEntry;
    input.set(pcrs.get(e.pcr) ?? zero, 0);
    input.set(fold.value(e), size);
    pcrs.set(e.pcr, digest(bank, input));
    if (stop?.(log.firstIndex + i + 1, e.pcr) === true) return i + 1;
  }
  return entries.length;
}

function checkpointAt(log: ImaLog, fold: Fold, folded: number): ImaCheckpoint {
  const next = log.entries[folded];
  return {
    bank: fold.bank,
    entryCount: log.firstIndex + folded,
    byteOffset: next === undefined ? log.end : next.offset,
    pcrs: new Map(fold.pcrs),
  };
}

/**
 * Replays the list into one bank: the running value of every PCR some entry extends, from all zeros (or
 * from `options.from`). The result is a checkpoint to continue from when the list has grown. Throws
 * `ImaLogError` when the list is shorter than the checkpoint, or (with `derive: 'recompute'`) an entry's
 * template data cannot be rebuilt.
 */
export function replayImaLog(log: ImaLog, options?: ImaReplayOptions): ImaCheckpoint {
  const fold = prepareFold(log, options);
  return checkpointAt(log, fold, runFold(log, fold));
}

/**
 * The smallest entry count whose replay gives `quoted` for `pcr`: the list keeps growing while a quote is
 * taken, so the quote covers some prefix of the list that was read after it. Returns that prefix's
 * checkpoint (all PCRs at that count), or undefined when no prefix matches.
 */
export function matchQuotedPrefix(
  log: ImaLog,
  pcr: number,
  quoted: Uint8Array,
  options?: ImaReplayOptions,
): ImaCheckpoint | undefined {
  if (!(quoted instanceof Uint8Array)) throw new TypeError('quoted must be a Uint8Array');
  const fold = prepareFold(log, options);
  if (quoted.length !== fold.size)
    throw new RangeError(`quoted is ${quoted.length} bytes, the ${fold.bank} bank's are ${fold.size}`);
  const zero = new Uint8Array(fold.size);
  let found = -1;
  runFold(log, fold, (count, extended) => {
    if (extended !== undefined && extended !== pcr) return false;
    if (!equalBytes(fold.pcrs.get(pcr) ?? zero, quoted)) return false;
    found = count;
    return true;
  });
  return found < 0 ? undefined : checkpointAt(log, fold, found - log.firstIndex);
}
