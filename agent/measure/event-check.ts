// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/event-check
 *
 * Judges which events of a parsed TCG PC Client event log can be trusted, beyond replay:
 *
 * - 'digest-mismatch': for the event types whose digest is, by the PFP or by the measuring software, a
 *   hash of (part of) the event data (`DIGEST_RULES`), the data is hashed in every bank the event has and
 *   compared. Known variants are accepted and `verifyEventDigest` says which one matched. Types whose
 *   digest is of something else (PE Authenticode hashes of EV_EFI_BOOT_SERVICES_APPLICATION, firmware
 *   blobs, EV_POST_CODE, grub's file measurements in PCR 9, shim's MOK variables in PCR 14, handoff tables)
 *   are not checked: for them the data is a claim the digest does not cover.
 * - 'retagged': an EV_NO_ACTION event (which replay skips: the PFP says it is not extended) whose digests are not all zero or
 *   whose data is none of the EV_NO_ACTION structures. Retagging a measured event to EV_NO_ACTION hides it
 *   from a verifier that skips that type.
 * - 'undecodable': the data does not decode for its type (measure/event-data/).
 * - 'unexpected-pcr': a type in a PCR the PFP's PCR usage does not allow for it, for the types where the
 *   PFP is unambiguous (`ALLOWED_PCRS`).
 * - 'unknown-type': an event type the PFP does not define.
 *
 * Not covered: the event order, whether the data is what a policy allows (boot-summary.ts and the
 * reference state do that), and banks this project cannot hash (SM3_256 is skipped, not reported).
 */
import { bankName, hashOfTpmAlg } from '../crypto/algorithms.js';
import { digest } from '../crypto/hash.js';
import { equalBytes } from '../encoding/bytes.js';
import { type DecodedEventData, decodeEventData } from './event-data/index.js';
import { EV, type EventLog, eventTypeName, type TcgEvent } from './eventlog.js';

export type EventFindingCode =
  | 'digest-mismatch'
  | 'retagged'
  | 'undecodable'
  | 'unexpected-pcr'
  | 'unknown-type';

export interface EventFinding {
  readonly index: number;
  readonly offset: number;
  readonly pcrIndex: number;
  readonly code: EventFindingCode;
  readonly message: string;
  /** The bank of a 'digest-mismatch' (TPM_ALG_ID). */
  readonly algId?: number;
}

/** A candidate preimage of an event's digest, named for the message and `verifyEventDigest`. */
export interface DigestVariant {
  readonly name: string;
  readonly preimage: Uint8Array;
}

export type DigestVerdict =
  | { readonly status: 'match'; readonly variant: string }
  | { readonly status: 'mismatch'; readonly expected: readonly string[]; readonly banks: readonly number[] }
  | { readonly status: 'not-checked'; readonly reason: string };

const whole = (e: TcgEvent): DigestVariant => ({ name: 'the event data', preimage: e.data });

/**
 * grub's PCR 8 strings: the event data is prefix + text + NUL and the digest is of the text: grub ≥ 2.04
 * tpm.c `grub_tpm_verify_string` ("grub_cmd: ", "kernel_cmdline: ", "module_cmdline: ") hashes it
 * without the NUL; RHEL's patched grub 2.02 (rhel8-uefi) hashes "grub_cmd " strings with the NUL and
 * its "grub_kernel_cmdline " string without. Both forms are accepted for every prefix.
 */
export const GRUB_PREFIXES = [
  'grub_cmd: ',
  'kernel_cmdline: ',
  'module_cmdline: ',
  'grub_cmd ',
  'grub_kernel_cmdline ',
] as const;

function grubString(e: TcgEvent, decoded: DecodedEventData): DigestVariant[] | undefined {
  if (decoded.kind !== 'string' || decoded.encoding === 'ucs2') return undefined;
  const prefix = GRUB_PREFIXES.find((p) => decoded.text.startsWith(p));
  if (prefix === undefined) return undefined;
  const rest = e.data.subarray(prefix.length);
  const variants = [
    {
      name: `grub's text after "${prefix}"`,
      preimage: decoded.nulTerminated ? rest.subarray(0, rest.length - 1) : rest,
    },
  ];
  if (decoded.nulTerminated)
    variants.push({ name: `grub's text after "${prefix}" with its NUL`, preimage: rest });
  return variants;
}

