// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/eventlog
 *
 * A strict, bounds-checked parser of TCG PC Client binary event logs (TCG PC Client Platform Firmware
 * Profile (PFP) 1.06, §10 "Event Logging"), little-endian:
 *
 * - the SHA-1 format (PFP §10.2.1 TCG_PCR_EVENT: pcrIndex u32, eventType u32, digest[20], eventSize u32,
 *   event[eventSize]) used by TPM 1.2-style firmware for the whole log;
 * - the crypto-agile format (PFP §10.2.2 TCG_PCR_EVENT2), recognised by a first TCG_PCR_EVENT of type
 *   EV_NO_ACTION whose data is a TCG_EfiSpecIDEvent with signature "Spec ID Event03\0" (PFP §10.4.5.1);
 *   every later record is pcrIndex u32, eventType u32, TPML_DIGEST_VALUES {count u32, {algId u16,
 *   digest[size]}[count]}, eventSize u32, event[eventSize], where each digest size comes from the Spec ID
 *   event's algorithm list (so algorithms unknown here, e.g. SM3_256 0x0012, still parse).
 *
 * Every read is bounds-checked; a failure is an `EventLogError` with a stable code and the byte offset of
 * the field that failed (`offset`) and of the record it belongs to (`recordOffset`):
 * - E_EVENTLOG_TRUNCATED: the bytes end inside a record (including a cut-off record after the last
 *   complete one, i.e. trailing bytes);
 * - E_EVENTLOG_FORMAT: the bytes contradict the structure (bad Spec ID event, an extended event's PCR index
 *   out of range 0–23,
 *   undeclared or repeated digest algorithm, a known algorithm declared with the wrong size, …);
 * - E_EVENTLOG_LIMIT: a size beyond this parser's limits (log, event data, digest count, algorithms).
 *
 * Event data is kept raw. The only event data interpreted here is the Spec ID event and the
 * StartupLocality EV_NO_ACTION event (PFP §10.4.5.3).
 *
 * Not checked (yet): that EV_NO_ACTION digests are zero, that event data matches its digest, the
 * structure of any other event data (EFI variables, device paths, GPT, IPL strings), unknown event types
 * (named `EV_UNKNOWN_0x…`, not rejected), the event order the PFP prescribes, the Spec ID event's
 * platformClass/specErrata/uintnSize values beyond their ranges, and whether every event carries a digest
 * for every declared algorithm (replay checks that per bank it replays).
 */
import { HASH_ALGORITHMS, hashByTpmAlg } from '../crypto/algorithms.js';

import { ByteReader, type OverrunHandler } from '../encoding/byte-reader.js';
import { equalBytesAt } from '../encoding/bytes.js';
import { ExecgateError } from '../errors.js';
import { TPM_ALG } from '../tpm/constants.js';

export type EventLogErrorCode = 'E_EVENTLOG_TRUNCATED' | 'E_EVENTLOG_FORMAT' | 'E_EVENTLOG_LIMIT';

/** The log bytes are not a well-formed TCG PC Client event log; `offset` is where reading failed. */
export class EventLogError extends ExecgateError<EventLogErrorCode> {
  /** Byte offset of the field that failed. */
  readonly offset: number;
  /** Byte offset of the record (event) the failing field belongs to. */
  readonly recordOffset: number;

  constructor(
    code: EventLogErrorCode,
    message: string,
    offset: number,
    recordOffset: number,
    options?: { cause?: unknown },
  ) {
    super(code, `${message} (at byte ${offset}, record at byte ${recordOffset})`, options);
    this.offset = offset;
    this.recordOffset = recordOffset;
  }
}

