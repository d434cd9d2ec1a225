// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/gate/artifact-store
 *
 * The policy's `[host] artifacts` directory, where `execgate exec` without --artifact looks for one
 * (agent/gate/gate.ts, step 1): its files are read one at a time, bounded in number and size, and only
 * regular files; the directory must be as trusted as the policy's own files.
 */
import { ExecgateError } from '../errors.js';
import { GateError } from './errors.js';

/** Artifacts of the [host] artifacts store, one at a time: regular files, bounded in number and size. */
export async function* readArtifactStore(
  dir: string | undefined,
): AsyncGenerator<{ file: string; bytes: Uint8Array }> {
  if (dir === undefined) return;
  const { readdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { readRegularFile } = await import('../fs/read-bounded.js');
  const { MAX_ARTIFACT_BYTES } = await import('../artifact/artifact.js');
  const { checkDir } = await import('../fs/atomic-write.js');
  try {
    // Whoever may write the store may evict the operator's artifacts from a lookup (by name order past
    // MAX_STORE_FILES): it must be as trusted as the policy's own files.
    await checkDir(dir);
  } catch (e) {
    // A store that is missing or unreadable is E_MISSING below; an unsafe one is the policy's fault.
    if (e instanceof ExecgateError && e.code === 'E_FILE_UNSAFE')
      throw new GateError(
        'E_CONFIG',
        `the artifact store: ${e.message}`,
        `make ${dir} root's (or the gate user's) and not writable by others`,
        { cause: e },
      );
  }
  let all: string[];
  try {
    all = await readdir(dir);
  } catch (e) {
    throw new GateError(
      'E_MISSING',
      `cannot read the artifact store ${dir}: ${e instanceof Error ? e.message : String(e)}`,
      `create ${dir} (the policy's [host] artifacts), or give --artifact FILE`,
      { cause: e },
    );
  }
  const names = all.sort().slice(0, MAX_STORE_FILES);
  for (const name of names) {
    const file = join(dir, name);
    let bytes: Uint8Array;
    try {
      // Regular files only: a FIFO or device planted in the store (or linked from it) would hold the gate.
      bytes = await readRegularFile(file, { maxBytes: MAX_ARTIFACT_BYTES, what: 'artifact' });
    } catch {
      continue; // Not a readable artifact file: not a candidate.
    }
    yield { file, bytes };
  }
}

/** Files of the artifact store considered (the rest is ignored: the store is the operator's). */
export const MAX_STORE_FILES = 10_000;
