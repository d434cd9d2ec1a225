// SPDX-License-Identifier: Apache-2.0
// `npm run demo` (scripts/demo.mjs, issue 15) as a real process on a private swtpm, with the CLI and the
// swtpm helper transpiled from sources (test/gate/gate-host.ts: a fresh `npm run build` takes ~30 s).
// It runs under `strace -ff`, which sees every file the demo and its children (execgate, the swtpm helper,
// swtpm) create, change or remove, and which returns only once every one of them has exited: nothing is
// written outside the demo's temporary directory, and nothing is left running. (It caught swtpm_setup,
// which `swtpm/main.js start --ek` runs, writing a pidfile in /tmp whatever TMPDIR says.)
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { MAIN, SWTPM_MAIN } from '../gate/gate-host.js';

const DEMO = join(import.meta.dirname, '../../scripts/demo.mjs');
// The system calls that create, change or remove a file system entry (open only with these flags), and
// those that start a process or change its working directory.
const CALLS = (
  'clone clone3 fork vfork chdir fchdir open openat openat2 creat mkdir mkdirat mknod mknodat rename renameat ' +
  'renameat2 unlink unlinkat rmdir link linkat symlink symlinkat chmod fchmodat chown lchown fchownat truncate utimensat'
).split(' ');
const WRITING = /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/;
// A device a process may open for writing without writing a file.
const DEVICES = new Set(['/dev/null']);

let root: string | undefined;
afterAll(async () => {
  if (root === undefined) return;
  // After a failure: whatever the demo left running (its command lines name its directory under root).
  for (const pid of naming(root)) process.kill(Number(pid), 'SIGKILL');
  await rm(root, { recursive: true, force: true });
});

/** The processes whose command line contains `text`. */
function naming(text: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text);
      } catch {
        return false; // gone meanwhile
      }
    });
}

interface Summary {
  ok: boolean;
  tpm: string;
  dir: string;
  swtpmPid: number | null;
  failure: string | null;
  verdicts: { step: string; expected: Verdict; got: Verdict; ok: boolean }[];
}
interface Verdict {
  verdict: string;
  reason: string;
}

/**
 * Runs `strace … node scripts/demo.mjs ARGS` in `cwd`, one trace file per process in `traceDir`; resolves
 * when strace is done, which is when every process it traced has exited.
 */
function traced(traceDir: string, args: string[], cwd: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
    // -y: every file descriptor (a dirfd, AT_FDCWD, an opened file) printed with its path.
    const strace = ['-ff', '-y', '-qq', '--seccomp-bpf', '-s', '4096', '-o', join(traceDir, 'pid')];
    const child = spawn(
      'strace',
      [...strace, '-e', `trace=${CALLS.join(',')}`, process.execPath, DEMO, ...args],
      {
        cwd,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('error', (e) =>
      fail(new Error(`cannot run strace (${e.message}): install it with scripts/setup.sh`)),
    );
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

const CALL = /^(\w+)\((.*)\) += (-?\d+)(?:<(.*)>)?$/;
// A path argument, after the directory descriptor it is relative to when there is one.
const PATH_ARG = /(?:(?:AT_FDCWD|\d+)<([^>]*)>, )?"((?:[^"\\]|\\.)*)"/g;

/**
 * Every path the traced processes created, changed or removed, absolute: an opened file as strace
 * resolved it; another path against its directory descriptor, else against the process's working
 * directory, followed from `cwd` (the first process's) through each clone, chdir and fchdir.
 */