/** Event types, PFP 1.06 §10.4.1 Table 9 (EV_*), including the EFI types based at 0x80000000. */
export const EV = {
  PREBOOT_CERT: 0x0000_0000,
  POST_CODE: 0x0000_0001,
  UNUSED: 0x0000_0002,
  NO_ACTION: 0x0000_0003,
  SEPARATOR: 0x0000_0004,
  ACTION: 0x0000_0005,
  EVENT_TAG: 0x0000_0006,
  S_CRTM_CONTENTS: 0x0000_0007,
  S_CRTM_VERSION: 0x0000_0008,
  CPU_MICROCODE: 0x0000_0009,
  PLATFORM_CONFIG_FLAGS: 0x0000_000a,
  TABLE_OF_DEVICES: 0x0000_000b,
  COMPACT_HASH: 0x0000_000c,
  IPL: 0x0000_000d,
  IPL_PARTITION_DATA: 0x0000_000e,
  NONHOST_CODE: 0x0000_000f,
  NONHOST_CONFIG: 0x0000_0010,
  NONHOST_INFO: 0x0000_0011,
  OMIT_BOOT_DEVICE_EVENTS: 0x0000_0012,
  POST_CODE2: 0x0000_0013,
  EFI_EVENT_BASE: 0x8000_0000,
  EFI_VARIABLE_DRIVER_CONFIG: 0x8000_0001,
  EFI_VARIABLE_BOOT: 0x8000_0002,
  EFI_BOOT_SERVICES_APPLICATION: 0x8000_0003,
  EFI_BOOT_SERVICES_DRIVER: 0x8000_0004,
  EFI_RUNTIME_SERVICES_DRIVER: 0x8000_0005,
  EFI_GPT_EVENT: 0x8000_0006,
  EFI_ACTION: 0x8000_0007,
  EFI_PLATFORM_FIRMWARE_BLOB: 0x8000_0008,
  EFI_HANDOFF_TABLES: 0x8000_0009,
  EFI_PLATFORM_FIRMWARE_BLOB2: 0x8000_000a,
  EFI_HANDOFF_TABLES2: 0x8000_000b,
  EFI_VARIABLE_BOOT2: 0x8000_000c,
  EFI_GPT_EVENT2: 0x8000_000d,
  EFI_HCRTM_EVENT: 0x8000_0010,
  EFI_VARIABLE_AUTHORITY: 0x8000_00e0,
  EFI_SPDM_FIRMWARE_BLOB: 0x8000_00e1,
  EFI_SPDM_FIRMWARE_CONFIG: 0x8000_00e2,
  EFI_SPDM_DEVICE_POLICY: 0x8000_00e3,
  EFI_SPDM_DEVICE_AUTHORITY: 0x8000_00e4,
} as const;

const EV_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(EV).map(([name, value]) => [value, `EV_${name}`]),
);

/** `EV_…` name of an event type (PFP §10.4.1), or `EV_UNKNOWN_0x…` for a type the table lacks. */
export function eventTypeName(type: number): string {
  return EV_NAMES.get(type) ?? `EV_UNKNOWN_0x${type.toString(16).padStart(8, '0')}`;
}

/** Parser limits (bytes or counts). A log beyond them is rejected with E_EVENTLOG_LIMIT. */
export const EVENTLOG_LIMITS = {
  /** Whole log. Real firmware logs are tens of KiB; the kernel's securityfs copy is bounded by ACPI. */
  maxLogBytes: 64 * 1024 * 1024,
  /** One event's data (eventSize). */
  maxEventDataBytes: 1024 * 1024,
  /** Algorithms a Spec ID event may declare (TPM_ALG_IDs of hash algorithms are far fewer). */
  maxAlgorithms: 32,
  /** Largest digest size a Spec ID event may declare (SHA-512 / SHA3-512). */
  maxDigestBytes: 64,
} as const;

export type EventLogLimits = { readonly [K in keyof typeof EVENTLOG_LIMITS]: number };

export interface ParseOptions {
  /** Lower (or raise) the limits of `EVENTLOG_LIMITS`. */
  readonly limits?: Partial<EventLogLimits>;
}

/** One entry of the Spec ID event's digestSizes list (PFP §10.4.5.1 TCG_EfiSpecIdEventAlgorithmSize). */
export interface DigestAlgorithm {
  readonly algId: number;
  readonly digestSize: number;
}

/** TCG_EfiSpecIDEvent (PFP §10.4.5.1). */
export interface SpecIdEvent {
  readonly platformClass: number;
  readonly specVersionMinor: number;
  readonly specVersionMajor: number;
  readonly specErrata: number;
  readonly uintnSize: number;
  readonly algorithms: readonly DigestAlgorithm[];
  readonly vendorInfo: Uint8Array;
}

export interface EventDigest {
  readonly algId: number;
  readonly digest: Uint8Array;
}

/** One record of the log, the header event included (index 0). */
export interface TcgEvent {
  /** Position in the log, 0 = the first (header) record. */
  readonly index: number;
  /** Byte offset of the record. */
  readonly offset: number;
  readonly pcrIndex: number;
  readonly eventType: number;
  /** `eventTypeName(eventType)`. */
  readonly typeName: string;
  /** One SHA-1 digest for a TCG_PCR_EVENT; the TPML_DIGEST_VALUES entries, in log order, for TCG_PCR_EVENT2. */
  readonly digests: readonly EventDigest[];
  /** The event data (a view into the log bytes). */
  readonly data: Uint8Array;
}

