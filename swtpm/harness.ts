// SPDX-License-Identifier: Apache-2.0
/**
 * Start and stop a throw-away swtpm 0.7.1 for tests, development and demos (SWTPM.md §2, STYLE.md
 * principle 14). swtpm runs as a child process (never `--daemon`, so it can be killed), with a fresh state
 * directory unless one is given, `--flags not-need-init,startup-clear` (the TPM is usable at once), and its
 * pid and log files in the state directory. It listens on a loopback TCP port pair (data P, control P+1,
 * as tpm2-tss expects) or on unix sockets (SOCK and SOCK.ctrl). It is ready when the control channel
 * answers CMD_GET_CAPABILITY, which swtpm serves only after both sockets are bound and TPM2_Startup ran.
 *
 * Not covered: swtpm's own crash recovery, and children left behind if this process is SIGKILLed (an
 * 'exit' hook kills them on every other exit).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SwtpmControl } from '../agent/tpm/transport/control.js';
import { openSocket, type SocketEndpoint } from '../agent/tpm/transport/socket.js';
import { formatTcti } from '../agent/tpm/transport/tcti.js';
import { SwtpmError } from './errors.js';
import { pickPortPair } from './ports.js';
import { type CaFiles, manufacture, tail } from './setup.js';

export interface StartSwtpmOptions {
  /** 'tcp' (default): loopback port pair; 'unix': STATE/swtpm.sock and STATE/swtpm.sock.ctrl. */
  readonly transport?: 'tcp' | 'unix';
  /**
   * Run swtpm_setup first: EKs with certificates from a private CA (see setup.ts). It overwrites any TPM
   * state in `stateDir`.
   */
  readonly ek?: boolean;
  /** Active PCR banks, set by swtpm_setup (default with `ek`: sha1, sha256; without: all four, no setup). */
  readonly pcrBanks?: readonly string[];
  /** Use (and keep) this state directory instead of a fresh temporary one. */
  readonly stateDir?: string;
  /**
   * TCP: listen on this port pair (data P, control P + 1) instead of a free one picked at random, to
   * start a stopped swtpm again on the same TCTI (with the same `stateDir`: a TPM that was away for a
   * while). A port still held by the old process is tried again for a few seconds.
   */
  readonly port?: number;
  /** How long swtpm may take to answer on its control channel (default 10 000 ms). */
  readonly readyTimeoutMs?: number;
}

/** A running swtpm. */
export interface SwtpmInstance {
  /** TCTI for execgate and tpm2-tools, e.g. `swtpm:host=127.0.0.1,port=P` or `swtpm:path=D/swtpm.sock`. */
  readonly tcti: string;
  readonly host?: string;
  readonly port?: number;
  readonly ctrlPort?: number;
  readonly path?: string;
  readonly ctrlPath?: string;
  readonly stateDir: string;
  /** The private CA's directory when started with `ek` or `pcrBanks`. */
  readonly caDir?: string;
  /** The CA's and EK certificates' files when started with `ek`. */
  readonly ca?: CaFiles;
  readonly pid: number;
  /** Settles when the swtpm process has exited, for whatever reason. */
  readonly exited: Promise<void>;
  /** The control channel client. */
  readonly control: SwtpmControl;
  /** `TPM2TOOLS_TCTI` (and `EXECGATE_TCTI`) for running tpm2-tools or execgate against this swtpm. */
  readonly env: Record<string, string>;
  /**
   * CMD_SHUTDOWN, then SIGTERM, then SIGKILL, each bounded; then removes the temporary directories it
   * created. Safe to call more than once, and after `kill()`.
   */
  stop(): Promise<void>;
  /** SIGKILL now, without cleanup (for tests of a TPM that dies); call `stop()` afterwards to clean up. */
  kill(): void;
}

const MAX_BIND_ATTEMPTS = 8;
/** Between attempts to bind a fixed port (`port`): 8 attempts span about 2 s. */
const FIXED_PORT_RETRY_MS = 250;
const STEP_TIMEOUT_MS = 2_000;
const live = new Set<ChildProcess>();

