// SPDX-License-Identifier: Apache-2.0
// A gated host for the end-to-end tests of `execgate exec` (issue 14): a temp directory holding the host
// policy, its keys, a state directory initialised by `execgate host init` on swtpm, and executables that
// leave a marker file when they run (so "nothing ran" is a fact the test checks). The gate itself runs as
// a real process (node --import tsx agent/cli/main.ts), as a shell would run it.
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { decodeEntry } from '../../agent/audit/entry.js';
import { AuditStore } from '../../agent/audit/store.js';
import type { SwtpmInstance } from '../../swtpm/harness.js';
import { cli } from '../cli/helpers.js';

export const MAIN = ['--import', 'tsx', join(import.meta.dirname, '../../agent/cli/main.ts')];

export interface ProcessResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node main.ts ARGS` with `env` (added to a minimal environment) and `stdin`. */
export function runProcess(
  args: readonly string[],
  opts: { env?: Record<string, string>; stdin?: string; cwd?: string; onSpawn?: (pid: number) => void } = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...MAIN, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', ...opts.env },
      cwd: opts.cwd ?? process.cwd(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    child.stdin.end(opts.stdin ?? '');
  });
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
  /** Writes the policy file (`extra` TOML appended to the base policy). */
  writePolicy(extra?: string, host?: string): Promise<void>;
  /** A shell script in bin/ that writes `marker` (its arguments, one per line) and then runs `body`. */
  script(name: string, body?: string): Promise<{ path: string; marker: string }>;
  /** `artifact issue` for `exe` with the issuer key, this host, 10 minutes, and `extra` flags. */
  issue(exe: string, out: string, ...extra: string[]): Promise<string>;
  /** `execgate exec` as a process. */
  exec(
    args: readonly string[],
    opts?: { env?: Record<string, string>; stdin?: string },
  ): Promise<ProcessResult>;
  /** The audit log's entries, decoded. */
  entries(): Promise<ReturnType<typeof decodeEntry>[]>;
  cleanup(): Promise<void>;
}

export async function gateHost(swtpm: SwtpmInstance): Promise<GateHost> {
  const dir = await mkdtemp(join(tmpdir(), 'execgate-gate-'));
  const stateDir = join(dir, 'state');
  const bin = join(dir, 'bin');
  await mkdir(bin, { mode: 0o700 });
  await mkdir(join(dir, 'keys'), { mode: 0o700 });
  const policy = join(dir, 'policy.toml');
  const issuerKey = join(dir, 'keys', 'ops.key');
  expect((await cli(['key', 'gen', '--alg', 'ed25519', '--out', issuerKey])).code).toBe(0);
  const tcti = swtpm.tcti;
  const writePolicy = async (extra = '', host = '') => {
    await writeFile(
      policy,
      `[host]\nstate_dir = "state"\ngroups = ["web"]\nclock_skew = "30s"\n${host}\n` +
        `[[issuer]]\nname = "ops"\nkey = "keys/ops.key.pub"\nexe = ["${bin}/"]\nmax_ttl = "1h"\ndelegation = true\n${extra}`,
      { mode: 0o600 },
    );
  };
  await writePolicy();
  const init = await cli(['--tcti', tcti, 'host', 'init', '--ak-alg', 'ecc', '--policy', policy]);
  expect(init.code, init.stderr).toBe(0);
  const identity = join(dir, 'identity.json');
  const id = await cli(['--tcti', tcti, 'host', 'identity', '--policy', policy, '--json']);
  expect(id.code, id.stderr).toBe(0);
  await writeFile(identity, id.stdout);
  const akName = (JSON.parse(id.stdout) as { akName: string }).akName;
  let scripts = 0;
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
    async script(name, body = '') {
      const path = join(bin, name);
      const marker = join(dir, `marker-${name}-${++scripts}`);
      await writeFile(path, `#!/bin/sh\nprintf '%s\\n' "$@" > '${marker}'\n${body}\n`, { mode: 0o700 });
      await chmod(path, 0o700);
      return { path, marker };
    },
    async issue(exe, out, ...extra) {
      const r = await cli([
        'artifact',
        'issue',
        '--key',
        issuerKey,
        '--issuer',
        'ops',
        '--host-identity',
        identity,
        '--exe',
        exe,
        '--ttl',
        '10m',
        ...extra,
        '--out',
        out,
        '--force',
      ]);
      expect(r.code, r.stderr).toBe(0);
      return out;
    },
    exec(args, opts = {}) {
      return runProcess(['--tcti', tcti, 'exec', '--policy', policy, ...args], opts);
    },
    async entries() {
      const store = await AuditStore.open(stateDir, { readonly: true });
      try {
        return [...store.iterate()].map((e) => decodeEntry(e.bytes));
      } finally {
        store.close();
      }
    },
    async cleanup() {
      await rm(dir, { recursive: true, force: true });
    },
  };
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
