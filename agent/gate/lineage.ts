// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/gate/lineage
 *
 * The process side of execution lineage (issue 14; DESIGN §6): an allowed command runs with
 * `EXECGATE_VERDICT=<seq>:<entry hash>` in its environment, and an `execgate exec` started under it links
 * its verdict to that one only if the recorded gate process is one of its ancestors, with the same start
 * time.
 *
 * Which process is recorded: the gate's own (process.pid and `ownStartTime()`). The gate stays alive as
 * the command's parent until the command ends, so a nested `execgate exec` — the command itself, or
 * anything it starts — finds the gate on its parent chain. The start time (field 22 of /proc/PID/stat,
 * clock ticks since boot) tells that process from a later one given the same pid.
 *
 * Not covered: that the audit entry exists and records this pid and start time (the gate checks the
 * variable against the audit log, then asks isAncestor). A command may set the variable to any verdict
 * whose gate is really above it (an outer gate's, say): the link is still a true one.
 */
import { open } from 'node:fs/promises';
import { fromHex, toHex } from '../encoding/bytes.js';
import { readToLimit } from '../fs/read-bounded.js';
import { GateError } from './errors.js';

/** The environment variable that carries a verdict to the command it allowed. */
export const VERDICT_VARIABLE = 'EXECGATE_VERDICT';

/** An audit entry named by EXECGATE_VERDICT: its sequence number and its entry hash (SHA-256). */
export interface VerdictReference {
  readonly seq: number;
  readonly entryHash: Uint8Array;
}

/** What lineage needs from /proc/PID/stat: the parent (field 4) and the start time (field 22). */
export interface ProcessStat {
  readonly ppid: number;
  readonly startTime: bigint;
}

const ENTRY_HASH_BYTES = 32;
/** A decimal safe integer (at most 16 digits), no leading zeros, then 64 lowercase hex digits. */
const VERDICT_RE = /^(0|[1-9][0-9]{0,15}):([0-9a-f]{64})$/;
const MAX_VERDICT_CHARS = 16 + 1 + 2 * ENTRY_HASH_BYTES;
/** /proc/PID/stat is about 52 numbers and a comm of at most 64 bytes: far below this. */
const MAX_STAT_BYTES = 4096;
/** Fields 3 (state) to 22 (starttime) follow the comm. */
const STAT_FIELDS_AFTER_COMM = 20;
const STARTTIME_INDEX = 22 - 3;
const MAX_U64 = (1n << 64n) - 1n;
/** Far deeper than any real process tree; bounds the walk if /proc changes under it. */
export const MAX_LINEAGE_STEPS = 4096;

const REMEDY_VERDICT = `unset ${VERDICT_VARIABLE}, or run under the execgate exec that set it`;

/** Parses EXECGATE_VERDICT strictly: anything but `<seq>:<64 lowercase hex>` is E_LINEAGE. */
export function parseVerdictVariable(value: string): VerdictReference {
  const m = value.length <= MAX_VERDICT_CHARS ? VERDICT_RE.exec(value) : null;
  const seq = Number(m?.[1]);
  if (m?.[2] === undefined || !Number.isSafeInteger(seq))
    throw new GateError('E_LINEAGE', `${VERDICT_VARIABLE} is malformed`, REMEDY_VERDICT);
  return { seq, entryHash: fromHex(m[2]) };
}

/** The EXECGATE_VERDICT value for the audit entry `seq` with hash `entryHash`. */
export function formatVerdictVariable(seq: number, entryHash: Uint8Array): string {
  if (!Number.isSafeInteger(seq) || seq < 0)
    throw new RangeError(`seq must be a non-negative integer; got ${seq}`);
  if (!(entryHash instanceof Uint8Array) || entryHash.length !== ENTRY_HASH_BYTES)
    throw new RangeError(`entryHash must be ${ENTRY_HASH_BYTES} bytes`);
  return `${seq}:${toHex(entryHash)}`;
}

function malformedStat(pid: number, what: string): GateError {
  return new GateError(
    'E_LINEAGE',
    `/proc/${pid}/stat is malformed: ${what}`,
    'report this: the kernel wrote a stat line this gate does not understand',
  );
}

const DECIMAL_RE = /^(0|[1-9][0-9]*)$/;

/**
 * Parses the bytes of /proc/`pid`/stat (proc(5)): "pid (comm) state ppid … starttime …\n". The comm may
 * hold spaces, parentheses and newlines, so the fields are read after the last ")" (the fields after the
 * comm hold none). The pid before the comm must be `pid`.
 */
export function parseStat(bytes: Uint8Array, pid: number): ProcessStat {
  const commStart = bytes.indexOf(0x28); // '('
  const commEnd = bytes.lastIndexOf(0x29); // ')'
  if (commStart < 2 || commEnd < commStart || bytes[commStart - 1] !== 0x20)
    throw malformedStat(pid, 'no (comm)');
  if (Buffer.from(bytes.subarray(0, commStart - 1)).toString('latin1') !== String(pid))
    throw malformedStat(pid, 'the pid is not the one asked for');
  if (bytes[commEnd + 1] !== 0x20 || bytes[bytes.length - 1] !== 0x0a)
    throw malformedStat(pid, 'bad framing');
  const fields = Buffer.from(bytes.subarray(commEnd + 2, bytes.length - 1))
    .toString('latin1')
    .split(' ');
  if (fields.length < STAT_FIELDS_AFTER_COMM) throw malformedStat(pid, 'too few fields');
  const [state, ppidText] = fields;
  const startText = fields[STARTTIME_INDEX];
  if (state === undefined || !/^[A-Za-z]$/.test(state)) throw malformedStat(pid, 'bad state');
  if (ppidText === undefined || !DECIMAL_RE.test(ppidText) || ppidText.length > 10)
    throw malformedStat(pid, 'bad ppid');
  if (startText === undefined || !DECIMAL_RE.test(startText) || startText.length > 20)
    throw malformedStat(pid, 'bad starttime');
  const startTime = BigInt(startText);
  if (startTime > MAX_U64) throw malformedStat(pid, 'bad starttime');
  return { ppid: Number(ppidText), startTime };
}

function checkPid(pid: number): void {
  if (!Number.isSafeInteger(pid) || pid <= 0)
    throw new RangeError(`pid must be a positive integer; got ${pid}`);
}

/** Reads and parses /proc/`pid`/stat, at most MAX_STAT_BYTES; a process that is gone is E_LINEAGE. */
export async function processStat(pid: number): Promise<ProcessStat> {
  checkPid(pid);
  const path = `/proc/${pid}/stat`;
  const failed = (e: unknown) =>
    new GateError(
      'E_LINEAGE',
      `cannot read ${path} (${e instanceof Error ? e.message : String(e)})`,
      'the process has exited, or /proc is not mounted',
      { cause: e },
    );
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw failed(e);
  }
  try {
    const bytes = await readToLimit(
      (chunk) => fh.read(chunk, 0, chunk.length, null).then((r) => r.bytesRead),
      MAX_STAT_BYTES,
      { tooLong: () => malformedStat(pid, `longer than ${MAX_STAT_BYTES} bytes`), failed },
    );
    return parseStat(bytes, pid);
  } finally {
    await fh.close();
  }
}

