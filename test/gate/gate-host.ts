// SPDX-License-Identifier: Apache-2.0
// A gated host for the end-to-end tests of `execgate exec` (issue 14): a temp directory holding the host
// policy, its keys, a state directory initialised by `execgate host init` on swtpm, and executables that
// leave a marker file when they run (so "nothing ran" is a fact the test checks). The gate itself runs as
// a real process, as a shell would run it: `node .tmp/gate-cli/<hash>/agent/cli/main.js`, the CLI's
// TypeScript sources transpiled file by file with esbuild (what tsx does in memory on every start), once
// per source version. A process then starts in ~0.15 s instead of tsx's ~0.6 s, which is what lets the
// suite run hundreds of gates (50 of them at once) on two cores.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { type AuditEntry, decodeVerdict } from '../../agent/audit/entry.js';
import { AuditStore } from '../../agent/audit/store.js';
import type { SwtpmInstance } from '../../swtpm/harness.js';
import { type CliResult, cli } from '../cli/helpers.js';

const ROOT = join(import.meta.dirname, '../..');

/**
 * Every .ts file the CLI may load: agent/ and wasm-core's loader (not its AssemblyScript or codegen); and
 * swtpm/, the swtpm helper that `npm run demo` starts (test/demo).
 */
function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (!['wasm-core/assembly', 'wasm-core/codegen', 'wasm-core/build'].includes(path)) walk(path);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(path);
    }
  };
  walk('agent');
  walk('wasm-core');
  walk('swtpm');
  return out.sort();
}

/**
 * The transpiled sources' directory: built into .tmp/gate-cli/<SHA-256 of the sources> unless there already
 * (in a temporary directory renamed into place, so files building at once never see half a build), and
 * older builds removed. Inside the checkout, so that its imports find node_modules as the sources do.
 */
function builtCli(): string {
  const files = sources();
  const h = createHash('sha256');
  for (const f of files)
    h.update(f)
      .update('\0')
      .update(readFileSync(join(ROOT, f)))
      .update('\0');
  const base = join(ROOT, '.tmp', 'gate-cli');
  const hash = h.digest('hex');
  const dir = join(base, hash);
  if (!existsSync(dir)) {
    const building = `${dir}.${process.pid}.tmp`;
    buildSync({
      entryPoints: files.map((f) => join(ROOT, f)),
      outdir: building,
      outbase: ROOT,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'error',
    });
    writeFileSync(join(building, 'package.json'), '{"type":"module"}\n');
    try {
      renameSync(building, dir);
    } catch (e) {
      // Another test file built the same sources first: theirs is as good.
      rmSync(building, { recursive: true, force: true });
      if (!existsSync(dir)) throw e;
    }
    for (const old of readdirSync(base))
      if (/^[0-9a-f]{64}$/.test(old) && old !== hash)
        rmSync(join(base, old), { recursive: true, force: true });
  }
  return dir;
}

const BUILT = builtCli();
export const MAIN = [join(BUILT, 'agent/cli/main.js')];
/** The swtpm helper (swtpm/main.ts, as `node dist/swtpm/main.js`) of the same build. */
export const SWTPM_MAIN = join(BUILT, 'swtpm/main.js');

export interface ProcessResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ProcessOptions {
  /** Added to a minimal environment (PATH, HOME). */
  readonly env?: Record<string, string>;
  readonly stdin?: string;
  readonly cwd?: string;
  /** Called once the process exists (to signal it, say). */
  readonly onSpawn?: (child: ChildProcess) => void;
  /** Run `node main.js ARGS` through this command line instead (e.g. unshare -m sh -c '… "$@"' sh). */
  readonly wrap?: readonly string[];
  /** SIGKILL it after this long (default 20 s), so that a gate that hangs fails its test and is gone. */
  readonly timeoutMs?: number;
}

