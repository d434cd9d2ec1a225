// SPDX-License-Identifier: Apache-2.0
// Boot summary of real logs (shim + grub with Secure Boot, RHEL's grub 2.02, systemd-boot, a kernel
// loaded as a boot application), checked against tpm2_eventlog's YAML for the same log and against
// values read by hand from that YAML.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type BootSummary, summarizeBoot } from '../../agent/measure/boot-summary.js';
import { loadEventLog, PRETTY_DIR, tpm2Eventlog, type YamlEvent } from '../helpers/eventlog-vectors.js';

/** tpm2_eventlog's YAML for a log this test needs it to parse. */
function yamlOf(name: string): YamlEvent[] {
  const y = tpm2Eventlog(name);
  if (y === undefined) throw new Error(`tpm2_eventlog failed on ${name}`);
  return y;
}

const summary = (name: string): BootSummary => summarizeBoot(loadEventLog(name));

/** What tpm2_eventlog's YAML says for the parts of the summary that are plain event fields. */
function fromYaml(yaml: readonly YamlEvent[]) {
  const sb = yaml.find((e) => e.pcr === 7 && e.fields.get('UnicodeName') === 'SecureBoot');
  const sbData = sb?.fields.get('VariableData');
  return {
    secureBoot: sb === undefined ? 'unknown' : sbData === '"01"' ? 'enabled' : 'disabled',
    secureBootVariables: yaml
      .filter(
        (e) =>
          e.type === 'EV_EFI_VARIABLE_DRIVER_CONFIG' &&
          e.pcr === 7 &&
          ['PK', 'KEK', 'db', 'dbx'].includes(e.fields.get('UnicodeName') ?? ''),
      )
      .map((e) => ({
        name: e.fields.get('UnicodeName'),
        index: e.num,
        digests: e.digests,
        dataBytes: Number(e.fields.get('VariableDataLength')),
      })),
    bootApplications: yaml
      .filter((e) => e.pcr === 4 && e.type === 'EV_EFI_BOOT_SERVICES_APPLICATION')
      .map((e) => ({ index: e.num, digests: e.digests })),
    separators: yaml.filter((e) => e.type === 'EV_SEPARATOR').map((e) => ({ index: e.num, pcrIndex: e.pcr })),
  };
}

const LOGS = [
  'keylime/binary_bios_measurements-secureboot',
  'go-tpm-tools/rhel8-uefi.bin',
  'tpm2-tools/event-sd-boot-fedora37.bin',
  'go-tpm-tools/arch-linux-workstation.bin',
  'tpm2-tools/event-moklisttrusted.bin',
] as const;

