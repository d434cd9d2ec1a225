// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/device-path
 *
 * UEFI device paths (UEFI specification, "Device Path Protocol": EFI_DEVICE_PATH_PROTOCOL nodes of Type u8,
 * SubType u8, Length u16 LE, then Length − 4 bytes of node data) rendered as the spec's "Device Path Text
 * Representation", the form edk2's DevicePathToText prints, e.g. `PciRoot(0x0)/Pci(0x1,0x1)/Sata(0x0,0xFFFF,0x0)/HD(1,GPT,<guid>,0x800,
 * 0x100000)/\EFI\BOOT\BOOTX64.EFI`. Nodes this module has no text form for print as the spec's generic
 * `Path(type,subtype,hexdata)`, so no node is dropped.
 *
 * The bytes come from an event log, i.e. from outside: every node is bounds-checked, a node shorter than
 * its 4-byte header or longer than the remaining bytes is a `DevicePathError` naming the byte offset, and
 * the node count is bounded. Not checked: that a node's data has the size its type prescribes beyond what
 * rendering it needs (a short known node falls back to the generic form).
 */
import { ExecgateError } from '../errors.js';

export type DevicePathErrorCode = 'E_EVENTDATA_DEVICE_PATH';

/** The bytes are not a well-formed device path; `offset` is the node's byte offset in them. */
export class DevicePathError extends ExecgateError<DevicePathErrorCode> {
  readonly offset: number;

  constructor(message: string, offset: number) {
    super('E_EVENTDATA_DEVICE_PATH', `${message} (at byte ${offset} of the device path)`);
    this.offset = offset;
  }
}

/** Nodes one device path may have; real boot paths have fewer than 10. */
export const MAX_DEVICE_PATH_NODES = 512;

/** One EFI_DEVICE_PATH_PROTOCOL node. */
export interface DevicePathNode {
  readonly type: number;
  readonly subType: number;
  /** Node data after the 4-byte header. */
  readonly data: Uint8Array;
  /** Byte offset of the node within the device path. */
  readonly offset: number;
}

/** Device path node types (UEFI spec, "Generic Device Path Structures"). */
const TYPE = { HARDWARE: 0x01, ACPI: 0x02, MESSAGING: 0x03, MEDIA: 0x04, BBS: 0x05, END: 0x7f } as const;
/** End Entire Device Path and End This Instance sub-types. */
const END_ENTIRE = 0xff;
const END_INSTANCE = 0x01;

/**
 * Splits a device path into nodes, up to and excluding the End Entire node. Bytes after End Entire are
 * not read (a FilePathList may hold several paths; the caller passes one). A path without an End node is
 * accepted when its nodes tile the bytes exactly, as some firmware logs it.
 */
export function parseDevicePath(bytes: Uint8Array): DevicePathNode[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nodes: DevicePathNode[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    if (bytes.length - pos < 4)
      throw new DevicePathError(`${bytes.length - pos} bytes left, a node needs 4`, pos);
    const type = view.getUint8(pos);
    const subType = view.getUint8(pos + 1);
    const length = view.getUint16(pos + 2, true);
    if (length < 4) throw new DevicePathError(`node length ${length} is under 4`, pos);
    if (length > bytes.length - pos) {
      throw new DevicePathError(`node length ${length} exceeds the ${bytes.length - pos} bytes left`, pos);
    }
    if (type === TYPE.END && subType === END_ENTIRE) return nodes;
    if (nodes.length >= MAX_DEVICE_PATH_NODES) {
      throw new DevicePathError(`more than ${MAX_DEVICE_PATH_NODES} nodes`, pos);
    }
    nodes.push({ type, subType, data: bytes.subarray(pos + 4, pos + length), offset: pos });
    pos += length;
  }
  return nodes;
}

/** Device path bytes → UEFI text representation. Throws DevicePathError for malformed bytes. */
export function devicePathToText(bytes: Uint8Array): string {
  let text = '';
  for (const node of parseDevicePath(bytes)) {
    const part = nodeToText(node);
    if (node.type === TYPE.END && node.subType === END_INSTANCE) text += ',';
    else text += text === '' || text.endsWith(',') ? part : `/${part}`;
  }
  return text;
}

/** edk2's DevicePathToText prints numbers as lowercase `0x%x`. */
const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** GUID in registry format, lowercase (EFI_GUID: Data1 u32 LE, Data2 u16 LE, Data3 u16 LE, Data4[8]). */
export function guidToText(b: Uint8Array): string {
  if (b.length !== 16) throw new RangeError(`a GUID is 16 bytes, got ${b.length}`);
  const h = (i: number): string => b[i]?.toString(16).padStart(2, '0') ?? '';
  const range = (idx: number[]): string => idx.map(h).join('');
  return `${range([3, 2, 1, 0])}-${range([5, 4])}-${range([7, 6])}-${range([8, 9])}-${range([10, 11, 12, 13, 14, 15])}`;
}

/** UCS-2 LE up to the first NUL (or the end). */
export function ucs2ToText(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) {
    const c = (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8);
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

function bytesHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function generic(node: DevicePathNode): string {
  const data = node.data.length > 0 ? `,${bytesHex(node.data)}` : '';
  return `Path(${node.type},${node.subType}${data})`;
}

/** A known node's text, or the generic form when its data is shorter than its type needs. */
function nodeToText(node: DevicePathNode): string {
  const d = node.data;
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const need = (n: number): boolean => d.length >= n;
  const u8 = (o: number): number => v.getUint8(o);
  const u16 = (o: number): number => v.getUint16(o, true);
  const u32 = (o: number): number => v.getUint32(o, true);
  const u64 = (o: number): bigint => v.getBigUint64(o, true);
  const guid = (o: number): string => guidToText(d.subarray(o, o + 16));
  const vendor = (name: string): string =>
    need(16) ? `${name}(${guid(0)}${d.length > 16 ? `,${bytesHex(d.subarray(16))}` : ''})` : generic(node);

  switch (node.type) {
    case TYPE.HARDWARE:
      // Hardware: PCI (Function u8, Device u8), Memory Mapped, Vendor, Controller.
      if (node.subType === 0x01 && need(2)) return `Pci(${hex(u8(1))},${hex(u8(0))})`;
      if (node.subType === 0x03 && need(20))
        return `MemoryMapped(${hex(u32(0))},${hex(u64(4))},${hex(u64(12))})`;
      if (node.subType === 0x04) return vendor('VenHw');
      if (node.subType === 0x05 && need(4)) return `Ctrl(${hex(u32(0))})`;
      return generic(node);
    case TYPE.ACPI:
      // ACPI (_HID u32, _UID u32). PNP0A03/PNP0A08 print as PciRoot/PcieRoot.
      if (node.subType === 0x01 && need(8)) {
        const hid = u32(0);
        if (hid === 0x0a0341d0) return `PciRoot(${hex(u32(4))})`;
        if (hid === 0x0a0841d0) return `PcieRoot(${hex(u32(4))})`;
        return `Acpi(${eisaId(hid)},${hex(u32(4))})`;
      }
      if (node.subType === 0x03 && need(4)) return `AcpiAdr(${hex(u32(0))})`;
      return generic(node);
    case TYPE.MESSAGING:
      return messagingText(node, d, need, u8, u16, u32, vendor);
    case TYPE.MEDIA:
      // Media: Hard Drive, CD-ROM, Vendor, File Path, Media Protocol, PIWG firmware file/volume,
      // Relative Offset Range.
      if (node.subType === 0x01 && need(38)) {
        const format = u8(36);
        const sigType = u8(37);
        const sig = d.subarray(20, 36);
        const signature =
          sigType === 0x02 ? guidToText(sig) : sigType === 0x01 ? hex(v.getUint32(20, true)) : bytesHex(sig);
        const fmt = format === 0x02 ? 'GPT' : format === 0x01 ? 'MBR' : hex(format);
        return `HD(${u32(0)},${fmt},${signature},${hex(u64(4))},${hex(u64(12))})`;
      }
      if (node.subType === 0x02 && need(20)) return `CDROM(${hex(u32(0))},${hex(u64(4))},${hex(u64(12))})`;
      if (node.subType === 0x03) return vendor('VenMedia');
      if (node.subType === 0x04) return ucs2ToText(d);
      if (node.subType === 0x05 && need(16)) return `Media(${guid(0)})`;
      if (node.subType === 0x06 && need(16)) return `FvFile(${guid(0)})`;
      if (node.subType === 0x07 && need(16)) return `Fv(${guid(0)})`;
      if (node.subType === 0x08 && need(20)) return `Offset(${hex(u64(4))},${hex(u64(12))})`;
      return generic(node);
    case TYPE.BBS:
      if (node.subType === 0x01 && need(4))
        return `BBS(${hex(u16(0))},${JSON.stringify(ascii(d.subarray(4)))})`;
      return generic(node);
    case TYPE.END:
      return node.subType === END_INSTANCE ? ',' : generic(node);
    default:
      return generic(node);
  }
}

function messagingText(
  node: DevicePathNode,
  d: Uint8Array,
  need: (n: number) => boolean,
  u8: (o: number) => number,
  u16: (o: number) => number,
  u32: (o: number) => number,
  vendor: (name: string) => string,
): string {
  // Messaging nodes, the ones boot paths use.
  switch (node.subType) {
    case 0x01:
      return need(4)
        ? `Ata(${u8(0) === 0 ? 'Primary' : 'Secondary'},${u8(1) === 0 ? 'Master' : 'Slave'},${hex(u16(2))})`
        : generic(node);
    case 0x02:
      return need(4) ? `Scsi(${hex(u16(0))},${hex(u16(2))})` : generic(node);
    case 0x05:
      return need(2) ? `USB(${hex(u8(0))},${hex(u8(1))})` : generic(node);
    case 0x0a:
      return vendor('VenMsg');
    case 0x0b:
      return need(33)
        ? `MAC(${bytesHex(d.subarray(0, 32)).replace(/(00)+$/, '')},${hex(u8(32))})`
        : generic(node);
    case 0x12:
      return need(6) ? `Sata(${hex(u16(0))},${hex(u16(2))},${hex(u16(4))})` : generic(node);
    case 0x17:
      return need(12)
        ? `NVMe(${hex(u32(0))},${Array.from(d.subarray(4, 12), (x) => x.toString(16).padStart(2, '0')).join('-')})`
        : generic(node);
    case 0x18:
      return `Uri(${ascii(d)})`;
    case 0x1a:
      return need(1) ? `eMMC(${hex(u8(0))})` : generic(node);
    default:
      return generic(node);
  }
}

/** A compressed EISA id (ACPI _HID) as "PNPxxxx" text (the EISAID encoding). */
function eisaId(hid: number): string {
  const vendor = hid & 0xffff;
  const letter = (shift: number): string => String.fromCharCode(((vendor >> shift) & 0x1f) + 0x40);
  const product = (hid >>> 16).toString(16).toUpperCase().padStart(4, '0');
  return `${letter(10)}${letter(5)}${letter(0)}${product}`;
}

function ascii(b: Uint8Array): string {
  let s = '';
  for (const c of b) {
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}