/**
 * Per event type, the candidate preimages of its digest, or a reason it is not checked. Decided from the
 * PFP and from all real logs in test/vectors/eventlog (event-check.test.ts lists the exceptions).
 */
function digestVariants(e: TcgEvent, decoded: DecodedEventData): readonly DigestVariant[] | string {
  switch (e.eventType) {
    case EV.SEPARATOR:
    case EV.EFI_ACTION:
    case EV.ACTION:
    case EV.EFI_GPT_EVENT:
    case EV.S_CRTM_VERSION:
      return [whole(e)];
    case EV.EFI_VARIABLE_DRIVER_CONFIG:
    case EV.EFI_VARIABLE_AUTHORITY:
    case EV.EFI_VARIABLE_BOOT:
    case EV.EFI_VARIABLE_BOOT2: {
      const variants: DigestVariant[] = [{ name: 'UEFI_VARIABLE_DATA', preimage: e.data }];
      if (decoded.kind !== 'UEFI_VARIABLE_DATA') return variants;
      // edk2 (and so most firmware) hashes only VariableData for Boot#### and BootOrder, the PFP the whole
      // structure; both are seen on the real logs.
      if (e.eventType === EV.EFI_VARIABLE_BOOT || e.eventType === EV.EFI_VARIABLE_BOOT2) {
        variants.push({ name: 'VariableData (edk2)', preimage: decoded.variableData });
      }
      // shim's tpm_measure_variable logs sizeof-padded bytes after VariableData and hashes all but the
      // last of them (sb_cert_eventlog, debian-10, cos-85/93, event-postcode: its "Shim" certificate).
      if (decoded.trailing.length > 0) {
        variants.push({
          name: 'UEFI_VARIABLE_DATA with shim padding',
          preimage: e.data.subarray(0, e.data.length - 1),
        });
      }
      return variants;
    }
    case EV.IPL: {
      if (e.pcrIndex === 8) {
        // grub's command strings; otherwise systemd-boot ≤ v250 measured its UCS-2 load options here.
        const grub = grubString(e, decoded);
        return grub ?? [{ name: 'systemd-boot load options (UCS-2)', preimage: e.data }];
      }
      // systemd-boot/stub ≥ v250: the kernel command line, UCS-2 with its NUL, hashed as logged.
      if (e.pcrIndex === 12 && decoded.kind === 'string' && decoded.encoding === 'ucs2') {
        return [{ name: 'systemd load options (UCS-2)', preimage: e.data }];
      }
      return 'EV_IPL outside PCR 8/12 names what was measured (files in PCR 9, MOK variables in PCR 14)';
    }
    default:
      return `the digest of ${e.typeName} is not of its event data`;
  }
}

/** Hashes `variants` in every bank of `e` this project can hash and reports which variant matched. */
function judge(e: TcgEvent, variants: readonly DigestVariant[]): DigestVerdict {
  const banks = e.digests.filter((d) => hashOfTpmAlg(d.algId) !== undefined);
  if (banks.length === 0) return { status: 'not-checked', reason: 'no bank of this event can be hashed' };
  const matchesPerBank = banks.map((d) => {
    const hash = hashOfTpmAlg(d.algId) ?? 'sha256';
    return new Set(variants.filter((v) => equalBytes(digest(hash, v.preimage), d.digest)).map((v) => v.name));
  });
  const common = variants.find((v) => matchesPerBank.every((m) => m.has(v.name)));
  if (common !== undefined) return { status: 'match', variant: common.name };
  const bad = banks.filter((_, i) => (matchesPerBank[i]?.size ?? 0) === 0).map((d) => d.algId);
  // Every bank matched some variant, but not the same one: the banks disagree, report all but the first.
  const mismatched = bad.length > 0 ? bad : banks.slice(1).map((d) => d.algId);
  return { status: 'mismatch', expected: variants.map((v) => v.name), banks: mismatched };
}

/** Whether `event`'s digests are hashes of its data, for the types where they should be. */
export function verifyEventDigest(event: TcgEvent, log?: EventLog): DigestVerdict {
  const variants = digestVariants(event, decodeEventData(event, log));
  return typeof variants === 'string' ? { status: 'not-checked', reason: variants } : judge(event, variants);
}

