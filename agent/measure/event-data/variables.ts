// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/event-data/variables
 *
 * UEFI_VARIABLE_DATA (PFP), the data of the EV_EFI_VARIABLE_* events, with the values of the variables a
 * verifier reads decoded: the signature databases PK, KEK, db, dbx, dbt, dbr as EFI_SIGNATURE_LISTs
 * (UEFI spec, "Signature Database"), the db entry of an EV_EFI_VARIABLE_AUTHORITY as one
 * EFI_SIGNATURE_DATA, SecureBoot, BootOrder, and Boot#### as EFI_LOAD_OPTION (UEFI spec, "Load Options").
 */
import { ByteReader } from '../../encoding/byte-reader.js';
import { ucs2ToText } from '../device-path.js';
import { EV } from '../eventlog.js';
import {
  EVENT_DATA,
  EVENTDATA_LIMITS,
  Malformed,
  malformed,
  pathText,
  readGuid,
  readLength64,
  STRUCT_PADDING_TOLERANCE,
} from './common.js';

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

/** UEFI_VARIABLE_DATA: VariableName GUID, UnicodeNameLength u64, VariableDataLength u64, names, data. */
export function decodeVariable(data: Uint8Array, eventType: number): UefiVariableData {
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
