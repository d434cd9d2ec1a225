// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/securityfs
 *
 * Reads the kernel's measurement logs from securityfs:
 *
 * - the TCG PC Client event log the firmware handed over, `tpm0/binary_bios_measurements` (Linux
 *   drivers/char/tpm/eventlog/common.c);
 * - the IMA measurement list, `ima/binary_runtime_measurements` and `ima/ascii_runtime_measurements`
 *   (security/integrity/ima/ima_fs.c), and on kernels with per-bank lists
 *   `…_runtime_measurements_<hash>` (hash_algo_name: sha1, sha256, sha384, sha512, sm3; `tpm_alg_<hex>`
 *   for a bank the kernel's crypto lacks). Newer kernels keep IMA under `integrity/ima` with `ima` as a
 *   link to it; both spellings are tried.
 *
 * securityfs files report size 0 to stat() and are produced as they are read (seq_file), so the reader
 * never trusts a size: it reads to EOF through a loop and stops at a byte limit (E_MEASURE_LIMIT). A log
 * that is absent gives E_MEASURE_NO_LOG naming every path tried and what the kernel needs; one that exists
 * but cannot be read gives E_MEASURE_UNREADABLE (for EACCES/EPERM: the logs are root-only).
 *
 * Not covered: parsing (agent/measure/eventlog.ts and the IMA parser), consistency between a list read
 * now and a quote made later (IMA keeps appending; the caller replays against the quote, DESIGN §4), and
 * a path that blocks on open (a FIFO with no writer; securityfs files never do).
 */

import { open, readdir } from 'node:fs/promises';
import { ExecgateError, errnoOf } from '../errors.js';
import { readToLimit } from '../fs/read-bounded.js';
import { TPM_ALG } from '../tpm/constants.js';
import { EVENTLOG_LIMITS } from './eventlog.js';

export type SecurityfsErrorCode = 'E_MEASURE_NO_LOG' | 'E_MEASURE_UNREADABLE' | 'E_MEASURE_LIMIT';

/** A measurement log could not be read; `paths` are the files tried (the failing one last). */
export class SecurityfsError extends ExecgateError<SecurityfsErrorCode> {
  readonly paths: readonly string[];

  constructor(
    code: SecurityfsErrorCode,
    message: string,
    paths: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.paths = paths;
  }
}

/** Where securityfs is mounted (Documentation/admin-guide/LSM: "mount -t securityfs … /sys/kernel/security"). */
export const SECURITYFS_ROOT = '/sys/kernel/security';

/** The logs this module reads. */
export type MeasurementList = 'tcg' | 'ima-binary' | 'ima-ascii';

/**
 * Default byte limits. The TCG log limit is the event-log parser's own; the IMA list grows with uptime
 * (about 100–200 bytes an entry), so its limit is generous and a caller may raise it.
 */
export const SECURITYFS_LIMITS: Readonly<Record<'tcg' | 'ima', number>> = {
  tcg: EVENTLOG_LIMITS.maxLogBytes,
  ima: 256 * 1024 * 1024,
};

/** Names of per-bank IMA lists (the kernel's hash_algo_name for the bank's TPM_ALG_ID). */
const IMA_BANK_NAMES: ReadonlyMap<number, string> = new Map([
  [TPM_ALG.SHA1, 'sha1'],
  [TPM_ALG.SHA256, 'sha256'],
  [TPM_ALG.SHA384, 'sha384'],
  [TPM_ALG.SHA512, 'sha512'],
  [TPM_ALG.SM3_256, 'sm3'],
]);

export interface PathOptions {
  /** A TPM_ALG_ID: try that bank's per-bank IMA list first (kernels with per-bank lists). */
  readonly bank?: number;
  /** The securityfs mount point (default SECURITYFS_ROOT). */
  readonly root?: string;
}

/**
 * The files to try for `list`, in order. For IMA with a `bank`: the per-bank list, then the plain list
 * (older kernels have only it; it holds SHA-1 template digests but the full template data).
 */
export function measurementPaths(list: MeasurementList, options: PathOptions = {}): string[] {
  const root = options.root ?? SECURITYFS_ROOT;
  if (list === 'tcg') return [`${root}/tpm0/binary_bios_measurements`];
  const base = `${list === 'ima-binary' ? 'binary' : 'ascii'}_runtime_measurements`;
  const names: string[] = [];
  if (options.bank !== undefined) {
    if (!Number.isInteger(options.bank) || options.bank < 0 || options.bank > 0xffff) {
      throw new RangeError(`bank must be a TPM_ALG_ID; got ${String(options.bank)}`);
    }
    names.push(`${base}_${IMA_BANK_NAMES.get(options.bank) ?? `tpm_alg_${options.bank.toString(16)}`}`);
  }
  names.push(base);
  return names.flatMap((name) => [`${root}/ima/${name}`, `${root}/integrity/ima/${name}`]);
}

/** The one read primitive this module needs: a file read at its current position, to EOF. */
export interface MeasurementFile {
  /** Reads up to `length` bytes into `buffer` at `offset`; 0 at EOF. */
  read(buffer: Uint8Array, offset: number, length: number): Promise<number>;
  close(): Promise<void>;
}

/** Opens a file for reading; rejects with a Node system error (`code` ENOENT, EACCES, …). */
export type OpenFile = (path: string) => Promise<MeasurementFile>;

const openNode: OpenFile = async (path) => {
  const handle = await open(path, 'r');
  return {
    // position null: read where the last read stopped, which is all a seq_file or a pipe supports.
    read: async (buffer, offset, length) => (await handle.read(buffer, offset, length, null)).bytesRead,
    close: () => handle.close(),
  };
};

export interface ReadOptions {
  /** Reject a file longer than this many bytes (E_MEASURE_LIMIT). */
  readonly maxBytes?: number;
  /** Test seam: how files are opened (default node:fs). */
  readonly open?: OpenFile;
}

function unreadable(path: string, err: unknown, tried: readonly string[]): SecurityfsError {
  const errno = errnoOf(err) ?? 'error';
  const why = err instanceof Error ? err.message : String(err);
  const hint =
    errno === 'EACCES' || errno === 'EPERM'
      ? ': the kernel lets only root read measurement logs; run as root (e.g. with sudo)'
      : '';
  return new SecurityfsError('E_MEASURE_UNREADABLE', `cannot read ${path} (${why})${hint}`, tried, {
    cause: err,
  });
}

function checkMaxBytes(maxBytes: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new RangeError(`maxBytes must be a non-negative integer; got ${String(maxBytes)}`);
  }
}

