// SPDX-License-Identifier: Apache-2.0
// Event data decoding: every event of every real log decodes (the one exception named), fields agree with
// tpm2_eventlog (the installed tool and the vendored efivar-built YAML), GPT agrees with device paths,
// the firmware quirks are decoded as documented, synthetic structures, and hostile bytes never throw.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DevicePathError, devicePathToText, parseDevicePath } from '../../agent/measure/device-path.js';
import {
  type DecodedEventData,
  decodeEventData,
  EFI_CERT_X509_GUID,
  EFI_GLOBAL_VARIABLE,
} from '../../agent/measure/event-data/index.js';
import { EV, type EventLog, type TcgEvent } from '../../agent/measure/eventlog.js';
import {
  EVENTLOG_DIR,
  loadEventLog,
  PRETTY_DIR,
  parseTpm2EventlogYaml,
  REAL_LOGS,
  tpm2Eventlog,
} from '../helpers/eventlog-vectors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const DIR = EVENTLOG_DIR;
const PRETTY = PRETTY_DIR;
const LOGS = REAL_LOGS;
const load = loadEventLog;
const parseYaml = parseTpm2EventlogYaml;

function eventAt(log: EventLog, index: number): TcgEvent {
  const e = log.events[index];
  if (e === undefined) throw new Error(`no event ${index}`);
  return e;
}

function decodeAt(name: string, index: number): DecodedEventData {
  const log = load(name);
  return decodeEventData(eventAt(log, index), log);
}

/** The structure each type decodes to on the real logs (EV_IPL/EV_POST_CODE: text or raw bytes). */
const KINDS: ReadonlyMap<number, readonly string[]> = new Map([
  [EV.SEPARATOR, ['EV_SEPARATOR']],
  [EV.EFI_ACTION, ['string']],
  [EV.EFI_VARIABLE_DRIVER_CONFIG, ['UEFI_VARIABLE_DATA']],
  [EV.EFI_VARIABLE_BOOT, ['UEFI_VARIABLE_DATA']],
  [EV.EFI_VARIABLE_AUTHORITY, ['UEFI_VARIABLE_DATA']],
  [EV.EFI_BOOT_SERVICES_APPLICATION, ['UEFI_IMAGE_LOAD_EVENT']],
  [EV.EFI_BOOT_SERVICES_DRIVER, ['UEFI_IMAGE_LOAD_EVENT']],
  [EV.EFI_RUNTIME_SERVICES_DRIVER, ['UEFI_IMAGE_LOAD_EVENT']],
  [EV.EFI_GPT_EVENT, ['UEFI_GPT_DATA']],
  [EV.EFI_PLATFORM_FIRMWARE_BLOB, ['UEFI_PLATFORM_FIRMWARE_BLOB']],
  [EV.EFI_HANDOFF_TABLES, ['UEFI_HANDOFF_TABLE_POINTERS']],
  [EV.EVENT_TAG, ['TCG_PCClientTaggedEvent']],
  [EV.S_CRTM_VERSION, ['string', 'raw']],
  [EV.IPL, ['string', 'raw']],
  [EV.POST_CODE, ['string', 'UEFI_PLATFORM_FIRMWARE_BLOB']],
  [EV.EFI_HCRTM_EVENT, ['string']],
  [
    EV.NO_ACTION,
    ['TCG_EfiSpecIDEvent', 'TCG_EfiStartupLocalityEvent', 'TCG_Sp800_155_PlatformId_Event', 'undecodable'],
  ],
]);

