// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/ima/binary
 *
 * The binary list (`binary_runtime_measurements[_<alg>]`, security/integrity/ima/ima_fs.c
 * ima_measurements_show): per entry u32 PCR, the template hash (SHA-1 in the classic list; the bank's
 * digest size in a per-bank list), u32 template-name length, the name, then for every template but `ima`
 * u32 template-data length and the template data (a sequence of `<u32 len><field>`); the `ima` template
 * instead carries its 20-byte digest and `<u32 len><name>` with no NUL. Integers are the host's byte order
 * unless `ima_canonical_fmt` is set, and the canonical format is little-endian (cpu_to_le32): x86 and
 * canonical lists are little-endian, a big-endian host's native list is big-endian (`byteOrder` option).
 */
import type { ByteReader, OverrunHandler } from '../../encoding/byte-reader.js';
import { equalBytesAt } from '../../encoding/bytes.js';
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
import { checkTemplateData, templateFields } from './template.js';
import { ImaLogError, type ImaLogErrorCode } from './types.js';

/** Throws the ImaLogError of `code` for a failure at `offset` of the entry `r` is reading. */
function fail(r: ByteReader, code: ImaLogErrorCode, message: string, offset: number): never {
  throw new ImaLogError(code, message, offset, r.recordOffset);
}

/** A read past the binary list's end is E_IMA_TRUNCATED: the bytes stop inside an entry. */
export const truncated: OverrunHandler = (message, offset, entryOffset) => {
  throw new ImaLogError('E_IMA_TRUNCATED', message, offset, entryOffset);
};

/** The template of the previous entry, reused while names repeat (they nearly always do). */
export interface TemplateCache {
  nameBytes: Uint8Array;
  name: string;
  ids: readonly string[] | undefined;
}

/** Reads the entry at `r.pos` (ima_fs.c ima_measurements_show's layout); throws ImaLogError. */
export function readBinaryEntry(r: ByteReader, s: ParseState, index: number, cache: TemplateCache): Entry {
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
  if (nameLen !== cache.nameBytes.length || !equalBytesAt(s.bytes, r.pos, cache.nameBytes)) {
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
