// SPDX-License-Identifier: Apache-2.0
// Execution lineage, the process side (agent/gate/lineage.ts): EXECGATE_VERDICT parsed strictly; stat
// lines parsed from the last ")" whatever the comm holds (spaces, parentheses, newlines: any process can
// name itself so); and isAncestor asked from real descendants, where only the right pid with the right
// start time counts.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GateError } from '../../agent/gate/errors.js';
import {
  formatVerdictVariable,
  isAncestor,
  ownStartTime,
  parseStat,
  parseVerdictVariable,
  processStat,
} from '../../agent/gate/lineage.js';
import { thrown } from '../helpers/thrown.js';

const ROOT = join(import.meta.dirname, '../..');
const PROBE = join(ROOT, 'test/helpers/lineage-probe.ts');
const HASH = 'ab'.repeat(32);
/** Above PID_MAX_LIMIT (2^22): no process has it. */
const NO_SUCH_PID = 2 ** 22 + 1;

describe('EXECGATE_VERDICT', () => {
  it('round-trips every sequence number and entry hash', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.uint8Array({ minLength: 32, maxLength: 32 }), (seq, hash) => {
        const value = formatVerdictVariable(seq, hash);
        expect(value).toMatch(/^(0|[1-9][0-9]*):[0-9a-f]{64}$/);
        expect(parseVerdictVariable(value)).toEqual({ seq, entryHash: hash });
      }),
    );
  });

  it.each([
    '',
    '1',
    '1:',
    `:${HASH}`,
    `01:${HASH}`,
    `-1:${HASH}`,
    `+1:${HASH}`,
    `1e3:${HASH}`,
    `١:${HASH}`,
    `1:${HASH.toUpperCase()}`,
    `1:${HASH.slice(1)}`,
    `1:${HASH}0`,
    ` 1:${HASH}`,
    `1:${HASH}\n`,
    `1:${HASH}:2`,
    `9007199254740992:${HASH}`,
    `${'9'.repeat(1_000_000)}:${HASH}`,
  ])('refuses %j as malformed (E_LINEAGE)', (value) => {
    expect(thrown(GateError, () => parseVerdictVariable(value)).code).toBe('E_LINEAGE');
  });

  it('parses any string to the value it formats back to, or to E_LINEAGE', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9]{1,17}:[0-9a-fA-F]{63,65}$/)), (value) => {
        try {
          const { seq, entryHash } = parseVerdictVariable(value);
          expect(formatVerdictVariable(seq, entryHash)).toBe(value);
        } catch (e) {
          expect(e).toBeInstanceOf(GateError);
          expect((e as GateError).code).toBe('E_LINEAGE');
        }
      }),
    );
  });

  it('takes a bad sequence number or hash length as a caller error (RangeError)', () => {
    const hash = new Uint8Array(32);
    for (const seq of [-1, 1.5, Number.NaN, 2 ** 53])
      expect(() => formatVerdictVariable(seq, hash)).toThrow(RangeError);
    expect(() => formatVerdictVariable(1, new Uint8Array(31))).toThrow(RangeError);
  });
});

/** A stat line as the kernel writes it (proc(5)): 52 fields, the comm raw between parentheses. */
function statLine(pid: number, comm: Uint8Array, state: string, ppid: number, startTime: bigint): Uint8Array {
  const after = [state, String(ppid), '7', '7', '34816', '7', '4194560'];
  while (after.length < 19) after.push(String(after.length * 3));
  after.push(String(startTime), '12345678', '-1', '18446744073709551615');
  while (after.length < 50) after.push('0');
  const enc = new TextEncoder();
  return new Uint8Array([...enc.encode(`${pid} (`), ...comm, ...enc.encode(`) ${after.join(' ')}\n`)]);
}

const enc = (s: string) => new TextEncoder().encode(s);

