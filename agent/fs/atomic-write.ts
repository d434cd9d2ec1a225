// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/fs/atomic-write
 *
 * The one atomic file replacement (STYLE.md §4) for the state files the agent keeps (clock info, IMA
 * checkpoints, reference states): the data goes to a temporary file in the target's directory, is
 * fsync'd and renamed over the target, and the directory is fsync'd, so a crash leaves the old file or
 * the new one, never a torn mix (rename(2) is atomic within one file system).
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { toHex } from '../encoding/bytes.js';

/** Writes `data` to `file` atomically: a temporary file beside it, fsync, rename over `file`. */
export async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${toHex(randomBytes(6))}.tmp`);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  // The rename itself survives a crash once the directory is synced (best effort: not every FS allows it).
  try {
    const dir = await open(dirname(file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // fsync of a directory is refused on some file systems; the rename has happened either way.
  }
}
