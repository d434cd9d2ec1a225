// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/event-data/no-action
 *
 * The EV_NO_ACTION structures, told apart by their 16-byte signature (PFP): the Spec ID events
 * (TCG_EfiSpecIDEvent, and TCG_EfiSpecIdEventStruct of a SHA-1-format log), TCG_EfiStartupLocalityEvent,
 * TCG_Sp800_155_PlatformId_Event(2/3), and the NV index events (up to their version field).
 */
import { ByteReader } from '../../encoding/byte-reader.js';
import type { SpecIdEvent } from '../eventlog.js';
import { asciiText, EVENT_DATA, expectEnd, malformed, readGuid } from './common.js';

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

/** The data of an EV_NO_ACTION event, by signature. */
export type NoActionEventData =
  | SpecIdEventData
  | SpecIdEvent00Data
  | StartupLocalityData
  | Sp800155PlatformIdData
  | NvIndexEventData;

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
export function decodeNoAction(data: Uint8Array): NoActionEventData {
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
