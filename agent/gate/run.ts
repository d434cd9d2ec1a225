// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/gate/run
 *
 * Runs the executable agent/gate/executable.ts opened and judged — that descriptor's file, not whatever
 * the path names by now (issue 14, "time-of-check to time-of-use"; DESIGN §6) — and reports how it ended.
 *
 * - An ELF runs as `/proc/<our pid>/fd/N`: execve(2) resolves that link to the opened file while our
 *   descriptor is still open (Node opens files close-on-exec, but the child's exec completes before
 *   spawn() returns), and the child inherits no extra descriptor. argv[0] is the caller's (execgate exec
 *   gives the real path: a name the user chose, say a link's, would choose what a multi-call binary does).
 * - A #! script runs as `/proc/self/fd/3` with the descriptor handed to the child as stdio slot 3. Its
 *   interpreter opens that path only after the exec, when a close-on-exec descriptor is gone (measured in
 *   test/gate/run.test.ts), and a path into our fd table would race with our close. So the interpreter
 *   sees `$0` = /proc/self/fd/3 (the kernel drops argv[0] for a script), and the script and what it
 *   starts inherit fd 3, read-only, open on the script itself.
 *
 * Secrets (issue 17) go to the command as `inputs`: each one on its own descriptor, the next ones after
 * stdio (and the script's fd 3), each the child's end of a stream Node makes for stdio "pipe" (a Unix
 * socket pair): written in full and closed by us once the command has started, so the command reads
 * the bytes and then end of file. They are never in argv, the environment or a file; `inputFd` says
 * which number each gets. (A socket, not a pipe(2): open(/proc/self/fd/N) fails on it; read the
 * descriptor itself, e.g. `cat <&N`.)
 *
 * stdin, stdout and stderr are inherited. While the command runs, SIGINT, SIGTERM, SIGHUP, SIGQUIT,
 * SIGUSR1, SIGUSR2 and SIGWINCH sent to us are forwarded to it (and do not end us); the handlers are
 * removed when it ends. agent/cli/child-exit.ts then exits as the command did.
 *
 * Not covered: a signal the terminal sends to the whole foreground process group (Ctrl-C, Ctrl-\, a
 * resize) reaches the command twice, once from the terminal and once forwarded (sudo tells them apart by
 * the sender's pid; Node's signal events do not carry it). Signals our caller ignored (nohup's SIGHUP)
 * are not ignored by the command: Node resets every disposition at startup, and so does libuv in the child.
 * An ELF with a sound header that the kernel still refuses with ENOEXEC (broken program headers) is run
 * by glibc's execvp, which libuv calls, as a /bin/sh script; executable.ts refuses the files this
 * happens to in practice (another machine's binaries, bad #! lines).
 */
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { GateError } from './errors.js';
import type { OpenedExecutable } from './executable.js';

/** Signals forwarded to the command while it runs (issue 14). */
export const FORWARDED_SIGNALS = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGWINCH',
] as const satisfies readonly NodeJS.Signals[];

/** How the command ended: an exit status, or the signal that killed it (exactly one is non-null). */
export interface ChildOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface RunOptions {
  /** The command's whole environment (the gate adds EXECGATE_VERDICT before this). */
  readonly env: NodeJS.ProcessEnv;
  /** The command's working directory. */
  readonly cwd: string;
  /** Bytes for the command to read, one descriptor each, from `inputFd(exe, 0)` up. */
  readonly inputs?: readonly Uint8Array[];
}

/** The descriptor number the command gets for input `i` (RunOptions.inputs). */
export function inputFd(exe: OpenedExecutable, i: number): number {
  return (exe.kind === 'elf' ? 3 : SCRIPT_FD + 1) + i;
}

/** The fd a script's descriptor gets in the child: the first slot after stdin, stdout and stderr. */
const SCRIPT_FD = 3;

/**
 * errno values with which execve(2) refuses this file where it is (a noexec mount, a security module
 * such as IPE or fapolicyd, a missing #! interpreter or ELF loader, a format the kernel does not run):
 * the execution is not one this host allows, E_SCOPE. Anything else (EAGAIN, ENOMEM, E2BIG, …) is
 * E_INTERNAL.
 */
const REFUSED_BY_KERNEL: Readonly<Record<string, string>> = {
  EACCES: 'permission denied (a noexec mount, or a security module such as IPE, fapolicyd or SELinux)',
  EPERM: 'operation not permitted (a security module, or a setuid file under no_new_privs)',
  ENOEXEC: 'not a binary format this kernel runs',
  ENOENT: 'its #! interpreter, its ELF loader or the working directory does not exist',
  ENOTDIR: 'its #! interpreter or the working directory is not where it is named',
  ELIBBAD: 'its ELF loader is corrupt',
  ELOOP: 'its #! interpreters nest too deeply',
  ETXTBSY: 'the file is open for writing',
};

function spawnFailed(exe: OpenedExecutable, cwd: string, e: unknown): GateError {
  const errno = e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
  const why = errno === undefined ? undefined : REFUSED_BY_KERNEL[errno];
  if (why !== undefined)
    return new GateError(
      'E_SCOPE',
      `the kernel refused to run ${exe.realPath} in ${cwd} (${errno}: ${why})`,
      'fix what the reason names on this host, or run an executable this host allows',
      { cause: e },
    );
  return new GateError(
    'E_INTERNAL',
    `cannot start ${exe.realPath} (${errno ?? String(e)})`,
    'retry; if it persists, check the host for exhausted resources (processes, memory)',
    { cause: e },
  );
}

/**
 * Runs `exe` (its descriptor's file, as the module comment says) with `argv` (argv[0] as the caller gives
 * it), `opts.env` and `opts.cwd`, forwarding signals while it runs. Resolves with how it ended; rejects
 * with a GateError (E_SCOPE or E_INTERNAL, see REFUSED_BY_KERNEL) if it could not start, with no handler
 * left installed. `exe` must still be open; closing it once this resolves is the caller's.
 */
export function runOpened(
  exe: OpenedExecutable,
  argv: readonly string[],
  opts: RunOptions,
): Promise<ChildOutcome> {
  const [argv0, ...args] = argv;
  if (argv0 === undefined) throw new RangeError('argv must hold at least argv[0]');
  const fd = exe.fd.fd;
  if (fd < 0) throw new RangeError(`the executable ${exe.realPath} is closed`);
  const file = exe.kind === 'elf' ? `/proc/${process.pid}/fd/${fd}` : `/proc/self/fd/${SCRIPT_FD}`;
  const inputs = opts.inputs ?? [];
  const stdio: StdioOptions = [
    ...(exe.kind === 'elf' ? ['inherit', 'inherit', 'inherit'] : ['inherit', 'inherit', 'inherit', fd]),
    ...inputs.map(() => 'pipe' as const),
  ] as StdioOptions;

  return new Promise((resolvePromise, reject) => {
    let child: ChildProcess | undefined;
    // Installed before the spawn: a signal that arrives meanwhile waits in libuv's queue for the child
    // to exist, rather than ending us with the default action and orphaning the command.
    const handlers = FORWARDED_SIGNALS.map((signal) => {
      const forward = () => {
        if (child?.pid !== undefined) child.kill(signal);
      };
      process.on(signal, forward);
      return { signal, forward };
    });
    const removeHandlers = () => {
      for (const { signal, forward } of handlers) process.removeListener(signal, forward);
    };
    let started: ChildProcess;
    try {
      started = spawn(file, args, { argv0, cwd: opts.cwd, env: opts.env, stdio });
    } catch (e) {
      // Node throws at once for some errno values (ENOEXEC, EPERM, …) and emits 'error' for others.
      removeHandlers();
      reject(spawnFailed(exe, opts.cwd, e));
      return;
    }
    child = started;
    inputs.forEach((bytes, i) => {
      const stream = started.stdio[inputFd(exe, i)];
      // A command that exits without reading closes its end: that is its business, not an error of ours.
      stream?.on('error', () => undefined);
      // A view, not a copy: the caller zeroes `bytes`, and so do we once the kernel has them.
      const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (stream && 'end' in stream) stream.end(view, () => bytes.fill(0));
    });
    started.on('error', (e) => {
      // After a start, 'error' only reports a failed kill(2) of a forwarded signal: the run goes on.
      if (started.pid !== undefined) return;
      removeHandlers();
      reject(spawnFailed(exe, opts.cwd, e));
    });
    started.on('exit', (code, signal) => {
      if (started.pid === undefined) return;
      removeHandlers();
      resolvePromise({ code, signal });
    });
  });
}