/** Starts swtpm; see the module comment. Throws `SwtpmError` with the tail of swtpm's log on failure. */
export async function startSwtpm(options: StartSwtpmOptions = {}): Promise<SwtpmInstance> {
  const { transport = 'tcp', ek = false, readyTimeoutMs = 10_000 } = options;
  const ownState = options.stateDir === undefined;
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'execgate-swtpm-')));
  const created = ownState ? [stateDir] : [];
  try {
    let caDir: string | undefined;
    let ca: CaFiles | undefined;
    const pcrBanks = options.pcrBanks ?? (ek ? ['sha1', 'sha256'] : undefined);
    if (ek || pcrBanks) {
      caDir = await mkdtemp(join(tmpdir(), 'execgate-swtpm-ca-'));
      created.push(caDir);
      ca = await manufacture({ stateDir, caDir, ek, pcrBanks: pcrBanks ?? [] });
    }
    for (let attempt = 1; ; attempt++) {
      const endpoints = await chooseEndpoints(transport, stateDir, options.port);
      const started = await launch(endpoints, stateDir, readyTimeoutMs);
      if (started.ok) {
        return instance({ ...endpoints, ...started, stateDir, created, caDir, ca });
      }
      if (!(started.addressInUse && attempt < MAX_BIND_ATTEMPTS)) {
        throw new SwtpmError('E_SWTPM_START', `swtpm did not start: ${started.reason}\n${started.log}`);
      }
      // A fixed port frees itself (the old process exiting); a random one is picked again at once.
      if (options.port !== undefined) await sleep(FIXED_PORT_RETRY_MS);
    }
  } catch (err) {
    await removeAll(created);
    throw err;
  }
}

interface Endpoints {
  readonly data: SocketEndpoint;
  readonly ctrl: SocketEndpoint;
  readonly args: readonly string[];
}

async function chooseEndpoints(
  transport: 'tcp' | 'unix',
  stateDir: string,
  fixedPort: number | undefined,
): Promise<Endpoints> {
  if (transport === 'unix') {
    const path = join(stateDir, 'swtpm.sock');
    // A live socket here means another swtpm owns this state directory; starting a second one would
    // take over its socket paths before failing on the state lock.
    for (const taken of [path, `${path}.ctrl`]) {
      if (await answers({ path: taken })) {
        throw new SwtpmError(
          'E_SWTPM_START',
          `${taken} is already served (is a swtpm running on ${stateDir}?)`,
        );
      }
    }
    return {
      data: { path },
      ctrl: { path: `${path}.ctrl` },
      args: ['--server', `type=unixio,path=${path}`, '--ctrl', `type=unixio,path=${path}.ctrl`],
    };
  }
  const host = '127.0.0.1';
  const port = fixedPort ?? (await pickPortPair(host));
  return {
    data: { host, port },
    ctrl: { host, port: port + 1 },
    args: [
      '--server',
      `type=tcp,port=${port},bindaddr=${host}`,
      '--ctrl',
      `type=tcp,port=${port + 1},bindaddr=${host}`,
    ],
  };
}

type Launch =
  | { readonly ok: true; readonly child: ChildProcess; readonly pid: number; readonly exited: Promise<void> }
  | { readonly ok: false; readonly reason: string; readonly log: string; readonly addressInUse: boolean };

