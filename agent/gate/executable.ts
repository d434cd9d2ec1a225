// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/gate/executable
 *
 * The executable the gate judges, opened once (issue 14, "time-of-check to time-of-use"; DESIGN §6,
 * scope): the command is resolved as execvp(3) would, the file is opened, and from then on everything is
 * judged through that descriptor — its owner and mode, its real path (read back from /proc/self/fd, so it
 * is the path of the file actually opened), its SHA-256 and its kind. agent/gate/run.ts runs the same
 * descriptor, so renaming another file over the path after this point changes nothing.
 *
 * Resolution: a command containing "/" is a path, relative to `cwd`. Otherwise each PATH entry is tried in
 * order, and the first that holds a regular file with an execute bit is taken. Unlike execvp, empty and
 * relative PATH entries (which execvp searches relative to the working directory) are skipped: a "." or
 * "" entry lets whoever can write to the working directory choose what runs. PATH unset means glibc's
 * default, /bin:/usr/bin. A command that resolves to nothing is E_SCOPE ("no executable CMD on PATH"),
 * as is every other refusal here: the execution the caller asked for is not one the gate may judge.
 *
 * Refused (E_SCOPE, naming the path and what to change):
 * - not a regular file, no execute bit, neither an ELF binary (\x7fELF) nor a #! script (the kernel runs
 *   nothing else without a shell's fallback);
 * - an ELF that is not an executable for the gate's own class, byte order and machine, and a #! line
 *   that does not end within 256 bytes or names a relative interpreter: the kernel would refuse the
 *   first two (ENOEXEC, after which glibc's execvp, used by libuv, runs the file with /bin/sh — measured)
 *   and resolve a relative interpreter against the working directory (so a 32-bit binary on a 64-bit
 *   gate is refused too);
 * - a file owned by anyone but root or the effective uid, or writable by group or others;
 * - a directory from / down to the file's that is owned by anyone but root or the effective uid, or is
 *   writable by group or others without the sticky bit (agent/fs/atomic-write.ts `checkDir`; /tmp counts
 *   as safe): then no one else can swap the file or a directory in its path;
 * - a file moved or removed while being opened, or changed while being hashed (size, mtime or ctime
 *   differ after the hash);
 * - a #! script whose interpreter (and each interpreter's own, as the kernel nests them) is missing, or
 *   fails the file and directory rules above, or is named through a symbolic link another user owns or
 *   that sits in a directory checkDir refuses: the kernel opens the interpreter by name at exec time, so
 *   whoever could change it would choose what the allowed script runs.
 *
 * Not covered: root or the file's owner rewriting the file in place between the hash and the exec (both
 * are trusted by the rules above: a sealed copy would need memfd_create, which Node does not offer); the
 * content of a #! interpreter (only who may change it is checked), a program it finds itself
 * (`#!/usr/bin/env python3` searches PATH when it runs), and the ELF's dynamic loader and libraries
 * (only the named file is measured); file names that are not UTF-8 (refused: read back lossily, they do
 * not match the opened file).
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, lstat, open, readlink, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { equalBytesAt } from '../encoding/bytes.js';
import { errnoOf } from '../errors.js';
import { checkDir, FileWriteError } from '../fs/atomic-write.js';
import { GateError } from './errors.js';

/** What the kernel does with the file: load an ELF image, or hand a #! script to its interpreter. */
export type ExecutableKind = 'elf' | 'script';

/** What the verdict judges of an opened executable (all an `execgate serve` is told of it). */
export type JudgedExecutable = Pick<OpenedExecutable, 'realPath' | 'sha256'>;

/** An executable opened once and judged through its descriptor; `close()` when it has run. */
export interface OpenedExecutable {
  /** The real path of the opened file (no symbolic links): what `scope.exe` is compared with. */
  readonly realPath: string;
  /** The descriptor everything was judged through, and the file that runs (agent/gate/run.ts). */
  readonly fd: FileHandle;
  /** SHA-256 of the file's content, read from `fd`. */
  readonly sha256: Uint8Array;
  readonly kind: ExecutableKind;
  /** The file's size in bytes, as hashed. */
  readonly size: number;
  close(): Promise<void>;
}

