// SPDX-License-Identifier: Apache-2.0
/**
 * @module web/audit
 *
 * `audit verify --bundle FILE --ak PEM [--strict] --json` on dropped files, with the library's
 * `verifyBundle` and the CLI's `auditVerdictJson`; and what the audit views draw: the bundle's
 * checkpoints and its entries decoded as `audit show` decodes them (agent/cli/audit-tree.ts). Runs in
 * the page's worker (./worker.ts) and in the benchmark.
 */

import { pemToSpki } from '../agent/attest/quote-evidence.js';
import { readBundle, verifyBundle } from '../agent/audit/bundle.js';
import { parseCheckpointBody } from '../agent/audit/checkpoint.js';
import { leafHash } from '../agent/audit/entry.js';
import { type ShownRow, shownRow } from '../agent/cli/audit-tree.js';
import { UsageError } from '../agent/cli/exit-codes.js';
import { auditVerdictJson } from '../agent/cli/verdict-json.js';
import { decodeCborSequence } from '../agent/encoding/cbor.js';
import { INPUT_LIMITS } from '../agent/fs/input-limits.js';
import { bounded, jsonLine, type NamedBytes, type Outcome, ready, refusal } from './run.js';

/** Entries decoded for the views at most: the verdict covers all of them, the drawing the first ones. */
export const VIEW_MAX_ENTRIES = 5000;

export interface AuditView {
  /** Each checkpoint's tree size and counter, oldest first (those whose body parses). */
  readonly checkpoints: readonly { readonly size: number; readonly counter: string }[];
  readonly rows: readonly ShownRow[];
  /** Entries the bundle's header claims (the verdict says how many there are). */
  readonly total: number;
}

export async function runAudit(
  bundle: NamedBytes,
  ak: NamedBytes,
  opts: { strict?: boolean; progress?: (n: number) => void } = {},
): Promise<Outcome> {
  try {
    bounded(ak, INPUT_LIMITS.tpm2ToolsFile, '--ak');
    let akSpki: Uint8Array;
    try {
      akSpki = pemToSpki(new TextDecoder().decode(ak.bytes));
    } catch (e) {
      throw new UsageError(
        `--ak ${ak.name}: not a PEM public key (${e instanceof Error ? e.message : String(e)})`,
      );
    }
    await ready();
    const v = await verifyBundle(bundle.bytes, akSpki, {
      strict: opts.strict === true,
      ...(opts.progress === undefined ? {} : { progress: opts.progress }),
    });
    return {
      ok: v.ok,
      ...(v.code === undefined ? {} : { code: v.code }),
      detail: v.ok ? `${v.size} entries, ${v.checkpoints} checkpoints` : (v.detail ?? ''),
      json: jsonLine(auditVerdictJson(v)),
    };
  } catch (e) {
    return refusal(e);
  }
}

/** The bundle as far as it reads: its checkpoints, and its first VIEW_MAX_ENTRIES entries decoded. */
export function auditView(bytes: Uint8Array): AuditView {
  const checkpoints: { size: number; counter: string }[] = [];
  const rows: ShownRow[] = [];
  let total = 0;
  let skip = 1;
  try {
    const read = readBundle(bytes);
    total = read.header.size;
    skip += read.checkpoints.length;
    for (const c of read.checkpoints) {
      try {
        const b = parseCheckpointBody(c.body);
        checkpoints.push({ size: b.size, counter: b.counter.toString() });
      } catch {
        // A checkpoint whose body does not parse is the verdict's to report; the views leave it out.
      }
    }
    let i = 0;
    for (const item of decodeCborSequence(bytes, { tags: [] })) {
      if (i++ < skip) continue; // the header and the checkpoints
      if (rows.length === VIEW_MAX_ENTRIES) break;
      rows.push(shownRow(rows.length, item.bytes, leafHash(item.bytes)));
    }
  } catch {
    // The views show what reads; the verdict says why the rest does not.
  }
  return { checkpoints, rows, total };
}