/**
 * Reads `path` to EOF whatever size stat() reports, up to `maxBytes` (default the IMA limit). Throws
 * SecurityfsError: E_MEASURE_LIMIT when the file is longer, E_MEASURE_UNREADABLE when it cannot be opened
 * or read (E_MEASURE_NO_LOG is for `readMeasurementList`, which knows what was expected there).
 */
export async function readToEnd(path: string, options: ReadOptions = {}): Promise<Uint8Array> {
  const maxBytes = options.maxBytes ?? SECURITYFS_LIMITS.ima;
  checkMaxBytes(maxBytes);
  let file: MeasurementFile;
  try {
    file = await (options.open ?? openNode)(path);
  } catch (err) {
    throw unreadable(path, err, [path]);
  }
  try {
    return await readAll(file, path, maxBytes);
  } finally {
    await file.close();
  }
}

function readAll(file: MeasurementFile, path: string, maxBytes: number): Promise<Uint8Array> {
  return readToLimit((chunk) => file.read(chunk, 0, chunk.length), maxBytes, {
    tooLong: () =>
      new SecurityfsError(
        'E_MEASURE_LIMIT',
        `${path} is over the ${maxBytes}-byte limit (raise it to read a longer log)`,
        [path],
      ),
    failed: (err) => unreadable(path, err, [path]),
  });
}

export interface ReadListOptions extends PathOptions {
  /** Byte limit (default SECURITYFS_LIMITS for the list). */
  readonly maxBytes?: number;
  /** Test seam: how files are opened (default node:fs). */
  readonly open?: OpenFile;
}

export interface MeasurementListFile {
  /** The file that was read. */
  readonly path: string;
  readonly bytes: Uint8Array;
}

const WHAT: Readonly<Record<MeasurementList, string>> = {
  tcg: 'TCG event log',
  'ima-binary': 'IMA measurement list (binary)',
  'ima-ascii': 'IMA measurement list (ASCII)',
};

/**
 * Reads the first of `measurementPaths(list, options)` that exists. A file that exists but fails is
 * reported at once (not skipped for the next path). Throws SecurityfsError: E_MEASURE_NO_LOG when none
 * exists, E_MEASURE_UNREADABLE, E_MEASURE_LIMIT.
 */
export async function readMeasurementList(
  list: MeasurementList,
  options: ReadListOptions = {},
): Promise<MeasurementListFile> {
  const paths = measurementPaths(list, options);
  const maxBytes = options.maxBytes ?? (list === 'tcg' ? SECURITYFS_LIMITS.tcg : SECURITYFS_LIMITS.ima);
  checkMaxBytes(maxBytes);
  const openFile = options.open ?? openNode;
  const tried: string[] = [];
  for (const path of paths) {
    tried.push(path);
    let file: MeasurementFile;
    try {
      file = await openFile(path);
    } catch (err) {
      const errno = errnoOf(err);
      if (errno === 'ENOENT' || errno === 'ENOTDIR') continue;
      throw unreadable(path, err, tried);
    }
    try {
      return { path, bytes: await readAll(file, path, maxBytes) };
    } finally {
      await file.close();
    }
  }
  const root = options.root ?? SECURITYFS_ROOT;
  throw new SecurityfsError(
    'E_MEASURE_NO_LOG',
    `no ${WHAT[list]}: tried ${tried.join(', ')}. ${await mountState(root)}${needs(list, root)}`,
    tried,
  );
}

/** What the kernel must provide for `list`, for the E_MEASURE_NO_LOG message. */
function needs(list: MeasurementList, root: string): string {
  const mount = `securityfs must be mounted (mount -t securityfs securityfs ${root})`;
  const rootOnly = 'and reading it needs root';
  if (list === 'tcg') {
    return (
      `The log needs: ${mount}, a kernel TPM driver (CONFIG_TCG_TPM) with a TPM it registered as tpm0, ` +
      `firmware that hands over a log (UEFI EFI_TCG2_PROTOCOL or an ACPI TCPA/TPM2 log area), ${rootOnly}.`
    );
  }
  return (
    `The list needs: ${mount}, IMA enabled in the kernel (CONFIG_IMA) with a measurement policy ` +
    `(e.g. ima_policy=tcb on the kernel command line), ${rootOnly}.`
  );
}

/** A sentence on whether securityfs looks mounted at `root` (an unmounted mount point is empty). */
async function mountState(root: string): Promise<string> {
  try {
    const entries = await readdir(root);
    return entries.length === 0 ? `${root} is empty: securityfs is not mounted there. ` : '';
  } catch (err) {
    return errnoOf(err) === 'ENOENT' ? `${root} does not exist. ` : '';
  }
}
