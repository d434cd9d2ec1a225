// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/boot-summary
 *
 * What booted, read from a parsed TCG PC Client event log: the Secure Boot state and the measured
 * PK/KEK/db/dbx (PCR 7), the boot applications in order (PCR 4), kernels, initrds and kernel command lines
 * where the loader's measurements can be recognised, and the separators per PCR. This is the input of the
 * reference state's event-level rules (`state capture` / `state check`).
 *
 * Recognised loaders:
 * - grub ≥ 2.04 and distribution-patched 2.02: a PCR 8 EV_IPL command "grub_cmd: linux|linuxefi|linux16
 *   PATH …" (or "initrd…" with paths) is followed by one PCR 9 EV_IPL per file grub read for it, whose data is
 *   the file path (RHEL's 2.02 logs "grub_linuxefi Kernel"/"grub_linuxefi Initrd" instead) and whose digest
 *   is of the file; "kernel_cmdline: " / "grub_kernel_cmdline " carries the command line.
 * - systemd-boot / the Linux EFI stub: the kernel is a PCR 4 boot application whose file name contains
 *   "vmlinu" or lies under \EFI\Linux\ (a UKI); the initrd is the PCR 9 EV_EVENT_TAG "Linux initrd" (tag
 *   0x8F3B22EC) that the kernel's EFI stub measures; the command line is a UCS-2 EV_IPL in PCR 12 (PCR 8 for
 *   systemd-boot before v250).
 *
 * Trust: the summary repeats what the log says. Only a log that replays to a verified quote and has no
 * findings from `checkEvents` backs it; event data whose digest is not of that data (paths, device paths)
 * is a claim of the software that logged it, not a measurement.
 */
import { bankName } from '../crypto/algorithms.js';
import { latin1, toHex } from '../encoding/bytes.js';
import {
  type DecodedEventData,
  decodeEventData,
  EFI_CERT_SHA256_GUID,
  EFI_CERT_X509_GUID,
  EFI_GLOBAL_VARIABLE,
  EFI_IMAGE_SECURITY_DATABASE_GUID,
} from './event-data/index.js';
import { EV, type EventLog, type TcgEvent } from './eventlog.js';

/** Lowercase hex digest per bank name ('sha1', 'sha256', 'sha384', 'sha512', or bankName's spelling). */
export type BankDigests = Readonly<Record<string, string>>;

export type SecureBootVariableName = 'PK' | 'KEK' | 'db' | 'dbx';

export interface SecureBootVariable {
  readonly name: SecureBootVariableName;
  readonly index: number;
  readonly digests: BankDigests;
  /** VariableDataLength: 0 when the variable does not exist. */
  readonly dataBytes: number;
  /** EFI_SIGNATURE_LIST count, X.509 certificates and SHA-256 hashes in them; undefined if undecodable. */
  readonly signatureLists?: number;
  readonly x509Certificates?: number;
  readonly sha256Hashes?: number;
}

export interface BootApplication {
  readonly index: number;
  /** UEFI device path text; '' when the loader logged none (shim, LoadImage from a buffer). */
  readonly devicePath: string;
  readonly digests: BankDigests;
}

/**
 * Who logged it: grub; a PCR 4 boot application recognised as a kernel by its file name; the Linux EFI
 * stub's initrd tag; systemd-boot/stub's UCS-2 command line.
 */
export type LoaderSource = 'grub' | 'boot-application' | 'linux-efi-stub' | 'systemd';

export interface LoadedFile {
  /** The PCR 9 event (grub, EFI stub initrd) or PCR 4 event (kernel as a boot application). */
  readonly index: number;
  readonly pcrIndex: number;
  /** The path as the loader named it, or undefined when it logged none (the EFI stub's initrd). */
  readonly path?: string;
  readonly source: LoaderSource;
  readonly digests: BankDigests;
}

export interface KernelCommandLine {
  readonly index: number;
  readonly pcrIndex: number;
  readonly text: string;
  readonly source: LoaderSource;
}

export interface SeparatorSeen {
  readonly index: number;
  readonly pcrIndex: number;
  /** The separator value signals an error (0xFFFFFFFF). */
  readonly error: boolean;
}

