// SPDX-License-Identifier: Apache-2.0
/**
 * `execgate exec` as a client of a running `execgate serve` (agent/gate/wire.ts): the policy names the
 * state directory, whose gate.sock the service listens on; the client opens and hashes the executable
 * and reads the artifact file, the service judges (and records) the verdict, and the client acts on it
 * as the in-process gate does (agent/cli/exec-common.ts). A process that only asks pays for none of the
 * verification code, the audit store or the TPM connection: the start-up issue 14 measures.
 *
 * `undefined` means "judge in this process" (agent/cli/exec.ts): no service answers at the socket (none
 * is running, or this user may not connect, or the state directory is not this user's alone: the
 * in-process gate then refuses it), the service declined the request, or something failed
 * before the request was sent (the in-process gate then meets it again and reports it as it always
 * has). Once the request is sent, the service may have recorded a verdict and spent a use, so a lost
 * or unreadable answer is a denial (E_INTERNAL), never a second verdict.
 */
import { lstat, realpath, stat } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { MAX_ARTIFACT_BYTES } from '../artifact/limits.js';
import { DEFAULT_POLICY_FILE } from '../config/defaults.js';
import { policyStateDir } from '../config/state-dir.js';
import { checkDir } from '../fs/atomic-write.js';
import { readRegularFile } from '../fs/read-bounded.js';
import { GateError } from '../gate/errors.js';
import { openOrRefusal } from '../gate/executable.js';
import type { GateVerdict } from '../gate/gate.js';
import { ownStartTime, VERDICT_VARIABLE } from '../gate/lineage.js';
import {
  decodeAnswer,
  encodeRequest,
  frame,
  GATE_SOCKET,
  MAX_ANSWER_BYTES,
  readFrame,
  type WireAnswer,
} from '../gate/wire.js';
import { lap } from '../timing.js';
import { act, EXEC_HELP, early, loadRunning, parseCommandLine, type VerdictIo } from './exec-common.js';
import { checkOutput } from './output.js';

/** How long a verdict may take the service (a hardware TPM's quote is hundreds of milliseconds). */
const ANSWER_TIMEOUT_MS = 120_000;

/** The TPM this command was told to use, compared with the service's (null: the policy's). */
export function explicitTcti(tcti: string | undefined, env: VerdictIo['env']): string | null {
  return tcti ?? env.EXECGATE_TCTI ?? env.TPM2TOOLS_TCTI ?? null;
}

/** `execgate exec ARGV` through the service, or undefined (module comment). */
export async function execViaServe(
  argv: string[],
  io: VerdictIo & { readonly tcti: string | undefined },
): Promise<number | undefined> {
  let prepared: Awaited<ReturnType<typeof prepare>>;
  try {
    prepared = await prepare(argv, io);
  } catch {
    return undefined;
  }
  if (prepared === undefined) return undefined;
  const { flags, command, socket, exe, request } = prepared;
  const close = async () => {
    if (!(exe instanceof GateError)) await exe.close();
  };
  let answer: WireAnswer;
  try {
    socket.write(frame(request));
    // While the service judges, this process would wait: it loads what running the command takes (act
    // awaits the same load, and meets a failure of it there).
    loadRunning().catch(() => {});
    answer = decodeAnswer(await readFrame(socket, MAX_ANSWER_BYTES, ANSWER_TIMEOUT_MS));
  } catch (e) {
    socket.destroy();
    const lost = early(
      new GateError(
        'E_INTERNAL',
        `execgate serve gave no verdict: ${e instanceof Error ? e.message : String(e)}; it may have recorded one`,
        'see execgate audit show and the service log (journalctl -u execgate), then run the command again',
      ),
    );
    return act(io, flags, command, true, lost, undefined, { close });
  }
  socket.destroy();
  if (answer.kind === 'decline') {
    await close();
    return undefined;
  }
  lap('verdict');
  const verdict: GateVerdict = answer.verdict;
  return act(io, flags, command, true, verdict, exe instanceof GateError ? undefined : exe, { close });
}

