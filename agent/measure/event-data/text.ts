// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/event-data/text
 *
 * Events whose data is a string (EV_EFI_ACTION, EV_ACTION, EV_IPL, EV_S_CRTM_VERSION, EV_POST_CODE, …) in
 * ASCII, UTF-8 or UCS-2, the EV_SEPARATOR value, and TCG_PCClientTaggedEvent (PFP; EV_EVENT_TAG).
 */
import { ByteReader } from '../../encoding/byte-reader.js';
import { EVENT_DATA, expectEnd, malformed } from './common.js';

/** A text event: EV_EFI_ACTION, EV_ACTION, EV_IPL, EV_S_CRTM_VERSION, EV_POST_CODE, … */
export interface StringEventData {
  readonly kind: 'string';
  readonly encoding: 'ascii' | 'utf8' | 'ucs2';
  readonly text: string;
  /** Whether the data ended with a NUL (one byte for ASCII, two for UCS-2), which `text` omits. */
  readonly nulTerminated: boolean;
}

export interface SeparatorEventData {
  readonly kind: 'EV_SEPARATOR';
  /** 0 per the PFP; Windows uses the ASCII bytes "WBCL" in PCRs 12–14. */
  readonly value: number;
  /** 0xFFFFFFFF: the firmware signals an error (PFP EV_SEPARATOR). */
  readonly error: boolean;
}

export interface TaggedEventData {
  readonly kind: 'TCG_PCClientTaggedEvent';
  readonly taggedEventID: number;
  readonly taggedEventData: Uint8Array;
}

// Only printable ASCII / non-surrogate UCS-2 reaches these decoders, so they map code units one to one.
const ASCII = new TextDecoder('latin1');
// ignoreBOM: a byte-order mark stays in the text, so the text shows every byte that was measured.
const UTF16 = new TextDecoder('utf-16le', { ignoreBOM: true });
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const PRINTABLE_MIN = 0x20;
const PRINTABLE_MAX = 0x7e;
const isText = (c: number): boolean =>
  (c >= PRINTABLE_MIN && c <= PRINTABLE_MAX) || c === 0x09 || c === 0x0a || c === 0x0d;

/** Printable ASCII, optionally NUL-terminated; undefined otherwise (an empty string is text). */
export function asciiString(data: Uint8Array): StringEventData | undefined {
  const nulTerminated = data.length > 0 && data[data.length - 1] === 0;
  const body = nulTerminated ? data.subarray(0, data.length - 1) : data;
  if (!body.every(isText)) return undefined;
  return { kind: 'string', encoding: 'ascii', text: ASCII.decode(body), nulTerminated };
}

/** Valid UTF-8 with no C0 controls other than tab/newline, optionally NUL-terminated; undefined otherwise. */
export function utf8String(data: Uint8Array): StringEventData | undefined {
  const nulTerminated = data.length > 0 && data[data.length - 1] === 0;
  const body = nulTerminated ? data.subarray(0, data.length - 1) : data;
  if (body.some((c) => c < PRINTABLE_MIN && !isText(c))) return undefined;
  try {
    return { kind: 'string', encoding: 'utf8', text: UTF8.decode(body), nulTerminated };
  } catch {
    return undefined;
  }
}

/** UCS-2 LE of printable BMP characters, optionally NUL-terminated; undefined otherwise. */
export function ucs2String(data: Uint8Array): StringEventData | undefined {
  if (data.length % 2 !== 0 || data.length === 0) return undefined;
  const units: number[] = [];
  for (let i = 0; i < data.length; i += 2) units.push((data[i] ?? 0) | ((data[i + 1] ?? 0) << 8));
  const nulTerminated = units[units.length - 1] === 0;
  if (nulTerminated) units.pop();
  if (!units.every((u) => u >= PRINTABLE_MIN && u !== 0x7f && (u < 0xd800 || u > 0xdfff))) return undefined;
  return {
    kind: 'string',
    encoding: 'ucs2',
    text: UTF16.decode(data.subarray(0, units.length * 2)),
    nulTerminated,
  };
}

/**
 * EV_SEPARATOR: a UINT32, 0 normally and 0xFFFFFFFF on error (PFP). Other values are decoded, not
 * rejected: Windows logs "WBCL" (0x4C434257) separators in PCRs 12–14 (go-attestation option_rom_eventlog).
 */
export function decodeSeparator(data: Uint8Array): SeparatorEventData {
  const c = new ByteReader(data, EVENT_DATA);
  const value = c.u32('separator value');
  expectEnd(c, 'the separator value');
  return { kind: 'EV_SEPARATOR', value, error: value === 0xffff_ffff };
}

/** TCG_PCClientTaggedEvent: taggedEventID u32, taggedEventDataSize u32, taggedEventData. */
export function decodeTagged(data: Uint8Array): TaggedEventData {
  const c = new ByteReader(data, EVENT_DATA);
  const taggedEventID = c.u32('taggedEventID');
  const sizeAt = c.pos;
  const size = c.u32('taggedEventDataSize');
  if (size !== c.remaining) malformed(`taggedEventDataSize ${size} but ${c.remaining} bytes follow`, sizeAt);
  return { kind: 'TCG_PCClientTaggedEvent', taggedEventID, taggedEventData: c.take(size, 'taggedEventData') };
}
