// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/fs/atomic-write
 *
 * The one way the agent writes a file (STYLE.md §4): keys, evidence, state files, and what later layers
 * write (artifacts, audit exports). The agent runs as root, and a local user may have planted things
 * where it writes (issue 11, finding 4), so:
 *
 * - the directory must be a real directory (not a symbolic link) owned by root or by us, and so must
 *   each directory above it (after resolving links there), and none may be writable by others unless
 *   sticky (as /tmp is): then no one else can swap a name in the path after it was checked;
 * - the data goes to a temporary file in that directory, created O_CREAT|O_EXCL|O_NOFOLLOW with the
 *   requested mode (fchmod'd, since the umask may narrow it), fsync'd, then put in place: rename(2)
 *   over the target when replacing, link(2) when not (it fails if the name exists, whatever it is, so
 *   nothing is replaced without `replace`); the directory is fsync'd. A crash leaves the old file or the
 *   new one, never a torn mix, and a file is never written through an existing inode: a replaced file
 *   is a new one, ours, with the requested mode, whatever owner and mode the old one had;
 * - a target that is a symbolic link, or not a regular file, is refused even with `replace`.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { link, lstat, mkdir, open, realpath, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { toHex } from '../encoding/bytes.js';
import { ExecgateError, errnoOf } from '../errors.js';

/**
 * E_FILE_UNSAFE: the target or its directory could let another user redirect or read the write (a
 * symbolic link, a directory someone else owns or may write to, a target that is not a regular file).
 * E_FILE_EXISTS: the target exists and replacing it was not asked for (the CLI's --force).
 * E_FILE_WRITE: the write itself failed (no such directory, no space, permission): `cause` has errno.
 */
export type FileWriteErrorCode = 'E_FILE_UNSAFE' | 'E_FILE_EXISTS' | 'E_FILE_WRITE';

export class FileWriteError extends ExecgateError<FileWriteErrorCode> {}

export interface WriteOptions {
  /** The file's mode, exactly (0o600 for secrets): not narrowed by the umask, not kept from an old file. */
  readonly mode: number;
  /** Replace an existing regular file (the CLI's --force). Never replaces a symbolic link. */
  readonly replace: boolean;
}

export interface DirOptions {
  /** The mode of directories created (exactly); existing ones are checked, not changed. */
  readonly mode: number;
}

function failed(what: string, e: unknown): FileWriteError {
  return new FileWriteError('E_FILE_WRITE', `${what}: ${e instanceof Error ? e.message : String(e)}`, {
    cause: e,
  });
}

/** A directory that is not there: say which, and what to do. */
function missingDir(dir: string, e?: unknown): FileWriteError {
  return new FileWriteError(
    'E_FILE_WRITE',
    `directory ${dir} does not exist: make it (mkdir -p ${dir}) or choose another path`,
    { cause: e },
  );
}

const euid = (): number => (typeof process.geteuid === 'function' ? process.geteuid() : 0);

/** The sticky bit (S_ISVTX): in such a directory only an entry's owner (or root) may rename or remove it. */
const S_ISVTX = 0o1000;

/** Whether others than the owner may create, rename or remove entries in a directory of this mode. */
function writableByOthers(mode: number): boolean {
  return (mode & 0o022) !== 0 && (mode & S_ISVTX) === 0;
}

/**
 * Refuses a directory someone other than root or us owns, or may change (see the module comment); the
 * message says what would make it safe. `what` names it: "directory /a" or "directory /a (above /a/b)".
 */
function checkOwnership(path: string, st: { uid: number; mode: number }, what: string): void {
  if (st.uid !== 0 && st.uid !== euid())
    throw new FileWriteError(
      'E_FILE_UNSAFE',
      `${what} is owned by another user (uid ${st.uid}): chown root ${path}, or use another directory`,
    );
  if (writableByOthers(st.mode))
    throw new FileWriteError(
      'E_FILE_UNSAFE',
      `${what} is writable by others (mode ${(st.mode & 0o7777).toString(8)}) and not sticky: chmod go-w ${path}`,
    );
}

/**
 * Checks that `dir` is a directory files may be written into safely: not a symbolic link, owned by root
 * or us, not writable by others unless sticky, and the same for every directory above it.
 */
export async function checkDir(dir: string): Promise<void> {
  const abs = resolve(dir);
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(abs);
  } catch (e) {
    throw errnoOf(e) === 'ENOENT' ? missingDir(dir, e) : failed(`directory ${dir}`, e);
  }
  if (st.isSymbolicLink())
    throw new FileWriteError('E_FILE_UNSAFE', `directory ${dir} is a symbolic link; give the real path`);
  if (!st.isDirectory()) throw new FileWriteError('E_FILE_UNSAFE', `${dir} is not a directory`);
  checkOwnership(dir, st, `directory ${dir}`);
  // The directories above, as they really are (links there, e.g. /var/run → /run, are resolved).
  let real: string;
  try {
    real = await realpath(dirname(abs));
  } catch (e) {
    throw failed(`directory ${dir}`, e);
  }
  const parts = real.split(sep).filter((p) => p !== '');
  for (let i = parts.length; i >= 0; i--) {
    const up = sep + parts.slice(0, i).join(sep);
    let s: Awaited<ReturnType<typeof lstat>>;
    try {
      s = await lstat(up);
    } catch (e) {
      throw failed(`directory ${up}`, e);
    }
    checkOwnership(up, s, `directory ${up} (above ${dir})`);
  }
}

/**
 * Makes `dir` (and missing directories above it) with `mode`, then checks it as checkDir does: an
 * existing directory that is a symbolic link, or that another user owns or may write to, is refused.
 */
export async function ensureDir(dir: string, opts: DirOptions): Promise<void> {
  const abs = resolve(dir);
  let existing: Awaited<ReturnType<typeof lstat>> | undefined;
  try {
    existing = await lstat(abs);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw failed(`directory ${dir}`, e);
  }
  if (existing === undefined) {
    // The nearest existing directory above must be safe before anything is made in it.
    let up = dirname(abs);
    for (;;) {
      const s = await lstat(up).catch((e: unknown) => {
        if (errnoOf(e) === 'ENOENT') return undefined;
        throw failed(`directory ${up}`, e);
      });
      if (s !== undefined) break;
      up = dirname(up);
    }
    await checkDir(up);
    try {
      const first = await mkdir(abs, { recursive: true, mode: opts.mode });
      // mkdir applies the umask: set the mode asked for on each directory made.
      if (first !== undefined) {
        for (let d = abs; ; d = dirname(d)) {
          const fh = await open(d, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW);
          try {
            await fh.chmod(opts.mode);
          } finally {
            await fh.close();
          }
          if (d === first || d === dirname(d)) break;
        }
      }
    } catch (e) {
      throw failed(`cannot make directory ${dir}`, e);
    }
  }
  await checkDir(abs);
}

/** Fsyncs a directory so that a rename or link in it survives a crash (best effort: not every FS allows it). */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // fsync of a directory is refused on some file systems; the rename has happened either way.
  }
}

