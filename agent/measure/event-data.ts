// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/event-data
 *
 * Decodes the event data of TCG PC Client event log records into the structures the TCG PC Client
 * Platform Firmware Profile (PFP) defines for each event type, keeping the PFP's structure and field names:
 * UEFI_VARIABLE_DATA (with EFI_SIGNATURE_LISTs, SecureBoot, BootOrder and EFI_LOAD_OPTION values decoded),
 * UEFI_IMAGE_LOAD_EVENT, UEFI_GPT_DATA, UEFI_PLATFORM_FIRMWARE_BLOB(2), UEFI_HANDOFF_TABLE_POINTERS(2),
 * TCG_PCClientTaggedEvent, the EV_SEPARATOR value, string events, and the EV_NO_ACTION structures (Spec ID
 * events, StartupLocality, SP800-155 platform id events, NV index events). The layouts are checked
 * against tpm2_eventlog's decoding of the 44 real logs in test/vectors/eventlog (event-data.test.ts).
 * NvIndexInstance/NvIndexDynamic are decoded only up to their version field; the rest is kept raw.
 *
 * Event data comes from outside: `decodeEventData` never throws for any event. Data that does not decode
 * for its type is `{ kind: 'undecodable', code: 'E_EVENTDATA_MALFORMED', reason, at }` with `at` the byte
 * offset within the event data where decoding failed. Types without a defined structure are `{ kind: 'raw' }`.
 *
 * Not covered: that the data matches the event's digest (event-check.ts), X.509 parsing of certificates
 * (they are returned as DER bytes), and any UEFI variable value other than those named above.
 */
import { ByteReader, type ByteReaderOptions } from '../encoding/byte-reader.js';
import { DevicePathError, devicePathToText, guidToText, ucs2ToText } from './device-path.js';
import { EV, type EventLog, type SpecIdEvent, type TcgEvent } from './eventlog.js';

/** Code of an undecodable value (a value, not a thrown error: event data is evidence, not input to trust). */
export type EventDataErrorCode = 'E_EVENTDATA_MALFORMED';

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

// EFI_GUIDs, registry format (UEFI spec: EFI_GLOBAL_VARIABLE, image security database, EFI_CERT_*).
export const EFI_GLOBAL_VARIABLE = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
export const EFI_IMAGE_SECURITY_DATABASE_GUID = 'd719b2cb-3d3a-4596-a3bc-dad00e67656f';
export const EFI_CERT_X509_GUID = 'a5c059a1-94e4-4aa7-87b5-ab155c2bf072';
export const EFI_CERT_SHA256_GUID = 'c1c41626-504c-4092-aca9-41f936934328';

/** EFI_SIGNATURE_DATA: SignatureOwner then SignatureData (an X.509 DER cert, a SHA-256 hash, …). */
export interface EfiSignatureData {
  readonly signatureOwner: string;
  readonly signatureData: Uint8Array;
}

/** EFI_SIGNATURE_LIST (UEFI spec, "Signature Database"). */
export interface EfiSignatureList {
  readonly signatureType: string;
  readonly signatureListSize: number;
  readonly signatureHeaderSize: number;
  readonly signatureSize: number;
  readonly signatures: readonly EfiSignatureData[];
}

/** EFI_LOAD_OPTION (UEFI spec, "Load Options"), the value of a Boot#### variable. */
export interface EfiLoadOption {
  readonly attributes: number;
  readonly description: string;
  readonly filePathListLength: number;
  /** The first device path of FilePathList as text, or the reason it does not render. */
  readonly devicePath: string;
  readonly optionalData: Uint8Array;
}

/** A decoded UEFI variable value, by variable. */
export type VariableValue =
  | { readonly type: 'EFI_SIGNATURE_LIST'; readonly lists: readonly EfiSignatureList[] }
  | { readonly type: 'SecureBoot'; readonly present: boolean; readonly enabled: boolean }
  | { readonly type: 'BootOrder'; readonly order: readonly number[] }
  | { readonly type: 'EFI_LOAD_OPTION'; readonly option: EfiLoadOption }
  | { readonly type: 'EFI_SIGNATURE_DATA'; readonly signature: EfiSignatureData }
  | { readonly type: 'undecodable'; readonly reason: string; readonly at: number };