export interface OpenExecutableOptions {
  /** The directory a relative command is resolved against, and the command's working directory. */
  readonly cwd: string;
  /** The caller's PATH; undefined means glibc's default (/bin:/usr/bin). */
  readonly pathEnv: string | undefined;
}

/** glibc's execvp search path when PATH is unset (confstr _CS_PATH). */
const DEFAULT_PATH = '/bin:/usr/bin';
/** PATH_MAX: no longer command names a file. */
const MAX_COMMAND_BYTES = 4096;
/** MAX_ARG_STRLEN: no longer PATH can come from a real environment. */
const MAX_PATH_ENV_BYTES = 128 * 1024;
/** Read size while hashing: 1 MiB hashed a 99 MB binary in ~100 ms, 256 KiB in ~145 ms (measured, median of 9). */
const CHUNK_BYTES = 1024 * 1024;
const ELF_MAGIC = new Uint8Array([0x7f, 0x45, 0x4c, 0x46]);
const SHEBANG = new Uint8Array([0x23, 0x21]);
/** The kernel reads this much of a file to tell its format and a script's #! line (BINPRM_BUF_SIZE). */
const HEAD_BYTES = 256;
/** ELF header offsets (System V ABI, "ELF Header"): e_ident[EI_CLASS], [EI_DATA], then e_type, e_machine. */
const EI_CLASS = 4;
const EI_DATA = 5;
const ELFDATA2MSB = 2;
const E_TYPE = 16;
const E_MACHINE = 18;
/** e_ident (16 bytes), e_type and e_machine: what the checks below read. */
const ELF_PREFIX_BYTES = 20;
/** e_type values the kernel executes: a fixed-address executable, or a position-independent one. */
const ET_EXEC = 2;
const ET_DYN = 3;

const REMEDY_RESOLVE =
  'give the executable by its absolute path, or put its directory on PATH as an absolute path ' +
  '(empty and relative PATH entries are not searched)';

function scope(message: string, remedy: string, cause?: unknown): GateError {
  return new GateError('E_SCOPE', message, remedy, cause === undefined ? undefined : { cause });
}

function effectiveUid(): number {
  // Linux only (the gate relies on /proc), where geteuid always exists.
  if (typeof process.geteuid !== 'function')
    throw new GateError('E_INTERNAL', 'no effective uid', 'run on Linux');
  return process.geteuid();
}

/** Resolves `command` to the path to open, as the module comment describes. */
async function resolveCommand(command: string, opts: OpenExecutableOptions): Promise<string> {
  if (command === '') throw scope('an empty command names no executable', REMEDY_RESOLVE);
  if (command.includes('\0')) throw scope('the command contains a NUL byte', REMEDY_RESOLVE);
  if (Buffer.byteLength(command) > MAX_COMMAND_BYTES)
    throw scope(`the command is longer than ${MAX_COMMAND_BYTES} bytes`, REMEDY_RESOLVE);
  if (command.includes('/')) return resolve(opts.cwd, command);
  const pathEnv = opts.pathEnv ?? DEFAULT_PATH;
  if (Buffer.byteLength(pathEnv) > MAX_PATH_ENV_BYTES)
    throw scope(`PATH is longer than ${MAX_PATH_ENV_BYTES} bytes`, REMEDY_RESOLVE);
  for (const dir of pathEnv.split(':')) {
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, command);
    // execvp goes on past a name it cannot use (missing, not searchable, not executable): so does this.
    const st = await stat(candidate).catch(() => undefined);
    if (st?.isFile() && (st.mode & 0o111) !== 0) return candidate;
  }
  throw scope(`no executable "${command}" on PATH`, REMEDY_RESOLVE);
}

/**
 * Refuses a file that is not a regular file with an execute bit, owned by root or `euid`, and not
 * writable by group or others. Pure (takes the fstat result), so the owner rule is testable without a
 * second user.
 */
