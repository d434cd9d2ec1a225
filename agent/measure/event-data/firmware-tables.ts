// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/event-data/firmware-tables
 *
 * Where firmware code and tables were in memory: UEFI_PLATFORM_FIRMWARE_BLOB and _BLOB2 (PFP;
 * EV_EFI_PLATFORM_FIRMWARE_BLOB(2), and EV_POST_CODE when it carries one), and
 * UEFI_HANDOFF_TABLE_POINTERS and _POINTERS2 (PFP; EV_EFI_HANDOFF_TABLES(2)).
 */
import { ByteReader } from '../../encoding/byte-reader.js';
import {
  asciiText,
  EVENT_DATA,
  EVENTDATA_LIMITS,
  expectEnd,
  malformed,
  readGuid,
  readUintn,
} from './common.js';

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

/** UEFI_PLATFORM_FIRMWARE_BLOB: BlobBase (UEFI_PHYSICAL_ADDRESS) and BlobLength u64. */
export function decodeBlob(data: Uint8Array): UefiPlatformFirmwareBlob {
  const c = new ByteReader(data, EVENT_DATA);
  const blobBase = c.u64('BlobBase');
  const blobLength = c.u64('BlobLength');
  expectEnd(c, 'UEFI_PLATFORM_FIRMWARE_BLOB');
  return { kind: 'UEFI_PLATFORM_FIRMWARE_BLOB', blobBase, blobLength };
}

/** UEFI_PLATFORM_FIRMWARE_BLOB2: BlobDescriptionSize u8, BlobDescription, BlobBase, BlobLength. */
export function decodeBlob2(data: Uint8Array): UefiPlatformFirmwareBlob2 {
  const c = new ByteReader(data, EVENT_DATA);
  const size = c.u8('BlobDescriptionSize');
  const blobDescription = asciiText(c.take(size, 'BlobDescription'));
  const blobBase = c.u64('BlobBase');
  const blobLength = c.u64('BlobLength');
  expectEnd(c, 'UEFI_PLATFORM_FIRMWARE_BLOB2');
  return { kind: 'UEFI_PLATFORM_FIRMWARE_BLOB2', blobDescription, blobBase, blobLength };
}

/** UEFI_HANDOFF_TABLE_POINTERS(2): [TableDescriptionSize u8, TableDescription,] NumberOfTables u64, tables. */
export function decodeHandoff(
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
