// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/state/evidence
 *
 * The evidence a reference state is judged on, built from logs that have already matched a verified quote
 * (DESIGN.md §4). Only what a digest or the quote covers goes in:
 * - boot facts come only from PCRs on which the event log replayed to the quote, and a digest only from a
 *   bank the quote covered (a log's other banks are the host's word, not evidence);
 * - an event whose data is not what was measured (a 'digest-mismatch' or 'retagged' finding) says nothing
 *   about what booted, so a Secure Boot variable whose data lies reads as 'unknown';
 * - every event extended into an allowlisted PCR (4, 8, 9) is listed in `measured`, whatever its type or
 *   description says, unless it has a form defined for that PCR whose digest is the hash of its data: a
 *   separator, a PFP action string (labels), or a boot loader's command string in PCR 8 (`commands`). A
 *   file retagged as a "data-hashed" type, with itself as the data, stays in `measured`;
 * - Secure Boot is read by content from PCR 7 (secureBootState);
 * - IMA entries whose template hash does not recompute from their data, or that the list puts in a PCR
 *   other than 10, are refused rather than listed.
 *
 * Not covered: that the quote is genuine (the caller verified it) and the rules themselves (check.ts).
 */

import { bankName } from '../../crypto/algorithms.js';
import { toHex } from '../../encoding/bytes.js';
import { summarizeBoot } from '../boot-summary.js';
import { type EventFinding, GRUB_PREFIXES, verifyEventDigest } from '../event-check.js';
import { type DecodedEventData, decodeEventData, EFI_GLOBAL_VARIABLE } from '../event-data/index.js';
import { EV, type EventLog, type TcgEvent } from '../eventlog.js';
import type { ImaEntry } from '../ima/index.js';
import type { SecureBootState } from '../reference.js';
import { IMA_PCR } from './ima-verdict.js';

/** Findings that say an event's data or type is not what was measured. */
export const UNTRUSTED_FINDINGS: ReadonlySet<string> = new Set(['digest-mismatch', 'retagged']);

/** PCRs whose every extended event an allowlist judges: boot applications (4), the boot loader's 8–9. */
export const ALLOWLISTED_PCRS: readonly number[] = [4, 8, 9];

/** Lowercase hex digest by bank name, only in banks the quote covered for the event's PCR. */
export type BankDigests = Readonly<Record<string, string>>;

/** A boot component as the boot summary names it (for people: the reference's bootChain). */
export interface BootComponentEvidence {
  readonly path?: string;
  readonly digests: BankDigests;
}

/**
 * An event extended into an allowlisted PCR whose digest is not the verified hash of its data: its digest
 * is what an allowlist must hold. `label` (device path, file path, string) and `role` (what the loader
 * said it loaded) are descriptions the digest does not cover: for messages, and to name a kernel or initrd
 * more strictly, never to exempt an event.
 */
export interface MeasuredEvent {
  readonly index: number;
  readonly pcr: number;
  readonly typeName: string;
  readonly digests: BankDigests;
  readonly label?: string;
  readonly role?: 'kernel' | 'initrd';
}

/**
 * A command string the boot loader measured into PCR 8 (grub's "grub_cmd: …", "kernel_cmdline: …" and
 * kin, systemd-boot's UCS-2 load options): its digest is the hash of its text, so the text is what was
 * measured, and it decides what runs (the kernel's command line, grub's settings).
 */
export interface BootCommand {
  readonly index: number;
  readonly pcr: number;
  readonly text: string;
}

export interface BootEvidence {
  /** Bank name → PCRs on which the event log replayed to the verified quote. */
  readonly verified: ReadonlyMap<string, ReadonlySet<number>>;
  readonly secureBoot: SecureBootState;
  readonly measured: readonly MeasuredEvent[];
  readonly commands: readonly BootCommand[];
  readonly bootApplications: readonly BootComponentEvidence[];
  readonly kernels: readonly BootComponentEvidence[];
  readonly initrds: readonly BootComponentEvidence[];
  readonly kernelCmdline?: string;
}

export interface ImaEvidenceEntry {
  readonly path: string;
  /** Kernel hash name, e.g. sha256 (sha1 for the `ima` template). */
  readonly digestAlg: string;
  readonly digest: string;
  /** The entry's template hash, hex; all zeros marks a violation. */
  readonly templateHash?: string;
}

/** What the caller measured; each part must come from logs already judged against a verified quote. */
export interface StateEvidence {
  /** Quoted PCR values: bank name → PCR index → value. */
  readonly pcrs: ReadonlyMap<string, ReadonlyMap<number, Uint8Array>>;
  readonly boot?: BootEvidence;
  readonly ima?: { readonly entries: readonly ImaEvidenceEntry[] };
}

/** Whether some bank of `verified` covers `pcr`. */
export function verifiedInSomeBank(verified: BootEvidence['verified'], pcr: number): boolean {
  for (const pcrs of verified.values()) if (pcrs.has(pcr)) return true;
  return false;
}