export interface EventLog {
  readonly format: 'sha1' | 'crypto-agile';
  /** Present for the crypto-agile format. */
  readonly specId?: SpecIdEvent;
  /** The digest algorithms of the log: the Spec ID list, or SHA-1 alone for the SHA-1 format. */
  readonly algorithms: readonly DigestAlgorithm[];
  /** Every record, the header first. */
  readonly events: readonly TcgEvent[];
  /** The locality of the StartupLocality EV_NO_ACTION event (PFP §10.4.5.3), when the log has one. */
  readonly startupLocality?: number;
}

/** Highest PCR index of a PC Client TPM (PFP §2.3.4, PCRs 0–23). */
const MAX_PCR_INDEX = 23;

const SHA1_DIGEST_BYTES = HASH_ALGORITHMS.sha1.digestByteLen;
/** PFP §10.4.5.1: "Spec ID Event03" and a NUL. */
const SPEC_ID_SIGNATURE = asciiz('Spec ID Event03');
/** PFP §10.4.5.3: "StartupLocality" and a NUL, then the locality byte. */
const STARTUP_LOCALITY_SIGNATURE = asciiz('StartupLocality');

function asciiz(text: string): Uint8Array {
  const out = new Uint8Array(text.length + 1);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** Throws the EventLogError of `code` for a failure at `offset` of the record `r` is reading. */
function fail(r: ByteReader, code: EventLogErrorCode, message: string, offset = r.pos): never {
  throw new EventLogError(code, message, offset, r.recordOffset);
}

/** A read past the log's end is E_EVENTLOG_TRUNCATED: the bytes stop inside a record. */
const truncated: OverrunHandler = (message, offset, recordOffset) => {
  throw new EventLogError('E_EVENTLOG_TRUNCATED', message, offset, recordOffset);
};

/** A read past the Spec ID event's data is E_EVENTLOG_FORMAT: its eventSize contradicts its content. */
const specIdOverrun: OverrunHandler = (message, offset, recordOffset) => {
  throw new EventLogError('E_EVENTLOG_FORMAT', message, offset, recordOffset);
};

function resolveLimits(options: ParseOptions | undefined): EventLogLimits {
  return { ...EVENTLOG_LIMITS, ...options?.limits };
}

/**
 * Parses a TCG PC Client event log (SHA-1 or crypto-agile format). Throws `EventLogError` for anything
 * that is not a well-formed log within the limits; never another exception for any `Uint8Array` input.
 */
export function parseEventLog(bytes: Uint8Array, options?: ParseOptions): EventLog {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('event log must be a Uint8Array');
  const limits = resolveLimits(options);
  if (bytes.length > limits.maxLogBytes) {
    throw new EventLogError(
      'E_EVENTLOG_LIMIT',
      `event log is ${bytes.length} bytes, over the ${limits.maxLogBytes}-byte limit`,
      0,
      0,
    );
  }
  if (bytes.length === 0) throw new EventLogError('E_EVENTLOG_TRUNCATED', 'event log is empty', 0, 0);
  const r = new ByteReader(bytes, { what: 'event log', onOverrun: truncated });

  // PFP §10.2.1: the first record is always a TCG_PCR_EVENT.
  const header = readSha1Event(r, 0, limits);
  const events: TcgEvent[] = [header];
  let startupLocality = startupLocalityOf(header);

  let specId: SpecIdEvent | undefined;
  if (header.eventType === EV.NO_ACTION && equalBytesAt(header.data, 0, SPEC_ID_SIGNATURE)) {
    specId = parseSpecId(bytes, header, limits);
  }

  if (specId === undefined) {
    while (r.remaining > 0) {
      const event = readSha1Event(r, events.length, limits);
      events.push(event);
      startupLocality ??= startupLocalityOf(event);
    }
    const log: EventLog = {
      format: 'sha1',
      algorithms: [{ algId: TPM_ALG.SHA1, digestSize: SHA1_DIGEST_BYTES }],
      events,
    };
    return startupLocality === undefined ? log : { ...log, startupLocality };
  }

  const sizes = new Map(specId.algorithms.map((a) => [a.algId, a.digestSize]));
  while (r.remaining > 0) {
    const event = readEvent2(r, events.length, sizes, limits);
    events.push(event);
    startupLocality ??= startupLocalityOf(event);
  }
  const log: EventLog = { format: 'crypto-agile', specId, algorithms: specId.algorithms, events };
  return startupLocality === undefined ? log : { ...log, startupLocality };
}

/**
 * pcrIndex and eventType. An event that is extended must name PCR 0–23; an EV_NO_ACTION event is never
 * extended (PFP §10.4.5) and real logs carry some with pcrIndex 0xFFFFFFFF (go-attestation
 * option_rom_eventlog), so its index is not range-checked.
 */
function readPcrAndType(r: ByteReader): { pcrIndex: number; eventType: number } {
  const at = r.pos;
  const pcrIndex = r.u32('pcrIndex');
  const eventType = r.u32('eventType');
  if (pcrIndex > MAX_PCR_INDEX && eventType !== EV.NO_ACTION) {
    fail(r, 'E_EVENTLOG_FORMAT', `PCR index ${pcrIndex} of an extended event is out of range 0–23`, at);
  }
  return { pcrIndex, eventType };
}

function readEventData(r: ByteReader, limits: EventLogLimits): Uint8Array {
  const at = r.pos;
  const size = r.u32('eventSize');
  if (size > limits.maxEventDataBytes) {
    fail(r, 'E_EVENTLOG_LIMIT', `eventSize ${size} is over the ${limits.maxEventDataBytes}-byte limit`, at);
  }
  return r.take(size, 'event data');
}

/** PFP §10.2.1 TCG_PCR_EVENT. */
function readSha1Event(r: ByteReader, index: number, limits: EventLogLimits): TcgEvent {
  const offset = r.pos;
  r.recordOffset = offset;
  const { pcrIndex, eventType } = readPcrAndType(r);
  const digest = r.take(SHA1_DIGEST_BYTES, 'SHA-1 digest');
  const data = readEventData(r, limits);
  return {
    index,
    offset,
    pcrIndex,
    eventType,
    typeName: eventTypeName(eventType),
    digests: [{ algId: TPM_ALG.SHA1, digest }],
    data,
  };
}

/** PFP §10.2.2 TCG_PCR_EVENT2 with TPML_DIGEST_VALUES sized by the Spec ID event. */
function readEvent2(
  r: ByteReader,
  index: number,
  sizes: ReadonlyMap<number, number>,
  limits: EventLogLimits,
): TcgEvent {
  const offset = r.pos;
  r.recordOffset = offset;
  const { pcrIndex, eventType } = readPcrAndType(r);
  const countAt = r.pos;
  const count = r.u32('digest count');
  if (count > sizes.size) {
    fail(
      r,
      'E_EVENTLOG_LIMIT',
      `digest count ${count} exceeds the ${sizes.size} algorithms the Spec ID event declares`,
      countAt,
    );
  }
  if (count === 0) fail(r, 'E_EVENTLOG_FORMAT', 'digest count is 0', countAt);
  const digests: EventDigest[] = [];
  for (let i = 0; i < count; i++) {
    const algAt = r.pos;
    const algId = r.u16('digest algorithm');
    const size = sizes.get(algId);
    if (size === undefined) {
      fail(
        r,
        'E_EVENTLOG_FORMAT',
        `digest algorithm 0x${algId.toString(16).padStart(4, '0')} is not declared in the Spec ID event`,
        algAt,
      );
    }
    if (digests.some((d) => d.algId === algId)) {
      fail(
        r,
        'E_EVENTLOG_FORMAT',
        `digest algorithm 0x${algId.toString(16).padStart(4, '0')} appears twice`,
        algAt,
      );
    }
    digests.push({ algId, digest: r.take(size, 'digest') });
  }
  const data = readEventData(r, limits);
  return { index, offset, pcrIndex, eventType, typeName: eventTypeName(eventType), digests, data };
}

/** PFP §10.4.5.1 TCG_EfiSpecIDEvent, read from the header event's data (which must be exactly it). */
function parseSpecId(bytes: Uint8Array, header: TcgEvent, limits: EventLogLimits): SpecIdEvent {
  const start = header.data.byteOffset - bytes.byteOffset;
  const end = start + header.data.length;
  const r = new ByteReader(bytes, { what: 'Spec ID event', onOverrun: specIdOverrun, start, end });
  r.recordOffset = header.offset;
  if (header.pcrIndex !== 0)
    fail(r, 'E_EVENTLOG_FORMAT', `Spec ID event is in PCR ${header.pcrIndex}, not 0`, header.offset);
  const headerDigest = header.digests[0]?.digest;
  if (headerDigest === undefined || headerDigest.some((b) => b !== 0)) {
    fail(r, 'E_EVENTLOG_FORMAT', 'Spec ID event digest is not all zeros', header.offset + 8);
  }
  r.take(SPEC_ID_SIGNATURE.length, 'signature');
  const platformClass = r.u32('platformClass');
  const specVersionMinor = r.u8('specVersionMinor');
  const specVersionMajor = r.u8('specVersionMajor');
  const specErrata = r.u8('specErrata');
  const uintnAt = r.pos;
  const uintnSize = r.u8('uintnSize');
  if (specVersionMajor !== 2 || specVersionMinor !== 0) {
    fail(
      r,
      'E_EVENTLOG_FORMAT',
      `Spec ID Event03 with spec version ${specVersionMajor}.${specVersionMinor}, not 2.0`,
      uintnAt - 3,
    );
  }
  // uintnSize counts UINT32s: 1 for a 32-bit UINTN, 2 for a 64-bit one.
  if (uintnSize !== 1 && uintnSize !== 2)
    fail(r, 'E_EVENTLOG_FORMAT', `uintnSize ${uintnSize} is not 1 or 2`, uintnAt);
  const countAt = r.pos;
  const count = r.u32('numberOfAlgorithms');
  if (count === 0) fail(r, 'E_EVENTLOG_FORMAT', 'numberOfAlgorithms is 0', countAt);
  if (count > limits.maxAlgorithms) {
    fail(
      r,
      'E_EVENTLOG_LIMIT',
      `numberOfAlgorithms ${count} is over the limit of ${limits.maxAlgorithms}`,
      countAt,
    );
  }
  const algorithms: DigestAlgorithm[] = [];
  for (let i = 0; i < count; i++) {
    const at = r.pos;
    const algId = r.u16('algorithmId');
    const digestSize = r.u16('digestSize');
    const hex = `0x${algId.toString(16).padStart(4, '0')}`;
    if (algorithms.some((a) => a.algId === algId))
      fail(r, 'E_EVENTLOG_FORMAT', `algorithm ${hex} is declared twice`, at);
    // Sizes of the algorithms the registry knows: a Spec ID event that declares them wrongly is refused.
    const known = hashByTpmAlg(algId)?.digestByteLen;
    if (known !== undefined && known !== digestSize) {
      fail(
        r,
        'E_EVENTLOG_FORMAT',
        `algorithm ${hex} declared with digest size ${digestSize}, not ${known}`,
        at + 2,
      );
    }
    if (digestSize === 0)
      fail(r, 'E_EVENTLOG_FORMAT', `algorithm ${hex} declared with digest size 0`, at + 2);
    if (digestSize > limits.maxDigestBytes) {
      fail(
        r,
        'E_EVENTLOG_LIMIT',
        `algorithm ${hex} digest size ${digestSize} is over ${limits.maxDigestBytes}`,
        at + 2,
      );
    }
    algorithms.push({ algId, digestSize });
  }
  const vendorInfoSize = r.u8('vendorInfoSize');
  const vendorInfo = r.take(vendorInfoSize, 'vendorInfo');
  if (r.remaining !== 0)
    fail(r, 'E_EVENTLOG_FORMAT', `Spec ID event has ${r.remaining} bytes after vendorInfo`);
  return { platformClass, specVersionMinor, specVersionMajor, specErrata, uintnSize, algorithms, vendorInfo };
}

/**
 * The locality of a StartupLocality event (PFP §10.4.5.3: EV_NO_ACTION in PCR 0, data "StartupLocality\0"
 * then one byte), or undefined for any other event. Its value is checked by replay, not here.
 */
function startupLocalityOf(event: TcgEvent): number | undefined {
  if (event.eventType !== EV.NO_ACTION || event.pcrIndex !== 0) return undefined;
  if (event.data.length !== STARTUP_LOCALITY_SIGNATURE.length + 1) return undefined;
  if (!equalBytesAt(event.data, 0, STARTUP_LOCALITY_SIGNATURE)) return undefined;
  return event.data[STARTUP_LOCALITY_SIGNATURE.length];
}
