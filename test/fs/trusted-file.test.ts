// SPDX-License-Identifier: Apache-2.0
// Trusted files (fs/trusted-file.ts): what a local user could plant or swap is refused before a byte of it
// is believed: a link, a FIFO, a file writable by group or others, another user's file, a file in a
// directory others may write to; each refusal says what to chmod or chown. A file of ours reads as
// readBounded reads. "Another user" needs chown, so that case runs only as root.
import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileWriteError } from '../../agent/fs/atomic-write.js';
import { InputError } from '../../agent/fs/read-bounded.js';
import { readTrusted } from '../../agent/fs/trusted-file.js';

const NOBODY = 65534;
// Giving a file to another user (chown) takes root: CI runs as root and runs these; a non-root run
// reports them as skipped rather than passing them unseen.
const isRoot = process.geteuid?.() === 0;
const LIMIT = { maxBytes: 1024, what: 'key file' } as const;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'execgate-trusted-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function refusal(path: string): Promise<Error> {
  const e = await readTrusted(path, LIMIT).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(Error);
  return e as Error;
}

async function unsafe(path: string): Promise<string> {
  const e = await refusal(path);
  expect(e).toBeInstanceOf(FileWriteError);
  expect((e as FileWriteError).code).toBe('E_FILE_UNSAFE');
  return e.message;
}

describe('readTrusted', () => {
  it('reads a file of ours, writable by us only, in a directory of ours', async () => {
    const f = join(dir, 'ok.pub');
    await writeFile(f, 'hello', { mode: 0o644 });
    expect(Buffer.from(await readTrusted(f, LIMIT)).toString()).toBe('hello');
  });

  it('a link planted where the key was named is refused, whatever it points to', async () => {
    const real = join(dir, 'real.pub');
    await writeFile(real, 'x', { mode: 0o644 });
    await symlink(real, join(dir, 'link.pub'));
    expect(await unsafe(join(dir, 'link.pub'))).toMatch(/link\.pub is a symbolic link/);
  });

  it('a file its group or anyone may rewrite is refused: chmod go-w', async () => {
    const f = join(dir, 'open.pub');
    await writeFile(f, 'x');
    for (const mode of [0o664, 0o646]) {
      await chmod(f, mode);
      expect(await unsafe(f)).toBe(
        `key file ${f} is writable by group or others (mode ${mode.toString(8)}): chmod go-w ${f}`,
      );
    }
  });

  it('a file in a directory anyone may write to (not sticky) is refused: chmod go-w on the directory', async () => {
    const shared = join(dir, 'shared');
    await mkdir(shared);
    await writeFile(join(shared, 'k.pub'), 'x', { mode: 0o644 });
    await chmod(shared, 0o777);
    expect(await unsafe(join(shared, 'k.pub'))).toMatch(
      new RegExp(
        `directory ${shared} is writable by others \\(mode 777\\) and not sticky: chmod go-w ${shared}`,
      ),
    );
  });

  it('a FIFO is refused at once, not waited on', async () => {
    const fifo = join(dir, 'fifo.pub');
    execFileSync('mkfifo', [fifo]);
    await chmod(fifo, 0o644);
    expect(await unsafe(fifo)).toMatch(/is not a regular file/);
  });

  // Making a file another user's needs chown, so root: CI and this project's test machines run as root.
  it.skipIf(!isRoot)('another user’s file is refused: chown', async () => {
    const f = join(dir, 'theirs.pub');
    await writeFile(f, 'x', { mode: 0o644 });
    await chown(f, NOBODY, NOBODY);
    expect(await unsafe(f)).toBe(`key file ${f} is owned by another user (uid ${NOBODY}): chown root ${f}`);
  });

  it('a missing file is E_INPUT_READ with ENOENT; a long one E_INPUT_LIMIT', async () => {
    const missing = await refusal(join(dir, 'absent.pub'));
    expect(missing).toBeInstanceOf(InputError);
    expect((missing as InputError).code).toBe('E_INPUT_READ');
    expect(((missing as InputError).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
    const long = join(dir, 'long.pub');
    await writeFile(long, 'x'.repeat(1025), { mode: 0o644 });
    expect(((await refusal(long)) as InputError).code).toBe('E_INPUT_LIMIT');
  });
});
