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
 * - every event extended into an allowlisted PCR (4, 8, 9) whose digest is not the verified hash of its
 *   data is listed in `measured`, whatever its type or description says: the allowlists judge them all;
 * - IMA entries whose template hash does not recompute from their data are refused rather than listed.
 *
 * Not covered: that the quote is genuine (the caller verified it) and the rules themselves (check.ts).
 */

import { bankName } from '../../crypto/algorithms.js';
import { toHex } from '../../encoding/bytes.js';
import { summarizeBoot } from '../boot-summary.js';
import { type EventFinding, verifyEventDigest } from '../event-check.js';
import { decodeEventData } from '../event-data/index.js';
import { EV, type EventLog, type TcgEvent } from '../eventlog.js';
import type { ImaEntry } from '../ima/index.js';
import type { SecureBootState } from '../reference.js';

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

export interface BootEvidence {
  /** Bank name → PCRs on which the event log replayed to the verified quote. */
  readonly verified: ReadonlyMap<string, ReadonlySet<number>>;
  readonly secureBoot: SecureBootState;
  readonly measured: readonly MeasuredEvent[];
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

function label(e: TcgEvent, log: EventLog): string | undefined {
  const d = decodeEventData(e, log);
  if (d.kind === 'UEFI_IMAGE_LOAD_EVENT') return d.devicePathText || undefined;
  if (d.kind === 'string') return d.text.replace(/\0+$/, '') || undefined;
  return undefined;
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
  for (const e of log.events) {
    if (e.eventType === EV.NO_ACTION || !ALLOWLISTED_PCRS.includes(e.pcrIndex)) continue;
    if (!verifiedInSomeBank(verified, e.pcrIndex)) continue;
    // Judged by what the digest covers: a digest that is the hash of the data says the data is what was
    // measured (a label, a command line); any other digest must be allowlisted, whatever the type says.
    if (!untrusted.has(e.index) && verifyEventDigest(e, log).status === 'match') continue;
    const l = label(e, log);
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
    secureBoot: s.secureBoot,
    measured,
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
  readonly code: 'template-hash-mismatch' | 'template-hash-unchecked' | 'no-file';
  readonly reason: string;
}

/** The IMA entries a quote covered, as evidence; entries whose data cannot be believed are refused. */
export function imaEvidence(entries: readonly ImaEntry[]): ImaEvidenceResult {
  const out: ImaEvidenceEntry[] = [];
  const refused: ImaRefusal[] = [];
  for (const e of entries) {
    const at = e.path === undefined ? { index: e.index } : { index: e.index, path: e.path };
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