/** Refuses a target that is a symbolic link or not a regular file, and an existing one without `replace`. */
async function checkTarget(file: string, replace: boolean): Promise<void> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(file);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return;
    throw failed(file, e);
  }
  if (st.isSymbolicLink())
    throw new FileWriteError('E_FILE_UNSAFE', `${file} is a symbolic link; remove it to write there`);
  if (st.isDirectory())
    throw new FileWriteError(
      'E_FILE_UNSAFE',
      `${file} is a directory: give a file name, e.g. ${join(file, basename(file) === '' ? 'out' : 'out.bin')}`,
    );
  if (!st.isFile()) throw new FileWriteError('E_FILE_UNSAFE', `${file} exists and is not a regular file`);
  if (!replace) throw new FileWriteError('E_FILE_EXISTS', `${file} exists; --force replaces it`);
}

/**
 * Writes `data` to `file` as the module comment describes: into a checked directory, through a
 * temporary file, with exactly `mode`; an existing file is replaced only with `replace`, a symbolic
 * link never.
 */
export async function writeFileSafe(
  file: string,
  data: string | Uint8Array,
  opts: WriteOptions,
): Promise<void> {
  const dir = dirname(resolve(file));
  await checkDir(dir);
  await checkTarget(file, opts.replace);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${toHex(randomBytes(6))}.tmp`);
  const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;
  try {
    const fh = await open(tmp, flags, opts.mode);
    try {
      await fh.chmod(opts.mode);
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (opts.replace) {
      // rename(2) replaces the name, never writes through it: a link planted since checkTarget is
      // replaced itself, not followed.
      await rename(tmp, file);
    } else {
      // link(2) fails when the name exists, whatever it is: nothing planted since checkTarget is replaced.
      try {
        await link(tmp, file);
      } catch (e) {
        if (errnoOf(e) === 'EEXIST')
          throw new FileWriteError('E_FILE_EXISTS', `${file} exists; --force replaces it`);
        throw e;
      }
      await unlink(tmp);
    }
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof FileWriteError) throw e;
    throw failed(`cannot write ${file}`, e);
  }
  await syncDir(dir);
}

/**
 * Checks, before costly work (a TPM command), that writeFileSafe(file, …, opts) would not be refused:
 * the directory (a missing one only when the caller makes it with ensureDir: `makesDir`), and the
 * target. The write checks again.
 */
export async function checkWritable(
  file: string,
  opts: Pick<WriteOptions, 'replace'> & { readonly makesDir?: boolean },
): Promise<void> {
  const dir = dirname(resolve(file));
  const exists = await lstat(dir).then(
    () => true,
    (e: unknown) => {
      if (errnoOf(e) !== 'ENOENT') throw failed(`directory ${dir}`, e);
      if (opts.makesDir !== true) throw missingDir(dirname(file), e);
      return false;
    },
  );
  if (exists) await checkDir(dir);
  await checkTarget(file, opts.replace);
}