export function checkExecutableStat(path: string, st: { mode: number; uid: number }, euid: number): void {
  const mode = (st.mode & 0o7777).toString(8);
  if ((st.mode & fsConstants.S_IFMT) !== fsConstants.S_IFREG)
    throw scope(`${path} is not a regular file`, 'give the path of an executable file');
  if ((st.mode & 0o111) === 0)
    throw scope(`${path} is not executable (mode ${mode})`, `chmod +x ${path}, if it is meant to run`);
  if (st.uid !== 0 && st.uid !== euid)
    throw scope(
      `${path} is owned by uid ${st.uid}, neither root nor the caller (uid ${euid})`,
      `chown root ${path}, or install it as a file only root or uid ${euid} can change`,
    );
  if ((st.mode & 0o022) !== 0)
    throw scope(`${path} is writable by group or others (mode ${mode})`, `chmod go-w ${path}`);
}

/** Checks every directory from / down to the file's (the module comment's rule), as E_SCOPE. */
async function checkDirectories(realPath: string): Promise<void> {
  try {
    await checkDir(dirname(realPath));
  } catch (e) {
    if (!(e instanceof FileWriteError)) throw e;
    throw scope(
      `executable ${realPath}: ${e.message}`,
      'make each directory above the executable owned by root or the caller and not writable by ' +
        'group or others (chmod go-w DIR; sticky like /tmp is safe), or install the executable elsewhere',
      e,
    );
  }
}

/** The path of the file behind `fh`, checked to name that same file (not a link, not replaced, not removed). */
async function realPathOf(fh: FileHandle, st: { dev: bigint; ino: bigint }, opened: string): Promise<string> {
  const moved = (cause?: unknown) =>
    scope(
      `${opened} was moved or removed while being opened`,
      'run the command again once the file is in place',
      cause,
    );
  let real: string;
  try {
    real = await readlink(`/proc/self/fd/${fh.fd}`);
  } catch (e) {
    throw new GateError('E_INTERNAL', `cannot read the path of ${opened} from /proc/self/fd`, 'mount /proc', {
      cause: e,
    });
  }
  // A removed file reads back as "PATH (deleted)"; a non-UTF-8 name reads back lossily: neither matches.
  const named = await lstat(real, { bigint: true }).catch((e: unknown) => {
    throw moved(e);
  });
  if (!isAbsolute(real) || named.isSymbolicLink() || named.dev !== st.dev || named.ino !== st.ino)
    throw moved();
  return real;
}

/**
 * Hashes the first `size` bytes of `fh` with positional reads, and returns the hash and the first bytes
 * (for the kind). Never reads past `size`: a file that grows is caught by the fstat after.
 */
async function measure(
  fh: FileHandle,
  size: number,
  path: string,
): Promise<{ sha256: Uint8Array; head: Uint8Array }> {
  const hash = createHash('sha256');
  const chunk = new Uint8Array(Math.max(1, Math.min(CHUNK_BYTES, size)));
  const head = new Uint8Array(Math.min(HEAD_BYTES, size));
  let pos = 0;
  while (pos < size) {
    const { bytesRead } = await fh.read(chunk, 0, Math.min(chunk.length, size - pos), pos);
    if (bytesRead === 0) throw changedWhileMeasured(path);
    const got = chunk.subarray(0, bytesRead);
    if (pos < head.length) head.set(got.subarray(0, head.length - pos), pos);
    hash.update(got);
    pos += bytesRead;
  }
  return { sha256: new Uint8Array(hash.digest()), head };
}

function changedWhileMeasured(path: string): GateError {
  return scope(
    `${path} changed while being measured`,
    'run the command again once nothing is writing to the executable',
  );
}

/** The class, byte order and machine of the running gate's own binary: an ELF this kernel loads. */
async function ownElfIdent(): Promise<Uint8Array> {
  const fh = await open('/proc/self/exe', 'r');
  try {
    const ident = new Uint8Array(ELF_PREFIX_BYTES);
    await fh.read(ident, 0, ELF_PREFIX_BYTES, 0);
    return ident;
  } finally {
    await fh.close();
  }
}

/**
 * Refuses an ELF file that is not an executable for the gate's own class, byte order and machine. The
 * kernel would refuse it with ENOEXEC, and glibc's execvp (which libuv uses) then hands the file to
 * /bin/sh as a script: this keeps that fallback from running a binary as shell commands.
 */