function label(d: DecodedEventData): string | undefined {
  if (d.kind === 'UEFI_IMAGE_LOAD_EVENT') return d.devicePathText || undefined;
  if (d.kind === 'string') return d.text.replace(/\0+$/, '') || undefined;
  return undefined;
}

/** EV_EFI_ACTION strings the PFP defines for PCR 4: the boot manager calling into a boot option. */
const PCR4_ACTIONS: ReadonlySet<string> = new Set([
  'Calling EFI Application from Boot Option',
  'Returning from EFI Application from Boot Option',
]);
/** EV_OMIT_BOOT_DEVICE_EVENTS data (PFP): boot attempts were not measured one by one. */
const BOOT_ATTEMPTS_OMITTED = 'BOOT ATTEMPTS OMITTED';
/** The EV_SEPARATOR values of the PFP: 0 (the boot went on) or all-ones (an error). */
function isSeparatorValue(data: Uint8Array): boolean {
  return data.length === 4 && (data.every((b) => b === 0) || data.every((b) => b === 0xff));
}

/**
 * Whether `e` has a form defined for its PCR whose digest is the hash of its data: a 'label' (a
 * separator's 4-byte value, a PFP action string), or a loader's command string in PCR 8. Undefined for
 * everything else, which an allowlist must hold by digest.
 */
function definedForm(
  e: TcgEvent,
  d: DecodedEventData,
  log: EventLog,
): 'label' | { readonly command: string } | undefined {
  let form: 'label' | { readonly command: string } | undefined;
  if (e.eventType === EV.SEPARATOR && isSeparatorValue(e.data)) form = 'label';
  else if (
    e.pcrIndex === 4 &&
    e.eventType === EV.EFI_ACTION &&
    d.kind === 'string' &&
    PCR4_ACTIONS.has(d.text)
  )
    form = 'label';
  else if (e.pcrIndex === 4 && e.eventType === EV.OMIT_BOOT_DEVICE_EVENTS && d.kind === 'string')
    form = d.text === BOOT_ATTEMPTS_OMITTED ? 'label' : undefined;
  else if (e.pcrIndex === 8 && e.eventType === EV.IPL && d.kind === 'string') {
    const grub = d.encoding !== 'ucs2' && GRUB_PREFIXES.some((p) => d.text.startsWith(p));
    if (grub || d.encoding === 'ucs2') form = { command: d.text };
  }
  return form !== undefined && verifyEventDigest(e, log).status === 'match' ? form : undefined;
}

/**
 * Secure Boot as the firmware measured it into PCR 7, judged by content, not by type: the one event of
 * PCR 7 whose data is the EFI_GLOBAL_VARIABLE SecureBoot (whatever its type says) must be an
 * EV_EFI_VARIABLE_DRIVER_CONFIG before PCR 7's first separator (an event whose data is a 4-byte separator
 * value, whatever its type), and every event before that separator must be what was measured. Anything
 * else (a second SecureBoot event, one retagged, one after the separator, one whose data lies, no
 * separator, PCR 7 not verified) reads as 'unknown'.
 */
function secureBootState(
  log: EventLog,
  untrusted: ReadonlySet<number>,
  verified: BootEvidence['verified'],
): SecureBootState {
  if (!verifiedInSomeBank(verified, 7)) return 'unknown';
  const pcr7 = log.events.filter((e) => e.pcrIndex === 7 && e.eventType !== EV.NO_ACTION);
  const isSeparator = (e: TcgEvent) =>
    isSeparatorValue(e.data) && verifyEventDigest({ ...e, eventType: EV.SEPARATOR }, log).status === 'match';
  const separator = pcr7.findIndex(isSeparator);
  if (separator < 0 || pcr7.slice(0, separator).some((e) => untrusted.has(e.index))) return 'unknown';
  const claims = pcr7.flatMap((e, i) => {
    const d = decodeEventData({ ...e, eventType: EV.EFI_VARIABLE_DRIVER_CONFIG }, log);
    const isSecureBoot =
      d.kind === 'UEFI_VARIABLE_DATA' &&
      d.unicodeName === 'SecureBoot' &&
      d.variableName === EFI_GLOBAL_VARIABLE;
    return isSecureBoot ? [{ e, i, d }] : [];
  });
  const [only] = claims;
  if (claims.length !== 1 || only === undefined) return 'unknown';
  if (only.i > separator || only.e.eventType !== EV.EFI_VARIABLE_DRIVER_CONFIG) return 'unknown';
  const value = only.d.kind === 'UEFI_VARIABLE_DATA' ? only.d.value : undefined;
  return value?.type === 'SecureBoot' ? (value.enabled ? 'enabled' : 'disabled') : 'unknown';
}

/**
 * The boot chain of `log` as evidence, given the (bank, PCR)s on which it replayed to the verified quote
 * (`verified`: bank name → PCRs) and its findings (checkEvents).
 */
