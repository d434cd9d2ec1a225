// SPDX-License-Identifier: Apache-2.0
// A host's measured-state evidence built by hand (agent/measure/state/evidence.ts shape), for the reference
// capture/check tests: two banks, shim (measured twice) and GRUB in PCR 4, a kernel, an initrd and grub.cfg
// in PCR 9, and an IMA list.
import { createHash } from 'node:crypto';
import type { ReferenceState } from '../../agent/measure/reference.js';
import { captureReference } from '../../agent/measure/state/capture.js';
import type { BootEvidence, MeasuredEvent, StateEvidence } from '../../agent/measure/state/evidence.js';

export const sha = (alg: string, label: string): string => createHash(alg).update(label).digest('hex');
export const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

export const SHIM = '\\EFI\\BOOT\\BOOTX64.EFI';
export const GRUB = '\\EFI\\debian\\grubx64.efi';
export const KERNEL = '/boot/vmlinuz-6.1.0-18-amd64';
export const INITRD = '/boot/initrd.img-6.1.0-18-amd64';
export const GRUB_CFG = '/boot/grub/grub.cfg';
export const NOW = new Date('2026-11-29T10:24:12.000Z');
export const AK_NAME = `000b${sha('sha256', 'ak')}`;

/** sha1 and sha256 digests of `content`. */
export const digestsOf = (content: string): Record<string, string> => ({
  sha1: sha('sha1', content),
  sha256: sha('sha256', content),
});

/** A measured event: `label` describes it; its digests are of `content` (the label by default). */
export function event(
  index: number,
  pcr: number,
  label: string,
  options: {
    content?: string;
    role?: 'kernel' | 'initrd';
    typeName?: string;
    digests?: Record<string, string>;
  } = {},
): MeasuredEvent {
  const typeName = options.typeName ?? (pcr === 4 ? 'EV_EFI_BOOT_SERVICES_APPLICATION' : 'EV_IPL');
  return {
    index,
    pcr,
    typeName,
    digests: options.digests ?? digestsOf(options.content ?? label),
    label,
    ...(options.role === undefined ? {} : { role: options.role }),
  };
}

export interface ImaEntryEvidence {
  path: string;
  digestAlg: string;
  digest: string;
  templateHash?: string;
}

export const imaEntry = (path: string, label: string, digestAlg = 'sha256'): ImaEntryEvidence => ({
  path,
  digestAlg,
  digest: sha(digestAlg, label),
  templateHash: sha('sha256', `template ${path} ${label}`),
});

export const BOOT_PCRS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

/** Boot evidence from its measured events; the boot chain lists follow from them. */
export function boot(
  measured: readonly MeasuredEvent[],
  options: {
    secureBoot?: BootEvidence['secureBoot'];
    verified?: ReadonlyMap<string, ReadonlySet<number>>;
    commands?: readonly string[];
  } = {},
): BootEvidence {
  const component = (e: MeasuredEvent) =>
    e.label === undefined ? { digests: e.digests } : { path: e.label, digests: e.digests };
  return {
    verified:
      options.verified ??
      new Map([
        ['sha1', new Set(BOOT_PCRS)],
        ['sha256', new Set(BOOT_PCRS)],
      ]),
    secureBoot: options.secureBoot ?? 'enabled',
    measured,
    commands: (options.commands ?? [`grub_cmd: linux ${KERNEL} root=/dev/mapper/vg-root ro quiet`]).map(
      (text, i) => ({
        index: 10 + i,
        pcr: 8,
        text,
      }),
    ),
    bootApplications: measured.filter((e) => e.pcr === 4).map(component),
    kernels: measured.filter((e) => e.role === 'kernel').map(component),
    initrds: measured.filter((e) => e.role === 'initrd').map(component),
    kernelCmdline: `BOOT_IMAGE=${KERNEL} root=/dev/mapper/vg-root ro quiet`,
  };
}

export const HOST_EVENTS: readonly MeasuredEvent[] = [
  event(3, 4, SHIM),
  event(5, 4, GRUB),
  event(6, 4, SHIM),
  event(20, 9, GRUB_CFG),
  event(22, 9, KERNEL, { role: 'kernel' }),
  event(24, 9, INITRD, { role: 'initrd' }),
];

export interface HostEvidence {
  pcrs: Map<string, Map<number, Uint8Array>>;
  boot: BootEvidence;
  ima: { entries: ImaEntryEvidence[] };
}

/** The host: two banks of PCRs 0–7, the boot of HOST_EVENTS, and an IMA list. */
export function hostEvidence(): HostEvidence {
  const pcrs = new Map<string, Map<number, Uint8Array>>();
  for (const bank of ['sha1', 'sha256'])
    pcrs.set(bank, new Map([0, 1, 2, 3, 4, 5, 6, 7].map((i) => [i, bytes(sha(bank, `pcr ${i}`))])));
  return {
    pcrs,
    boot: boot(HOST_EVENTS),
    ima: {
      entries: [
        imaEntry('boot_aggregate', 'aggregate'),
        imaEntry('/usr/bin/bash', 'bash 5.2'),
        imaEntry('/usr/lib/x86_64-linux-gnu/libc.so.6', 'libc 2.36'),
        imaEntry('/usr/bin/python3', 'python 3.11.2'),
        imaEntry('/usr/bin/bash', 'bash 5.2'),
        imaEntry('/usr/bin/python3', 'python 3.11.4'),
        imaEntry('/usr/bin/ZZ-legacy', 'legacy', 'sha1'),
      ],
    },
  };
}

export const capture = (evidence: StateEvidence = hostEvidence()): ReferenceState =>
  captureReference(evidence, { now: NOW, host: { akName: bytes(AK_NAME), note: 'golden image 2026-11' } });