async function checkElf(head: Uint8Array, path: string): Promise<void> {
  const own = await ownElfIdent();
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const sameAbi =
    head.length >= ELF_PREFIX_BYTES &&
    head[EI_CLASS] === own[EI_CLASS] &&
    head[EI_DATA] === own[EI_DATA] &&
    view.getUint16(E_MACHINE) === new DataView(own.buffer).getUint16(E_MACHINE);
  const type = sameAbi ? view.getUint16(E_TYPE, head[EI_DATA] !== ELFDATA2MSB) : 0;
  if (type !== ET_EXEC && type !== ET_DYN)
    throw scope(
      `${path} is not an ELF executable for this machine`,
      `build ${path} for this machine, or install the build that is`,
    );
}

/**
 * Refuses a #! line that does not end within HEAD_BYTES or names a relative interpreter: the kernel
 * refuses the first with ENOEXEC (and glibc's execvp then runs the file with /bin/sh instead), and
 * resolves the second against the working directory, which whoever may write there would choose.
 */
function checkShebang(head: Uint8Array, path: string): string {
  const end = head.indexOf(0x0a);
  const line = end < 0 ? '' : Buffer.from(head.subarray(SHEBANG.length, end)).toString('latin1');
  const interpreter = line.replace(/^[ \t]+/, '').split(/[ \t]/, 1)[0] ?? '';
  if (!interpreter.startsWith('/'))
    throw scope(
      `${path}: its #! line must name an absolute interpreter and end within ${HEAD_BYTES} bytes`,
      `make its first line name the interpreter by absolute path, e.g. #!/bin/sh`,
    );
  return interpreter;
}

/** How many #! interpreters the kernel runs one through another before ELOOP (fs/exec.c exec_binprm). */
const MAX_INTERPRETERS = 5;
/** How many symbolic links path resolution follows (MAXSYMLINKS). */
const MAX_LINKS = 40;

/**
 * The real path `named` resolves to, refusing a resolution another user could change: every symbolic
 * link on the way must be root's or `euid`'s in a directory checkDir accepts (so no one else may replace
 * it), and the file's own directories are checked by the caller (checkDirectories). The kernel resolves
 * an interpreter by name at exec time, so what matters is that no one else can change what it finds.
 */
async function resolveSafely(named: string, euid: number, what: string): Promise<string> {
  const refuse = (why: string, cause?: unknown) =>
    scope(
      `${what} ${named}: ${why}`,
      'name an interpreter that only root or the caller can change (e.g. #!/bin/sh), by a path whose links and directories are theirs',
      cause,
    );
  const parts = named.split('/').filter((p) => p !== '' && p !== '.');
  let dir = '/';
  let links = 0;
  for (let name = parts.shift(); name !== undefined; name = parts.shift()) {
    if (name === '..') {
      dir = dirname(dir);
      continue;
    }
    const path = join(dir, name);
    const st = await lstat(path).catch((e: unknown) => {
      throw refuse(`${path} cannot be found (${errnoOf(e) ?? String(e)})`, e);
    });
    if (!st.isSymbolicLink()) {
      dir = path;
      continue;
    }
    if (++links > MAX_LINKS) throw refuse('too many symbolic links');
    if (st.uid !== 0 && st.uid !== euid)
      throw refuse(`the symbolic link ${path} is owned by uid ${st.uid}, neither root nor the caller`);
    try {
      await checkDir(dir);
    } catch (e) {
      if (!(e instanceof FileWriteError)) throw e;
      throw refuse(`the symbolic link ${path} is in an unsafe directory: ${e.message}`, e);
    }
    const target = await readlink(path);
    if (target.startsWith('/')) dir = '/';
    parts.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
  }
  return dir;
}

/**
 * Refuses a script whose #! interpreter (and the interpreter's own, as the kernel nests them) another
 * user could change: it must exist, pass checkExecutableStat, lie in directories checkDirectories accepts,
 * and be named through links only root or the caller can change (resolveSafely). Otherwise whoever may
 * replace the interpreter chooses what an allowed script runs.
 */
