// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/attest/tpm2-tools-pcrs
 *
 * tpm2-tools' PCR files of a quote (SWTPM.md §4.1), read and written in memory: browser-safe, so that
 * the auditor page reads tpm2_quote output (docs/auditor.md); ./tpm2-tools-format.ts writes the files.
 * The quote files, so that quotes cross between execgate and tpm2_quote / tpm2_checkquote in both
 * directions:
 *
 * - quote.msg: the marshalled TPMS_ATTEST (Part 2 §10.12.12), no size prefix: exactly the signed bytes;
 * - quote.sig: the marshalled TPMT_SIGNATURE (Part 2 §11.3.4);
 * - quote.pcrs: tpm2-tools' "serialized" PCR file, a little-endian dump of its C structs (what
 *   `tpm2_checkquote -f` reads): TPML_PCR_SELECTION as a C struct (u32 count + 16 × {u16 hash,
 *   u8 sizeofSelect, u8[4] pcrSelect, 1 pad} = 132 bytes), u32 n, then n × TPML_DIGEST as a C struct
 *   (u32 count + 8 × {u16 size, u8[64]} = 532 bytes), the values in selection order, 8 per TPML_DIGEST;
 * - quote.pcrs.values: the selected digests concatenated, bank by bank, PCRs ascending (`-F values`);
 * - ak.pem: the AK's SubjectPublicKeyInfo PEM.
 *
 * Readers are strict (exact sizes, counts within the C arrays, values consistent with the selection)
 * and fail with QuoteError E_QUOTE_PARSE.
 */
import { digestByteLen, hashAlgOf } from '../crypto/algorithms.js';
import {
  type PcrBankSelection,
  type PcrSelection,
  pcrBitmap,
  pcrsOfBitmap,
  selectionSize,
} from '../tpm/pcr-selection.js';
import { QuoteError } from './quote-evidence.js';

const SEL_STRUCT = 132;
const SEL_ENTRY = 8;
const SEL_MAX = 16;
const DIGEST_STRUCT = 532;
const DIGEST_ENTRY = 66;
const DIGEST_MAX = 8;
/** tpm2-tools' bound on the number of TPML_DIGEST structs (tpm2_pcrs.pcr_values[]). */
const MAX_DIGEST_LISTS = 16;

function bad(message: string): QuoteError {
  return new QuoteError('E_QUOTE_PARSE', message);
}

/** Writes tpm2-tools' serialized PCR file for `selection` and its `values` (selection order). */
export function serializePcrs(selection: PcrSelection, values: readonly Uint8Array[]): Uint8Array {
  if (selection.length > SEL_MAX) throw new RangeError(`more than ${SEL_MAX} banks`);
  if (values.length !== selectionSize(selection)) {
    throw new RangeError(`${values.length} values for ${selectionSize(selection)} selected PCRs`);
  }
  const lists = Math.ceil(values.length / DIGEST_MAX);
  if (lists > MAX_DIGEST_LISTS) throw new RangeError(`${values.length} PCR values are too many`);
  const out = new Uint8Array(SEL_STRUCT + 4 + lists * DIGEST_STRUCT);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, selection.length, true);
  selection.forEach((b, i) => {
    const at = 4 + i * SEL_ENTRY;
    const bitmap = pcrBitmap(b.pcrs, 3);
    if (bitmap.length > 4) throw new RangeError('PCR index above 31');
    dv.setUint16(at, b.hash, true);
    out[at + 2] = bitmap.length;
    out.set(bitmap, at + 3);
  });
  dv.setUint32(SEL_STRUCT, lists, true);
  values.forEach((v, i) => {
    if (v.length > 64) throw new RangeError(`PCR value ${i} is longer than 64 bytes`);
    const list = SEL_STRUCT + 4 + Math.floor(i / DIGEST_MAX) * DIGEST_STRUCT;
    const k = i % DIGEST_MAX;
    dv.setUint32(list, Math.min(DIGEST_MAX, values.length - Math.floor(i / DIGEST_MAX) * DIGEST_MAX), true);
    const at = list + 4 + k * DIGEST_ENTRY;
    dv.setUint16(at, v.length, true);
    out.set(v, at + 2);
  });
  return out;
}

