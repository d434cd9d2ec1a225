// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/fs/trusted-file
 *
 * The one way the agent opens a file whose content decides what it trusts: host.json (the pinned EK), the
 * host policy and its policy.d fragments, and the keys, revocation lists and reference state the policy
 * names. A local user who could plant or swap such a file would choose who may run what (issue 11
 * finding 4, issue 14), so a file is read only when no one but root and us could have written it:
 *
 * - the file is not a symbolic link (O_NOFOLLOW), is a regular file (a FIFO is opened without waiting for
 *   a writer, O_NONBLOCK, then refused), is owned by root or by our effective uid, and is writable by
 *   neither its group nor others;
 * - its directory and every one above it pass checkDir (fs/atomic-write.ts), the rule for writing files.
 *
 * The file's checks are made on the open descriptor, and that descriptor is what is read: the file
 * cannot be swapped between check and read. Refusals are E_FILE_UNSAFE (FileWriteError) naming the path
 * and what to chmod or chown; a file that cannot be opened is E_INPUT_READ (InputError; ENOENT in
 * `cause` when there is none), one over its limit E_INPUT_LIMIT.
 *
 * Not checked (as for checkDir): a symbolic link above the file's directory is followed (/var/run →
 * /run), and the directory holding that link is not itself checked.
 */
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { errnoOf } from '../errors.js';
import { checkDir, FileWriteError } from './atomic-write.js';
import { InputError, type ReadBoundedOptions, readOpened } from './read-bounded.js';

const euid = (): number => (typeof process.geteuid === 'function' ? process.geteuid() : 0);

/**
 * Opens `path` for reading, refusing what another user could have written (see the module comment).
 * `what` names the file in messages ("key file"). The caller closes the handle.
 */
export async function openTrusted(path: string, what: string): Promise<FileHandle> {
  const unsafe = (why: string) => new FileWriteError('E_FILE_UNSAFE', `${what} ${path} ${why}`);
  let fh: FileHandle;
  try {
    fh = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  } catch (e) {
    if (errnoOf(e) === 'ELOOP') throw unsafe('is a symbolic link: name the file it points to');
    throw new InputError(
      'E_INPUT_READ',
      path,
      `${what}: cannot read "${path}" (${e instanceof Error ? e.message : String(e)})`,
      { cause: e },
    );
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw unsafe('is not a regular file');
    if (st.uid !== 0 && st.uid !== euid())
      throw unsafe(`is owned by another user (uid ${st.uid}): chown root ${path}`);
    if (st.mode & 0o022)
      throw unsafe(
        `is writable by group or others (mode ${(st.mode & 0o7777).toString(8)}): chmod go-w ${path}`,
      );
    await checkDir(dirname(resolve(path)));
  } catch (e) {
    await fh.close();
    throw e;
  }
  return fh;
}

/** The bytes of `path` opened by openTrusted, read as readBounded reads (at most `maxBytes`). */
export async function readTrusted(path: string, options: ReadBoundedOptions): Promise<Uint8Array> {
  const fh = await openTrusted(path, options.what);
  try {
    return await readOpened(fh, path, options);
  } finally {
    await fh.close();
  }
}
