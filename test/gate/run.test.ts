// SPDX-License-Identifier: Apache-2.0
// Running the file that was judged (agent/gate/run.ts) and ending as it ended (agent/cli/child-exit.ts):
// a file renamed over the path after the open does not run, the original does; Node's close-on-exec
// descriptors, which is why a script goes through fd 3; what the command sees as argv[0]/$0 and which
// descriptors it inherits; start failures as typed rejections; and, through a real runner process
// (test/helpers/gate-runner.ts), exit status, stdin, forwarded signals and death by the command's signal.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  open,
  readFile,
  realpath,
  rename,
  rm,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GateError } from '../../agent/gate/errors.js';
import { openExecutable } from '../../agent/gate/executable.js';
import { FORWARDED_SIGNALS, runOpened } from '../../agent/gate/run.js';

const ROOT = join(import.meta.dirname, '../..');
const RUNNER = join(ROOT, 'test/helpers/gate-runner.ts');

let dir: string;
beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'execgate-run-')));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeExe(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  await chmod(path, 0o755);
  return path;
}

async function copyExe(from: string, name: string): Promise<string> {
  const path = join(dir, name);
  await copyFile(await realpath(from), path);
  await chmod(path, 0o755);
  return path;
}

/** Opens `path`, runs it with `args` and OUT=<a file in dir>, and returns the outcome and what it wrote there. */
async function runWithOut(path: string, args: readonly string[], argv0 = path) {
  const out = join(dir, 'out');
  await writeFile(out, '');
  const exe = await openExecutable(path, { cwd: dir, pathEnv: undefined });
  try {
    const outcome = await runOpened(exe, [argv0, ...args], { env: { ...process.env, OUT: out }, cwd: dir });
    return { outcome, out: await readFile(out, 'utf8'), exe };
  } finally {
    await exe.close();
  }
}

describe('runOpened: the judged file is the one that runs', () => {
  it('runs the original script when another is renamed over its path after the open', async () => {
    const path = await writeExe('tool', '#!/bin/sh\necho original >"$OUT"\n');
    const swap = await writeExe('swap', '#!/bin/sh\necho swapped >"$OUT"\n');
    const out = join(dir, 'out');
    const exe = await openExecutable(path, { cwd: dir, pathEnv: undefined });
    await rename(swap, path);
    const outcome = await runOpened(exe, [path], { env: { ...process.env, OUT: out }, cwd: dir });
    await exe.close();
    expect(outcome).toEqual({ code: 0, signal: null });
    expect(await readFile(out, 'utf8')).toBe('original\n');
    // The path itself now names the other file.
    expect(spawnSync(path, { env: { ...process.env, OUT: out } }).status).toBe(0);
    expect(await readFile(out, 'utf8')).toBe('swapped\n');
  });

  it('runs the original ELF binary when another is renamed over its path after the open', async () => {
    const path = await copyExe('/bin/true', 'tool');
    const swap = await copyExe('/bin/false', 'swap');
    const exe = await openExecutable(path, { cwd: dir, pathEnv: undefined });
    await rename(swap, path);
    const outcome = await runOpened(exe, [path], { env: process.env, cwd: dir });
    await exe.close();
    expect(outcome).toEqual({ code: 0, signal: null });
    expect(spawnSync(path).status).toBe(1);
  });

  it("cannot run a script through a plain descriptor of Node's: it is close-on-exec (hence fd 3)", async () => {
    const path = await writeExe('tool', '#!/bin/sh\necho ran >"$OUT"\n');
    const out = join(dir, 'out');
    const fh = await open(path, 'r');
    try {
      // The kernel opens the path before the exec; the interpreter, after it, finds the descriptor closed.
      const direct = spawnSync(`/proc/self/fd/${fh.fd}`, { env: { ...process.env, OUT: out } });
      expect(direct.status).not.toBe(0);
      expect(direct.stderr.toString()).toMatch(/can't open|No such file/i);
      await expect(readFile(out)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await fh.close();
    }
  });

  it('gives a script $0 = /proc/self/fd/3 open on itself, and its arguments as they were', async () => {
    const path = await writeExe(
      'tool',
      '#!/bin/sh\nprintf "%s\\n" "$0" "$(readlink /proc/$$/fd/3)" "$1" "$2" >"$OUT"\n',
    );
    const { outcome, out } = await runWithOut(path, ['one two', '*']);
    expect(outcome.code).toBe(0);
    expect(out).toBe(`/proc/self/fd/3\n${path}\none two\n*\n`);
  });

  it('gives an ELF binary the argv[0] the user typed and no descriptor of the executable', async () => {
    const script =
      'tr "\\0" "\\n" </proc/$$/cmdline >"$OUT"; for f in /proc/$$/fd/*; do readlink "$f"; done >>"$OUT"; true';
    const { outcome, out, exe } = await runWithOut('/bin/sh', ['-c', script], 'typed-sh');
    expect(outcome.code).toBe(0);
    const lines = out.split('\n');
    expect(lines.slice(0, 3)).toEqual(['typed-sh', '-c', script]);
    expect(lines).not.toContain(exe.realPath);
  });

  it('passes the environment and working directory given', async () => {
    const { out } = await runWithOut('/bin/sh', ['-c', 'printf "%s %s" "$PWD" "$MARK" >"$OUT"']);
    expect(out).toBe(`${dir} `);
    const exe = await openExecutable('/bin/sh', { cwd: '/', pathEnv: undefined });
    const out2 = join(dir, 'out2');
    await runOpened(exe, ['sh', '-c', 'printf "%s %s" "$(pwd)" "$MARK" >"$OUT"'], {
      env: { OUT: out2, MARK: 'm' },
      cwd: '/',
    });
    await exe.close();
    expect(await readFile(out2, 'utf8')).toBe('/ m');
  });
});

describe('runOpened: failures to start', () => {
  const listeners = () => FORWARDED_SIGNALS.map((s) => process.listenerCount(s));

  // Node emits 'error' later for ENOENT and EACCES, and throws from spawn() for ENOTDIR and E2BIG: both paths.
  // openExecutable refuses a script whose interpreter is broken already, so each case breaks the
  // interpreter after the open (as a change on the host between the check and the exec would).
  it.each([
    ['a script whose interpreter was removed', 'E_SCOPE', 'ENOENT', (i: string) => rm(i), []],
    [
      'a script whose interpreter is no longer executable',
      'E_SCOPE',
      'EACCES',
      (i: string) => chmod(i, 0o644),
      [],
    ],
    [
      'a script whose interpreter path now runs through a file',
      'E_SCOPE',
      'ENOTDIR',
      async (i: string) => {
        await rm(join(i, '..'), { recursive: true });
        await writeFile(join(i, '..'), '');
      },
      [],
    ],
    [
      'an argument longer than the kernel takes',
      'E_INTERNAL',
      'E2BIG',
      async () => {},
      ['x'.repeat(200 * 1024)],
    ],
  ])('rejects %s as %s (%s) and leaves no signal handler', async (_what, code, errno, breakIt, args) => {
    await mkdir(join(dir, 'idir'));
    const interp = await writeExe('idir/interp', '#!/bin/sh\n');
    const path = await writeExe('tool', `#!${interp}\n`);
    const exe = await openExecutable(path, { cwd: dir, pathEnv: undefined });
    await breakIt(interp);
    const before = listeners();
    const e = await runOpened(exe, [path, ...args], { env: process.env, cwd: dir }).then(
      () => undefined,
      (err: unknown) => err,
    );
    await exe.close();
    expect(e).toBeInstanceOf(GateError);
    expect(e).toMatchObject({ code, message: expect.stringContaining(errno) });
    expect(listeners()).toEqual(before);
  });

  it('takes an empty argv or a closed executable as a caller error (RangeError)', async () => {
    const exe = await openExecutable('/bin/true', { cwd: dir, pathEnv: undefined });
    expect(() => runOpened(exe, [], { env: process.env, cwd: dir })).toThrow(RangeError);
    await exe.close();
    expect(() => runOpened(exe, ['true'], { env: process.env, cwd: dir })).toThrow(RangeError);
  });
});

interface Runner {
  readonly child: ChildProcess;
  /** Resolves when stdout has shown `text`. */
  readonly saw: (text: string) => Promise<void>;
  readonly exited: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>;
}

/** Starts the runner (what `execgate exec` does once allowed) on CMD ARGS, with piped stdio. */
function startRunner(argv: readonly string[]): Runner {
  const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, ...argv], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; res: () => void }[] = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const w of waiters) if (stdout.includes(w.text)) w.res();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((res) => child.on('close', (code, signal) => res({ code, signal, stdout, stderr })));
  const saw = (text: string) =>
    new Promise<void>((res, rej) => {
      if (stdout.includes(text)) return res();
      waiters.push({ text, res });
      void exited.then((r) => rej(new Error(`runner exited before "${text}": ${JSON.stringify(r)}`)));
    });
  return { child, saw, exited };
}

