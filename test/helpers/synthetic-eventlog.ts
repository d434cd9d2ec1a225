// SPDX-License-Identifier: Apache-2.0
// Builds synthetic crypto-agile TCG PC Client event logs (PFP 1.06 §10.2.2 TCG_PCR_EVENT2 after a Spec ID
// event, §10.4.5.1) for tests: chosen banks, an optional StartupLocality event, and events whose
// per-bank digests are node:crypto hashes of given "measured bytes" (an independent oracle: the code under
// test hashes through agent/crypto/hash.ts). It returns the log bytes, the digests to PCR_Extend, and the
// PCR values those extends give, computed here with node:crypto.
import { createHash } from 'node:crypto';
import { EV } from '../../agent/measure/eventlog.js';
import { TPM_ALG } from '../../agent/tpm/constants.js';

export type Bank = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export const BANK_ALG = {
  sha1: TPM_ALG.SHA1,
  sha256: TPM_ALG.SHA256,
  sha384: TPM_ALG.SHA384,
  sha512: TPM_ALG.SHA512,
} as const satisfies Readonly<Record<Bank, number>>;

const DIGEST_BYTES: Readonly<Record<Bank, number>> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

export interface SyntheticEvent {
  readonly pcr: number;
  readonly type: number;
  readonly data: Uint8Array;
  /** What the digests hash (an image, a kernel); default the event data. Ignored for EV_NO_ACTION. */
  readonly measured?: Uint8Array;
  /** Digests to log instead of the computed ones (per bank); EV_NO_ACTION defaults to zeros. */
  readonly digests?: Partial<Record<Bank, Uint8Array>>;
  /** Log digests for these banks only (default every bank of the log): an incomplete event. */
  readonly only?: readonly Bank[];
}

export interface SyntheticLogOptions {
  readonly banks: readonly Bank[];
  /** Adds a StartupLocality EV_NO_ACTION event (PFP §10.4.5.3) right after the Spec ID event. */
  readonly startupLocality?: number;
  readonly events: readonly SyntheticEvent[];
}

export interface Extend {
  /** Index of the event in the parsed log (the Spec ID event is 0). */
  readonly index: number;
  readonly pcr: number;
  readonly digests: readonly { readonly hashAlg: (typeof BANK_ALG)[Bank]; readonly digest: Uint8Array }[];
}

export interface SyntheticLog {
  readonly bytes: Uint8Array;
  /** Byte offset of every record, the header first (so tests can patch one). */
  readonly offsets: readonly number[];
  /** The extended events' digests, in log order (what a TPM receives). */
  readonly extends: readonly Extend[];
  /** PCR values after `extends`, per bank algId, for the PCRs extended (node:crypto). */
  readonly pcrs: Map<number, Map<number, Uint8Array>>;
}

export const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

export function utf16le(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'utf16le'));
}

export function hash(bank: Bank, data: Uint8Array): Uint8Array {
  return Uint8Array.from(createHash(bank).update(data).digest());
}

class Writer {
  private readonly parts: Uint8Array[] = [];
  length = 0;
  bytes(b: Uint8Array): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }
  u8(v: number): this {
    return this.bytes(Uint8Array.of(v));
  }
  u16(v: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, true);
    return this.bytes(b);
  }
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    return this.bytes(b);
  }
  u64(v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    return this.bytes(b);
  }
  done(): Uint8Array {
    return Uint8Array.from(Buffer.concat(this.parts));
  }
}

/** TCG_EfiSpecIDEvent (PFP §10.4.5.1), platformClass 0 (client), spec 2.0 errata 2, 64-bit UINTN. */
function specIdData(banks: readonly Bank[]): Uint8Array {
  const w = new Writer().bytes(ascii('Spec ID Event03\0')).u32(0).u8(0).u8(2).u8(2).u8(2).u32(banks.length);
  for (const b of banks) w.u16(BANK_ALG[b]).u16(DIGEST_BYTES[b]);
  return w.u8(0).done();
}

/** PFP §10.4.5.3 StartupLocality event data. */
function startupLocalityData(locality: number): Uint8Array {
  return new Writer().bytes(ascii('StartupLocality\0')).u8(locality).done();
}

export function buildEventLog(options: SyntheticLogOptions): SyntheticLog {
  const { banks } = options;
  const w = new Writer();
  const offsets: number[] = [];
  // PFP §10.2.1: the header is a TCG_PCR_EVENT with a 20-byte zero digest.
  const spec = specIdData(banks);
  offsets.push(w.length);
  w.u32(0).u32(EV.NO_ACTION).bytes(new Uint8Array(20)).u32(spec.length).bytes(spec);

  const events: SyntheticEvent[] = [];
  if (options.startupLocality !== undefined) {
    events.push({ pcr: 0, type: EV.NO_ACTION, data: startupLocalityData(options.startupLocality) });
  }
  events.push(...options.events);

  const extendsOut: Extend[] = [];
  const pcrs = new Map<number, Map<number, Uint8Array>>();
  events.forEach((e, i) => {
    const noAction = e.type === EV.NO_ACTION;
    const digests = (e.only ?? banks).map((b) => ({
      bank: b,
      digest: e.digests?.[b] ?? (noAction ? new Uint8Array(DIGEST_BYTES[b]) : hash(b, e.measured ?? e.data)),
    }));
    offsets.push(w.length);
    w.u32(e.pcr).u32(e.type).u32(digests.length);
    for (const d of digests) w.u16(BANK_ALG[d.bank]).bytes(d.digest);
    w.u32(e.data.length).bytes(e.data);
    if (noAction) return;
    extendsOut.push({
      index: i + 1,
      pcr: e.pcr,
      digests: digests.map((d) => ({ hashAlg: BANK_ALG[d.bank], digest: d.digest })),
    });
    for (const d of digests) {
      const bank = pcrs.get(BANK_ALG[d.bank]) ?? new Map<number, Uint8Array>();
      pcrs.set(BANK_ALG[d.bank], bank);
      const start = resetValue(e.pcr, DIGEST_BYTES[d.bank], options.startupLocality ?? 0);
      bank.set(e.pcr, hash(d.bank, Buffer.concat([bank.get(e.pcr) ?? start, d.digest])));
    }
  });
  return { bytes: w.done(), offsets, extends: extendsOut, pcrs };
}