/** UEFI_VARIABLE_DATA, the data of the EV_EFI_VARIABLE_* events. */
export interface UefiVariableData {
  readonly kind: 'UEFI_VARIABLE_DATA';
  /** VariableName: the vendor GUID, registry format. */
  readonly variableName: string;
  readonly unicodeName: string;
  readonly variableData: Uint8Array;
  /** Bytes after VariableData, at most STRUCT_PADDING_TOLERANCE (shim's quirk, see there); normally empty. */
  readonly trailing: Uint8Array;
  /** The value decoded for the variables this module knows; absent for others. */
  readonly value?: VariableValue;
}

export interface UefiImageLoadEvent {
  readonly kind: 'UEFI_IMAGE_LOAD_EVENT';
  readonly imageLocationInMemory: bigint;
  readonly imageLengthInMemory: bigint;
  readonly imageLinkTimeAddress: bigint;
  readonly lengthOfDevicePath: number;
  /** Width of the UINTN fields the decode used (from the Spec ID event, else the one that fits). */
  readonly uintnBytes: 4 | 8;
  readonly devicePath: Uint8Array;
  /** Bytes after DevicePath, at most STRUCT_PADDING_TOLERANCE (shim's quirk, see there); normally empty. */
  readonly trailing: Uint8Array;
  /** UEFI text form, or `undefined` when the device path is malformed (`devicePathError` says why). */
  readonly devicePathText?: string;
  readonly devicePathError?: string;
}

/** UEFI_PARTITION_TABLE_HEADER (UEFI spec, "GPT Header"), the fields a verifier uses. */
export interface GptHeader {
  readonly signature: string;
  readonly revision: number;
  readonly headerSize: number;
  readonly myLBA: bigint;
  readonly alternateLBA: bigint;
  readonly firstUsableLBA: bigint;
  readonly lastUsableLBA: bigint;
  readonly diskGUID: string;
  readonly partitionEntryLBA: bigint;
  readonly numberOfPartitionEntries: number;
  readonly sizeOfPartitionEntry: number;
}

/** UEFI_PARTITION_ENTRY (UEFI spec, "GPT Partition Entry Array"). */
export interface GptPartition {
  readonly partitionTypeGUID: string;
  readonly uniquePartitionGUID: string;
  readonly startingLBA: bigint;
  readonly endingLBA: bigint;
  readonly attributes: bigint;
  readonly partitionName: string;
}

export interface UefiGptData {
  readonly kind: 'UEFI_GPT_DATA';
  readonly uefiPartitionHeader: GptHeader;
  readonly numberOfPartitions: number;
  readonly partitions: readonly GptPartition[];
}

export interface UefiPlatformFirmwareBlob {
  readonly kind: 'UEFI_PLATFORM_FIRMWARE_BLOB';
  readonly blobBase: bigint;
  readonly blobLength: bigint;
}

export interface UefiPlatformFirmwareBlob2 {
  readonly kind: 'UEFI_PLATFORM_FIRMWARE_BLOB2';
  readonly blobDescription: string;
  readonly blobBase: bigint;
  readonly blobLength: bigint;
}

/** UEFI_CONFIGURATION_TABLE: VendorGuid and the VendorTable pointer. */
export interface UefiConfigurationTable {
  readonly vendorGuid: string;
  readonly vendorTable: bigint;
}

export interface UefiHandoffTablePointers {
  readonly kind: 'UEFI_HANDOFF_TABLE_POINTERS';
  readonly tableEntry: readonly UefiConfigurationTable[];
}

export interface UefiHandoffTablePointers2 {
  readonly kind: 'UEFI_HANDOFF_TABLE_POINTERS2';
  readonly tableDescription: string;
  readonly tableEntry: readonly UefiConfigurationTable[];
}

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

export interface SpecIdEventData extends SpecIdEvent {
  readonly kind: 'TCG_EfiSpecIDEvent';
}

/** "Spec ID Event00": TCG_EfiSpecIdEventStruct of a SHA-1-format (TCG 1.2-style) log. */
export interface SpecIdEvent00Data {
  readonly kind: 'TCG_EfiSpecIdEventStruct';
  readonly platformClass: number;
  readonly specVersionMinor: number;
  readonly specVersionMajor: number;
  readonly specErrata: number;
  readonly uintnSize: number;
  readonly vendorInfo: Uint8Array;
}

export interface StartupLocalityData {
  readonly kind: 'TCG_EfiStartupLocalityEvent';
  readonly startupLocality: number;
}