async function writtenPaths(traceDir: string, cwd: string): Promise<string[]> {
  const traces = new Map<number, string[]>();
  for (const f of await readdir(traceDir))
    traces.set(Number(f.slice('pid.'.length)), (await readFile(join(traceDir, f), 'utf8')).split('\n'));
  const cloned = new Set<number>();
  const calls = new Map<number, RegExpExecArray[]>();
  for (const [pid, lines] of traces) {
    const parsed = lines.map((l) => CALL.exec(l)).filter((c) => c !== null && Number(c[3]) >= 0);
    calls.set(pid, parsed as RegExpExecArray[]);
    for (const [, name = '', , ret] of parsed as RegExpExecArray[])
      if (/^(clone3?|v?fork)$/.test(name)) cloned.add(Number(ret));
  }
  const written: string[] = [];
  const follow = (pid: number, start: string): void => {
    let dir = start;
    for (const [line, name = '', argText = '', ret, opened] of calls.get(pid) ?? []) {
      if (/^(clone3?|v?fork)$/.test(name)) follow(Number(ret), dir);
      else if (name === 'fchdir') dir = /<([^>]*)>/.exec(argText)?.[1] ?? `unknown: ${line}`;
      else if (name.startsWith('open') || name === 'creat') {
        if (WRITING.test(argText)) written.push(opened ?? `unknown: ${line}`);
      } else {
        const named = [...argText.matchAll(PATH_ARG)].map(([, at, path = '']) => resolve(at ?? dir, path));
        if (name === 'chdir') dir = named[0] ?? `unknown: ${line}`;
        // symlink(TARGET, LINK): only LINK is written.
        else written.push(...(name.startsWith('symlink') ? named.slice(1) : named));
      }
    }
  };
  const first = [...traces.keys()].filter((pid) => !cloned.has(pid));
  expect(first).toHaveLength(1);
  follow(first[0] as number, cwd);
  return written;
}

it('shows each allow and deny with its reason code, writes only in its temporary directory, leaves nothing running', async () => {
  root = await mkdtemp(join(tmpdir(), 'execgate-demo-test-'));
  const temp = join(root, 'tmp');
  await mkdir(temp);
  const summaryFile = join(temp, 'summary.json');
  const traceDir = join(root, 'strace');
  await mkdir(traceDir);
  const r = await traced(traceDir, ['--swtpm', '--json', summaryFile], temp, {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/',
    TMPDIR: temp,
    EXECGATE_BIN: MAIN[0] as string,
    EXECGATE_SWTPM_MAIN: SWTPM_MAIN,
  });
  expect(r.stderr).toBe('');
  expect(r.code, r.stdout).toBe(0);
  const summary = JSON.parse(await readFile(summaryFile, 'utf8')) as Summary;
  expect(summary.failure).toBeNull();
  expect(summary.tpm).toBe('swtpm');
  expect(summary.verdicts.map((v) => [v.got.verdict, v.got.reason])).toEqual([
    ['allow', 'OK'],
    ['deny', 'E_REPLAY'],
    ['deny', 'E_SIGNATURE'],
    ['deny', 'E_APPROVAL'],
    ['allow', 'OK'],
    ['deny', 'E_STATE'],
    ['pass', 'OK'],
    ['pass', 'OK'],
    ['pass', 'OK'],
  ]);
  expect(summary.verdicts.every((v) => v.ok)).toBe(true);
  expect(summary.ok).toBe(true);

  // What a reader sees: each command as `$ execgate …`, the denials as the gate prints them, the table.
  expect(r.stdout).toMatch(/^\$ execgate host init --policy policy\.toml$/m);
  expect(r.stdout).toMatch(/^ {2}execgate: denied: E_REPLAY: /m);
  expect(r.stdout).toMatch(/^ {2}rotate-logs: rotated \(arguments: --now\)$/m);
  expect(r.stdout).toMatch(/^\| 6 \| date -u after PCR 16 changed +\| deny +\| deny +\| E_STATE +\|$/m);
  expect(r.stdout).toMatch(/^demo: every verdict as expected\.$/m);

  // Its directory is gone, as is every process it started (strace returned; no process names it).
  expect(summary.dir.startsWith(`${temp}/`)).toBe(true);
  expect(await readdir(temp)).toEqual(['summary.json']);
  expect(summary.swtpmPid).toBeGreaterThan(0);
  expect(() => process.kill(summary.swtpmPid as number, 0)).toThrow(/ESRCH/);
  expect(naming(summary.dir)).toEqual([]);

  const written = await writtenPaths(traceDir, temp);
  expect(written.length).toBeGreaterThan(50); // the trace saw the demo's own files
  expect(written.some((p) => p.startsWith(`${summary.dir}/state/`))).toBe(true);
  const outside = written.filter(
    (p) => !(p === summaryFile || p === summary.dir || p.startsWith(`${summary.dir}/`) || DEVICES.has(p)),
  );
  expect(outside).toEqual([]);
}, 60_000);