describe('real logs: every event decodes', () => {
  it('covers the real logs', () => {
    expect(LOGS.length).toBe(44);
  });

  it("every event decodes to its structure; the only undecodable one is Windows' non-PFP EV_NO_ACTION", () => {
    const undecodable: string[] = [];
    let events = 0;
    for (const name of LOGS) {
      const log = load(name);
      for (const e of log.events) {
        events++;
        const d = decodeEventData(e, log);
        const kinds = KINDS.get(e.eventType) ?? ['raw'];
        expect(kinds, `${name} ${e.index} ${e.typeName}`).toContain(d.kind);
        const valueBad = d.kind === 'UEFI_VARIABLE_DATA' && d.value?.type === 'undecodable';
        const pathBad = d.kind === 'UEFI_IMAGE_LOAD_EVENT' && d.devicePathError !== undefined;
        if (d.kind === 'undecodable' || valueBad || pathBad) undecodable.push(`${name}#${e.index}`);
      }
    }
    // The event counts expected_pcrs.json states for these logs.
    const stated = JSON.parse(readFileSync(join(DIR, 'expected_pcrs.json'), 'utf8')) as Record<
      string,
      { events_including_header?: number }
    >;
    expect(events).toBe(LOGS.reduce((n, name) => n + (stated[name]?.events_including_header ?? 0), 0));
    // A Windows boot log entry in "PCR" 0xFFFFFFFF whose data is a Windows SIPA structure, not a PFP one.
    expect(undecodable).toEqual(['go-attestation/option_rom_eventlog#60']);
  });

  it('a typed undecodable value names the offset', () => {
    const d = decodeAt('go-attestation/option_rom_eventlog', 60);
    expect(d).toMatchObject({ kind: 'undecodable', code: 'E_EVENTDATA_MALFORMED', at: 0 });
  });
});

describe('differential: fields equal the installed tpm2_eventlog output', () => {
  const compared = { image: 0, variable: 0, blob: 0 };
  const accepted: string[] = [];
  for (const name of LOGS) {
    it(name, () => {
      const yaml = tpm2Eventlog(name);
      if (yaml === undefined) return;
      accepted.push(name);
      const log = load(name);
      for (const y of yaml) {
        const d = decodeEventData(eventAt(log, y.num), log);
        const f = y.fields;
        if (f.has('ImageLocationInMemory') && d.kind === 'UEFI_IMAGE_LOAD_EVENT') {
          compared.image++;
          expect(`0x${d.imageLocationInMemory.toString(16)}`).toBe(f.get('ImageLocationInMemory'));
          expect(String(d.imageLengthInMemory)).toBe(f.get('ImageLengthInMemory'));
          expect(String(d.lengthOfDevicePath)).toBe(f.get('LengthOfDevicePath'));
          // tpm2_eventlog prints every byte after the fixed fields, shim's padding included.
          expect(`'${hex(d.devicePath)}${hex(d.trailing)}'`).toBe(f.get('DevicePath'));
        }
        if (f.has('VariableName')) {
          if (d.kind !== 'UEFI_VARIABLE_DATA') throw new Error(`${name} ${y.num} is ${d.kind}`);
          compared.variable++;
          expect(d.variableName).toBe(f.get('VariableName'));
          expect(d.unicodeName).toBe(f.get('UnicodeName'));
          expect(String(d.variableData.length)).toBe(f.get('VariableDataLength'));
        }
        if (f.has('BlobBase') && d.kind === 'UEFI_PLATFORM_FIRMWARE_BLOB') {
          compared.blob++;
          expect(`0x${d.blobBase.toString(16)}`).toBe(f.get('BlobBase'));
          expect(`0x${d.blobLength.toString(16)}`).toBe(f.get('BlobLength'));
        }
      }
    });
  }
  it('the differential ran on most logs and on every field kind', () => {
    expect(accepted.length).toBeGreaterThanOrEqual(40);
    expect(compared.image).toBeGreaterThan(100);
    expect(compared.variable).toBeGreaterThan(300);
    expect(compared.blob).toBeGreaterThan(20);
  });
});

/**
 * efivar (which the vendored event-pretty YAML was made with) spells some nodes differently from the UEFI
 * text form: File(x) for a bare path, FvVol/Fv for Fv/FvFile, decimal SCSI/Sata numbers, lowercase hex.
 */
