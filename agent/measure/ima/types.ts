// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/ima/types
 *
 * The IMA measurement list as the parser returns it, its options and limits, and its error.
 *
 * Errors are `ImaLogError` with the byte offset of the failing field (`offset`), of its entry
 * (`entryOffset`), and for the ASCII list the entry's line:
 * - E_IMA_TRUNCATED: the bytes end inside an entry (a tail cut off a longer list: with `allowTruncatedTail`
 *   it is reported in `truncatedTail` instead);
 * - E_IMA_FORMAT: the bytes contradict the layout (PCR ≥ 64, an empty or non-ASCII template name, fields
 *   that do not tile the template data, a malformed field or ASCII token);
 * - E_IMA_LIMIT: a size or count beyond `IMA_LIMITS`.
 */
import type { HashAlgorithm } from '../../crypto/algorithms.js';
import { ExecgateError } from '../../errors.js';
import type { ImaField, ImaFileDigest } from './template.js';

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

/** Throws TypeError unless `alg` names a hash the parser and the replay know (a caller's option). */
