// SPDX-License-Identifier: Apache-2.0
// Event trust findings: the exact findings on every real log (each kept one explained), the digest variants
// seen on real firmware, synthetic logs with an altered digest or a retagged event, and hostile logs.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkEvents, verifyEventDigest } from '../../agent/measure/event-check.js';
import { EV, parseEventLog } from '../../agent/measure/eventlog.js';
import { TPM_ALG } from '../../agent/tpm/constants.js';
import { EVENTLOG_DIR, loadEventLog, REAL_LOGS } from '../helpers/eventlog-vectors.js';

const load = loadEventLog;
const LOGS = REAL_LOGS;
const DIR = EVENTLOG_DIR;

/**
 * Every finding on the real logs, per log: [event index, code, bank] — none is a false alarm of a rule;
 * each is a real oddity of that log.
 */
const KEPT: Readonly<Record<string, readonly (readonly [number, string, string?])[]>> = {
  // Windows logs boot configuration data (SIPA structures) as EV_NO_ACTION in "PCR" 0xFFFFFFFF with the
  // SHA-1 of the data as digest. It is no PFP EV_NO_ACTION structure and its digest is non-zero, so by
  // the PFP it is indistinguishable from a retagged event; a Windows-aware verifier would decode SIPA.
  'go-attestation/option_rom_eventlog': [[60, 'retagged']],
  // Event 24 (old systemd-boot's UCS-2 load options in PCR 8, 365 bytes: an odd length) does not hash to
  // its digest; tpm2-tools ships this log with event-arch-linux.bin.warn "Event 24's digest does not match
  // its payload" (the go-tpm-tools copy is the same boot).
  'go-tpm-tools/arch-linux-workstation.bin': [
    [24, 'digest-mismatch', 'sha1'],
    [24, 'digest-mismatch', 'sha256'],
  ],
  'tpm2-tools/event-arch-linux.bin': [
    [24, 'digest-mismatch', 'sha1'],
    [24, 'digest-mismatch', 'sha256'],
  ],
  // The S-CRTM version "2.3.5" (UCS-2) is not what its digest hashes (no sub-range of the data does);
  // go-tpm-tools' own test expects "invalid SCRTM version event for PCR0" for this log (expected_pcrs.json).
  'go-tpm-tools/gdc-host.bin': [[3, 'digest-mismatch', 'sha256']],
  // A vendor event type 0x00008401 in PCR 2 (data 0x01, digest SHA-256(0x01)): not a PFP type.
  'rust-keylime/uefi_log.bin': [[42, 'unknown-type']],
};

const BANK: Readonly<Record<number, string>> = {
  [TPM_ALG.SHA1]: 'sha1',
  [TPM_ALG.SHA256]: 'sha256',
  [TPM_ALG.SHA384]: 'sha384',
};