describe('parseStat', () => {
  it('reads ppid and start time after the last ")", whatever bytes the comm holds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 22 }),
        // A comm is any bytes but NUL; the hostile ones are weighted in.
        fc.array(fc.oneof(fc.integer({ min: 1, max: 255 }), fc.constantFrom(0x20, 0x28, 0x29, 0x0a)), {
          maxLength: 64,
        }),
        fc.constantFrom('R', 'S', 'D', 'Z', 'T', 't', 'X', 'I'),
        fc.integer({ min: 0, max: 2 ** 22 }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        (pid, comm, state, ppid, startTime) => {
          expect(parseStat(statLine(pid, new Uint8Array(comm), state, ppid, startTime), pid)).toEqual({
            ppid,
            startTime,
          });
        },
      ),
    );
  });

  it('is not fooled by a comm that imitates the fields after it', () => {
    const line = statLine(42, enc('x) Z 1 1 1'), 'S', 7, 99n);
    expect(parseStat(line, 42)).toEqual({ ppid: 7, startTime: 99n });
  });

  it.each([
    ['another pid', statLine(43, enc('sh'), 'S', 1, 5n)],
    ['no comm', enc('42 sh S 1 2 3\n')],
    ['no newline at the end', statLine(42, enc('sh'), 'S', 1, 5n).subarray(0, -1)],
    ['too few fields', enc('42 (sh) S 1 2 3 4 5\n')],
    ['a two-letter state', enc(`42 (sh) SS 1${' 0'.repeat(60)}\n`)],
    ['a negative ppid', enc(`42 (sh) S -1${' 0'.repeat(60)}\n`)],
    ['a start time past 2^64', statLine(42, enc('sh'), 'S', 1, 2n ** 64n)],
  ])('refuses a line with %s (E_LINEAGE)', (_what, line) => {
    expect(thrown(GateError, () => parseStat(line, 42)).code).toBe('E_LINEAGE');
  });

  it('returns a value or E_LINEAGE for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        try {
          parseStat(bytes, 42);
        } catch (e) {
          expect(e).toBeInstanceOf(GateError);
          expect((e as GateError).code).toBe('E_LINEAGE');
        }
      }),
    );
  });
});

describe('processStat and ownStartTime', () => {
  it('reads our own stat: the parent Node reports and the start time the kernel wrote', async () => {
    const ours = await processStat(process.pid);
    expect(ours.ppid).toBe(process.ppid);
    const fields = (await readFile('/proc/self/stat', 'latin1')).split(') ')[1]?.split(' ');
    expect(await ownStartTime()).toBe(BigInt(fields?.[19] ?? -1));
    expect(ours.startTime).toBe(await ownStartTime());
  });

  it('is E_LINEAGE for a process that does not exist, and a RangeError for a pid that cannot', async () => {
    await expect(processStat(NO_SUCH_PID)).rejects.toMatchObject({ code: 'E_LINEAGE' });
    for (const pid of [0, -1, 1.5]) await expect(processStat(pid)).rejects.toBeInstanceOf(RangeError);
  });
});

/**
 * Runs the probe as our child, or as our grandchild under sh ("; exit" keeps sh from exec'ing it in its
 * place), and returns its answers for `pairs`.
 */
function probe(pairs: readonly [number, bigint][], viaShell: boolean): Promise<boolean[]> {
  const arg = JSON.stringify(pairs.map(([pid, start]) => [pid, String(start)]));
  const node = [process.execPath, '--import', 'tsx', PROBE, arg];
  const [file, ...args] = viaShell
    ? ['/bin/sh', '-c', `${node.map((w) => `'${w}'`).join(' ')}; exit $?`]
    : node;
  if (file === undefined) throw new Error('no command');
  const child = spawn(file, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  return new Promise((res, rej) =>
    child.on('close', (code) =>
      code === 0 ? res(JSON.parse(out) as boolean[]) : rej(new Error(`probe: ${code}`)),
    ),
  );
}

describe('isAncestor', () => {
  it('finds our parent with its start time, and not ourselves', async () => {
    const parent = await processStat(process.ppid);
    expect(await isAncestor(process.ppid, parent.startTime)).toBe(true);
    expect(await isAncestor(process.pid, await ownStartTime())).toBe(false);
  });

  it('from a real child and grandchild: true for us, false for a wrong start time or a sibling', async () => {
    const start = await ownStartTime();
    const sibling: ChildProcess = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const siblingPid = sibling.pid;
      if (siblingPid === undefined) throw new Error('sleep did not start');
      const siblingStart = (await processStat(siblingPid)).startTime;
      const pairs: [number, bigint][] = [
        [process.pid, start],
        [process.pid, start + 1n],
        [process.pid, start - 1n],
        [siblingPid, siblingStart],
        [NO_SUCH_PID, 0n],
      ];
      const expected = [true, false, false, false, false];
      expect(await probe(pairs, false)).toEqual(expected);
      expect(await probe(pairs, true)).toEqual(expected);
    } finally {
      sibling.kill('SIGKILL');
    }
  });

  it('takes a pid that cannot be or a negative start time as a caller error (RangeError)', async () => {
    await expect(isAncestor(0, 1n)).rejects.toBeInstanceOf(RangeError);
    await expect(isAncestor(1, -1n)).rejects.toBeInstanceOf(RangeError);
  });
});