/** Spawns swtpm and waits until its control channel answers, it exits, or `readyTimeoutMs` passes. */
async function launch(endpoints: Endpoints, stateDir: string, readyTimeoutMs: number): Promise<Launch> {
  const logFile = join(stateDir, 'swtpm.log');
  const args = [
    'socket',
    '--tpm2',
    ...endpoints.args,
    '--tpmstate',
    `dir=${stateDir}`,
    '--flags',
    'not-need-init,startup-clear',
    '--pid',
    `file=${join(stateDir, 'swtpm.pid')}`,
    '--log',
    `file=${logFile}`,
  ];
  await rm(logFile, { force: true }); // so that an earlier attempt's log does not speak for this one
  const child = spawn('swtpm', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-8192);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exitReason: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('error', (err) => {
      exitReason = `cannot run swtpm (${err.message}); install it with scripts/setup.sh`;
      live.delete(child);
      resolve();
    });
    child.once('exit', (code, signal) => {
      exitReason ??= `swtpm exited (${signal ?? `code ${code}`})`;
      live.delete(child);
      resolve();
    });
  });
  live.add(child);
  installExitHook();

  const control = new SwtpmControl(endpoints.ctrl, { timeoutMs: 500 });
  const deadline = Date.now() + readyTimeoutMs;
  let ready = false;
  while (exitReason === undefined && !ready) {
    if (Date.now() >= deadline) {
      child.kill('SIGKILL');
      await exited;
      exitReason = `no answer on the control channel within ${readyTimeoutMs} ms`;
      break;
    }
    // Only our own child counts: an answer followed by its exit was some other process's.
    ready =
      (await control.getCapability().then(
        () => true,
        () => false,
      )) && exitReason === undefined;
    if (!ready) await Promise.race([sleep(5), exited]);
  }
  if (ready && child.pid !== undefined) return { ok: true, child, pid: child.pid, exited };
  const log = tail(`${output}${await readFile(logFile, 'utf8').catch(() => '')}`);
  return {
    ok: false,
    reason: exitReason ?? 'swtpm has no pid',
    log,
    addressInUse: /Address already in use/.test(log),
  };
}

interface Parts {
  readonly data: SocketEndpoint;
  readonly ctrl: SocketEndpoint;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<void>;
  readonly stateDir: string;
  readonly created: readonly string[];
  readonly caDir: string | undefined;
  readonly ca: CaFiles | undefined;
}

function instance(parts: Parts): SwtpmInstance {
  const { data, ctrl, child, exited, created } = parts;
  const tcti = formatTcti({ kind: 'swtpm', endpoint: data });
  const control = new SwtpmControl(ctrl, { timeoutMs: STEP_TIMEOUT_MS });
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const waitExit = async (): Promise<boolean> => {
    const timer = new AbortController(); // cancelled so that no timer outlives the exit
    await Promise.race([
      exited,
      sleep(STEP_TIMEOUT_MS, undefined, { signal: timer.signal }).catch(() => undefined),
    ]);
    timer.abort();
    return !running();
  };
  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    if (running()) {
      const shutdown = await control.shutdown().then(
        () => true,
        () => false,
      );
      if (!(shutdown && (await waitExit()))) {
        child.kill('SIGTERM');
        if (!(await waitExit())) {
          child.kill('SIGKILL');
          await waitExit();
        }
      }
    }
    await removeAll(created);
  };
  return {
    tcti,
    ...('path' in data ? { path: data.path } : { host: data.host, port: data.port }),
    ...('path' in ctrl ? { ctrlPath: ctrl.path } : { ctrlPort: ctrl.port }),
    stateDir: parts.stateDir,
    ...(parts.caDir === undefined ? {} : { caDir: parts.caDir }),
    ...(parts.ca === undefined ? {} : { ca: parts.ca }),
    pid: parts.pid,
    exited,
    control,
    env: { TPM2TOOLS_TCTI: tcti, EXECGATE_TCTI: tcti },
    stop: () => {
      stopping ??= stop();
      return stopping;
    },
    kill: () => {
      if (running()) child.kill('SIGKILL');
    },
  };
}

/** Whether something accepts connections at `endpoint`. */
async function answers(endpoint: SocketEndpoint): Promise<boolean> {
  try {
    (await openSocket(endpoint)).destroy();
    return true;
  } catch {
    return false;
  }
}

async function removeAll(dirs: readonly string[]): Promise<void> {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}

let hooked = false;

/** Kills every swtpm still running when this process exits, so that none outlives a crashed test run. */
function installExitHook(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}