function fromEfivar(text: string): string {
  return text
    .replace(/File\(([^)]*)\)/g, '$1')
    .replace(/FvVol\(([^)]*)\)/g, 'Fv($1)')
    .replace(/\/Fv([0-9a-f-]{36})/g, '/FvFile($1)')
    .replace(/SCSI\((\d+),(\d+)\)/g, (_, a: string, b: string) => `Scsi(${hx(a)},${hx(b)})`)
    .replace(
      /Sata\((\d+),(\d+),(\d+)\)/g,
      (_, a: string, b: string, c: string) => `Sata(${hx(a)},${hx(b)},${hx(c)})`,
    );
}
const hx = (dec: string): string => `0x${Number(dec).toString(16)}`;

describe('device paths equal the efivar-built tpm2_eventlog YAML (vendored event-pretty)', () => {
  it('every device path text, except the two node kinds efivar prints in its own form', () => {
    let compared = 0;
    const skipped: string[] = [];
    for (const file of readdirSync(PRETTY)) {
      const name = `tpm2-tools/${file.replace(/\.yaml$/, '')}`;
      const log = load(name);
      for (const y of parseYaml(readFileSync(join(PRETTY, file), 'utf8'))) {
        const theirs = /DevicePath: '([^']*)'/.exec(y.body)?.[1];
        if (theirs === undefined) continue;
        const d = decodeEventData(eventAt(log, y.num), log);
        const ours =
          d.kind === 'UEFI_IMAGE_LOAD_EVENT'
            ? d.devicePathText
            : d.kind === 'UEFI_VARIABLE_DATA' && d.value?.type === 'EFI_LOAD_OPTION'
              ? d.value.option.devicePath
              : undefined;
        // BBS(HD,desc,0x0) and IPv4(…) are efivar-only spellings; this module prints BBS per the UEFI
        // text form and IPv4 as the generic Path(3,12,…).
        if (/BBS\(|IPv4\(/.test(theirs)) {
          skipped.push(`${name}#${y.num}`);
          continue;
        }
        compared++;
        expect(ours, `${name}#${y.num}`).toBe(fromEfivar(theirs));
      }
    }
    expect(compared).toBe(34);
    expect(skipped).toEqual([
      'tpm2-tools/event-gce-ubuntu-2104-log.bin#13',
      'tpm2-tools/event-postcode.bin#38',
    ]);
  });

  it('EFI_SIGNATURE_LIST types and owners equal the YAML', () => {
    let lists = 0;
    for (const file of readdirSync(PRETTY)) {
      const name = `tpm2-tools/${file.replace(/\.yaml$/, '')}`;
      const log = load(name);
      for (const y of parseYaml(readFileSync(join(PRETTY, file), 'utf8'))) {
        if (!y.body.includes('SignatureType:') || y.type !== 'EV_EFI_VARIABLE_DRIVER_CONFIG') continue;
        const d = decodeEventData(eventAt(log, y.num), log);
        if (d.kind !== 'UEFI_VARIABLE_DATA' || d.value?.type !== 'EFI_SIGNATURE_LIST') {
          throw new Error(`${name}#${y.num} did not decode as signature lists`);
        }
        const types = [...y.body.matchAll(/SignatureType: (\S+)/g)].map((m) => m[1]);
        const sizes = [...y.body.matchAll(/SignatureListSize: (\d+)/g)].map((m) => Number(m[1]));
        const owners = [...y.body.matchAll(/SignatureOwner: (\S+)/g)].map((m) => m[1]);
        expect(d.value.lists.map((l) => l.signatureType)).toEqual(types);
        expect(d.value.lists.map((l) => l.signatureListSize)).toEqual(sizes);
        expect(d.value.lists.flatMap((l) => l.signatures.map((s) => s.signatureOwner))).toEqual(owners);
        lists += types.length;
      }
    }
    expect(lists).toBeGreaterThan(20);
  });
});