/** TCG_Sp800_155_PlatformId_Event (and Event2/Event3; Event3 adds the RIM and certificate locators). */
export interface Sp800155PlatformIdData {
  readonly kind: 'TCG_Sp800_155_PlatformId_Event';
  readonly signature: string;
  readonly platformManufacturerId: number;
  readonly referenceManifestGuid: string;
  readonly platformManufacturerStr: string;
  readonly platformModel: string;
  readonly platformVersion: string;
  readonly firmwareManufacturerStr: string;
  readonly firmwareManufacturerId: number;
  readonly firmwareVersion: string;
  /** Event3 only. */
  readonly rimLocatorType?: number;
  readonly rimLocator?: Uint8Array;
  readonly platformCertLocatorType?: number;
  readonly platformCertLocator?: Uint8Array;
  /** Bytes after the last field (real GCE firmware pads Event3 with zeros). */
  readonly trailing: Uint8Array;
}

/** "NvIndexInstance" / "NvIndexDynamic" EV_NO_ACTION events: signature and version; the rest is kept raw. */
export interface NvIndexEventData {
  readonly kind: 'TCG_NvIndexEvent';
  readonly signature: 'NvIndexInstance' | 'NvIndexDynamic';
  readonly version: number;
  readonly body: Uint8Array;
}

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
  | SpecIdEventData
  | SpecIdEvent00Data
  | StartupLocalityData
  | Sp800155PlatformIdData
  | NvIndexEventData
  | RawEventData
  | UndecodableEventData;

/** Thrown inside this module only; `decodeEventData` turns it into an UndecodableEventData. */
class Malformed {
  constructor(
    readonly reason: string,
    readonly at: number,
  ) {}
}

function malformed(reason: string, at: number): never {
  throw new Malformed(reason, at);
}

/** Readers over one event's data (offsets from its start): a read past its end makes it Malformed. */
const EVENT_DATA: ByteReaderOptions = { what: 'data', onOverrun: malformed };

function readUintn(c: ByteReader, bytes: 4 | 8, field: string): bigint {
  return bytes === 8 ? c.u64(field) : BigInt(c.u32(field));
}

/** A u64 length that must fit in the remaining bytes times `unit`. */
function readLength64(c: ByteReader, field: string, unit = 1): number {
  const at = c.pos;
  const v = c.u64(field);
  if (v > BigInt(Math.floor(c.remaining / unit)))
    malformed(`${field} ${v} exceeds the ${c.remaining} bytes left`, at);
  return Number(v);
}

function readGuid(c: ByteReader, field: string): string {
  return guidToText(c.take(16, field));
}

function expectEnd(c: ByteReader, what: string): void {
  if (c.remaining !== 0) malformed(`${c.remaining} bytes after the end of ${what}`, c.pos);
}

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

// Only printable ASCII / non-surrogate UCS-2 reaches these decoders, so they map code units one to one.
const ASCII = new TextDecoder('latin1');
const UTF16 = new TextDecoder('utf-16le');
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const PRINTABLE_MIN = 0x20;
const PRINTABLE_MAX = 0x7e;
const isText = (c: number): boolean =>
  (c >= PRINTABLE_MIN && c <= PRINTABLE_MAX) || c === 0x09 || c === 0x0a || c === 0x0d;

/** Printable ASCII, optionally NUL-terminated; undefined otherwise (an empty string is text). */
function asciiString(data: Uint8Array): StringEventData | undefined {
  const nulTerminated = data.length > 0 && data[data.length - 1] === 0;
  const body = nulTerminated ? data.subarray(0, data.length - 1) : data;
  if (!body.every(isText)) return undefined;
  return { kind: 'string', encoding: 'ascii', text: ASCII.decode(body), nulTerminated };
}