/** Everything up to the request; undefined when no service answers. */
async function prepare(argv: string[], io: VerdictIo & { readonly tcti: string | undefined }) {
  const { flags, command } = parseCommandLine(argv, EXEC_HELP.split('\n')[0] ?? '');
  const policyFile = resolve(flags.policy ?? DEFAULT_POLICY_FILE);
  // The small reads start together and wait on libuv's thread pool side by side (BENCHMARKS.md, "With
  // execgate serve"). The executable is opened and hashed only once there is a service to ask: without
  // one, the in-process gate opens it itself, and a large file would be hashed twice.
  const [service, cwd, artifact, pidStart, output] = await Promise.allSettled([
    servicePath(policyFile),
    realpath(process.cwd()),
    readArtifact(flags.artifact),
    ownStartTime(),
    flags.verdict === undefined ? undefined : checkOutput('--verdict', flags.verdict, { replace: true }),
  ]);
  lap('read');
  // A failure here is met again, and reported, by the in-process gate (module comment).
  settled(output);
  const path = settled(service);
  if (path === undefined) return undefined;
  const dir = settled(cwd);
  // Hashed before connecting: a large executable takes longer than the service waits for a request
  // after a connection (10 s), and a connection held idle holds its stop.
  const exe = await openOrRefusal(command[0] as string, { cwd: dir, pathEnv: io.env.PATH });
  lap('exe');
  try {
    const variable = io.env[VERDICT_VARIABLE];
    const request = encodeRequest({
      policy: policyFile,
      tcti: explicitTcti(io.tcti, io.env),
      argv: command,
      cwd: dir,
      uid: typeof process.getuid === 'function' ? process.getuid() : 0,
      pid: process.pid,
      pidStart: Number(settled(pidStart)),
      // Only what the verdict reads of the environment: the rest (tokens, keys) stays here.
      env: variable === undefined ? {} : { [VERDICT_VARIABLE]: variable },
      ...(flags.artifact === undefined ? {} : { artifactFile: flags.artifact }),
      ...settled(artifact),
      exe,
    });
    const socket = await reach(path);
    lap('connect');
    if (socket === undefined) {
      if (!(exe instanceof GateError)) await exe.close();
      return undefined;
    }
    return { flags, command, socket, exe, request };
  } catch (e) {
    if (!(exe instanceof GateError)) await exe.close();
    throw e;
  }
}

/** A settled read's value, or its error thrown. */
function settled<T>(r: PromiseSettledResult<T>): T {
  if (r.status === 'rejected') throw r.reason;
  return r.value;
}

/** The policy's service socket, when this user may ask it (ownStateDir) and one is there. */
async function servicePath(policyFile: string): Promise<string | undefined> {
  const stateDir = await policyStateDir(policyFile);
  if (stateDir === undefined || !(await ownStateDir(stateDir))) return undefined;
  const path = join(stateDir, GATE_SOCKET);
  const isSocket = await lstat(path).then(
    (st) => st.isSocket(),
    () => false,
  );
  return isSocket ? path : undefined;
}

/** The --artifact file's bytes, or why it could not be read (the service's verdict says so). */
async function readArtifact(
  file: string | undefined,
): Promise<{ artifact?: Uint8Array; artifactError?: string }> {
  if (file === undefined) return {};
  try {
    return { artifact: await readRegularFile(file, { maxBytes: MAX_ARTIFACT_BYTES, what: 'artifact' }) };
  } catch (e) {
    return { artifactError: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Whether the state directory is one the in-process gate would use (agent/cli/exec.ts): this user's, and
 * no other user able to replace it or put a socket in it (checkDir: it and every directory above). Only
 * then is whoever listens at its gate.sock the owner's service; elsewhere a stand-in could answer allow.
 */
async function ownStateDir(dir: string): Promise<boolean> {
  try {
    await checkDir(dir);
    return (await stat(dir)).uid === (typeof process.geteuid === 'function' ? process.geteuid() : 0);
  } catch {
    return false;
  }
}

/** A connection to the service, or undefined when none answers there (or this user may not connect). */
function reach(path: string): Promise<Socket | undefined> {
  return new Promise((done) => {
    const socket = connect({ path, allowHalfOpen: true });
    socket.once('connect', () => {
      socket.off('error', failed);
      done(socket);
    });
    const failed = () => done(undefined);
    socket.once('error', failed);
  });
}
