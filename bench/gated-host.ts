// SPDX-License-Identifier: Apache-2.0
/**
 * A host set up as an operator would, for the gate's benchmarks (exec.bench.ts, secrets.bench.ts;
 * test/gate/gate-host.ts does the same for the tests), through the CLI `cli` in `dir`: an Ed25519 issuer
 * key `ops`, a policy trusting it for /bin/true's directory on the TPM `tcti`, `host init` with its
 * default AK, and the host's identity to issue artifacts for.
 */
import { spawnSync } from 'node:child_process';
import { realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface GatedHost {
  /** A minimal environment (PATH, HOME): a variable such as NODE_EXTRA_CA_CERTS costs every Node process. */
  readonly env: NodeJS.ProcessEnv;
  readonly policy: string;
  /** /bin/true's real path: what the artifacts allow. */
  readonly exe: string;
  /** Runs `execgate ARGS…` to its end; its stdout, or throws with its stderr unless it exits 0. */
  setup(...args: string[]): string;
  /** Issues an artifact for `exe` with `uses` uses (and `extra` flags) into dir/NAME; returns its path. */
  issue(name: string, uses: number, ...extra: string[]): string;
}

export function gatedHost(cli: readonly string[], tcti: string, dir: string): GatedHost {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir };
  const setup = (...args: string[]) => {
    const r = spawnSync(cli[0] as string, [...cli.slice(1), ...args], { env, cwd: dir, encoding: 'utf8' });
    if (r.status !== 0)
      throw new Error(`execgate ${args.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr}`);
    return r.stdout;
  };
  const exe = realpathSync('/bin/true');
  const policy = join(dir, 'policy.toml');
  setup('key', 'gen', '--alg', 'ed25519', '--out', join(dir, 'ops.key'));
  writeFileSync(
    policy,
    `[host]\nstate_dir = "state"\ntcti = "${tcti}"\n\n` +
      `[[issuer]]\nname = "ops"\nkey = "ops.key.pub"\nexe = ["${dirname(exe)}/"]\nmax_ttl = "1h"\n`,
    { mode: 0o600 },
  );
  setup('host', 'init', '--policy', policy);
  writeFileSync(join(dir, 'identity.json'), setup('host', 'identity', '--policy', policy, '--json'));
  const issue = (name: string, uses: number, ...extra: string[]) => {
    const out = join(dir, name);
    setup(
      ...['artifact', 'issue', '--key', join(dir, 'ops.key'), '--issuer', 'ops'],
      ...['--host-identity', join(dir, 'identity.json'), '--exe', exe, '--ttl', '1h'],
      ...['--uses', String(uses), ...extra, '--out', out],
    );
    return out;
  };
  return { env, policy, exe, setup, issue };
}