async function checkInterpreters(head: Uint8Array, path: string, euid: number): Promise<void> {
  let interpreter = checkShebang(head, path);
  for (let depth = 1; ; depth++) {
    const what = `${path}: its #! interpreter`;
    if (depth > MAX_INTERPRETERS)
      throw scope(`${what} ${interpreter} nests #! lines too deeply`, REMEDY_RESOLVE);
    const real = await resolveSafely(interpreter, euid, what);
    let next: Uint8Array;
    let fh: FileHandle | undefined;
    try {
      fh = await open(real, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
      const st = await fh.stat();
      checkExecutableStat(real, st, euid);
      next = new Uint8Array(Math.min(HEAD_BYTES, st.size));
      await fh.read(next, 0, next.length, 0);
    } catch (e) {
      if (e instanceof GateError) throw scope(`${what} ${interpreter}: ${e.message}`, e.remedy, e);
      throw scope(`${what} ${interpreter} cannot be read (${errnoOf(e) ?? String(e)})`, REMEDY_RESOLVE, e);
    } finally {
      await fh?.close();
    }
    try {
      await checkDirectories(real);
    } catch (e) {
      if (!(e instanceof GateError)) throw e;
      throw scope(`${what} ${interpreter}: ${e.message}`, e.remedy, e);
    }
    if (!equalBytesAt(next, 0, SHEBANG)) return;
    interpreter = checkShebang(next, real);
  }
}

async function kindOf(head: Uint8Array, path: string, euid: number): Promise<ExecutableKind> {
  if (equalBytesAt(head, 0, ELF_MAGIC)) {
    await checkElf(head, path);
    return 'elf';
  }
  if (equalBytesAt(head, 0, SHEBANG)) {
    await checkInterpreters(head, path, euid);
    return 'script';
  }
  throw scope(
    `${path} is neither an ELF binary nor a #! script: the kernel would not run it`,
    `add a #! line naming its interpreter, or run the interpreter with ${path} as its argument`,
  );
}

/**
 * Resolves `command` (as execvp would, but see the module comment on PATH), opens it, and judges that
 * file through the descriptor: the checks of the module comment, its real path, SHA-256 and kind. Every
 * refusal is a GateError E_SCOPE; the descriptor is closed on refusal.
 */
export async function openExecutable(
  command: string,
  opts: OpenExecutableOptions,
): Promise<OpenedExecutable> {
  if (!isAbsolute(opts.cwd)) throw new RangeError(`cwd must be an absolute path; got "${opts.cwd}"`);
  const euid = effectiveUid();
  const path = await resolveCommand(command, opts);
  let fh: FileHandle;
  try {
    // O_NONBLOCK: a FIFO put at the path after resolution must not hang the gate in open(2).
    fh = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'EMFILE' || errno === 'ENFILE' || errno === 'ENOMEM')
      throw new GateError('E_INTERNAL', `cannot open ${path}: ${errno}`, 'retry when resources are free', {
        cause: e,
      });
    throw scope(`cannot open ${path} (${errno ?? String(e)})`, REMEDY_RESOLVE, e);
  }
  try {
    const before = await fh.stat({ bigint: true });
    const realPath = await realPathOf(fh, before, path);
    checkExecutableStat(realPath, { mode: Number(before.mode), uid: Number(before.uid) }, euid);
    await checkDirectories(realPath);
    const size = Number(before.size);
    const { sha256, head } = await measure(fh, size, realPath);
    const after = await fh.stat({ bigint: true });
    if (after.size !== before.size || after.mtimeNs !== before.mtimeNs || after.ctimeNs !== before.ctimeNs)
      throw changedWhileMeasured(realPath);
    const kind = await kindOf(head, realPath, euid);
    return { realPath, fd: fh, sha256, kind, size, close: () => fh.close() };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** `openExecutable`, or its refusal as the verdict will judge it (anything unexpected is E_SCOPE too). */
export async function openOrRefusal(
  command: string,
  opts: OpenExecutableOptions,
): Promise<OpenedExecutable | GateError> {
  try {
    return await openExecutable(command, opts);
  } catch (e) {
    return e instanceof GateError
      ? e
      : new GateError('E_SCOPE', e instanceof Error ? e.message : String(e), 'check the command');
  }
}