describe('boot summary equals tpm2_eventlog for the plain fields', () => {
  for (const name of LOGS) {
    it(name, () => {
      const s = summary(name);
      const y = fromYaml(yamlOf(name));
      expect(s.secureBoot).toBe(y.secureBoot);
      expect(
        s.secureBootVariables.map(({ name: n, index, digests, dataBytes }) => ({
          name: n,
          index,
          digests,
          dataBytes,
        })),
      ).toEqual(y.secureBootVariables);
      expect(s.bootApplications.map(({ index, digests }) => ({ index, digests }))).toEqual(
        y.bootApplications,
      );
      expect(s.separators.map(({ index, pcrIndex }) => ({ index, pcrIndex }))).toEqual(y.separators);
      // One separator in each of PCRs 0–7, none an error.
      expect(s.separators.map((x) => x.pcrIndex).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(s.separators.every((x) => !x.error)).toBe(true);
    });
  }
});

/** A grub file measurement as tpm2_eventlog shows it: the PCR 9 EV_IPL at `num`, its string and digests. */
function pcr9(
  yaml: readonly YamlEvent[],
  num: number,
): { path: string | undefined; digests: Readonly<Record<string, string>> } {
  const e = yaml.find((x) => x.num === num);
  if (e === undefined || e.pcr !== 9) throw new Error(`event ${num} is not in PCR 9`);
  return { path: e.string?.replace(/\\0$/, ''), digests: e.digests };
}

describe('kernels, initrds and command lines', () => {
  it('shim + grub 2.06 with Secure Boot (RHEL 9, keylime)', () => {
    const name = 'keylime/binary_bios_measurements-secureboot';
    const s = summary(name);
    const yaml = yamlOf(name);
    expect(s.secureBoot).toBe('enabled');
    expect(s.kernels).toEqual([{ index: 92, pcrIndex: 9, source: 'grub', ...pcr9(yaml, 92) }]);
    expect(s.kernels[0]?.path).toBe('(hd0,gpt2)/vmlinuz-5.14.0-503.11.1.el9_5.x86_64');
    expect(s.initrds).toEqual([{ index: 96, pcrIndex: 9, source: 'grub', ...pcr9(yaml, 96) }]);
    expect(s.initrds[0]?.path).toBe('(hd0,gpt2)/initramfs-5.14.0-503.11.1.el9_5.x86_64.img');
    const cmdline = yaml.find((e) => e.num === 94)?.string;
    expect(cmdline).toMatch(/^kernel_cmdline: /);
    expect(s.kernelCommandLines).toEqual([
      {
        index: 94,
        pcrIndex: 8,
        source: 'grub',
        text: cmdline?.replace(/^kernel_cmdline: /, '').replace(/\\0$/, ''),
      },
    ]);
    expect(s.kernelCommandLines[0]?.text).toMatch(/^\(hd0,gpt2\)\/vmlinuz-5\.14\.0-503.* console=ttyS0$/);
    // shim, grub, and the kernel again as shim verified it (no device path). The HD node read by hand from
    // tpm2_eventlog's DevicePath hex: 04012a00 01000000 0008… 00c012… 52d48ea8529ac44591ce3da7707caaab 0202.
    expect(s.bootApplications.map((a) => a.devicePath)).toEqual([
      'PciRoot(0x0)/Pci(0x2,0x3)/Pci(0x0,0x0)/HD(1,GPT,a88ed452-9a52-45c4-91ce-3da7707caaab,0x800,0x12c000)/\\EFI\\redhat\\shimx64.efi',
      '\\EFI\\redhat\\grubx64.efi',
      '',
    ]);
  });

  it("RHEL 8's grub 2.02: grub_linuxefi Kernel/Initrd events stand for the paths", () => {
    const name = 'go-tpm-tools/rhel8-uefi.bin';
    const s = summary(name);
    const yaml = yamlOf(name);
    expect(s.secureBoot).toBe('enabled');
    expect(s.kernels).toEqual([
      {
        index: 76,
        pcrIndex: 9,
        source: 'grub',
        path: '(hd0,gpt2)/boot/vmlinuz-4.18.0-240.22.1.el8_3.x86_64',
        digests: pcr9(yaml, 76).digests,
      },
    ]);
    expect(pcr9(yaml, 76).path).toBe('grub_linuxefi Kernel');
    expect(s.initrds.map((i) => [i.index, i.path])).toEqual([
      [80, '(hd0,gpt2)/boot/initramfs-4.18.0-240.22.1.el8_3.x86_64.img'],
    ]);
    expect(s.kernelCommandLines.map((c) => [c.index, c.text.split(' ')[0]])).toEqual([
      [78, '(hd0,gpt2)/boot/vmlinuz-4.18.0-240.22.1.el8_3.x86_64'],
    ]);
  });

  it('systemd-boot + EFI stub (Fedora 37): initrd tag in PCR 9, UCS-2 command line in PCR 12', () => {
    const name = 'tpm2-tools/event-sd-boot-fedora37.bin';
    const s = summary(name);
    const yaml = yamlOf(name);
    const tag = yaml.find((e) => e.num === 25);
    expect(tag?.type).toBe('EV_EVENT_TAG');
    expect(s.initrds).toEqual([{ index: 25, pcrIndex: 9, source: 'linux-efi-stub', digests: tag?.digests }]);
    // tpm2_eventlog shows the UCS-2 string " console=ttyS0 console=tty0 efi=debug " (NUL-separated).
    expect(s.kernelCommandLines).toEqual([
      { index: 23, pcrIndex: 12, source: 'systemd', text: ' console=ttyS0 console=tty0 efi=debug ' },
      { index: 24, pcrIndex: 12, source: 'systemd', text: ' console=ttyS0 console=tty0 efi=debug ' },
    ]);
    // Secure Boot variables not present: measured with no data (PFP).
    expect(s.secureBoot).toBe('disabled');
    expect(s.secureBootVariables.map((v) => [v.name, v.dataBytes])).toEqual([
      ['PK', 0],
      ['KEK', 0],
      ['db', 0],
      ['dbx', 0],
    ]);
  });

  it('a kernel loaded as a boot application (Arch, systemd-boot without the stub)', () => {
    const s = summary('go-tpm-tools/arch-linux-workstation.bin');
    expect(s.kernels.map((k) => [k.index, k.source, k.path])).toEqual([
      [
        23,
        'boot-application',
        'PciRoot(0x0)/Pci(0x17,0x0)/Sata(0x1,0xffff,0x0)/HD(1,GPT,1a504613-19b5-4b44-a83d-d926d40daa1c,0x800,0x80000)/\\vmlinuz-linux-lts',
      ],
    ]);
    // The efivar-built YAML of the same boot (tpm2-tools copy) names this path.
    const pretty = readFileSync(join(PRETTY_DIR, 'event-arch-linux.bin.yaml'), 'utf8');
    expect(pretty).toContain(
      'PciRoot(0x0)/Pci(0x17,0x0)/Sata(1,65535,0)/HD(1,GPT,1a504613-19b5-4b44-a83d-d926d40daa1c,0x800,0x80000)/File(\\vmlinuz-linux-lts)',
    );
    expect(s.secureBoot).toBe('disabled');
  });

  it('decoded sizes of the Secure Boot databases (moklisttrusted: Red Hat PK, KEK, db; one dbx hash)', () => {
    const s = summary('tpm2-tools/event-moklisttrusted.bin');
    const pretty = readFileSync(join(PRETTY_DIR, 'event-moklisttrusted.bin.yaml'), 'utf8');
    expect(pretty).toMatch(/UnicodeName: SecureBoot\n\s+VariableData:\n\s+Enabled: 'Yes'/);
    expect(s.secureBoot).toBe('enabled');
    expect(
      s.secureBootVariables.map((v) => [v.name, v.signatureLists, v.x509Certificates, v.sha256Hashes]),
    ).toEqual([
      ['PK', 1, 1, 0],
      ['KEK', 2, 2, 0],
      ['db', 2, 2, 0],
      ['dbx', 1, 0, 1],
    ]);
  });
});
