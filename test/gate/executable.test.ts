// SPDX-License-Identifier: Apache-2.0
// The executable the gate judges (agent/gate/executable.ts): resolved as execvp would but without
// relative PATH entries, measured from the descriptor it opened, and refused (E_SCOPE) when someone other
// than root or the caller could have changed it: the attacks of issue 14 — a group-writable file, a
// world-writable directory above it, a symbolic link into such a directory, a file owned by another
// user, a file written while it is hashed — each as a test.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import {
  chmod,
  chown,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  realpath,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GateError } from '../../agent/gate/errors.js';
import { checkExecutableStat, openExecutable } from '../../agent/gate/executable.js';
import { thrown } from '../helpers/thrown.js';

const NOBODY = 65534;
const IS_ROOT = process.geteuid?.() === 0;
const SCRIPT = '#!/bin/sh\necho measured\n';

let dir: string;
beforeEach(async () => {
  // mkdtemp makes it 0700 and ours; /tmp above it is sticky, which counts as safe.
  dir = await realpath(await mkdtemp(join(tmpdir(), 'execgate-exe-')));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes an executable with exactly `mode` (the umask does not narrow it). */
async function writeExe(path: string, content: string | Uint8Array, mode = 0o755): Promise<string> {
  await writeFile(path, content);
  await chmod(path, mode);
  return path;
}

async function refusal(p: Promise<unknown>): Promise<GateError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof GateError)) throw new Error(`expected a GateError, got ${String(e)}`);
  return e;
}

const sha256 = (data: string | Uint8Array) => new Uint8Array(createHash('sha256').update(data).digest());
const at = (cwd: string, pathEnv?: string) => ({ cwd, pathEnv });

