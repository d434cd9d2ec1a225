// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/event-data/common
 *
 * What every event-data decoder shares: the limits, the bounded reader over one event's data (a read past
 * its end is `Malformed`, which decodeEventData turns into an undecodable verdict), and the PFP's
 * recurring field shapes (UINTN, u64 lengths, EFI_GUIDs, device paths, NUL-terminated ASCII).
 */
import type { ByteReader, ByteReaderOptions } from '../../encoding/byte-reader.js';
import { DevicePathError, devicePathToText, guidToText } from '../device-path.js';

/** Limits on counts inside one event's data (sizes are already bounded by the log parser's 1 MiB). */
export const EVENTDATA_LIMITS = {
  /** GPT partition entries (real disks log at most 128). */
  maxPartitions: 4096,
  /** EFI_SIGNATURE_DATA entries over all lists of one variable (dbx has a few hundred). */
  maxSignatures: 65_536,
  /** UEFI_CONFIGURATION_TABLE entries of a handoff table event. */
  maxTables: 1024,
} as const;

/**
 * Bytes tolerated after a UEFI_VARIABLE_DATA's VariableData or a UEFI_IMAGE_LOAD_EVENT's DevicePath.
 * shim (tpm_measure_variable, tpm_log_pe) sizes these events with sizeof() of the C structs, whose
 * one-element UnicodeName/VariableData/DevicePath array members and alignment padding add bytes after the
 * declared lengths: seen on the real logs as 6 bytes after shim's "Shim" certificate
 * (EV_EFI_VARIABLE_AUTHORITY) and 8 zero or 9 stale bytes after its PE image events (debian-10,
 * cos-85/93, rhel8-uefi, mb_log, …). The declared lengths still decide the fields; the extra is `trailing`.
 */
export const STRUCT_PADDING_TOLERANCE = 9;

/** Thrown inside the decoders only; `decodeEventData` turns it into an UndecodableEventData. */
export class Malformed {
  constructor(
    readonly reason: string,
    readonly at: number,
  ) {}
}

export function malformed(reason: string, at: number): never {
  throw new Malformed(reason, at);
}

/** Readers over one event's data (offsets from its start): a read past its end makes it Malformed. */
export const EVENT_DATA: ByteReaderOptions = { what: 'data', onOverrun: malformed };

export function readUintn(c: ByteReader, bytes: 4 | 8, field: string): bigint {
  return bytes === 8 ? c.u64(field) : BigInt(c.u32(field));
}

/** A u64 length that must fit in the remaining bytes times `unit`. */
export function readLength64(c: ByteReader, field: string, unit = 1): number {
  const at = c.pos;
  const v = c.u64(field);
  if (v > BigInt(Math.floor(c.remaining / unit)))
    malformed(`${field} ${v} exceeds the ${c.remaining} bytes left`, at);
  return Number(v);
}

export function readGuid(c: ByteReader, field: string): string {
  return guidToText(c.take(16, field));
}

export function expectEnd(c: ByteReader, what: string): void {
  if (c.remaining !== 0) malformed(`${c.remaining} bytes after the end of ${what}`, c.pos);
}

/** A device path as UEFI text, or `<reason>` with the reason when it is malformed. */
export function pathText(bytes: Uint8Array): { text: string; error?: string } {
  try {
    return { text: devicePathToText(bytes) };
  } catch (e) {
    if (!(e instanceof DevicePathError)) throw e;
    const error = e.message;
    return { text: `<${error}>`, error };
  }
}

/** Bytes as text up to the first NUL (descriptions and SP800-155 strings are NUL-terminated ASCII). */
export function asciiText(b: Uint8Array): string {
  let s = '';
  for (const x of b) {
    if (x === 0) break;
    s += String.fromCharCode(x);
  }
  return s;
}