describe('structures cross-checked against other data in the same log', () => {
  it('the GPT partition of the boot device path has the GUID, start and size the HD() node names', () => {
    let checked = 0;
    for (const name of LOGS) {
      const log = load(name);
      const decoded = log.events.map((e) => decodeEventData(e, log));
      const gpt = decoded.find((d) => d.kind === 'UEFI_GPT_DATA');
      if (gpt?.kind !== 'UEFI_GPT_DATA') continue;
      for (const d of decoded) {
        if (d.kind !== 'UEFI_IMAGE_LOAD_EVENT') continue;
        const hd = /HD\((\d+),GPT,([0-9a-f-]{36}),0x([0-9a-f]+),0x([0-9a-f]+)\)/.exec(d.devicePathText ?? '');
        if (hd === null) continue;
        const part = gpt.partitions.find((p) => p.uniquePartitionGUID === hd[2]);
        expect(part, `${name} ${hd[0]}`).toBeDefined();
        expect(part?.startingLBA).toBe(BigInt(`0x${hd[3]}`));
        expect((part?.endingLBA ?? 0n) - (part?.startingLBA ?? 0n) + 1n).toBe(BigInt(`0x${hd[4]}`));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('a Boot#### EFI_LOAD_OPTION: attributes, description and device path (event-bootorder #13)', () => {
    // tpm2-tools' event-pretty YAML gives the raw VariableData: 01000000 1600 "UEFI Misc Device\0" + path,
    // and BootOrder "010000000200".
    const d = decodeAt('tpm2-tools/event-bootorder.bin', 13);
    if (d.kind !== 'UEFI_VARIABLE_DATA' || d.value?.type !== 'EFI_LOAD_OPTION') throw new Error(d.kind);
    expect(d.unicodeName).toBe('Boot0001');
    expect(d.value.option).toMatchObject({
      attributes: 1,
      description: 'UEFI Misc Device',
      filePathListLength: 0x16,
      devicePath: 'PciRoot(0x0)/Pci(0x6,0x0)',
    });
    expect(hex(d.value.option.optionalData)).toBe('4eac0881119f594d850ee21a522c59b2');
    const order = decodeAt('tpm2-tools/event-bootorder.bin', 12);
    expect(order).toMatchObject({
      kind: 'UEFI_VARIABLE_DATA',
      value: { type: 'BootOrder', order: [1, 0, 2] },
    });
  });

  it('SecureBoot: one byte when present; an absent variable is logged with no data (PFP)', () => {
    const on = decodeAt('tpm2-tools/event-moklisttrusted.bin', 4);
    expect(on).toMatchObject({ value: { type: 'SecureBoot', present: true, enabled: true } });
    // go-tpm-tools notes "SecureBoot data len is 0" for this log (expected_pcrs.json).
    const absent = decodeAt('go-tpm-tools/arch-linux-workstation.bin', 3);
    expect(absent).toMatchObject({ unicodeName: 'SecureBoot', value: { present: false, enabled: false } });
  });

  it("shim's sizeof padding: 6 bytes after its certificate, 8 or 9 after an image's device path", () => {
    const shimCert = decodeAt('go-tpm-tools/debian-10.bin', 23);
    if (shimCert.kind !== 'UEFI_VARIABLE_DATA') throw new Error(shimCert.kind);
    expect(shimCert.unicodeName).toBe('Shim');
    expect(shimCert.trailing.length).toBe(6);
    // VariableData is exactly one DER certificate: SEQUENCE with a two-byte length.
    const v = shimCert.variableData;
    expect([v[0], v[1]]).toEqual([0x30, 0x82]);
    expect(v.length).toBe(4 + (((v[2] ?? 0) << 8) | (v[3] ?? 0)));
    const image = decodeAt('keylime/mb_log.bin', 28);
    expect(image).toMatchObject({ kind: 'UEFI_IMAGE_LOAD_EVENT', lengthOfDevicePath: 56 });
    if (image.kind !== 'UEFI_IMAGE_LOAD_EVENT') throw new Error(image.kind);
    expect(hex(image.trailing)).toBe('0000000000000000');
    expect(image.devicePathText).toBe('\\EFI\\centos\\grubx64.efi');
    const empty = decodeAt('go-attestation/sb_cert_eventlog', 11);
    expect(empty).toMatchObject({ kind: 'UEFI_IMAGE_LOAD_EVENT', lengthOfDevicePath: 0, devicePathText: '' });
  });

  it('Windows separators carry "WBCL" in PCRs 12–14 and decode as values', () => {
    const d = decodeAt('go-attestation/option_rom_eventlog', 55);
    expect(d).toEqual({ kind: 'EV_SEPARATOR', value: 0x4c434257, error: false });
  });

  it('SP800-155 Event3 of a GCE log', () => {
    const d = decodeAt('go-tpm-tools/eventlogwithsp800155.bin', 2);
    expect(d).toMatchObject({
      kind: 'TCG_Sp800_155_PlatformId_Event',
      signature: 'SP800-155 Event3',
      platformManufacturerId: 0x2b79,
      platformManufacturerStr: 'Google, Inc.',
      platformModel: 'Google Compute Engine',
      firmwareManufacturerStr: 'Google, Inc.',
      firmwareVersion: '2.7',
      rimLocatorType: 1,
    });
    if (d.kind !== 'TCG_Sp800_155_PlatformId_Event') throw new Error(d.kind);
    expect(Buffer.from(d.rimLocator ?? []).toString('latin1')).toMatch(
      /^https:\/\/storage\.googleapis\.com\//,
    );
  });

  it('the Spec ID event, StartupLocality and an H-CRTM string', () => {
    const log = load('go-tpm-tools/glinux-alex.bin');
    const spec = decodeEventData(eventAt(log, 0), log);
    expect(spec).toMatchObject({ kind: 'TCG_EfiSpecIDEvent', specVersionMajor: 2, uintnSize: 2 });
    if (spec.kind !== 'TCG_EfiSpecIDEvent') throw new Error(spec.kind);
    expect(spec.algorithms).toEqual(log.specId?.algorithms);
    expect(decodeEventData(eventAt(log, 1), log)).toEqual({
      kind: 'TCG_EfiStartupLocalityEvent',
      startupLocality: 3,
    });
    const hcrtm = load('tpm2-tss/binary_measurements_hcrtm.bin');
    const e = hcrtm.events.find((x) => x.eventType === EV.EFI_HCRTM_EVENT);
    if (e === undefined) throw new Error('no H-CRTM event');
    expect(decodeEventData(e, hcrtm)).toMatchObject({ kind: 'string', text: 'HCRTM' });
  });
});

/** A synthetic event with the given type and data. */
function ev(eventType: number, data: Uint8Array, pcrIndex = 0): TcgEvent {
  return { index: 1, offset: 0, pcrIndex, eventType, typeName: 'x', digests: [], data };
}

function bytes(...parts: (Uint8Array | number[] | string)[]): Uint8Array {
  const chunks = parts.map((p) => (typeof p === 'string' ? new TextEncoder().encode(p) : Uint8Array.from(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
const u16 = (v: number): number[] => [v & 0xff, v >>> 8];
const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const u64 = (v: number): number[] => [...u32(v), 0, 0, 0, 0];
const ucs2 = (s: string): number[] => [...s].flatMap((c) => u16(c.charCodeAt(0)));
const GUID = Array.from({ length: 16 }, (_, i) => i);
const GUID_TEXT = '03020100-0504-0706-0809-0a0b0c0d0e0f';
/** A file path node for "\A" and End Entire. */
const PATH = [4, 4, ...u16(8), ...ucs2('\\A'), 0x7f, 0xff, ...u16(4)];
const withUintn = (uintnSize: 1 | 2): EventLog =>
  ({
    format: 'crypto-agile',
    specId: {
      platformClass: 0,
      specVersionMinor: 0,
      specVersionMajor: 2,
      specErrata: 0,
      uintnSize,
      algorithms: [],
      vendorInfo: new Uint8Array(),
    },
    algorithms: [],
    events: [],
  }) as EventLog;

describe('synthetic structures', () => {
  it('UEFI_IMAGE_LOAD_EVENT: UINTN fields follow the Spec ID uintnSize', () => {
    const wide = bytes(u64(0x1000), u64(0x200), u64(0), u64(PATH.length), PATH);
    const narrow = bytes(u64(0x1000), u32(0x200), u32(0), u32(PATH.length), PATH);
    const type = EV.EFI_BOOT_SERVICES_APPLICATION;
    expect(decodeEventData(ev(type, wide), withUintn(2))).toMatchObject({
      uintnBytes: 8,
      devicePathText: '\\A',
    });
    expect(decodeEventData(ev(type, narrow), withUintn(1))).toMatchObject({
      uintnBytes: 4,
      imageLengthInMemory: 0x200n,
      devicePathText: '\\A',
    });
    // Without a Spec ID event, the width whose layout accounts for every byte.
    expect(decodeEventData(ev(type, narrow))).toMatchObject({ uintnBytes: 4 });
    expect(decodeEventData(ev(type, narrow), withUintn(2))).toMatchObject({ kind: 'undecodable' });
  });

  it('handoff tables, BLOB2, tagged event, Spec ID Event00, NV index', () => {
    const tables = bytes(u64(1), GUID, u64(0xabc));
    expect(decodeEventData(ev(EV.EFI_HANDOFF_TABLES, tables), withUintn(2))).toEqual({
      kind: 'UEFI_HANDOFF_TABLE_POINTERS',
      tableEntry: [{ vendorGuid: GUID_TEXT, vendorTable: 0xabcn }],
    });
    const tables2 = bytes([4], 'ACPI', u64(1), GUID, u32(0xabc));
    expect(decodeEventData(ev(EV.EFI_HANDOFF_TABLES2, tables2), withUintn(1))).toMatchObject({
      kind: 'UEFI_HANDOFF_TABLE_POINTERS2',
      tableDescription: 'ACPI',
    });
    const blob2 = bytes([5], 'Fv\0\0\0', u64(0x10), u64(0x20));
    expect(decodeEventData(ev(EV.EFI_PLATFORM_FIRMWARE_BLOB2, blob2))).toEqual({
      kind: 'UEFI_PLATFORM_FIRMWARE_BLOB2',
      blobDescription: 'Fv',
      blobBase: 0x10n,
      blobLength: 0x20n,
    });
    const tagged = bytes(u32(7), u32(2), [1, 2]);
    expect(decodeEventData(ev(EV.EVENT_TAG, tagged))).toMatchObject({
      kind: 'TCG_PCClientTaggedEvent',
      taggedEventID: 7,
    });
    expect(decodeEventData(ev(EV.EVENT_TAG, bytes(u32(7), u32(3), [1, 2])))).toMatchObject({
      kind: 'undecodable',
      at: 4,
    });
    const event00 = bytes('Spec ID Event00\0', u32(0), [2, 1, 0, 2], [0]);
    expect(decodeEventData(ev(EV.NO_ACTION, event00))).toMatchObject({
      kind: 'TCG_EfiSpecIdEventStruct',
      specVersionMajor: 1,
      specVersionMinor: 2,
    });
    const nv = bytes('NvIndexInstance\0', u16(1), [9, 9]);
    expect(decodeEventData(ev(EV.NO_ACTION, nv))).toMatchObject({ kind: 'TCG_NvIndexEvent', version: 1 });
  });

  it('UEFI_VARIABLE_DATA length inconsistencies are undecodable at the length field', () => {
    const good = bytes(GUID, u64(1), u64(2), ucs2('X'), [1, 2]);
    expect(decodeEventData(ev(EV.EFI_VARIABLE_DRIVER_CONFIG, good))).toMatchObject({ unicodeName: 'X' });
    const long = bytes(GUID, u64(1), u64(20), ucs2('X'), [1, 2]);
    expect(decodeEventData(ev(EV.EFI_VARIABLE_DRIVER_CONFIG, long))).toMatchObject({
      kind: 'undecodable',
      at: 24,
    });
    const huge = bytes(GUID, u64(0xffff_ffff), u64(0));
    expect(decodeEventData(ev(EV.EFI_VARIABLE_DRIVER_CONFIG, huge))).toMatchObject({
      kind: 'undecodable',
      at: 16,
    });
    // A db whose signature list claims more bytes than it has.
    const db = bytes(
      [0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45, 0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f],
      u64(2),
      u64(28),
      ucs2('db'),
      GUID,
      u32(100),
      u32(0),
      u32(16),
    );
    const d = decodeEventData(ev(EV.EFI_VARIABLE_DRIVER_CONFIG, db));
    expect(d).toMatchObject({ kind: 'UEFI_VARIABLE_DATA', value: { type: 'undecodable', at: 16 } });
  });

  it('X.509 entries of a real db are DER certificates with the X.509 signature type', () => {
    const d = decodeAt('tpm2-tools/event-moklisttrusted.bin', 7);
    if (d.kind !== 'UEFI_VARIABLE_DATA' || d.value?.type !== 'EFI_SIGNATURE_LIST') throw new Error(d.kind);
    expect(d.unicodeName).toBe('db');
    for (const list of d.value.lists) {
      expect(list.signatureType).toBe(EFI_CERT_X509_GUID);
      for (const s of list.signatures) expect([s.signatureData[0], s.signatureData[1]]).toEqual([0x30, 0x82]);
    }
    expect(d.variableName).not.toBe(EFI_GLOBAL_VARIABLE);
  });

  it('device paths: instances, generic nodes, malformed nodes with their offset', () => {
    const pci = [1, 1, ...u16(6), 1, 2];
    const end = [0x7f, 0xff, ...u16(4)];
    const instance = [0x7f, 0x01, ...u16(4)];
    expect(devicePathToText(Uint8Array.from([...pci, ...instance, ...pci, ...end]))).toBe(
      'Pci(0x2,0x1),Pci(0x2,0x1)',
    );
    expect(devicePathToText(Uint8Array.from([9, 9, ...u16(6), 0xab, 0xcd, ...end]))).toBe('Path(9,9,abcd)');
    expect(devicePathToText(Uint8Array.from([1, 1, ...u16(5), 1, ...end]))).toBe('Path(1,1,01)');
    const short = Uint8Array.from([...pci, 1, 1, ...u16(3)]);
    expect(() => parseDevicePath(short)).toThrow(DevicePathError);
    try {
      parseDevicePath(short);
    } catch (e) {
      expect([(e as DevicePathError).code, (e as DevicePathError).offset]).toEqual([
        'E_EVENTDATA_DEVICE_PATH',
        6,
      ]);
    }
    expect(() => parseDevicePath(Uint8Array.from([...pci, 1, 1, ...u16(40)]))).toThrow(DevicePathError);
    const many = new Uint8Array(513 * 4);
    for (let i = 0; i < 513; i++) many.set([9, 9, ...u16(4)], i * 4);
    expect(() => parseDevicePath(many)).toThrow(/more than 512 nodes/);
  });
});

describe('hostile data: decodeEventData returns a value for any bytes of any type', () => {
  const TYPES = [...Object.values(EV), 0x1234, 0x8000_00ff];
  // A value, and never the catch-all that would mean a decoder bug rather than bad data.
  const isValue = (d: DecodedEventData): boolean =>
    typeof d.kind === 'string' && !(d.kind === 'undecodable' && d.reason.startsWith('decoder error'));

  it('arbitrary data for every type', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...TYPES),
        fc.uint8Array({ maxLength: 512 }),
        fc.constantFrom(undefined, 1, 2),
        (type, data, uintn) => {
          const log = uintn === undefined ? undefined : withUintn(uintn as 1 | 2);
          expect(isValue(decodeEventData(ev(type, data), log))).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('real event data with random edits and cuts', () => {
    const log = load('tpm2-tools/event-moklisttrusted.bin');
    fc.assert(
      fc.property(
        fc.nat({ max: log.events.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(),
        (index, edits, cut) => {
          const e = eventAt(log, index);
          const data = e.data.slice(0, e.data.length === 0 ? 0 : cut % (e.data.length + 1));
          for (const [at, v] of edits) if (data.length > 0) data[at % data.length] = v;
          expect(isValue(decodeEventData({ ...e, data }, log))).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
