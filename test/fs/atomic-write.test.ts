// SPDX-License-Identifier: Apache-2.0
// The one file-writing helper: new and replaced files get the whole content, text or bytes, with exactly
// the mode asked for; a failed write leaves the target as it was and no temporary file behind; and what a
// local user plants (issue 11, finding 4) is refused: a symbolic link at the target, a directory that is
// a link, that another user owns or may write to. Tests run as root: "another user" is nobody (chown).
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkDir, ensureDir, FileWriteError, writeFileSafe } from '../../agent/fs/atomic-write.js';

const NOBODY = 65534;
const REPLACE = { mode: 0o644, replace: true } as const;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'execgate-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(FileWriteError);
  return e instanceof FileWriteError ? e.code : undefined;
}

describe('writeFileSafe', () => {
  it('creates a file with the text, and replaces it whole', async () => {
    const file = join(dir, 'state.json');
    await writeFileSafe(file, '{"a":1}\n', REPLACE);
    expect(await readFile(file, 'utf8')).toBe('{"a":1}\n');
    await writeFileSafe(file, 'x', REPLACE);
    expect(await readFile(file, 'utf8')).toBe('x');
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('writes bytes as they are', async () => {
    const file = join(dir, 'entry.cbor');
    await writeFileSafe(file, new Uint8Array([0xa1, 0x01, 0xff]), REPLACE);
    expect(new Uint8Array(await readFile(file))).toEqual(new Uint8Array([0xa1, 0x01, 0xff]));
  });

  it('gives the file exactly the mode asked for, whatever the umask', async () => {
    const old = process.umask(0o077);
    try {
      await writeFileSafe(join(dir, 'public'), '1', { mode: 0o644, replace: false });
    } finally {
      process.umask(old);
    }
    await writeFileSafe(join(dir, 'secret'), '2', { mode: 0o600, replace: false });
    expect((await stat(join(dir, 'public'))).mode & 0o7777).toBe(0o644);
    expect((await stat(join(dir, 'secret'))).mode & 0o7777).toBe(0o600);
  });

  it('leaves the target and no temporary file when the rename fails', async () => {
    // A directory that holds something cannot be replaced by a file; it is refused before writing.
    const target = join(dir, 'taken');
    await mkdir(join(target, 'sub'), { recursive: true });
    expect(await codeOf(writeFileSafe(target, 'new', REPLACE))).toBe('E_FILE_UNSAFE');
    expect(await readdir(dir)).toEqual(['taken']);
    expect(await readdir(target)).toEqual(['sub']);
  });

  it('fails without leaving anything when the directory does not exist', async () => {
    const p = writeFileSafe(join(dir, 'missing', 'f'), 'x', REPLACE);
    await expect(p).rejects.toMatchObject({
      code: 'E_FILE_WRITE',
      message: expect.stringMatching(/missing does not exist: make it \(mkdir -p /),
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it('does not replace an existing file without replace', async () => {
    const file = join(dir, 'kept');
    await writeFile(file, 'old');
    expect(await codeOf(writeFileSafe(file, 'new', { mode: 0o644, replace: false }))).toBe('E_FILE_EXISTS');
    expect(await readFile(file, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['kept']);
  });

  it("replaces a 0666 file nobody owns with one of root's, 0600", async () => {
    const file = join(dir, 'ak.priv');
    await writeFile(file, 'planted');
    await chown(file, NOBODY, NOBODY);
    await chmod(file, 0o666);
    await writeFileSafe(file, 'secret', { mode: 0o600, replace: true });
    const st = await stat(file);
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([0, 0, 0o600]);
    expect(await readFile(file, 'utf8')).toBe('secret');
  });

  it('refuses a symbolic link at the target, even with replace, and writes nothing where it points', async () => {
    const victim = join(dir, 'victim');
    await writeFile(victim, 'precious');
    const link = join(dir, 'out');
    await symlink(victim, link);
    for (const replace of [false, true])
      expect(await codeOf(writeFileSafe(link, 'x', { mode: 0o644, replace }))).toBe('E_FILE_UNSAFE');
    // A dangling link (to a file not there yet) is refused too: O_CREAT would create its target.
    const dangling = join(dir, 'dangling');
    await symlink(join(dir, 'nowhere'), dangling);
    expect(await codeOf(writeFileSafe(dangling, 'x', REPLACE))).toBe('E_FILE_UNSAFE');
    expect(await readFile(victim, 'utf8')).toBe('precious');
    expect((await readdir(dir)).sort()).toEqual(['dangling', 'out', 'victim']);
  });

  it('refuses a directory that is a symbolic link, one nobody owns, and one others may write to', async () => {
    const real = join(dir, 'real');
    await mkdir(real);
    await symlink(real, join(dir, 'link'));
    expect(await codeOf(writeFileSafe(join(dir, 'link', 'f'), 'x', REPLACE))).toBe('E_FILE_UNSAFE');
    const theirs = join(dir, 'theirs');
    await mkdir(theirs);
    await chown(theirs, NOBODY, NOBODY);
    expect(await codeOf(writeFileSafe(join(theirs, 'f'), 'x', REPLACE))).toBe('E_FILE_UNSAFE');
    const open = join(dir, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    expect(await codeOf(writeFileSafe(join(open, 'f'), 'x', REPLACE))).toBe('E_FILE_UNSAFE');
    // Sticky, as /tmp: others cannot rename or remove our entries there.
    await chmod(open, 0o1777);
    await writeFileSafe(join(open, 'f'), 'x', REPLACE);
    // Below a directory nobody owns, even one of ours is refused: nobody could swap it.
    const below = join(theirs, 'mine');
    await mkdir(below);
    expect(await codeOf(writeFileSafe(join(below, 'f'), 'x', REPLACE))).toBe('E_FILE_UNSAFE');
    expect(await readdir(real)).toEqual([]);
    expect(await readdir(theirs)).toEqual(['mine']);
    expect(await readdir(below)).toEqual([]);
  });
});

describe('ensureDir', () => {
  it('makes missing directories with the mode asked for, and accepts an existing own one', async () => {
    const d = join(dir, 'a', 'b');
    await ensureDir(d, { mode: 0o700 });
    expect((await stat(d)).mode & 0o7777).toBe(0o700);
    expect((await stat(join(dir, 'a'))).mode & 0o7777).toBe(0o700);
    await ensureDir(d, { mode: 0o755 });
    await checkDir(d);
  });

  it('refuses an existing directory that is a link or that nobody owns; makes nothing under a foreign one', async () => {
    await mkdir(join(dir, 'real'));
    await symlink(join(dir, 'real'), join(dir, 'link'));
    expect(await codeOf(ensureDir(join(dir, 'link'), { mode: 0o755 }))).toBe('E_FILE_UNSAFE');
    const theirs = join(dir, 'theirs');
    await mkdir(theirs);
    await chown(theirs, NOBODY, NOBODY);
    expect(await codeOf(ensureDir(theirs, { mode: 0o755 }))).toBe('E_FILE_UNSAFE');
    expect(await codeOf(ensureDir(join(theirs, 'new', 'deeper'), { mode: 0o755 }))).toBe('E_FILE_UNSAFE');
    expect(await readdir(theirs)).toEqual([]);
    expect((await lstat(join(dir, 'link'))).isSymbolicLink()).toBe(true);
  });
});