/** Runs `node main.js ARGS` (optionally through `opts.wrap`) with `opts.env` and `opts.stdin`. */
export function runProcess(args: readonly string[], opts: ProcessOptions = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const argv = [process.execPath, ...MAIN, ...args];
    const [file, ...rest] = opts.wrap === undefined ? argv : [...opts.wrap, ...argv];
    const child = spawn(file as string, rest, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', ...opts.env },
      cwd: opts.cwd ?? process.cwd(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timeoutMs = opts.timeoutMs ?? 20_000;
    const timer = setTimeout(() => {
      stderr += `[test: killed after ${timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    opts.onSpawn?.(child);
    child.stdin.on('error', () => {}); // a gate that denies never reads its stdin
    child.stdin.end(opts.stdin ?? '');
  });
}

/** The policy's parts a test changes; the rest is the base policy (module comment of gateHost). */
export interface PolicyOptions {
  /** More [host] lines. */
  readonly host?: string;
  /** The "ops" issuer's exe (default [bin/]), max_ttl (default 1h) and delegation (default true). */
  readonly exe?: readonly string[];
  readonly maxTtl?: string;
  readonly delegation?: boolean;
  /** More tables after the issuer. */
  readonly extra?: string;
}

export interface GateHost {
  readonly dir: string;
  readonly stateDir: string;
  readonly policy: string;
  readonly tcti: string;
  /** Where the test's executables live (a safe directory: ours, 0700). */
  readonly bin: string;
  /** The issuer's signing key (keys/ops.key; its public half keys/ops.key.pub is the [[issuer]] key). */
  readonly issuerKey: string;
  /** `host identity --json` of this host, for `artifact issue --host-identity`. */
  readonly identity: string;
  readonly akName: string;
  /** Writes the policy file: the base policy changed by `opts`. */
  writePolicy(opts?: PolicyOptions): Promise<void>;
  /** A new Ed25519 signing key keys/NAME.key (its public half NAME.key.pub); returns its path. */
  key(name: string): Promise<string>;
  /** A shell script in bin/ that writes `marker` (its arguments, one per line) and then runs `body`. */
  script(name: string, body?: string): Promise<{ path: string; marker: string }>;
  /** A fresh path in the host's directory for an artifact. */
  file(name: string): string;
  /**
   * `artifact issue` for `exe` with the issuer key, this host (unless `extra` names the target), 10
   * minutes (unless `extra` names the end), and `extra`; an absolute path first in `extra` is the file
   * to write (else a fresh one). Returns the file.
   */
  issue(exe: string, ...extra: string[]): Promise<string>;
  /** `artifact issue` signed by `key` (a key file) as issuer `name`, otherwise as `issue`. */
  issueBy(key: string, name: string, exe: string, ...extra: string[]): Promise<string>;
  /** `execgate exec --policy P ARGS` as a process, through this host's TCTI unless `tcti`. */
  exec(args: readonly string[], opts?: ProcessOptions & { tcti?: string }): Promise<ProcessResult>;
  /** `execgate check --policy P ARGS` as a process. */
  check(args: readonly string[], opts?: ProcessOptions): Promise<ProcessResult>;
  /** The audit log's entries, decoded. */
  entries(): Promise<AuditEntry[]>;
  cleanup(): Promise<void>;
}

export async function gateHost(swtpm: SwtpmInstance): Promise<GateHost> {
  const dir = await mkdtemp(join(tmpdir(), 'execgate-gate-'));
  const stateDir = join(dir, 'state');
  const bin = join(dir, 'bin');
  await mkdir(bin, { mode: 0o700 });
  await mkdir(join(dir, 'keys'), { mode: 0o700 });
  const policy = join(dir, 'policy.toml');
  const key = async (name: string) => {
    const path = join(dir, 'keys', `${name}.key`);
    const r = await cli(['key', 'gen', '--alg', 'ed25519', '--out', path]);
    expect(r.code, r.stderr).toBe(0);
    return path;
  };
  const issuerKey = await key('ops');
  const tcti = swtpm.tcti;
  const writePolicy = async (o: PolicyOptions = {}) => {
    const exe = (o.exe ?? [`${bin}/`]).map((e) => JSON.stringify(e)).join(', ');
    await writeFile(
      policy,
      `[host]\nstate_dir = "state"\ngroups = ["web"]\nclock_skew = "30s"\n${o.host ?? ''}\n` +
        `[[issuer]]\nname = "ops"\nkey = "keys/ops.key.pub"\nexe = [${exe}]\n` +
        `max_ttl = "${o.maxTtl ?? '1h'}"\ndelegation = ${o.delegation ?? true}\n${o.extra ?? ''}`,
      { mode: 0o600 },
    );
  };
  await writePolicy();
  const init = await cli(['--tcti', tcti, 'host', 'init', '--policy', policy]);
  expect(init.code, init.stderr).toBe(0);
  // The audit log exists from the start, so that entries() reads an empty log rather than none.
  (await AuditStore.open(stateDir)).close();
  const identity = join(dir, 'identity.json');
  const id = await cli(['--tcti', tcti, 'host', 'identity', '--policy', policy, '--json']);
  expect(id.code, id.stderr).toBe(0);
  await writeFile(identity, id.stdout);
  const akName = (JSON.parse(id.stdout) as { akName: string }).akName;
  let n = 0;
  const issueBy = async (signer: string, name: string, exe: string, ...flags: string[]) => {
    // An absolute path before the flags is where to write it (into the artifact store, say).
    const [first, ...rest] = flags;
    const out = first?.startsWith('/') ? first : join(dir, `artifact-${++n}.cose`);
    const given = out === first;
    const extra = given ? rest : flags;
    const target = extra.some((f) => ['--host', '--group', '--host-identity'].includes(f))
      ? []
      : ['--host-identity', identity];
    const window = extra.some((f) => f === '--ttl' || f === '--not-after') ? [] : ['--ttl', '10m'];
    const r = await cli([
      'artifact',
      'issue',
      '--key',
      signer,
      '--issuer',
      name,
      ...target,
      '--exe',
      exe,
      ...window,
      ...extra,
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    return out;
  };
  return {
    dir,
    stateDir,
    policy,
    tcti,
    bin,
    issuerKey,
    identity,
    akName,
    writePolicy,
    key,
    async script(name, body = '') {
      const path = join(bin, name);
      const marker = join(dir, `marker-${name}-${++n}`);
      await writeFile(path, `#!/bin/sh\nprintf '%s\\n' "$@" > '${marker}'\n${body}\n`, { mode: 0o700 });
      await chmod(path, 0o700);
      return { path, marker };
    },
    file: (name) => join(dir, `${name}-${++n}`),
    issue: (exe, ...extra) => issueBy(issuerKey, 'ops', exe, ...extra),
    issueBy,
    exec(args, opts = {}) {
      return runProcess(['--tcti', opts.tcti ?? tcti, 'exec', '--policy', policy, ...args], opts);
    },
    check(args, opts = {}) {
      return runProcess(['--tcti', tcti, 'check', '--policy', policy, ...args], opts);
    },
    async entries() {
      const store = await AuditStore.open(stateDir, { readonly: true });
      try {
        return [...store.iterate()].map((e) => decodeVerdict(e.bytes));
      } finally {
        store.close();
      }
    },
    async cleanup() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `execgate secret seal --name NAME` of `data` on `h` (through `tcti`, default the host's), from a 0600
 * file in the host's directory, with `flags`; its result (trySeal), or checked to have succeeded (sealOn).
 */
export async function trySeal(
  h: GateHost,
  name: string,
  data: Uint8Array | string,
  flags: readonly string[] = [],
  tcti = h.tcti,
): Promise<CliResult> {
  const file = h.file(`${name}.in`);
  await writeFile(file, data, { mode: 0o600 });
  return cli([
    '--tcti',
    tcti,
    'secret',
    'seal',
    '--policy',
    h.policy,
    '--name',
    name,
    '--in',
    file,
    ...flags,
  ]);
}

export async function sealOn(...args: Parameters<typeof trySeal>): Promise<void> {
  const r = await trySeal(...args);
  expect(r.code, r.stderr).toBe(0);
}

/** `execgate tpm extend PCR --bank sha256 --digest DIGEST` on `h`'s TPM; checks it succeeded. */
export async function extendOn(h: GateHost, pcr: number, digest: Uint8Array): Promise<void> {
  const hex = Buffer.from(digest).toString('hex');
  const r = await cli(['--tcti', h.tcti, 'tpm', 'extend', String(pcr), '--bank', 'sha256', '--digest', hex]);
  expect(r.code, r.stderr).toBe(0);
}

/** Whether `file` exists (a marker: the command ran). */
export async function ran(marker: string): Promise<boolean> {
  try {
    await readFile(marker);
    return true;
  } catch {
    return false;
  }
}

/** The one denial line `execgate exec` prints for `code`: `execgate: denied: CODE: what failed: what to do`. */
export function denialLine(code: string): RegExp {
  return new RegExp(`^execgate: denied: ${code}: [^\\n]+: [^\\n]+\\n$`);
}

/**
 * Runs `execgate exec ARGS` on `h` and checks a denial with `code`: exit 126, the one denial line (also
 * matching `opts.message`, and naming only commands that exist), nothing ran (`marker` absent), and one more audit entry, a deny with that
 * reason. Returns the entry.
 */
export async function denied(
  h: GateHost,
  code: string,
  args: readonly string[],
  marker: string,
  opts: ProcessOptions & { tcti?: string; message?: RegExp } = {},
): Promise<AuditEntry> {
  const before = (await h.entries()).length;
  const r = await h.exec(args, opts);
  expect(r.stderr, r.stderr).toMatch(denialLine(code));
  if (opts.message !== undefined) expect(r.stderr).toMatch(opts.message);
  await expectCommandsExist(r.stderr);
  expect(r.code).toBe(126);
  expect(r.stdout).toBe('');
  expect(await ran(marker)).toBe(false);
  const after = await h.entries();
  expect(after.length).toBe(before + 1);
  const entry = after[before] as AuditEntry;
  expect(entry).toMatchObject({ verdict: 'deny', reason: code, mode: 'enforce' });
  return entry;
}

/** Runs `execgate exec ARGS` on `h` and checks an allow: exit 0, the command ran, one allow entry. */
export async function allowed(
  h: GateHost,
  args: readonly string[],
  marker: string,
  opts?: ProcessOptions & { tcti?: string },
): Promise<AuditEntry> {
  const before = (await h.entries()).length;
  const r = await h.exec(args, opts);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(await ran(marker)).toBe(true);
  await rm(marker);
  const after = await h.entries();
  expect(after.length).toBe(before + 1);
  const entry = after[before] as AuditEntry;
  expect(entry).toMatchObject({ verdict: 'allow', reason: 'OK', mode: 'enforce' });
  return entry;
}

/**
 * Every `execgate GROUP [COMMAND]` a denial's text names for the operator is a command that exists: the
 * group answers --help, and so does GROUP COMMAND when the group has commands (its usage says <command>).
 */
export async function expectCommandsExist(text: string): Promise<void> {
  for (const [named, group, command] of text.matchAll(/\bexecgate ([a-z]+)(?: ([a-z]+))?/g)) {
    const top = await cli([group as string, '--help']);
    expect(top.code, `${named}: ${top.stderr}`).toBe(0);
    if (command === undefined || !/^Usage: execgate [a-z]+ <command>/m.test(top.stdout)) continue;
    const sub = await cli([group as string, command, '--help']);
    expect(sub.code, `${named}: ${sub.stderr}`).toBe(0);
  }
}

/**
 * One gated host for a whole test file, handed to `set` once made: made before the file's tests,
 * cleaned up after them, and its policy reset to the base one before each test.
 */
export function shareGateHost(swtpm: () => SwtpmInstance, set: (h: GateHost) => void | Promise<void>): void {
  let host: GateHost | undefined;
  beforeAll(async () => {
    host = await gateHost(swtpm());
    await set(host);
  });
  afterAll(async () => {
    await host?.cleanup();
  });
  beforeEach(async () => {
    await host?.writePolicy();
  });
}
