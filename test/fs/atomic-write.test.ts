// SPDX-License-Identifier: Apache-2.0
// The atomic file replacement: new and replaced files get the whole content, text or bytes; a failed
// write leaves the target as it was and no temporary file behind.
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeAtomic } from '../../agent/fs/atomic-write.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'execgate-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeAtomic', () => {
  it('creates a file with the text, and replaces it whole', async () => {
    const file = join(dir, 'state.json');
    await writeAtomic(file, '{"a":1}\n');
    expect(await readFile(file, 'utf8')).toBe('{"a":1}\n');
    await writeAtomic(file, 'x');
    expect(await readFile(file, 'utf8')).toBe('x');
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('writes bytes as they are', async () => {
    const file = join(dir, 'entry.cbor');
    await writeAtomic(file, new Uint8Array([0xa1, 0x01, 0xff]));
    expect(new Uint8Array(await readFile(file))).toEqual(new Uint8Array([0xa1, 0x01, 0xff]));
  });

  it('creates the file readable by others (0644 under the umask), as before', async () => {
    const file = join(dir, 'clock');
    await writeAtomic(file, '1');
    expect((await stat(file)).mode & 0o7133).toBe(0);
  });

  it('leaves the target and no temporary file when the rename fails', async () => {
    // A directory that holds something cannot be replaced by a file: the rename fails after the write.
    const target = join(dir, 'taken');
    await mkdir(join(target, 'sub'), { recursive: true });
    await expect(writeAtomic(target, 'new')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['taken']);
    expect(await readdir(target)).toEqual(['sub']);
  });

  it('fails without leaving anything when the directory does not exist', async () => {
    await expect(writeAtomic(join(dir, 'missing', 'f'), 'x')).rejects.toThrow(/ENOENT/);
    expect(await readdir(dir)).toEqual([]);
  });
});
