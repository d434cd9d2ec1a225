// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/event-data/image
 *
 * What a boot loads and from where: UEFI_IMAGE_LOAD_EVENT (PFP; EV_EFI_BOOT_SERVICES_APPLICATION, _DRIVER,
 * EV_EFI_RUNTIME_SERVICES_DRIVER) with its device path as text, and UEFI_GPT_DATA (PFP; EV_EFI_GPT_EVENT),
 * the partition table of the boot disk (UEFI spec, "GUID Partition Table (GPT) Disk Layout").
 */
import { ByteReader } from '../../encoding/byte-reader.js';
import { ucs2ToText } from '../device-path.js';
import {
  EVENT_DATA,
  EVENTDATA_LIMITS,
  malformed,
  pathText,
  readGuid,
  readUintn,
  STRUCT_PADDING_TOLERANCE,
} from './common.js';

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

/**
 * UEFI_IMAGE_LOAD_EVENT: ImageLocationInMemory (UEFI_PHYSICAL_ADDRESS, 8 bytes), ImageLengthInMemory,
 * ImageLinkTimeAddress and LengthOfDevicePath (UINTN each), then DevicePath.
 */
export function decodeImageLoad(data: Uint8Array, uintn: 4 | 8 | undefined): UefiImageLoadEvent {
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
export function decodeGpt(data: Uint8Array): UefiGptData {
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