/** The start time of this process (the gate), recorded with process.pid in its audit entry. */
export async function ownStartTime(): Promise<bigint> {
  return (await processStat(process.pid)).startTime;
}

/**
 * Whether the process `pid` that started at `startTime` is an ancestor of the gate process `of` (this
 * one, or the `execgate exec` client that asked `execgate serve`): the walk goes up from its parent, at
 * most MAX_LINEAGE_STEPS, and ends at pid 1 or 0 (the top of our pid namespace). A pid on the chain with
 * another start time is a reused pid: false. A process of the chain that exits during the walk is
 * E_LINEAGE (processStat).
 */
export async function isAncestor(
  pid: number,
  startTime: bigint,
  of: { readonly pid: number; readonly startTime: bigint } | undefined = undefined,
): Promise<boolean> {
  checkPid(pid);
  if (typeof startTime !== 'bigint' || startTime < 0n)
    throw new RangeError('startTime must be a non-negative bigint');
  let current = process.ppid;
  if (of !== undefined && of.pid !== process.pid) {
    // Another process's lineage: it must still be the process that asked (not a reused pid).
    const st = await processStat(of.pid);
    if (st.startTime !== of.startTime) return false;
    current = st.ppid;
  }
  for (let step = 0; step < MAX_LINEAGE_STEPS && current > 0; step++) {
    const st = await processStat(current);
    if (current === pid) return st.startTime === startTime;
    if (current === 1) return false;
    current = st.ppid;
  }
  return false;
}
