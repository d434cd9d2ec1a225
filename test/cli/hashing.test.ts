// SPDX-License-Identifier: Apache-2.0
// $EXECGATE_HASH_THREADS, read by the CLI only (agent/cli/run.ts) and passed to `initHashing({ threads })`:
// unset, two threads for the commands that replay measurement logs (eventlog, ima, state) on a machine
// with two cores; 0 or 1, one; not a number, a usage error before the command runs. Commands of other
// groups do not load the hashing engine at all.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, UsageError } from '../../agent/cli/exit.js';
import { hashThreads } from '../../agent/cli/run.js';
import { batchThreads } from '../../agent/crypto/hash.js';
import { cli } from './helpers.js';

const REAL = join(import.meta.dirname, '../vectors/eventlog/keylime/binary_bios_measurements');
const twoCores = availableParallelism() >= 2;

describe('EXECGATE_HASH_THREADS', () => {
  it('maps to a thread count: unset or empty 2, 0 and 1 one, 2 or more 2', () => {
    expect(hashThreads({})).toBe(2);
    expect(hashThreads({ EXECGATE_HASH_THREADS: '' })).toBe(2);
    expect(hashThreads({ EXECGATE_HASH_THREADS: '0' })).toBe(1);
    expect(hashThreads({ EXECGATE_HASH_THREADS: '1' })).toBe(1);
    expect(hashThreads({ EXECGATE_HASH_THREADS: '2' })).toBe(2);
    expect(hashThreads({ EXECGATE_HASH_THREADS: '16' })).toBe(2);
    for (const bad of ['no', '-1', '1.5', ' 1', '0x2']) {
      expect(() => hashThreads({ EXECGATE_HASH_THREADS: bad }), bad).toThrow(UsageError);
    }
  });

  it('a command that replays a log runs with the threads it names, and goes back when told', async () => {
    const off = await cli(['eventlog', 'replay', REAL], { EXECGATE_HASH_THREADS: '0' });
    expect(off.code, off.stderr).toBe(EXIT.OK);
    expect(batchThreads()).toBeUndefined();
    const on = await cli(['eventlog', 'replay', REAL], {});
    expect(on.code, on.stderr).toBe(EXIT.OK);
    expect(on.stdout).toBe(off.stdout);
    expect(batchThreads() !== undefined).toBe(twoCores);
    const again = await cli(['eventlog', 'replay', REAL], { EXECGATE_HASH_THREADS: '1' });
    expect(again.stdout).toBe(off.stdout);
    expect(batchThreads()).toBeUndefined();
  });

  it('a value that is not a number is a usage error, and the command does not run', async () => {
    const r = await cli(['eventlog', 'replay', REAL], { EXECGATE_HASH_THREADS: 'yes' });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/E_USAGE: EXECGATE_HASH_THREADS must be a number of threads/);
  });

  it('commands that do not hash ignore it', async () => {
    const r = await cli(['tpm', '--help'], { EXECGATE_HASH_THREADS: 'yes' });
    expect(r.code).toBe(EXIT.OK);
  });
});
