// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/event-data/decode
 *
 * decodeEventData: an event's data decoded by its event type into the PFP structure of that type (the
 * decoders of the other modules here), as a value that is never a thrown error.
 */
import { EV, type EventLog, type TcgEvent } from '../eventlog.js';
import { Malformed, malformed } from './common.js';
import {
  decodeBlob,
  decodeBlob2,
  decodeHandoff,
  type UefiHandoffTablePointers,
  type UefiHandoffTablePointers2,
  type UefiPlatformFirmwareBlob,
  type UefiPlatformFirmwareBlob2,
} from './firmware-tables.js';
import { decodeGpt, decodeImageLoad, type UefiGptData, type UefiImageLoadEvent } from './image.js';
import { decodeNoAction, type NoActionEventData } from './no-action.js';
import {
  asciiString,
  decodeSeparator,
  decodeTagged,
  type SeparatorEventData,
  type StringEventData,
  type TaggedEventData,
  ucs2String,
  utf8String,
} from './text.js';
import { decodeVariable, type UefiVariableData } from './variables.js';

/** Code of an undecodable value (a value, not a thrown error: event data is evidence, not input to trust). */
export type EventDataErrorCode = 'E_EVENTDATA_MALFORMED';

export interface RawEventData {
  readonly kind: 'raw';
}

export interface UndecodableEventData {
  readonly kind: 'undecodable';
  readonly code: EventDataErrorCode;
  readonly reason: string;
  /** Byte offset within the event data where decoding failed. */
  readonly at: number;
}

export type DecodedEventData =
  | UefiVariableData
  | UefiImageLoadEvent
  | UefiGptData
  | UefiPlatformFirmwareBlob
  | UefiPlatformFirmwareBlob2
  | UefiHandoffTablePointers
  | UefiHandoffTablePointers2
  | StringEventData
  | SeparatorEventData
  | TaggedEventData
  | NoActionEventData
  | RawEventData
  | UndecodableEventData;

/**
 * Decodes `event.data` by `event.eventType`. `log` supplies the Spec ID event's uintnSize for the UINTN
 * fields of UEFI_IMAGE_LOAD_EVENT and UEFI_HANDOFF_TABLE_POINTERS; without it, the width whose layout
 * accounts for every byte is used. Never throws.
 */
export function decodeEventData(event: TcgEvent, log?: EventLog): DecodedEventData {
  const uintn = log?.specId === undefined ? undefined : log.specId.uintnSize === 1 ? 4 : 8;
  try {
    return decode(event, uintn);
  } catch (e) {
    if (e instanceof Malformed) return undecodable(e.reason, e.at);
    // RangeError from a malformed GUID or a DataView read would be a bug here; still a verdict, not a throw.
    return undecodable(`decoder error: ${e instanceof Error ? e.message : String(e)}`, 0);
  }
}

function undecodable(reason: string, at: number): UndecodableEventData {
  return { kind: 'undecodable', code: 'E_EVENTDATA_MALFORMED', reason, at };
}

function decode(event: TcgEvent, uintn: 4 | 8 | undefined): DecodedEventData {
  const data = event.data;
  switch (event.eventType) {
    case EV.EFI_VARIABLE_DRIVER_CONFIG:
    case EV.EFI_VARIABLE_BOOT:
    case EV.EFI_VARIABLE_BOOT2:
    case EV.EFI_VARIABLE_AUTHORITY:
      return decodeVariable(data, event.eventType);
    case EV.EFI_BOOT_SERVICES_APPLICATION:
    case EV.EFI_BOOT_SERVICES_DRIVER:
    case EV.EFI_RUNTIME_SERVICES_DRIVER:
      return decodeImageLoad(data, uintn);
    case EV.EFI_GPT_EVENT:
    case EV.EFI_GPT_EVENT2:
      return decodeGpt(data);
    case EV.EFI_PLATFORM_FIRMWARE_BLOB:
      return decodeBlob(data);
    case EV.EFI_PLATFORM_FIRMWARE_BLOB2:
      return decodeBlob2(data);
    case EV.EFI_HANDOFF_TABLES:
    case EV.EFI_HANDOFF_TABLES2:
      return decodeHandoff(data, uintn, event.eventType === EV.EFI_HANDOFF_TABLES2);
    case EV.SEPARATOR:
      return decodeSeparator(data);
    case EV.EVENT_TAG:
      return decodeTagged(data);
    case EV.NO_ACTION:
      return decodeNoAction(data);
    case EV.EFI_ACTION:
    case EV.ACTION:
    case EV.EFI_HCRTM_EVENT:
      return asciiString(data) ?? malformed('not printable ASCII text', 0);
    case EV.S_CRTM_VERSION:
      // A UCS-2 version string (PFP); some firmware logs a GUID or bytes instead, kept raw.
      return ucs2String(data) ?? { kind: 'raw' };
    case EV.IPL:
      // grub and shim log ASCII or UTF-8 (grub menu titles: tpm2-tss binary_measurements_hcrtm);
      // systemd-boot/stub log UCS-2 command lines.
      return asciiString(data) ?? utf8String(data) ?? ucs2String(data) ?? { kind: 'raw' };
    case EV.POST_CODE:
      // An ASCII description ("ACPI DATA", "Embedded UEFI Driver"), or a UEFI_PLATFORM_FIRMWARE_BLOB.
      return asciiString(data) ?? (data.length === 16 ? decodeBlob(data) : { kind: 'raw' });
    default:
      return { kind: 'raw' };
  }
}