describe('through a runner process: status, stdin and signals pass through', () => {
  it('exits with the command status', async () => {
    const r = await startRunner(['/bin/sh', '-c', 'exit 3']).exited;
    expect(r).toMatchObject({ code: 3, signal: null });
  });

  it('passes stdin through to the command and its stdout back', async () => {
    const runner = startRunner(['/bin/cat']);
    runner.child.stdin?.end('piped through\n');
    expect(await runner.exited).toMatchObject({ code: 0, stdout: 'piped through\n' });
  });

  it.each([
    ['SIGTERM', 'TERM'],
    ['SIGUSR1', 'USR1'],
    ['SIGPIPE', 'PIPE'],
  ] as const)('dies of %s when the command kills itself with it', async (signal, name) => {
    const r = await startRunner(['/bin/sh', '-c', `kill -${name} $$`]).exited;
    expect(r).toMatchObject({ code: null, signal });
  });

  it('exits 128+6 rather than dump its own core when the command dies of SIGABRT', async () => {
    const r = await startRunner(['/bin/sh', '-c', 'kill -ABRT $$']).exited;
    expect(r).toMatchObject({ code: 134, signal: null });
  });

  // The command is Node rather than sh: dash's `wait` can miss a trapped signal that lands just before it.
  it.each([
    ['SIGUSR1', 0],
    ['SIGTERM', 7],
  ] as const)(
    'forwards %s to the command, which traps it and exits %i, and lives on',
    async (signal, code) => {
      const trap = `process.on('${signal}', () => { process.stdout.write('got ${signal}\\n'); process.exit(${code}); });`;
      const runner = startRunner([
        process.execPath,
        '-e',
        `${trap} process.stdout.write('ready\\n'); setInterval(() => {}, 60_000);`,
      ]);
      await runner.saw('ready');
      runner.child.kill(signal);
      expect(await runner.exited).toMatchObject({ code, signal: null, stdout: `ready\ngot ${signal}\n` });
    },
  );

  it('refuses, before running anything, an executable the gate may not judge (126)', async () => {
    const path = await writeExe('tool', '#!/bin/sh\necho ran\n');
    await chmod(path, 0o777);
    const r = await startRunner([path]).exited;
    expect(r).toMatchObject({ code: 126, stdout: '' });
    expect(r.stderr).toMatch(/^denied E_SCOPE: /);
  });
});