describe('real logs: the exact findings', () => {
  for (const name of LOGS) {
    it(name, () => {
      const got = checkEvents(load(name)).map((f) =>
        f.algId === undefined ? [f.index, f.code] : [f.index, f.code, BANK[f.algId] ?? f.algId],
      );
      expect(got).toEqual(KEPT[name] ?? []);
    });
  }

  it('tpm2-tools states the arch-linux mismatch independently', () => {
    const warn = readFileSync(join(DIR, 'tpm2-tools/event-arch-linux.bin.warn'), 'utf8');
    expect(warn).toMatch(/Event 24's digest does not match its payload/);
  });

  it('findings say what was expected and what was found', () => {
    const [retag] = checkEvents(load('go-attestation/option_rom_eventlog'));
    expect(retag?.message).toMatch(
      /must be zero.*found non-zero sha1 digest and data that is no EV_NO_ACTION/,
    );
    expect(retag?.pcrIndex).toBe(0xffff_ffff);
    const [mismatch] = checkEvents(load('go-tpm-tools/gdc-host.bin'));
    expect(mismatch?.message).toBe('EV_S_CRTM_VERSION sha256 digest is not the hash of the event data');
    expect(mismatch?.offset).toBe(load('go-tpm-tools/gdc-host.bin').events[3]?.offset);
  });
});

describe('digest variants seen on real firmware', () => {
  const variantOf = (name: string, index: number): string => {
    const log = load(name);
    const e = log.events[index];
    if (e === undefined) throw new Error(`no event ${index}`);
    const v = verifyEventDigest(e, log);
    return v.status === 'match' ? v.variant : v.status;
  };

  it('each known variant, at an event that needs it', () => {
    // PFP: the whole UEFI_VARIABLE_DATA (PCR 7 SecureBoot).
    expect(variantOf('tpm2-tools/event-moklisttrusted.bin', 4)).toBe('UEFI_VARIABLE_DATA');
    // edk2: Boot#### hashed as VariableData only.
    expect(variantOf('tpm2-tools/event-bootorder.bin', 13)).toBe('VariableData (edk2)');
    // shim: its certificate event hashes all but the last of the padded bytes.
    expect(variantOf('go-tpm-tools/debian-10.bin', 23)).toBe('UEFI_VARIABLE_DATA with shim padding');
    // grub 2.04+: text after the prefix without NUL; RHEL's grub 2.02: commands with the NUL, the kernel
    // command line without.
    expect(variantOf('go-attestation/coreos_36_shielded_vm_no_secure_boot_eventlog', 31)).toBe(
      'grub\'s text after "grub_cmd: "',
    );
    expect(variantOf('go-tpm-tools/rhel8-uefi.bin', 28)).toBe('grub\'s text after "grub_cmd " with its NUL');
    expect(variantOf('go-tpm-tools/rhel8-uefi.bin', 78)).toBe('grub\'s text after "grub_kernel_cmdline "');
    // grub with UTF-8 menu entries (Kylin).
    expect(variantOf('tpm2-tss/binary_measurements_hcrtm.bin', 51)).toBe('grub\'s text after "grub_cmd: "');
    // systemd-stub's UCS-2 command line in PCR 12.
    expect(variantOf('tpm2-tools/event-sd-boot-fedora37.bin', 23)).toBe('systemd load options (UCS-2)');
    // Not checked: the digest is of the PE image.
    expect(variantOf('tpm2-tools/event-bootorder.bin', 25)).toBe('not-checked');
  });

  it('checked events match an independent hash of their data (node:crypto)', () => {
    // EV_SEPARATOR, EV_EFI_ACTION and EV_EFI_GPT_EVENT: digest = SHA-256 of the event data.
    let n = 0;
    for (const name of LOGS) {
      const log = load(name);
      for (const e of log.events) {
        if (![EV.SEPARATOR, EV.EFI_ACTION, EV.EFI_GPT_EVENT].includes(e.eventType as 4)) continue;
        const sha256 = e.digests.find((d) => d.algId === TPM_ALG.SHA256);
        if (sha256 === undefined) continue;
        const oracle =
          createHash('sha256').update(e.data).digest('hex') === Buffer.from(sha256.digest).toString('hex');
        const ours = verifyEventDigest(e, log).status === 'match';
        expect(ours, `${name} ${e.index}`).toBe(oracle);
        n++;
      }
    }
    expect(n).toBeGreaterThan(300);
  });
});

// ---- synthetic crypto-agile logs (SHA-1 + SHA-256), digests from node:crypto ----

interface Ev {
  readonly pcr: number;
  readonly type: number;
  readonly data: Uint8Array;
  /** Defaults to the hash of `data` per bank; 'zero' for EV_NO_ACTION. */
  readonly digests?: { sha1: Uint8Array; sha256: Uint8Array } | 'zero' | undefined;
}

const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const u16 = (v: number): number[] => [v & 0xff, v >>> 8];
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const h = (alg: string, d: Uint8Array): Uint8Array => new Uint8Array(createHash(alg).update(d).digest());

function buildLog(events: readonly Ev[]): Uint8Array {
  const spec = [
    ...ascii('Spec ID Event03\0'),
    ...u32(0),
    0,
    2,
    0,
    2,
    ...u32(2),
    ...u16(TPM_ALG.SHA1),
    ...u16(20),
    ...u16(TPM_ALG.SHA256),
    ...u16(32),
    0,
  ];
  const out: number[] = [
    ...u32(0),
    ...u32(EV.NO_ACTION),
    ...new Array<number>(20).fill(0),
    ...u32(spec.length),
    ...spec,
  ];
  for (const e of events) {
    const d =
      e.digests === 'zero'
        ? { sha1: new Uint8Array(20), sha256: new Uint8Array(32) }
        : (e.digests ?? { sha1: h('sha1', e.data), sha256: h('sha256', e.data) });
    out.push(...u32(e.pcr), ...u32(e.type), ...u32(2));
    out.push(...u16(TPM_ALG.SHA1), ...d.sha1, ...u16(TPM_ALG.SHA256), ...d.sha256);
    out.push(...u32(e.data.length), ...e.data);
  }
  return Uint8Array.from(out);
}

const SEPARATOR: Ev = { pcr: 4, type: EV.SEPARATOR, data: Uint8Array.from([0, 0, 0, 0]) };
const ACTION: Ev = { pcr: 5, type: EV.EFI_ACTION, data: ascii('Exit Boot Services Invocation') };
const GRUB: Ev = {
  pcr: 8,
  type: EV.IPL,
  data: ascii('grub_cmd: linux /vmlinuz\0'),
  digests: { sha1: h('sha1', ascii('linux /vmlinuz')), sha256: h('sha256', ascii('linux /vmlinuz')) },
};

const findings = (events: readonly Ev[]): (readonly [number, string, number?])[] =>
  checkEvents(parseEventLog(buildLog(events))).map((f) =>
    f.algId === undefined ? [f.index, f.code] : [f.index, f.code, f.algId],
  );

describe('synthetic logs', () => {
  it('a well-formed log has no findings', () => {
    expect(findings([SEPARATOR, ACTION, GRUB])).toEqual([]);
  });

  it('an altered digest is a digest-mismatch naming the event and the bank', () => {
    const sha256 = h('sha256', ascii('something else'));
    const altered: Ev = { ...ACTION, digests: { sha1: h('sha1', ACTION.data), sha256 } };
    expect(findings([SEPARATOR, altered, GRUB])).toEqual([[2, 'digest-mismatch', TPM_ALG.SHA256]]);
    const both: Ev = { ...SEPARATOR, digests: { sha1: h('sha1', ascii('x')), sha256 } };
    expect(findings([both, ACTION])).toEqual([
      [1, 'digest-mismatch', TPM_ALG.SHA1],
      [1, 'digest-mismatch', TPM_ALG.SHA256],
    ]);
    // grub's string hashed with its prefix is not what grub measures.
    const grub: Ev = { ...GRUB, digests: undefined };
    expect(findings([grub])).toEqual([
      [1, 'digest-mismatch', TPM_ALG.SHA1],
      [1, 'digest-mismatch', TPM_ALG.SHA256],
    ]);
  });

  it('an EV_EFI_ACTION or EV_IPL retagged as EV_NO_ACTION is reported', () => {
    const retaggedAction: Ev = { ...ACTION, type: EV.NO_ACTION };
    expect(findings([SEPARATOR, retaggedAction])).toEqual([[2, 'retagged']]);
    const retaggedIpl: Ev = { ...GRUB, type: EV.NO_ACTION };
    const [f] = checkEvents(parseEventLog(buildLog([retaggedIpl])));
    expect([f?.index, f?.code, f?.pcrIndex]).toEqual([1, 'retagged', 8]);
    expect(f?.message).toMatch(/non-zero sha1, sha256 digest and data that is no EV_NO_ACTION structure/);
    // Zeroed digests do not hide it: the data is still no EV_NO_ACTION structure.
    expect(findings([{ ...ACTION, type: EV.NO_ACTION, digests: 'zero' }])).toEqual([[1, 'retagged']]);
    // A genuine StartupLocality event is not.
    const locality = Uint8Array.from([...ascii('StartupLocality\0'), 3]);
    expect(findings([{ pcr: 0, type: EV.NO_ACTION, data: locality, digests: 'zero' }])).toEqual([]);
  });

  it('undecodable data, an unexpected PCR and an unknown type', () => {
    expect(findings([{ ...SEPARATOR, data: Uint8Array.from([0, 0, 0]) }])).toEqual([[1, 'undecodable']]);
    const gpt: Ev = { pcr: 4, type: EV.EFI_GPT_EVENT, data: ascii('EFI PART') };
    expect(findings([gpt])).toEqual([
      [1, 'undecodable'],
      [1, 'unexpected-pcr'],
    ]);
    expect(findings([{ pcr: 2, type: 0x4242, data: ascii('x') }])).toEqual([[1, 'unknown-type']]);
  });

  it('any events in a well-formed log give findings, never an exception', () => {
    const types = [...Object.values(EV), 0x4242];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            pcr: fc.integer({ min: 0, max: 23 }),
            type: fc.constantFrom(...types),
            data: fc.uint8Array({ maxLength: 200 }),
            zero: fc.boolean(),
          }),
          { maxLength: 12 },
        ),
        (evs) => {
          const log = parseEventLog(
            buildLog(evs.map((e) => ({ ...e, digests: e.zero ? 'zero' : undefined }))),
          );
          for (const f of checkEvents(log)) expect(f.index).toBeGreaterThan(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});
