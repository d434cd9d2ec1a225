// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/fs/read-bounded
 *
 * The one way the agent reads an input file named on the command line (issue 11, finding 6): quote
 * bundles and tpm2-tools files, PEM keys, reference documents, credential blobs, IMA checkpoints, EK
 * certificates and CA bundles, artifacts and revocation lists; and, with `streamFile`, a file of any
 * length that is hashed rather than held (an executable). The file is read through a FileHandle loop, never whole: stat() sizes are
 * not trusted (/dev/zero, FIFOs, /proc and securityfs files report 0), and reading stops one byte past
 * `maxBytes`, so memory stays within the limit whatever the file is. Errors are typed:
 *
 * - E_INPUT_LIMIT: the file is longer than the limit for its kind (`INPUT_LIMITS`);
 * - E_INPUT_READ: it cannot be opened or read (no such file, a directory, permission): `cause` has errno.
 *
 * Not covered: a path that blocks on open (a FIFO with no writer), except through `readRegularFile`,
 * for files another user may have planted where the agent reads. securityfs logs have their own reader
 * (agent/measure/securityfs.ts) with the same loop and their own codes.
 */

import { constants as fsConstants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { concatBytes } from '../encoding/bytes.js';
import { InputError, inputTooLong } from './input-limits.js';

export { INPUT_LIMITS, InputError, type InputErrorCode } from './input-limits.js';

export interface ReadBoundedOptions {
  /** Reject a file longer than this (E_INPUT_LIMIT). */
  readonly maxBytes: number;
  /** What the file is, for messages: a flag (`--in`) or a noun (`quote bundle`). */
  readonly what: string;
}

const CHUNK_BYTES = 64 * 1024;

/**
 * Reads with `read` (a chunk in, the bytes read out, 0 at EOF; for a pipe or /proc file, position
 * null: on from where the last read stopped) to EOF, at most `maxBytes` bytes, in memory bounded by the
 * limit: the one bounded read loop, used for input files and securityfs logs alike. `tooLong` and
 * `failed` make each caller's typed errors.
 */
export async function readToLimit(
  read: (chunk: Uint8Array) => Promise<number>,
  maxBytes: number,
  errors: { readonly tooLong: () => Error; readonly failed: (err: unknown) => Error },
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    // One byte past the limit is enough to know the file is over it.
    const chunk = new Uint8Array(Math.min(CHUNK_BYTES, maxBytes - total + 1));
    let n: number;
    try {
      n = await read(chunk);
    } catch (err) {
      throw errors.failed(err);
    }
    if (n === 0) break;
    total += n;
    if (total > maxBytes) throw errors.tooLong();
    chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
  }
  return concatBytes(chunks);
}

/** What to do about the usual reasons a named file cannot be read, after the system's own words. */
const ERRNO_HINTS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file: check the path',
  EISDIR: 'a directory: give a file in it',
  EACCES: 'permission denied: run as root, or make the file readable',
};

function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : '';
  const hint = ERRNO_HINTS[code];
  return hint === undefined ? message : `${message}; ${hint}`;
}

/**
 * Reads `path` to EOF, at most `maxBytes` bytes, in memory bounded by the limit; see the module comment.
 * Throws InputError (E_INPUT_LIMIT, E_INPUT_READ); RangeError for a bad `maxBytes`.
 */
export async function readBounded(path: string, options: ReadBoundedOptions): Promise<Uint8Array> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new InputError('E_INPUT_READ', path, `${options.what}: cannot read "${path}" (${reason(err)})`, {
      cause: err,
    });
  }
  try {
    return await readOpened(handle, path, options);
  } finally {
    await handle.close();
  }
}

/**
 * `readBounded` of a regular file only: opened without waiting (O_NONBLOCK, so a FIFO with no writer
 * does not hold open(2) forever; O_NOCTTY) and refused (E_INPUT_READ) unless it is a regular file, since
 * a FIFO, a terminal or another device may never end. For what a local user could plant where the agent
 * reads without asking (the gate's --artifact and its artifact store).
 */
export async function readRegularFile(path: string, options: ReadBoundedOptions): Promise<Uint8Array> {
  const failed = (why: string, cause?: unknown) =>
    new InputError('E_INPUT_READ', path, `${options.what}: cannot read "${path}" (${why})`, {
      ...(cause === undefined ? {} : { cause }),
    });
  let handle: FileHandle;
  try {
    handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
  } catch (err) {
    throw failed(reason(err), err);
  }
  try {
    let regular: boolean;
    try {
      regular = (await handle.stat()).isFile();
    } catch (err) {
      throw failed(reason(err), err);
    }
    if (!regular) throw failed('not a regular file');
    return await readOpened(handle, path, options);
  } finally {
    await handle.close();
  }
}

/**
 * `readBounded` of a file already open as `handle` (opened and checked by fs/trusted-file.ts, say), from
 * where it stands to EOF; `path` is for messages. The caller closes the handle.
 */
export async function readOpened(
  handle: FileHandle,
  path: string,
  options: ReadBoundedOptions,
): Promise<Uint8Array> {
  const { maxBytes, what } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new RangeError(`maxBytes must be a non-negative integer; got ${String(maxBytes)}`);
  }
  return readToLimit(
    (chunk) => handle.read(chunk, 0, chunk.length, null).then((r) => r.bytesRead),
    maxBytes,
    {
      tooLong: () => inputTooLong(what, path, maxBytes),
      failed: (err) =>
        new InputError('E_INPUT_READ', path, `${what}: cannot read "${path}" (${reason(err)})`, {
          cause: err,
        }),
    },
  );
}

/** `readBounded`, decoded as UTF-8 (PEM, JSON). */
export async function readBoundedText(path: string, options: ReadBoundedOptions): Promise<string> {
  return Buffer.from(await readBounded(path, options)).toString('utf8');
}

/**
 * Feeds the regular file `path` to `onChunk` piece by piece to EOF, whatever its length, in memory of one
 * chunk: for a file that is hashed, not held (an executable's digest). Anything but a regular file
 * (/dev/zero, a FIFO, a directory) is E_INPUT_READ, since it may never end. The chunk's memory is reused
 * once `onChunk` returns: consume it there (a hash's update).
 */
export async function streamFile(
  path: string,
  what: string,
  onChunk: (chunk: Uint8Array) => void,
): Promise<void> {
  const failed = (err: unknown) =>
    new InputError('E_INPUT_READ', path, `${what}: cannot read "${path}" (${reason(err)})`, { cause: err });
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw failed(err);
  }
  try {
    let regular: boolean;
    try {
      regular = (await handle.stat()).isFile();
    } catch (err) {
      throw failed(err);
    }
    if (!regular) throw new InputError('E_INPUT_READ', path, `${what}: "${path}" is not a regular file`);
    const chunk = new Uint8Array(1024 * 1024);
    for (;;) {
      let n: number;
      try {
        n = (await handle.read(chunk, 0, chunk.length, null)).bytesRead;
      } catch (err) {
        throw failed(err);
      }
      if (n === 0) return;
      onChunk(chunk.subarray(0, n));
    }
  } finally {
    await handle.close();
  }
}