/** PCRs the PFP's PCR usage allows a type in, for the types where it is unambiguous. */
const ALLOWED_PCRS: ReadonlyMap<number, readonly number[]> = new Map([
  // POST code, embedded SMM code, ACPI flash data and embedded option ROMs are platform firmware (PCR 0);
  // every real log in test/vectors agrees.
  [EV.POST_CODE, [0]],
  [EV.S_CRTM_VERSION, [0]],
  [EV.S_CRTM_CONTENTS, [0]],
  [EV.EFI_HCRTM_EVENT, [0]],
  [EV.EFI_VARIABLE_BOOT, [1]],
  [EV.EFI_VARIABLE_BOOT2, [1]],
  [EV.EFI_HANDOFF_TABLES, [1]],
  [EV.EFI_HANDOFF_TABLES2, [1]],
  [EV.EFI_VARIABLE_DRIVER_CONFIG, [1, 7]],
  [EV.EFI_VARIABLE_AUTHORITY, [7]],
  [EV.EFI_GPT_EVENT, [5]],
  [EV.EFI_GPT_EVENT2, [5]],
  [EV.EFI_BOOT_SERVICES_APPLICATION, [2, 4]],
  [EV.EFI_BOOT_SERVICES_DRIVER, [0, 2]],
  [EV.EFI_RUNTIME_SERVICES_DRIVER, [0, 2]],
]);

const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(EV));

/** Every finding on `log`, in event order. Never throws for a parsed log. */
export function checkEvents(log: EventLog): EventFinding[] {
  const findings: EventFinding[] = [];
  for (const e of log.events) {
    const add = (code: EventFindingCode, message: string, algId?: number): void => {
      const f = { index: e.index, offset: e.offset, pcrIndex: e.pcrIndex, code, message };
      findings.push(algId === undefined ? f : { ...f, algId });
    };
    if (!KNOWN_TYPES.has(e.eventType) || e.eventType === EV.EFI_EVENT_BASE) {
      add(
        'unknown-type',
        `event type 0x${e.eventType.toString(16).padStart(8, '0')} is not defined by the PFP`,
      );
      continue;
    }
    const decoded = decodeEventData(e, log);
    if (e.eventType === EV.NO_ACTION) {
      checkNoAction(e, decoded, add);
      continue;
    }
    if (decoded.kind === 'undecodable') {
      add(
        'undecodable',
        `${e.typeName} data does not decode: ${decoded.reason} (at byte ${decoded.at} of the data)`,
      );
    } else if (decoded.kind === 'UEFI_VARIABLE_DATA' && decoded.value?.type === 'undecodable') {
      add('undecodable', `${decoded.unicodeName} value does not decode: ${decoded.value.reason}`);
    } else if (decoded.kind === 'UEFI_IMAGE_LOAD_EVENT' && decoded.devicePathError !== undefined) {
      add('undecodable', `${e.typeName} device path does not decode: ${decoded.devicePathError}`);
    }
    const allowed = ALLOWED_PCRS.get(e.eventType);
    if (allowed !== undefined && !allowed.includes(e.pcrIndex)) {
      add(
        'unexpected-pcr',
        `${e.typeName} belongs in PCR ${allowed.join(' or ')}, found in PCR ${e.pcrIndex}`,
      );
    }
    const variants = digestVariants(e, decoded);
    if (typeof variants === 'string') continue;
    const verdict = judge(e, variants);
    if (verdict.status !== 'mismatch') continue;
    for (const algId of verdict.banks) {
      add(
        'digest-mismatch',
        `${e.typeName} ${bankName(algId)} digest is not the hash of ${verdict.expected.join(' or ')}`,
        algId,
      );
    }
  }
  return findings;
}

function checkNoAction(
  e: TcgEvent,
  decoded: DecodedEventData,
  add: (code: EventFindingCode, message: string) => void,
): void {
  const nonZero = e.digests.filter((d) => d.digest.some((b) => b !== 0)).map((d) => bankName(d.algId));
  const problems: string[] = [];
  if (nonZero.length > 0) problems.push(`non-zero ${nonZero.join(', ')} digest`);
  if (decoded.kind === 'undecodable')
    problems.push(`data that is no EV_NO_ACTION structure (${decoded.reason})`);
  if (problems.length === 0) return;
  add(
    'retagged',
    `EV_NO_ACTION is not extended, so its digests must be zero and its data a defined EV_NO_ACTION ` +
      `structure; found ${problems.join(' and ')}: a measured event may have been retagged as ${eventTypeName(EV.NO_ACTION)}`,
  );
}