export function bootEvidence(
  log: EventLog,
  findings: readonly EventFinding[],
  verified: ReadonlyMap<string, ReadonlySet<number>>,
): BootEvidence {
  const untrusted = new Set(findings.filter((f) => UNTRUSTED_FINDINGS.has(f.code)).map((f) => f.index));
  const digestsOf = (e: TcgEvent): BankDigests =>
    Object.fromEntries(
      e.digests
        .filter((d) => verified.get(bankName(d.algId))?.has(e.pcrIndex) === true)
        .map((d) => [bankName(d.algId), toHex(d.digest)]),
    );
  const believed = log.events.filter(
    (e) => !untrusted.has(e.index) && verifiedInSomeBank(verified, e.pcrIndex),
  );
  const s = summarizeBoot({ ...log, events: believed });
  const byIndex = new Map(log.events.map((e) => [e.index, e]));
  const component = (index: number, path: string | undefined): BootComponentEvidence => {
    const e = byIndex.get(index);
    const digests = e === undefined ? {} : digestsOf(e);
    return path === undefined || path === '' ? { digests } : { path, digests };
  };
  const roles = new Map<number, 'kernel' | 'initrd'>();
  for (const k of s.kernels) roles.set(k.index, 'kernel');
  for (const i of s.initrds) roles.set(i.index, 'initrd');

  const measured: MeasuredEvent[] = [];
  const commands: BootCommand[] = [];
  for (const e of log.events) {
    if (e.eventType === EV.NO_ACTION || !ALLOWLISTED_PCRS.includes(e.pcrIndex)) continue;
    if (!verifiedInSomeBank(verified, e.pcrIndex)) continue;
    // Judged by what the digest covers. Only the forms the PFP (and grub, systemd-boot) define for this
    // PCR, whose digest is the hash of their data, describe themselves: a separator, the boot manager's
    // action strings, a loader's command. Any other event, whatever its type says, is judged by its digest:
    // an event retagged to a "data-hashed" type with the measured file as its data stays an event to allow.
    const d = decodeEventData(e, log);
    const form = untrusted.has(e.index) ? undefined : definedForm(e, d, log);
    if (form === 'label') continue;
    if (form !== undefined) {
      commands.push({ index: e.index, pcr: e.pcrIndex, text: form.command });
      continue;
    }
    const l = label(d);
    const role = roles.get(e.index);
    measured.push({
      index: e.index,
      pcr: e.pcrIndex,
      typeName: e.typeName,
      digests: digestsOf(e),
      ...(l === undefined ? {} : { label: l }),
      ...(role === undefined ? {} : { role }),
    });
  }
  const cmdline = s.kernelCommandLines.at(-1)?.text;
  return {
    verified,
    secureBoot: secureBootState(log, untrusted, verified),
    measured,
    commands,
    bootApplications: s.bootApplications.map((a) => component(a.index, a.devicePath)),
    kernels: s.kernels.map((k) => component(k.index, k.path)),
    initrds: s.initrds.map((k) => component(k.index, k.path)),
    ...(cmdline === undefined ? {} : { kernelCmdline: cmdline }),
  };
}

export interface ImaEvidenceResult {
  readonly ima: NonNullable<StateEvidence['ima']>;
  /**
   * Entries that cannot be judged: their data is not what the template hash covers (which judgeIma reports
   * too), cannot be rebuilt to check it, or names no file.
   */
  readonly refused: readonly ImaRefusal[];
}

export interface ImaRefusal {
  readonly index: number;
  readonly path?: string;
  readonly code: 'template-hash-mismatch' | 'template-hash-unchecked' | 'no-file' | 'other-pcr';
  readonly reason: string;
}

/** The IMA entries a quote covered, as evidence; entries whose data cannot be believed are refused. */
export function imaEvidence(entries: readonly ImaEntry[]): ImaEvidenceResult {
  const out: ImaEvidenceEntry[] = [];
  const refused: ImaRefusal[] = [];
  for (const e of entries) {
    const at = e.path === undefined ? { index: e.index } : { index: e.index, path: e.path };
    // Only PCR 10 is replayed against the quote: an entry the list puts in another PCR (an IMA policy rule
    // with pcr=, or a line the host wrote) is covered by no quoted value.
    if (e.pcr !== IMA_PCR) {
      refused.push({
        ...at,
        code: 'other-pcr',
        reason: `it is in PCR ${e.pcr}, and only PCR ${IMA_PCR} is replayed against the quote`,
      });
      continue;
    }
    if (e.templateHashCheck === 'mismatch') {
      refused.push({
        ...at,
        code: 'template-hash-mismatch',
        reason: 'its template hash is not the hash of its data',
      });
      continue;
    }
    if (e.templateHashCheck === 'unchecked') {
      refused.push({
        ...at,
        code: 'template-hash-unchecked',
        reason: 'its template data cannot be rebuilt to check its template hash',
      });
      continue;
    }
    if (e.fileDigest === undefined || e.path === undefined) {
      refused.push({
        ...at,
        code: 'no-file',
        reason: `its template ${e.templateName} carries no file digest and path`,
      });
      continue;
    }
    out.push({
      path: e.path,
      digestAlg: e.fileDigest.algorithm,
      digest: toHex(e.fileDigest.digest),
      templateHash: toHex(e.templateHash),
    });
  }
  return { ima: { entries: out }, refused };
}