/** PFP §2.3.4: DRTM PCRs 17–22 reset to all-ones, the rest to zeros; PCR 0's last byte is the locality. */
export function resetValue(pcr: number, size: number, locality = 0): Uint8Array {
  const v = new Uint8Array(size);
  if (pcr >= 17 && pcr <= 22) v.fill(0xff);
  if (pcr === 0) v[size - 1] = locality;
  return v;
}

// ── Realistic event data (UEFI 2.x structures as PFP §10.4 logs them) ──────────────────────────────

/** EFI_GLOBAL_VARIABLE 8BE4DF61-93CA-11D2-AA0D-00E098032B8C in its EFI_GUID byte order. */
const EFI_GLOBAL_VARIABLE = Uint8Array.from([
  0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c,
]);

/** UEFI_VARIABLE_DATA (PFP §10.3.3) of an EFI_GLOBAL_VARIABLE such as SecureBoot. */
export function efiVariableData(name: string, value: Uint8Array): Uint8Array {
  return new Writer()
    .bytes(EFI_GLOBAL_VARIABLE)
    .u64(name.length)
    .u64(value.length)
    .bytes(utf16le(name))
    .bytes(value)
    .done();
}

/**
 * A UEFI device path (UEFI 2.10 §10.3): HD(1,GPT,…) / File(path) / End. Only its shape matters here.
 */
export function devicePath(file: string): Uint8Array {
  const hd = new Writer().u8(4).u8(1).u16(42).u32(1).u64(2048).u64(1_048_576).bytes(new Uint8Array(16));
  const hdBytes = hd.u8(2).u8(2).done();
  const name = utf16le(`${file}\0`);
  const fileNode = new Writer()
    .u8(4)
    .u8(4)
    .u16(4 + name.length)
    .bytes(name)
    .done();
  const end = Uint8Array.of(0x7f, 0xff, 0x04, 0x00);
  return Uint8Array.from(Buffer.concat([hdBytes, fileNode, end]));
}

/** UEFI_IMAGE_LOAD_EVENT (PFP §10.3.2) for EV_EFI_BOOT_SERVICES_APPLICATION. */
export function imageLoadData(path: Uint8Array, length: number): Uint8Array {
  return new Writer().u64(0x7d6a_5000).u64(length).u64(0).u64(path.length).bytes(path).done();
}

/**
 * A plausible UEFI boot: CRTM version, Secure Boot state, separators in PCRs 0–7, the boot-option action
 * and a boot application in PCR 4, and grub-style EV_IPL strings in PCRs 8 and 9. Every digest whose PFP
 * definition is "the hash of the event data" is that hash; the application's digest is of its image.
 */
export function uefiBootEvents(): SyntheticEvent[] {
  const separator = new Uint8Array(4);
  const shim = ascii('MZ… a stand-in for the PE image of shimx64.efi');
  const dp = devicePath('\\EFI\\debian\\shimx64.efi');
  const kernel = ascii('a stand-in for the bytes of /boot/vmlinuz-6.1.0');
  const events: SyntheticEvent[] = [
    { pcr: 0, type: EV.S_CRTM_VERSION, data: utf16le('1.02\0') },
    { pcr: 7, type: EV.EFI_VARIABLE_DRIVER_CONFIG, data: efiVariableData('SecureBoot', Uint8Array.of(1)) },
  ];
  for (let pcr = 0; pcr <= 7; pcr++) events.push({ pcr, type: EV.SEPARATOR, data: separator });
  events.push(
    { pcr: 4, type: EV.EFI_ACTION, data: ascii('Calling EFI Application from Boot Option') },
    {
      pcr: 4,
      type: EV.EFI_BOOT_SERVICES_APPLICATION,
      data: imageLoadData(dp, shim.length),
      measured: shim,
    },
    // grub logs "grub_cmd: " and the command with a NUL, and measures the command alone.
    {
      pcr: 8,
      type: EV.IPL,
      data: ascii('grub_cmd: linux /boot/vmlinuz-6.1.0 root=/dev/vda1 ro\0'),
      measured: ascii('linux /boot/vmlinuz-6.1.0 root=/dev/vda1 ro'),
    },
    { pcr: 9, type: EV.IPL, data: ascii('/boot/vmlinuz-6.1.0\0'), measured: kernel },
  );
  return events;
}

/** Event types whose digest PFP §10.4 defines as the hash of the event data (the test's simple check). */
export const DATA_HASHED_TYPES: ReadonlySet<number> = new Set([
  EV.S_CRTM_VERSION,
  EV.SEPARATOR,
  EV.EFI_ACTION,
  EV.EFI_VARIABLE_DRIVER_CONFIG,
]);
