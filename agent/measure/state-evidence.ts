// SPDX-License-Identifier: Apache-2.0
/**
 * The evidence a reference state is judged on (agent/measure/reference.ts StateEvidence), built from logs
 * that have already matched a verified quote. Only what can be believed goes in: boot-chain facts come
 * from events whose data is what was measured (an event with a 'digest-mismatch' or 'retagged' finding is
 * left out, so a Secure Boot variable whose data lies reads as 'unknown'), and IMA entries whose template
 * hash does not recompute from their data are refused rather than listed.
 */
import { toHex as hex } from '../encoding/bytes.js';
import { summarizeBoot } from './boot-summary.js';
import type { EventFinding } from './event-check.js';
import type { EventLog } from './eventlog.js';
import type { ImaEntry } from './ima/index.js';
import type { StateEvidence } from './reference.js';

/** Findings that say an event's data or type is not what was measured. */
export const UNTRUSTED_FINDINGS: ReadonlySet<string> = new Set(['digest-mismatch', 'retagged']);

/** The boot chain of `log` from its trusted events only. */
export function bootEvidence(
  log: EventLog,
  findings: readonly EventFinding[],
): NonNullable<StateEvidence['boot']> {
  const untrusted = new Set(findings.filter((f) => UNTRUSTED_FINDINGS.has(f.code)).map((f) => f.index));
  const s = summarizeBoot({ ...log, events: log.events.filter((e) => !untrusted.has(e.index)) });
  const component = (path: string | undefined, digests: Readonly<Record<string, string>>) =>
    path === undefined || path === '' ? { digests } : { path, digests };
  const cmdline = s.kernelCommandLines.at(-1)?.text;
  return {
    secureBoot: s.secureBoot,
    bootApplications: s.bootApplications.map((a) => component(a.devicePath, a.digests)),
    kernels: s.kernels.map((k) => component(k.path, k.digests)),
    initrds: s.initrds.map((k) => component(k.path, k.digests)),
    ...(cmdline === undefined ? {} : { kernelCmdline: cmdline }),
  };
}

export interface ImaEvidenceResult {
  readonly ima: NonNullable<StateEvidence['ima']>;
  /** Entries that cannot be judged: their data is not what the template hash covers, or cannot be rebuilt. */
  readonly refused: readonly { readonly index: number; readonly path?: string; readonly reason: string }[];
}

/** The IMA entries a quote covered, as evidence; entries whose data cannot be believed are refused. */
export function imaEvidence(entries: readonly ImaEntry[]): ImaEvidenceResult {
  const out: { path: string; digestAlg: string; digest: string; templateHash: string }[] = [];
  const refused: { index: number; path?: string; reason: string }[] = [];
  for (const e of entries) {
    const at = e.path === undefined ? { index: e.index } : { index: e.index, path: e.path };
    if (e.templateHashCheck === 'mismatch') {
      refused.push({ ...at, reason: 'its template hash is not the hash of its data' });
      continue;
    }
    if (e.templateHashCheck === 'unchecked') {
      refused.push({ ...at, reason: 'its template data cannot be rebuilt to check its template hash' });
      continue;
    }
    if (e.fileDigest === undefined || e.path === undefined) {
      refused.push({ ...at, reason: `its template ${e.templateName} carries no file digest and path` });
      continue;
    }
    out.push({
      path: e.path,
      digestAlg: e.fileDigest.algorithm,
      digest: hex(e.fileDigest.digest),
      templateHash: hex(e.templateHash),
    });
  }
  return { ima: { entries: out }, refused };
}
