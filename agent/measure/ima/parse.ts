// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/ima/parse
 *
 * parseImaLog: either list (binary.ts, ascii.ts) into entries, within the limits, resumable at an
 * entry boundary, with every entry's template hash checked.
 *
 * A list whose template hash does not recompute is reported per entry (`templateHashCheck`), not
 * rejected: that is a finding about the log, not a parse failure. An all-zero template hash is a violation
 * (ima_add_violation does not compute it).
 */
import { assertHashAlgorithm, digestByteLen, type HashAlgorithm } from '../../crypto/algorithms.js';
import { digest, sha256Batch } from '../../crypto/hash.js';
import { ByteReader } from '../../encoding/byte-reader.js';
import { equalBytes } from '../../encoding/bytes.js';
import { AsciiLine, detectImaFormat, readAsciiEntry } from './ascii.js';
import { readBinaryEntry, type TemplateCache, truncated } from './binary.js';
import type { Entry, ParseState } from './entry.js';
import { newPrefixCache } from './template.js';
import {
  IMA_LIMITS,
  type ImaEntry,
  type ImaLimits,
  type ImaLog,
  ImaLogError,
  type ImaParseOptions,
  type ImaTruncatedTail,
} from './types.js';

function isZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false;
  return true;
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
