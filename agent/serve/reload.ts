// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/serve/reload
 *
 * Which files `execgate serve` watches to reload its policy: the policy file, its policy.d directory
 * and fragments, and every file the policy names (issuer, approver and break-glass keys, revocation
 * lists, the reference state). A change is seen by polling: each file's device, inode, size and
 * modification time (ns), compared on each tick. Polling, not fs.watch: inotify misses a file replaced
 * by rename into a watched name's place, and on some filesystems reports nothing; a stat per file per
 * tick costs microseconds.
 *
 * Not covered: a write that keeps the size within the filesystem's time granularity of the last one
 * (both times unchanged); the next write is seen. A directory above a file made writable by others is
 * seen by the next reload, not by polling.
 */
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { HostPolicy } from '../config/policy.js';

/** The files whose change reloads `policy`: see the module comment. */
export function watchedFiles(policy: HostPolicy): string[] {
  const files = new Set<string>();
  if (policy.file !== undefined) {
    files.add(policy.file);
    files.add(join(dirname(policy.file), 'policy.d'));
  }
  for (const f of policy.fragments) files.add(f);
  for (const i of policy.issuers) files.add(i.key);
  for (const a of policy.approvals) for (const k of a.approvers) files.add(k);
  if (policy.breakglass) files.add(policy.breakglass.key);
  for (const l of policy.revocation?.lists ?? []) files.add(l);
  if (policy.host.reference !== undefined) files.add(policy.host.reference);
  return [...files].sort();
}

/** Each file's identity and version ("dev:ino:uid:mode:size:mtimeNs:ctimeNs", or "-" when it cannot be stat'ed), by path. */
export async function fingerprints(files: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await Promise.all(
    files.map(async (f) => {
      try {
        const s = await stat(f, { bigint: true });
        out.set(f, `${s.dev}:${s.ino}:${s.uid}:${s.mode}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`);
      } catch {
        out.set(f, '-');
      }
    }),
  );
  return out;
}

/**
 * The fingerprints to keep for `policy` while it loads, each taken before its file was read, so that a
 * write during the load differs at the next check: those in `before` (taken before the policy file was
 * read), the others now. Call it after the policy is loaded and before its trust (keys, revocation
 * lists, reference) is read. Not covered: a fragment new to policy.d written between its read and this call.
 */
export async function printsBeforeRead(
  policy: HostPolicy,
  before: ReadonlyMap<string, string>,
): Promise<Map<string, string>> {
  const out = await fingerprints(watchedFiles(policy));
  for (const f of out.keys()) {
    const b = before.get(f);
    if (b !== undefined) out.set(f, b);
  }
  return out;
}

/** The files whose fingerprint differs between `before` and `after` (added, removed or changed). */
export function changedFiles(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((k) => before.get(k) !== after.get(k)).sort();
}