/** Valid UTF-8 with no C0 controls other than tab/newline, optionally NUL-terminated; undefined otherwise. */
function utf8String(data: Uint8Array): StringEventData | undefined {
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
function ucs2String(data: Uint8Array): StringEventData | undefined {
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

/** UEFI_VARIABLE_DATA: VariableName GUID, UnicodeNameLength u64, VariableDataLength u64, names, data. */
function decodeVariable(data: Uint8Array, eventType: number): UefiVariableData {
  const c = new ByteReader(data, EVENT_DATA);
  const variableName = readGuid(c, 'VariableName');
  const nameLength = readLength64(c, 'UnicodeNameLength', 2);
  const dataLengthAt = c.pos;
  const dataLength = c.u64('VariableDataLength');
  const unicodeName = ucs2ToText(c.take(nameLength * 2, 'UnicodeName'));
  const extra = BigInt(c.remaining) - dataLength;
  if (extra < 0n || extra > BigInt(STRUCT_PADDING_TOLERANCE)) {
    malformed(`VariableDataLength ${dataLength} but ${c.remaining} bytes follow UnicodeName`, dataLengthAt);
  }
  const variableData = c.take(Number(dataLength), 'VariableData');
  const trailing = c.take(c.remaining, 'trailing');
  const value = variableValue(variableName, unicodeName, variableData, eventType);
  const out: UefiVariableData = {
    kind: 'UEFI_VARIABLE_DATA',
    variableName,
    unicodeName,
    variableData,
    trailing,
  };
  return value === undefined ? out : { ...out, value };
}

const SIGNATURE_DATABASES: ReadonlyMap<string, string> = new Map([
  ['PK', EFI_GLOBAL_VARIABLE],
  ['KEK', EFI_GLOBAL_VARIABLE],
  ['db', EFI_IMAGE_SECURITY_DATABASE_GUID],
  ['dbx', EFI_IMAGE_SECURITY_DATABASE_GUID],
  ['dbt', EFI_IMAGE_SECURITY_DATABASE_GUID],
  ['dbr', EFI_IMAGE_SECURITY_DATABASE_GUID],
]);

function variableValue(
  guid: string,
  name: string,
  data: Uint8Array,
  eventType: number,
): VariableValue | undefined {
  try {
    if (eventType === EV.EFI_VARIABLE_AUTHORITY) {
      // PFP: the db entry that verified an image, i.e. one EFI_SIGNATURE_DATA. shim logs its own
      // certificates ("Shim", "MokList") here as bare DER, which stays undecoded.
      if (SIGNATURE_DATABASES.get(name) !== guid) return undefined;
      const c = new ByteReader(data, EVENT_DATA);
      const signatureOwner = readGuid(c, 'SignatureOwner');
      return {
        type: 'EFI_SIGNATURE_DATA',
        signature: { signatureOwner, signatureData: c.take(c.remaining, 'SignatureData') },
      };
    }
    if (SIGNATURE_DATABASES.get(name) === guid)
      return { type: 'EFI_SIGNATURE_LIST', lists: signatureLists(data) };
    if (guid !== EFI_GLOBAL_VARIABLE) return undefined;
    if (name === 'SecureBoot') {
      // PFP: a variable that does not exist is measured with VariableDataLength 0 (real logs do so).
      if (data.length === 0) return { type: 'SecureBoot', present: false, enabled: false };
      if (data.length !== 1) malformed(`SecureBoot is ${data.length} bytes, not 1`, 0);
      return { type: 'SecureBoot', present: true, enabled: data[0] === 1 };
    }
    if (name === 'BootOrder') {
      const c = new ByteReader(data, EVENT_DATA);
      if (data.length % 2 !== 0) malformed(`BootOrder is ${data.length} bytes, not a list of UINT16`, 0);
      const order: number[] = [];
      while (c.remaining > 0) order.push(c.u16('BootOrder entry'));
      return { type: 'BootOrder', order };
    }
    if (/^Boot[0-9A-F]{4}$/.test(name)) return { type: 'EFI_LOAD_OPTION', option: loadOption(data) };
    return undefined;
  } catch (e) {
    if (e instanceof Malformed) return { type: 'undecodable', reason: e.reason, at: e.at };
    throw e;
  }
}

/** A sequence of EFI_SIGNATURE_LISTs filling `data`. */
function signatureLists(data: Uint8Array): EfiSignatureList[] {
  const c = new ByteReader(data, EVENT_DATA);
  const lists: EfiSignatureList[] = [];
  let count = 0;
  while (c.remaining > 0) {
    const start = c.pos;
    const signatureType = readGuid(c, 'SignatureType');
    const signatureListSize = c.u32('SignatureListSize');
    const signatureHeaderSize = c.u32('SignatureHeaderSize');
    const signatureSize = c.u32('SignatureSize');
    const fixed = 28;
    if (signatureListSize < fixed || signatureListSize > data.length - start) {
      malformed(`SignatureListSize ${signatureListSize} is outside 28..${data.length - start}`, start + 16);
    }
    if (signatureSize < 16)
      malformed(`SignatureSize ${signatureSize} is under 16 (the owner GUID)`, start + 24);
    const body = signatureListSize - fixed;
    if (signatureHeaderSize > body || (body - signatureHeaderSize) % signatureSize !== 0) {
      malformed(
        `SignatureListSize ${signatureListSize} is not 28 + header ${signatureHeaderSize} + n × ${signatureSize}`,
        start + 16,
      );
    }
    c.take(signatureHeaderSize, 'SignatureHeader');
    const n = (body - signatureHeaderSize) / signatureSize;
    count += n;
    if (count > EVENTDATA_LIMITS.maxSignatures)
      malformed(`more than ${EVENTDATA_LIMITS.maxSignatures} signatures`, c.pos);
    const signatures: EfiSignatureData[] = [];
    for (let i = 0; i < n; i++) {
      const signatureOwner = readGuid(c, 'SignatureOwner');
      signatures.push({ signatureOwner, signatureData: c.take(signatureSize - 16, 'SignatureData') });
    }
    lists.push({ signatureType, signatureListSize, signatureHeaderSize, signatureSize, signatures });
  }
  return lists;
}

/** EFI_LOAD_OPTION: Attributes u32, FilePathListLength u16, Description (NUL-terminated UCS-2), paths, data. */
function loadOption(data: Uint8Array): EfiLoadOption {
  const c = new ByteReader(data, EVENT_DATA);
  const attributes = c.u32('Attributes');
  const filePathListLength = c.u16('FilePathListLength');
  const descStart = c.pos;
  let end = descStart;
  while (true) {
    if (end + 2 > data.length) malformed('Description has no NUL terminator', descStart);
    if (data[end] === 0 && data[end + 1] === 0) break;
    end += 2;
  }
  const description = ucs2ToText(c.take(end + 2 - descStart, 'Description'));
  const paths = c.take(filePathListLength, 'FilePathList');
  return {
    attributes,
    description,
    filePathListLength,
    devicePath: pathText(paths).text,
    optionalData: c.take(c.remaining, 'OptionalData'),
  };
}

function pathText(bytes: Uint8Array): { text: string; error?: string } {
  try {
    return { text: devicePathToText(bytes) };
  } catch (e) {
    if (!(e instanceof DevicePathError)) throw e;
    const error = e.message;
    return { text: `<${error}>`, error };
  }
}

/**
 * UEFI_IMAGE_LOAD_EVENT: ImageLocationInMemory (UEFI_PHYSICAL_ADDRESS, 8 bytes), ImageLengthInMemory,
 * ImageLinkTimeAddress and LengthOfDevicePath (UINTN each), then DevicePath.
 */
function decodeImageLoad(data: Uint8Array, uintn: 4 | 8 | undefined): UefiImageLoadEvent {
  const fits = (w: 4 | 8): boolean => {
    if (data.length < 8 + 3 * w) return false;
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const len = w === 8 ? v.getBigUint64(8 + 2 * w, true) : BigInt(v.getUint32(8 + 2 * w, true));
    const extra = BigInt(data.length - (8 + 3 * w)) - len;
    return extra >= 0n && extra <= BigInt(STRUCT_PADDING_TOLERANCE);
  };
  const width: 4 | 8 = uintn ?? (fits(8) || !fits(4) ? 8 : 4);
  const c = new ByteReader(data, EVENT_DATA);
  const imageLocationInMemory = c.u64('ImageLocationInMemory');
  const imageLengthInMemory = readUintn(c, width, 'ImageLengthInMemory');
  const imageLinkTimeAddress = readUintn(c, width, 'ImageLinkTimeAddress');
  const lengthAt = c.pos;
  const length = readUintn(c, width, 'LengthOfDevicePath');
  const extra = BigInt(c.remaining) - length;
  if (extra < 0n || extra > BigInt(STRUCT_PADDING_TOLERANCE)) {
    malformed(`LengthOfDevicePath ${length} but ${c.remaining} bytes follow`, lengthAt);
  }
  const devicePath = c.take(Number(length), 'DevicePath');
  const trailing = c.take(c.remaining, 'trailing');
  const { text, error } = pathText(devicePath);
  const out: UefiImageLoadEvent = {
    kind: 'UEFI_IMAGE_LOAD_EVENT',
    imageLocationInMemory,
    imageLengthInMemory,
    imageLinkTimeAddress,
    lengthOfDevicePath: devicePath.length,
    uintnBytes: width,
    devicePath,
    trailing,
  };
  return error === undefined ? { ...out, devicePathText: text } : { ...out, devicePathError: error };
}

/** GPT header signature. */
const GPT_SIGNATURE = 'EFI PART';
/** UEFI_PARTITION_TABLE_HEADER is 92 bytes; a partition entry at least 128 (UEFI spec, GPT). */
const GPT_HEADER_BYTES = 92;
const GPT_ENTRY_MIN_BYTES = 128;

/** UEFI_GPT_DATA: UEFI_PARTITION_TABLE_HEADER, NumberOfPartitions u64, then that many entries. */
function decodeGpt(data: Uint8Array): UefiGptData {
  const c = new ByteReader(data, EVENT_DATA);
  const signature = String.fromCharCode(...c.take(8, 'Signature'));
  if (signature !== GPT_SIGNATURE)
    malformed(`GPT signature is ${JSON.stringify(signature)}, not "EFI PART"`, 0);
  const revision = c.u32('Revision');
  const headerSize = c.u32('HeaderSize');
  if (headerSize < GPT_HEADER_BYTES) malformed(`HeaderSize ${headerSize} is under ${GPT_HEADER_BYTES}`, 12);
  c.u32('HeaderCRC32');
  c.u32('Reserved');
  const myLBA = c.u64('MyLBA');
  const alternateLBA = c.u64('AlternateLBA');
  const firstUsableLBA = c.u64('FirstUsableLBA');
  const lastUsableLBA = c.u64('LastUsableLBA');
  const diskGUID = readGuid(c, 'DiskGUID');
  const partitionEntryLBA = c.u64('PartitionEntryLBA');
  const numberOfPartitionEntries = c.u32('NumberOfPartitionEntries');
  const sizeOfPartitionEntry = c.u32('SizeOfPartitionEntry');
  c.u32('PartitionEntryArrayCRC32');
  // The logged header is sizeof(EFI_PARTITION_TABLE_HEADER) = 92 bytes, whatever HeaderSize says.
  const countAt = c.pos;
  const count = c.u64('NumberOfPartitions');
  if (sizeOfPartitionEntry < GPT_ENTRY_MIN_BYTES) {
    malformed(`SizeOfPartitionEntry ${sizeOfPartitionEntry} is under ${GPT_ENTRY_MIN_BYTES}`, 84);
  }
  if (count > BigInt(EVENTDATA_LIMITS.maxPartitions)) {
    malformed(`NumberOfPartitions ${count} is over ${EVENTDATA_LIMITS.maxPartitions}`, countAt);
  }
  const n = Number(count);
  if (n * sizeOfPartitionEntry !== c.remaining) {
    malformed(`${n} partitions of ${sizeOfPartitionEntry} bytes but ${c.remaining} bytes follow`, countAt);
  }
  const partitions: GptPartition[] = [];
  for (let i = 0; i < n; i++) {
    const e = new ByteReader(c.take(sizeOfPartitionEntry, 'partition entry'), EVENT_DATA);
    partitions.push({
      partitionTypeGUID: readGuid(e, 'PartitionTypeGUID'),
      uniquePartitionGUID: readGuid(e, 'UniquePartitionGUID'),
      startingLBA: e.u64('StartingLBA'),
      endingLBA: e.u64('EndingLBA'),
      attributes: e.u64('Attributes'),
      partitionName: ucs2ToText(e.take(72, 'PartitionName')),
    });
  }
  return {
    kind: 'UEFI_GPT_DATA',
    uefiPartitionHeader: {
      signature,
      revision,
      headerSize,
      myLBA,
      alternateLBA,
      firstUsableLBA,
      lastUsableLBA,
      diskGUID,
      partitionEntryLBA,
      numberOfPartitionEntries,
      sizeOfPartitionEntry,
    },
    numberOfPartitions: n,
    partitions,
  };
}

/** UEFI_PLATFORM_FIRMWARE_BLOB: BlobBase (UEFI_PHYSICAL_ADDRESS) and BlobLength u64. */
function decodeBlob(data: Uint8Array): UefiPlatformFirmwareBlob {
  const c = new ByteReader(data, EVENT_DATA);
  const blobBase = c.u64('BlobBase');
  const blobLength = c.u64('BlobLength');
  expectEnd(c, 'UEFI_PLATFORM_FIRMWARE_BLOB');
  return { kind: 'UEFI_PLATFORM_FIRMWARE_BLOB', blobBase, blobLength };
}

/** UEFI_PLATFORM_FIRMWARE_BLOB2: BlobDescriptionSize u8, BlobDescription, BlobBase, BlobLength. */
function decodeBlob2(data: Uint8Array): UefiPlatformFirmwareBlob2 {
  const c = new ByteReader(data, EVENT_DATA);
  const size = c.u8('BlobDescriptionSize');
  const blobDescription = asciiText(c.take(size, 'BlobDescription'));
  const blobBase = c.u64('BlobBase');
  const blobLength = c.u64('BlobLength');
  expectEnd(c, 'UEFI_PLATFORM_FIRMWARE_BLOB2');
  return { kind: 'UEFI_PLATFORM_FIRMWARE_BLOB2', blobDescription, blobBase, blobLength };
}

/** UEFI_HANDOFF_TABLE_POINTERS(2): [TableDescriptionSize u8, TableDescription,] NumberOfTables u64, tables. */
function decodeHandoff(
  data: Uint8Array,
  uintn: 4 | 8 | undefined,
  two: boolean,
): UefiHandoffTablePointers | UefiHandoffTablePointers2 {
  const c = new ByteReader(data, EVENT_DATA);
  const tableDescription = two ? asciiText(c.take(c.u8('TableDescriptionSize'), 'TableDescription')) : '';
  const countAt = c.pos;
  const count = c.u64('NumberOfTables');
  if (count > BigInt(EVENTDATA_LIMITS.maxTables))
    malformed(`NumberOfTables ${count} is over ${EVENTDATA_LIMITS.maxTables}`, countAt);
  const n = Number(count);
  const width: 4 | 8 = uintn ?? (c.remaining === n * 20 ? 4 : 8);
  if (c.remaining !== n * (16 + width)) {
    malformed(`${n} tables of ${16 + width} bytes but ${c.remaining} bytes follow`, countAt);
  }
  const tableEntry: UefiConfigurationTable[] = [];
  for (let i = 0; i < n; i++)
    tableEntry.push({
      vendorGuid: readGuid(c, 'VendorGuid'),
      vendorTable: readUintn(c, width, 'VendorTable'),
    });
  return two
    ? { kind: 'UEFI_HANDOFF_TABLE_POINTERS2', tableDescription, tableEntry }
    : { kind: 'UEFI_HANDOFF_TABLE_POINTERS', tableEntry };
}

/**
 * EV_SEPARATOR: a UINT32, 0 normally and 0xFFFFFFFF on error (PFP). Other values are decoded, not
 * rejected: Windows logs "WBCL" (0x4C434257) separators in PCRs 12–14 (go-attestation option_rom_eventlog).
 */
function decodeSeparator(data: Uint8Array): SeparatorEventData {
  const c = new ByteReader(data, EVENT_DATA);
  const value = c.u32('separator value');
  expectEnd(c, 'the separator value');
  return { kind: 'EV_SEPARATOR', value, error: value === 0xffff_ffff };
}

/** TCG_PCClientTaggedEvent: taggedEventID u32, taggedEventDataSize u32, taggedEventData. */
function decodeTagged(data: Uint8Array): TaggedEventData {
  const c = new ByteReader(data, EVENT_DATA);
  const taggedEventID = c.u32('taggedEventID');
  const sizeAt = c.pos;
  const size = c.u32('taggedEventDataSize');
  if (size !== c.remaining) malformed(`taggedEventDataSize ${size} but ${c.remaining} bytes follow`, sizeAt);
  return { kind: 'TCG_PCClientTaggedEvent', taggedEventID, taggedEventData: c.take(size, 'taggedEventData') };
}

/** The 16-byte signatures that open the EV_NO_ACTION structures. */
const NO_ACTION_SIGNATURES = [
  'Spec ID Event03',
  'Spec ID Event00',
  'StartupLocality',
  'SP800-155 Event',
  'SP800-155 Event2',
  'SP800-155 Event3',
  'NvIndexInstance',
  'NvIndexDynamic',
] as const;

function signatureOf(data: Uint8Array): string | undefined {
  if (data.length < 16) return undefined;
  const sig = data.subarray(0, 16);
  for (const s of NO_ACTION_SIGNATURES) {
    // Each is NUL-padded to 16 bytes ("SP800-155 Event3" has no NUL).
    if (s.length <= 16 && [...sig].every((b, i) => b === (i < s.length ? s.charCodeAt(i) : 0))) return s;
  }
  return undefined;
}

/** EV_NO_ACTION data: one of the PFP's signature-tagged structures, else undecodable. */
function decodeNoAction(data: Uint8Array): DecodedEventData {
  const c = new ByteReader(data, EVENT_DATA);
  const signature = signatureOf(data);
  if (signature === undefined) malformed('EV_NO_ACTION data opens with none of the defined signatures', 0);
  c.take(16, 'Signature');
  switch (signature) {
    case 'Spec ID Event03': {
      const platformClass = c.u32('platformClass');
      const specVersionMinor = c.u8('specVersionMinor');
      const specVersionMajor = c.u8('specVersionMajor');
      const specErrata = c.u8('specErrata');
      const uintnSize = c.u8('uintnSize');
      const n = c.u32('numberOfAlgorithms');
      if (n * 4 > c.remaining) malformed(`numberOfAlgorithms ${n} exceeds the data`, c.pos - 4);
      const algorithms = [];
      for (let i = 0; i < n; i++)
        algorithms.push({ algId: c.u16('algorithmId'), digestSize: c.u16('digestSize') });
      const vendorInfo = c.take(c.u8('vendorInfoSize'), 'vendorInfo');
      expectEnd(c, 'TCG_EfiSpecIDEvent');
      return {
        kind: 'TCG_EfiSpecIDEvent',
        platformClass,
        specVersionMinor,
        specVersionMajor,
        specErrata,
        uintnSize,
        algorithms,
        vendorInfo,
      };
    }
    case 'Spec ID Event00': {
      const platformClass = c.u32('platformClass');
      const specVersionMinor = c.u8('specVersionMinor');
      const specVersionMajor = c.u8('specVersionMajor');
      const specErrata = c.u8('specErrata');
      const uintnSize = c.u8('uintnSize');
      const vendorInfo = c.take(c.u8('vendorInfoSize'), 'vendorInfo');
      expectEnd(c, 'TCG_EfiSpecIdEventStruct');
      return {
        kind: 'TCG_EfiSpecIdEventStruct',
        platformClass,
        specVersionMinor,
        specVersionMajor,
        specErrata,
        uintnSize,
        vendorInfo,
      };
    }
    case 'StartupLocality': {
      const startupLocality = c.u8('StartupLocality');
      expectEnd(c, 'TCG_EfiStartupLocalityEvent');
      return { kind: 'TCG_EfiStartupLocalityEvent', startupLocality };
    }
    case 'NvIndexInstance':
    case 'NvIndexDynamic': {
      const version = c.u16('Version');
      return { kind: 'TCG_NvIndexEvent', signature, version, body: c.take(c.remaining, 'body') };
    }
    default:
      return decodeSp800155(c, signature);
  }
}

function sized8(c: ByteReader, field: string): string {
  return asciiText(c.take(c.u8(`${field}Size`), field));
}

/** TCG_Sp800_155_PlatformId_Event(2/3), after the signature. */
function decodeSp800155(c: ByteReader, signature: string): Sp800155PlatformIdData {
  const platformManufacturerId = c.u32('PlatformManufacturerId');
  const referenceManifestGuid = readGuid(c, 'ReferenceManifestGuid');
  const platformManufacturerStr = sized8(c, 'PlatformManufacturerStr');
  const platformModel = sized8(c, 'PlatformModel');
  const platformVersion = sized8(c, 'PlatformVersion');
  const firmwareManufacturerStr = sized8(c, 'FirmwareManufacturerStr');
  const firmwareManufacturerId = c.u32('FirmwareManufacturerId');
  const firmwareVersion = sized8(c, 'FirmwareVersion');
  const base = {
    kind: 'TCG_Sp800_155_PlatformId_Event' as const,
    signature,
    platformManufacturerId,
    referenceManifestGuid,
    platformManufacturerStr,
    platformModel,
    platformVersion,
    firmwareManufacturerStr,
    firmwareManufacturerId,
    firmwareVersion,
  };
  if (signature !== 'SP800-155 Event3') return { ...base, trailing: c.take(c.remaining, 'trailing') };
  const rimLocatorType = c.u32('RIMLocatorType');
  const rimLocator = c.take(c.u32('RIMLocatorLength'), 'RIMLocator');
  const platformCertLocatorType = c.u32('PlatformCertLocatorType');
  const platformCertLocator = c.take(c.u32('PlatformCertLocatorLength'), 'PlatformCertLocator');
  return {
    ...base,
    rimLocatorType,
    rimLocator,
    platformCertLocatorType,
    platformCertLocator,
    trailing: c.take(c.remaining, 'trailing'),
  };
}

/** Bytes as text up to the first NUL (descriptions and SP800-155 strings are NUL-terminated ASCII). */
function asciiText(b: Uint8Array): string {
  let s = '';
  for (const x of b) {
    if (x === 0) break;
    s += String.fromCharCode(x);
  }
  return s;
}