describe('openExecutable: what it measures', () => {
  it('resolves a command with "/" against cwd and hashes the file it opened', async () => {
    await writeExe(join(dir, 'tool'), SCRIPT);
    const exe = await openExecutable('./tool', at(dir));
    try {
      expect(exe.realPath).toBe(join(dir, 'tool'));
      expect(exe.kind).toBe('script');
      expect(exe.size).toBe(SCRIPT.length);
      expect(exe.sha256).toEqual(sha256(SCRIPT));
      expect(exe.fd.fd).toBeGreaterThan(2);
    } finally {
      await exe.close();
    }
    expect(exe.fd.fd).toBe(-1);
  });

  it('classifies an ELF binary, and hashes all of a file longer than one read', async () => {
    const elf = join(dir, 'true');
    await copyFile(await realpath('/bin/true'), elf);
    await chmod(elf, 0o755);
    const big = new TextEncoder().encode(`#!/bin/sh\n#${'\xa5'.repeat(1536 * 1024)}\n`);
    await writeExe(join(dir, 'big'), big);
    const exe = await openExecutable(elf, at('/'));
    const large = await openExecutable(join(dir, 'big'), at('/'));
    try {
      expect(exe.kind).toBe('elf');
      expect(exe.sha256).toEqual(sha256(new Uint8Array(spawnSync('cat', [elf]).stdout)));
      expect(large.size).toBe(big.length);
      expect(large.sha256).toEqual(sha256(big));
    } finally {
      await exe.close();
      await large.close();
    }
  });

  it('reports and checks the real path behind a symbolic link', async () => {
    await mkdir(join(dir, 'real'), { mode: 0o755 });
    const target = await writeExe(join(dir, 'real', 'tool'), SCRIPT);
    await symlink(target, join(dir, 'link'));
    const exe = await openExecutable(join(dir, 'link'), at('/'));
    await exe.close();
    expect(exe.realPath).toBe(target);
  });

  it('refuses a symbolic link whose target sits in a world-writable directory, naming that directory', async () => {
    const open = join(dir, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    await symlink(await writeExe(join(open, 'tool'), SCRIPT), join(dir, 'link'));
    const e = await refusal(openExecutable(join(dir, 'link'), at('/')));
    expect(e.code).toBe('E_SCOPE');
    expect(e.message).toContain(open);
  });
});

describe('openExecutable: resolution', () => {
  it('takes the first PATH entry holding a regular file with an execute bit', async () => {
    for (const d of ['a', 'b', 'c']) await mkdir(join(dir, d), { mode: 0o755 });
    await writeExe(join(dir, 'a', 'cmd'), SCRIPT, 0o644);
    await mkdir(join(dir, 'b', 'cmd'), { mode: 0o755 });
    await writeExe(join(dir, 'c', 'cmd'), SCRIPT);
    const pathEnv = ['/nonexistent', join(dir, 'a'), join(dir, 'b'), join(dir, 'c')].join(':');
    const exe = await openExecutable('cmd', at('/', pathEnv));
    await exe.close();
    expect(exe.realPath).toBe(join(dir, 'c', 'cmd'));
  });

  it.each([
    ['an empty entry', ':/nonexistent'],
    ['"."', '.:/nonexistent'],
    ['a relative entry', 'bin:/nonexistent'],
  ])('does not search %s of PATH (relative to the working directory)', async (_what, pathEnv) => {
    await mkdir(join(dir, 'bin'), { mode: 0o755 });
    await writeExe(join(dir, 'cmd'), SCRIPT);
    await writeExe(join(dir, 'bin', 'cmd'), SCRIPT);
    const e = await refusal(openExecutable('cmd', at(dir, pathEnv)));
    expect(e.code).toBe('E_SCOPE');
    expect(e.message).toContain('no executable "cmd" on PATH');
  });

  it("searches glibc's default /bin:/usr/bin when PATH is unset", async () => {
    const exe = await openExecutable('true', at(dir, undefined));
    await exe.close();
    expect([await realpath('/bin/true'), await realpath('/usr/bin/true')]).toContain(exe.realPath);
  });

  it.each([
    ['an empty command', ''],
    ['a NUL byte', 'tr\0ue'],
    ['a command longer than PATH_MAX', 'x'.repeat(4097)],
    ['a command on no PATH entry', 'execgate-no-such-command'],
    ['a path to nothing', './missing'],
  ])('refuses %s (E_SCOPE)', async (_what, command) => {
    expect((await refusal(openExecutable(command, at(dir, '/usr/bin:/bin')))).code).toBe('E_SCOPE');
  });

  it('refuses a PATH longer than any environment can hold', async () => {
    const e = await refusal(openExecutable('true', at(dir, `/x${':/x'.repeat(64 * 1024)}`)));
    expect(e.code).toBe('E_SCOPE');
  });

  it('takes a relative cwd as a caller error (RangeError)', async () => {
    await expect(openExecutable('true', at('relative'))).rejects.toBeInstanceOf(RangeError);
  });
});

describe('openExecutable: refusals (E_SCOPE)', () => {
  it('refuses a group-writable executable, naming it and the fix', async () => {
    const tool = await writeExe(join(dir, 'tool'), SCRIPT, 0o775);
    const e = await refusal(openExecutable(tool, at('/')));
    expect(e.code).toBe('E_SCOPE');
    expect(e.message).toContain(tool);
    expect(e.remedy).toBe(`chmod go-w ${tool}`);
  });

  it('refuses an executable in a world-writable directory that is not sticky, and one further below', async () => {
    const open = join(dir, 'open');
    await mkdir(join(open, 'inner'), { recursive: true, mode: 0o755 });
    await chmod(open, 0o777);
    const direct = await writeExe(join(open, 'tool'), SCRIPT);
    const below = await writeExe(join(open, 'inner', 'tool'), SCRIPT);
    for (const tool of [direct, below]) {
      const e = await refusal(openExecutable(tool, at('/')));
      expect(e.code).toBe('E_SCOPE');
      // checkDir names the directory, and the one it is above when that is not the file's own.
      expect(e.message).toContain(
        `directory ${open}${tool === below ? ` (above ${join(open, 'inner')})` : ''} is writable by others`,
      );
    }
  });

  it('accepts an executable of ours in a sticky world-writable directory, as in /tmp', async () => {
    const sticky = join(dir, 'sticky');
    await mkdir(sticky);
    await chmod(sticky, 0o1777);
    const exe = await openExecutable(await writeExe(join(sticky, 'tool'), SCRIPT), at('/'));
    await exe.close();
    expect(exe.kind).toBe('script');
  });

  it.runIf(IS_ROOT)('refuses an executable owned by another user (as root: chowned to nobody)', async () => {
    const tool = await writeExe(join(dir, 'tool'), SCRIPT);
    await chown(tool, NOBODY, NOBODY);
    const e = await refusal(openExecutable(tool, at('/')));
    expect(e.code).toBe('E_SCOPE');
    expect(e.message).toContain(`owned by uid ${NOBODY}`);
  });

  it('refuses, on the fstat alone, a file another user owns (the rule the test above drives as root)', () => {
    const file = fsConstants.S_IFREG | 0o755;
    expect(() => checkExecutableStat('/x', { mode: file, uid: 0 }, 1000)).not.toThrow();
    expect(() => checkExecutableStat('/x', { mode: file, uid: 1000 }, 1000)).not.toThrow();
    expect(thrown(GateError, () => checkExecutableStat('/x', { mode: file, uid: 1001 }, 1000)).code).toBe(
      'E_SCOPE',
    );
    for (const mode of [
      fsConstants.S_IFREG | 0o757,
      fsConstants.S_IFREG | 0o644,
      fsConstants.S_IFDIR | 0o755,
    ])
      expect(thrown(GateError, () => checkExecutableStat('/x', { mode, uid: 0 }, 0)).code).toBe('E_SCOPE');
  });

  it.each([
    ['a file without an execute bit', 0o644, SCRIPT],
    ['a file that is neither ELF nor #!', 0o755, 'echo no shebang\n'],
    ['an empty file', 0o755, ''],
  ])('refuses %s', async (_what, mode, content) => {
    const tool = await writeExe(join(dir, 'tool'), content, mode);
    expect((await refusal(openExecutable(tool, at('/')))).code).toBe('E_SCOPE');
  });

  it('refuses an ELF for another machine, or one that is not an executable (ENOEXEC → /bin/sh in glibc)', async () => {
    const elf = new Uint8Array(spawnSync('cat', [await realpath('/bin/true')]).stdout);
    const view = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
    const little = elf[5] === 1;
    const otherMachine = elf.slice();
    new DataView(otherMachine.buffer).setUint16(18, view.getUint16(18, little) + 1, little);
    const relocatable = elf.slice();
    new DataView(relocatable.buffer).setUint16(16, 1, little); // ET_REL
    for (const [name, content] of [
      ['machine', otherMachine],
      ['rel', relocatable],
      ['short', elf.slice(0, 12)],
    ] as const) {
      const e = await refusal(openExecutable(await writeExe(join(dir, name), content), at('/')));
      expect(e.code).toBe('E_SCOPE');
      expect(e.message).toContain('not an ELF executable for this machine');
    }
  });

  it.each([
    ['no interpreter', '#!\necho x\n'],
    ['a relative interpreter', '#!bin/sh\necho x\n'],
    ['no newline within 256 bytes', `#!/bin/sh ${'x'.repeat(300)}\n`],
  ])('refuses a #! line with %s', async (_what, content) => {
    const e = await refusal(openExecutable(await writeExe(join(dir, 'tool'), content), at('/')));
    expect(e.code).toBe('E_SCOPE');
    expect(e.message).toContain('absolute interpreter');
  });

  it('accepts a #! line with blanks before the interpreter and an argument after it', async () => {
    const exe = await openExecutable(await writeExe(join(dir, 'tool'), '#! \t/bin/sh -e\n'), at('/'));
    await exe.close();
    expect(exe.kind).toBe('script');
  });

  it('refuses a directory and, without hanging in open(2), a FIFO with execute bits', async () => {
    await mkdir(join(dir, 'd'), { mode: 0o755 });
    expect(spawnSync('mkfifo', ['-m', '0755', join(dir, 'fifo')]).status).toBe(0);
    for (const name of ['d', 'fifo']) {
      const e = await refusal(openExecutable(join(dir, name), at('/')));
      expect(e.code).toBe('E_SCOPE');
      expect(e.message).toContain('not a regular file');
    }
  });

  it('refuses a file that changes while it is hashed', async () => {
    const tool = await writeExe(join(dir, 'tool'), `#!/bin/sh\n${'#'.repeat(8 * 1024 * 1024)}\n`);
    // A writer appending without pause from before the open until after the hash.
    const writer = spawn(
      process.execPath,
      [
        '-e',
        `const fs=require('fs');const fd=fs.openSync(process.argv[1],'a');fs.writeSync(1,'go\\n');for(;;)fs.writeSync(fd,'x')`,
        tool,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise((res) => writer.stdout.once('data', res));
      const e = await refusal(openExecutable(tool, at('/')));
      expect(e.code).toBe('E_SCOPE');
      expect(e.message).toContain('changed while being measured');
    } finally {
      writer.kill('SIGKILL');
    }
  });

  it('closes the descriptor of a refused file', async () => {
    const tool = await writeExe(join(dir, 'tool'), SCRIPT, 0o777);
    const before = (await readdir('/proc/self/fd')).length;
    for (let i = 0; i < 20; i++) await refusal(openExecutable(tool, at('/')));
    expect((await readdir('/proc/self/fd')).length).toBeLessThanOrEqual(before);
  });
});