export interface BootSummary {
  /** From the SecureBoot variable measured in PCR 7; 'unknown' when absent or undecodable. */
  readonly secureBoot: 'enabled' | 'disabled' | 'unknown';
  readonly secureBootVariables: readonly SecureBootVariable[];
  readonly bootApplications: readonly BootApplication[];
  readonly kernels: readonly LoadedFile[];
  readonly initrds: readonly LoadedFile[];
  readonly kernelCommandLines: readonly KernelCommandLine[];
  readonly separators: readonly SeparatorSeen[];
}

const SB_VARIABLES: ReadonlyMap<string, string> = new Map([
  ['PK', EFI_GLOBAL_VARIABLE],
  ['KEK', EFI_GLOBAL_VARIABLE],
  ['db', EFI_IMAGE_SECURITY_DATABASE_GUID],
  ['dbx', EFI_IMAGE_SECURITY_DATABASE_GUID],
]);

const GRUB_COMMAND = /^grub_cmd:? (linux|linuxefi|linux16|initrd|initrdefi|initrd16) (.*)$/s;
const GRUB_ANY_COMMAND = /^grub_cmd:? /;
const GRUB_CMDLINE = /^(?:kernel_cmdline: |grub_kernel_cmdline )(.*)$/s;
/** RHEL grub 2.02 logs these instead of the path of the kernel/initrd it measured into PCR 9. */
const GRUB_LINUXEFI = /^grub_linuxefi (Kernel|Initrd)$/;
/** The tag the Linux EFI stub gives its initrd measurement (drivers/firmware/efi/libstub). */
const LINUX_INITRD_TAG = 0x8f3b22ec;
const LINUX_INITRD_TEXT = 'Linux initrd';

function hexDigests(e: TcgEvent): BankDigests {
  return Object.fromEntries(e.digests.map((d) => [bankName(d.algId), toHex(d.digest)]));
}

function text(d: DecodedEventData): string | undefined {
  return d.kind === 'string' ? d.text : undefined;
}

/** Summarises what `log` says booted. Never throws for a parsed log. */
export function summarizeBoot(log: EventLog): BootSummary {
  const decoded = log.events.map((e) => decodeEventData(e, log));
  let secureBoot: BootSummary['secureBoot'] = 'unknown';
  let secureBootSeen = false;
  const secureBootVariables: SecureBootVariable[] = [];
  const bootApplications: BootApplication[] = [];
  const kernels: LoadedFile[] = [];
  const initrds: LoadedFile[] = [];
  const kernelCommandLines: KernelCommandLine[] = [];
  const separators: SeparatorSeen[] = [];

  log.events.forEach((e, i) => {
    const d = decoded[i];
    if (d === undefined) return;
    if (e.eventType === EV.SEPARATOR) {
      separators.push({ index: e.index, pcrIndex: e.pcrIndex, error: d.kind === 'EV_SEPARATOR' && d.error });
    } else if (
      e.eventType === EV.EFI_VARIABLE_DRIVER_CONFIG &&
      e.pcrIndex === 7 &&
      d.kind === 'UEFI_VARIABLE_DATA'
    ) {
      if (d.unicodeName === 'SecureBoot' && d.variableName === EFI_GLOBAL_VARIABLE && !secureBootSeen) {
        secureBootSeen = true;
        if (d.value?.type === 'SecureBoot') secureBoot = d.value.enabled ? 'enabled' : 'disabled';
      }
      const name = d.unicodeName as SecureBootVariableName;
      if (SB_VARIABLES.get(name) === d.variableName) {
        const base = { name, index: e.index, digests: hexDigests(e), dataBytes: d.variableData.length };
        if (d.value?.type !== 'EFI_SIGNATURE_LIST') secureBootVariables.push(base);
        else {
          const sigs = d.value.lists.flatMap((l) => l.signatures.map(() => l.signatureType));
          secureBootVariables.push({
            ...base,
            signatureLists: d.value.lists.length,
            x509Certificates: sigs.filter((t) => t === EFI_CERT_X509_GUID).length,
            sha256Hashes: sigs.filter((t) => t === EFI_CERT_SHA256_GUID).length,
          });
        }
      }
    } else if (e.eventType === EV.EFI_BOOT_SERVICES_APPLICATION && e.pcrIndex === 4) {
      const devicePath = d.kind === 'UEFI_IMAGE_LOAD_EVENT' ? (d.devicePathText ?? '') : '';
      bootApplications.push({ index: e.index, devicePath, digests: hexDigests(e) });
      const file = devicePath.split('/').at(-1) ?? '';
      if (/vmlinu/i.test(file) || /^\\EFI\\Linux\\/i.test(file)) {
        kernels.push({
          index: e.index,
          pcrIndex: 4,
          path: devicePath,
          source: 'boot-application',
          digests: hexDigests(e),
        });
      }
    } else if (e.eventType === EV.EVENT_TAG && e.pcrIndex === 9 && d.kind === 'TCG_PCClientTaggedEvent') {
      const tagText = latin1(d.taggedEventData).replace(/\0+$/, '');
      if (d.taggedEventID === LINUX_INITRD_TAG && tagText === LINUX_INITRD_TEXT) {
        initrds.push({ index: e.index, pcrIndex: 9, source: 'linux-efi-stub', digests: hexDigests(e) });
      }
    } else if (e.eventType === EV.IPL) {
      const t = text(d);
      if (t === undefined) return;
      const cmdline = e.pcrIndex === 8 ? GRUB_CMDLINE.exec(t) : null;
      if (cmdline?.[1] !== undefined) {
        kernelCommandLines.push({ index: e.index, pcrIndex: 8, text: cmdline[1], source: 'grub' });
      } else if (d.kind === 'string' && d.encoding === 'ucs2' && (e.pcrIndex === 12 || e.pcrIndex === 8)) {
        kernelCommandLines.push({
          index: e.index,
          pcrIndex: e.pcrIndex,
          text: t,
          source: 'systemd',
        });
      } else if (e.pcrIndex === 8) {
        const command = GRUB_COMMAND.exec(t);
        if (command?.[1] !== undefined && command[2] !== undefined) {
          const target = command[1].startsWith('linux') ? kernels : initrds;
          // Only the kernel path counts for linux; its other arguments are the command line.
          const args = command[2].split(' ').filter((a) => a !== '');
          const paths = command[1].startsWith('linux') ? args.slice(0, 1) : args;
          for (const f of grubFiles(log.events, decoded, i, paths)) target.push(f);
        }
      }
    }
  });

  return {
    secureBoot,
    secureBootVariables,
    bootApplications,
    kernels,
    initrds,
    kernelCommandLines,
    separators,
  };
}