/** Reads tpm2-tools' serialized PCR file: the selection and its values in selection order. */
export function parsePcrs(bytes: Uint8Array): { selection: PcrBankSelection[]; values: Uint8Array[] } {
  if (bytes.length < SEL_STRUCT + 4) throw bad(`PCR file of ${bytes.length} bytes is truncated`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = dv.getUint32(0, true);
  if (count > SEL_MAX) throw bad(`PCR file selects ${count} banks (at most ${SEL_MAX})`);
  const selection: PcrBankSelection[] = [];
  for (let i = 0; i < count; i++) {
    const at = 4 + i * SEL_ENTRY;
    const hash = dv.getUint16(at, true);
    const size = bytes[at + 2] ?? 0;
    if (size > 4) throw bad(`PCR file bank ${i}: sizeofSelect ${size} exceeds 4`);
    try {
      hashAlgOf(hash);
    } catch {
      throw bad(`PCR file bank ${i}: unsupported hash 0x${hash.toString(16)}`);
    }
    if (selection.some((b) => b.hash === hash))
      throw bad(`PCR file selects bank 0x${hash.toString(16)} twice`);
    selection.push({ hash, pcrs: pcrsOfBitmap(bytes.subarray(at + 3, at + 3 + size)) });
  }
  const lists = dv.getUint32(SEL_STRUCT, true);
  if (lists > MAX_DIGEST_LISTS)
    throw bad(`PCR file holds ${lists} digest lists (at most ${MAX_DIGEST_LISTS})`);
  if (bytes.length !== SEL_STRUCT + 4 + lists * DIGEST_STRUCT) {
    throw bad(
      `PCR file is ${bytes.length} bytes, expected ${SEL_STRUCT + 4 + lists * DIGEST_STRUCT} for ${lists} lists`,
    );
  }
  const values: Uint8Array[] = [];
  for (let l = 0; l < lists; l++) {
    const base = SEL_STRUCT + 4 + l * DIGEST_STRUCT;
    const n = dv.getUint32(base, true);
    if (n > DIGEST_MAX) throw bad(`PCR file digest list ${l} holds ${n} digests (at most ${DIGEST_MAX})`);
    for (let k = 0; k < n; k++) {
      const at = base + 4 + k * DIGEST_ENTRY;
      const size = dv.getUint16(at, true);
      if (size > 64) throw bad(`PCR file digest ${l}.${k} has size ${size}`);
      values.push(bytes.slice(at + 2, at + 2 + size));
    }
  }
  checkValues(selection, values);
  return { selection, values };
}

function checkValues(selection: PcrSelection, values: readonly Uint8Array[]): void {
  if (values.length !== selectionSize(selection)) {
    throw bad(`${values.length} PCR values for ${selectionSize(selection)} selected PCRs`);
  }
  let k = 0;
  for (const b of selection) {
    const size = digestByteLen(hashAlgOf(b.hash));
    for (const pcr of b.pcrs) {
      if ((values[k++]?.length ?? -1) !== size) throw bad(`PCR ${pcr}: value is not ${size} bytes`);
    }
  }
}

/** Splits quote.pcrs.values by the digest sizes of `selection`'s banks, strictly. */
export function splitValues(selection: PcrSelection, bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const b of selection) {
    const size = digestByteLen(hashAlgOf(b.hash));
    for (const _ of b.pcrs) {
      if (at + size > bytes.length)
        throw bad(`PCR values file of ${bytes.length} bytes is too short for the selection`);
      out.push(bytes.slice(at, at + size));
      at += size;
    }
  }
  if (at !== bytes.length) throw bad(`PCR values file has ${bytes.length - at} bytes beyond the selection`);
  return out;
}
