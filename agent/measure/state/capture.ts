// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/state/capture
 *
 * A reference-state document (agent/measure/reference.ts) from a known-good host's evidence: its exact PCR
 * values, allowlists of every event digest in the allowlisted PCRs and of the IMA entries seen
 * (deduplicated, sorted), Secure Boot "required" when it was enabled, and the boot chain for people. The
 * document checks clean against the evidence it was captured from (check.ts), so build the evidence with
 * verdict.ts, which only lets in what the verified quote covers.
 */
import { toHex } from '../../encoding/bytes.js';
import { BOOT_AGGREGATE } from '../boot-aggregate.js';
import {
  type BootComponentSummary,
  type DigestRule,
  type ImaAllowEntry,
  type PcrBank,
  type ReferenceState,
  validateReferenceState,
} from '../reference.js';
import { isImaViolation } from './check.js';
import type { BootComponentEvidence, MeasuredEvent, StateEvidence } from './evidence.js';

export interface CaptureOptions {
  /** The `created` time; now by default. */
  readonly now?: Date;
  readonly host?: { readonly akName?: Uint8Array; readonly note?: string };
  /** Overrides the default: "required" when the evidence says Secure Boot is enabled, else "any". */
  readonly secureBoot?: 'required' | 'any';
  /** Record allowViolations: true in the IMA rule (false by default). */
  readonly allowImaViolations?: boolean;
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** One rule per distinct (bank, digest), noted with the first description seen. */
function digestRules(events: readonly MeasuredEvent[]): DigestRule[] {
  const seen = new Map<string, DigestRule>();
  for (const e of events) {
    for (const [b, d] of Object.entries(e.digests)) {
      const key = `${b}:${d}`;
      if (seen.has(key)) continue;
      const rule = { bank: b as PcrBank, digest: d };
      seen.set(key, e.label === undefined ? rule : { ...rule, note: e.label });
    }
  }
  return [...seen.values()].sort((x, y) => byCodeUnits(x.bank, y.bank) || byCodeUnits(x.digest, y.digest));
}

function summarize(list: readonly BootComponentEvidence[]): BootComponentSummary[] {
  return list.map((c) => {
    const digests = Object.fromEntries(Object.entries(c.digests).sort(([a], [b]) => byCodeUnits(a, b)));
    return c.path === undefined ? { digests } : { path: c.path, digests };
  });
}

/**
 * Builds a reference state from `evidence`; rules are present exactly for the evidence given. Throws
 * ReferenceStateError when the result would not be a valid document (an unknown bank, no evidence).
 */
export function captureReference(evidence: StateEvidence, options?: CaptureOptions): ReferenceState {
  const pcrs: Record<string, Record<string, string>> = {};
  for (const b of [...evidence.pcrs.keys()].sort(byCodeUnits)) {
    const values = evidence.pcrs.get(b);
    if (values === undefined || values.size === 0) continue;
    pcrs[b] = Object.fromEntries(
      [...values].sort(([x], [y]) => x - y).map(([i, v]) => [String(i), toHex(v)]),
    );
  }

  const { boot, ima } = evidence;
  const secureBoot = options?.secureBoot ?? (boot?.secureBoot === 'enabled' ? 'required' : 'any');
  const rules: Record<string, unknown> = { secureBoot };
  if (boot !== undefined) {
    const m = boot.measured;
    rules.bootApplications = digestRules(m.filter((e) => e.pcr === 4));
    rules.kernels = digestRules(m.filter((e) => e.role === 'kernel'));
    rules.initrds = digestRules(m.filter((e) => e.role === 'initrd'));
    rules.loaderFiles = digestRules(m.filter((e) => e.pcr !== 4 && e.role === undefined));
    rules.bootCommands = [...new Set(boot.commands.map((c) => c.text))].sort(byCodeUnits);
  }
  if (ima !== undefined) {
    const seen = new Map<string, ImaAllowEntry>();
    ima.entries.forEach((e, i) => {
      if ((i === 0 && e.path === BOOT_AGGREGATE) || isImaViolation(e)) return;
      const entry = { path: e.path, digest: `${e.digestAlg.toLowerCase()}:${e.digest.toLowerCase()}` };
      seen.set(`${entry.path}\0${entry.digest}`, entry);
    });
    const allowlist = [...seen.values()].sort(
      (x, y) => byCodeUnits(x.path, y.path) || byCodeUnits(x.digest, y.digest),
    );
    rules.ima = { mode: 'enforce-listed', allowViolations: options?.allowImaViolations ?? false, allowlist };
  }

  const host: Record<string, string> = {};
  if (options?.host?.akName !== undefined) host.akName = toHex(options.host.akName);
  if (options?.host?.note !== undefined) host.note = options.host.note;
  const doc: Record<string, unknown> = {
    execgate: 'reference-state',
    version: 1,
    created: (options?.now ?? new Date()).toISOString(),
    host,
    pcrs,
    rules,
  };
  if (boot !== undefined) {
    const chain: Record<string, unknown> = {
      secureBoot: boot.secureBoot,
      bootApplications: summarize(boot.bootApplications),
      kernels: summarize(boot.kernels),
      initrds: summarize(boot.initrds),
    };
    if (boot.kernelCmdline !== undefined) chain.kernelCmdline = boot.kernelCmdline;
    doc.bootChain = chain;
  }
  return validateReferenceState(doc);
}