/** A grub path without its "(hd0,gpt2)" device part. */
const withoutDevice = (path: string): string => path.replace(/^\([^)]*\)/, '');

/**
 * The PCR 9 file measurements grub made for the command at `at`: among the PCR 9 EV_IPL events up to the
 * next grub command, the first naming each path (grub may also load modules, e.g. linux.mod, in between);
 * RHEL's "grub_linuxefi Kernel|Initrd" events stand for the paths in order. One pass over the window and
 * one lookup per path: a command naming many files must not cost paths × events.
 */
function grubFiles(
  events: readonly TcgEvent[],
  decoded: readonly DecodedEventData[],
  at: number,
  paths: readonly string[],
): LoadedFile[] {
  const byPath = new Map<string, TcgEvent>();
  const generic: TcgEvent[] = [];
  for (let j = at + 1; j < events.length; j++) {
    const e = events[j];
    const t = text(decoded[j] ?? { kind: 'raw' });
    if (e === undefined) break;
    if (e.pcrIndex === 8 && e.eventType === EV.IPL && t !== undefined && GRUB_ANY_COMMAND.test(t)) break;
    if (e.pcrIndex !== 9 || e.eventType !== EV.IPL || t === undefined) continue;
    const bare = withoutDevice(t);
    if (!byPath.has(bare)) byPath.set(bare, e);
    if (GRUB_LINUXEFI.test(t)) generic.push(e);
  }
  // Each PCR 9 event stands for one file at most: a command naming a path many times (or many paths
  // for one event) must not multiply the files reported.
  const files: LoadedFile[] = [];
  const taken = new Set<number>();
  paths.forEach((path, k) => {
    const hit = byPath.get(withoutDevice(path)) ?? generic[k];
    if (hit === undefined || taken.has(hit.index)) return;
    taken.add(hit.index);
    files.push({ index: hit.index, pcrIndex: 9, path, source: 'grub', digests: hexDigests(hit) });
  });
  return files;
}
