// SPDX-License-Identifier: Apache-2.0
/**
 * Files the command line writes, named by a flag (`--out`, `--checkpoint`, `--save-clock`, …): checked
 * before any TPM work, written through agent/fs/atomic-write.ts, and every refusal names the flag and the
 * path (E_FILE_UNSAFE, E_FILE_EXISTS, E_FILE_WRITE: exit 2), so a mistake costs no quote and no key.
 */
import { checkWritable, FileWriteError, type WriteOptions, writeFileSafe } from '../fs/atomic-write.js';

/** Runs `work` on the file of `flag`; a FileWriteError comes back with the flag and path in front. */
export async function forFlag<T>(flag: string, path: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof FileWriteError)
      throw new FileWriteError(e.code, `${flag} ${path}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Refuses, before costly work, an output that the write would refuse (atomic-write's checkWritable). */
export function checkOutput(
  flag: string,
  path: string,
  opts: Parameters<typeof checkWritable>[1],
): Promise<void> {
  return forFlag(flag, path, () => checkWritable(path, opts));
}

/** Writes the output of `flag` atomically (atomic-write's writeFileSafe). */
export function writeOutput(
  flag: string,
  path: string,
  data: string | Uint8Array,
  opts: WriteOptions,
): Promise<void> {
  return forFlag(flag, path, () => writeFileSafe(path, data, opts));
}
