// SPDX-License-Identifier: Apache-2.0
// scripts/install.sh into a staging root (--root), as a packager or an image build runs it (issue 15). The
// root starts as a host would: systemd's own units under usr/lib/systemd/system (copied from this
// machine, which `systemd-analyze verify --root` needs to resolve the unit's default dependencies). The
// installed `execgate` runs from there, with its own copy of better-sqlite3: the root is under the
// temporary directory, so no node_modules of the checkout is on its module paths. What install.sh copies
// is `npm run build`'s output (scripts/setup.sh builds it; built here once when dist/ lacks it).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AuditStore } from '../../agent/audit/store.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'install.sh');
const UNITS = '/usr/lib/systemd/system';
/** What the build makes that the installed command runs (scripts/bundle.mjs). */
const BUILT = [
  'dist/execgate.cjs',
  'dist/execgate-bundle.cjs',
  'dist/execgate-bundle.cjs.cache',
  'dist/execgate-exec.cjs',
  'dist/execgate-exec.cjs.cache',
  'dist/wasm-core/generated/wasm-debug.js',
];
const LIB = 'usr/local/lib/execgate';
const BIN = 'usr/local/bin/execgate';
const POLICY = 'etc/execgate/policy.toml';
const STATE = 'var/lib/execgate';
const UNIT = 'etc/systemd/system/execgate.service';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A process with a minimal environment (node's directory on PATH), in `cwd`. */
function run(file: string, args: readonly string[], cwd = tmpdir()): Run {
  const PATH = `${dirname(process.execPath)}:/usr/sbin:/usr/bin:/sbin:/bin`;
  const r = spawnSync(file, args, { cwd, env: { PATH }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const install = (root: string, ...args: string[]) => run('bash', [SCRIPT, '--root', root, ...args]);

/** Every path under `root` with its type, mode, owner and content hash (and mtime, when asked). */
function snapshot(root: string, opts: { mtime?: boolean } = {}): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    const path = join(root, rel);
    const st = lstatSync(path);
    const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? `l>${readlinkSync(path)}` : 'f';
    let what = `${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
    if (st.isFile()) what += ` ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    if (opts.mtime === true && !st.isDirectory()) what += ` ${st.mtimeMs}`;
    out.set(rel, what);
    if (st.isDirectory()) for (const name of readdirSync(path)) walk(rel === '' ? name : join(rel, name));
  };
  walk('');
  return out;
}

/** A staging root holding what a host has before execgate: systemd's units. */
function hostRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'execgate-install-'));
  if (existsSync(UNITS)) cpSync(UNITS, join(root, UNITS), { recursive: true, verbatimSymlinks: true });
  return root;
}

/** The paths the manifest lists (its entries' last field), relative to the root. */
function manifest(root: string): Set<string> {
  const lines = readFileSync(join(root, LIB, 'MANIFEST'), 'utf8').split('\n');
  return new Set(
    lines.filter((l) => l !== '' && !l.startsWith('#')).map((l) => String(l.split(' ').at(-1)).slice(1)),
  );
}

const roots: string[] = [];
let host: string;
let before: Map<string, string>;
let beforeTimes: Map<string, string>;
const execgate = (...args: string[]) => run(join(host, BIN), args, host);

beforeAll(() => {
  if (BUILT.some((f) => !existsSync(join(ROOT, f)))) {
    const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
  }
  host = hostRoot();
  roots.push(host);
  before = snapshot(host);
  beforeTimes = snapshot(host, { mtime: true });
}, 180_000);

afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

// One staging root, as a host lives through it: each test starts where the one before left it.
describe('scripts/install.sh --root', () => {
  test('--dry-run says what it would do and changes nothing', () => {
    const r = install(host, '--dry-run');
    expect(r.code, r.stderr).toBe(0);
    for (const step of [
      `would install /${LIB}/dist/execgate-bundle.cjs (0644)`,
      `would link /${BIN} -> ../lib/execgate/dist/execgate.cjs`,
      `would install /${UNIT} (0644)`,
      `would install /${POLICY} (0644`,
      `would create directory /${STATE} (0700)`,
      `would write /${LIB}/MANIFEST`,
    ])
      expect(r.stdout).toContain(step);
    expect(r.stdout).not.toMatch(/^install: (?!would )/m);
    expect(snapshot(host, { mtime: true })).toEqual(beforeTimes);
  });

  test('installs the built agent, the command, the policy, the state directory and the unit, root-owned', () => {
    const r = install(host);
    expect(r.code, r.stderr).toBe(0);
    const after = snapshot(host);
    const added = [...after.keys()].filter((p) => !before.has(p));
    // Everything it added is root's and written by no one else; every file of it is in the manifest
    // (so that --uninstall finds it) but the state directory, which stays.
    for (const p of added) expect(after.get(p), p).toMatch(/^(d 755|f 644|f 755|l>\S+ 777|d 700) 0:0\b/);
    const listed = manifest(host);
    const unlisted = added.filter((p) => !listed.has(p) && !after.get(p)?.startsWith('d '));
    expect(unlisted).toEqual([`${LIB}/MANIFEST`]);
    for (const p of listed) expect(after.has(p), p).toBe(true);

    expect(after.get(BIN)).toMatch(/^l>\.\.\/lib\/execgate\/dist\/execgate\.cjs /);
    for (const f of [...BUILT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node']) {
      expect(readFileSync(join(host, LIB, f)).equals(readFileSync(join(ROOT, f))), f).toBe(true);
      expect(after.get(join(LIB, f))?.slice(0, 5)).toBe(f === 'dist/execgate.cjs' ? 'f 755' : 'f 644');
    }
    const pkg = JSON.parse(readFileSync(join(host, LIB, 'package.json'), 'utf8'));
    const ours = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ name: 'execgate', version: ours.version, type: 'module', bin: ours.bin });
    expect(readFileSync(join(host, POLICY), 'utf8')).toBe(
      readFileSync(join(ROOT, 'scripts/install/policy.toml'), 'utf8'),
    );
    expect(after.get(POLICY)).toMatch(/^f 644 0:0 /);
    expect(after.get(STATE)).toBe('d 700 0:0');
    expect(readdirSync(join(host, STATE))).toEqual([]);
    expect(after.get(UNIT)).toMatch(/^f 644 0:0 /);
  });

  test('the unit runs `execgate serve` with the policy, hardened, and systemd-analyze verify accepts it', () => {
    const text = readFileSync(join(host, UNIT), 'utf8');
    const settings = new Map<string, string[]>();
    for (const line of text.split('\n')) {
      const m = /^([A-Za-z]+)=(.*)$/.exec(line);
      if (m?.[1] !== undefined) settings.set(m[1], [...(settings.get(m[1]) ?? []), String(m[2])]);
    }
    const one = (key: string) => settings.get(key)?.join('\n');
    expect(one('ExecStart')).toBe('/usr/local/bin/execgate serve --policy /etc/execgate/policy.toml');
    expect(Object.fromEntries([...settings].map(([k, v]) => [k, v.join('\n')]))).toMatchObject({
      NoNewPrivileges: 'yes',
      CapabilityBoundingSet: 'CAP_DAC_OVERRIDE',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      DevicePolicy: 'closed',
      DeviceAllow: '/dev/tpmrm0 rw',
      ReadWritePaths: '/var/lib/execgate',
      Restart: 'on-failure',
      RestartSec: '5s',
      ProtectKernelTunables: 'yes',
      ProtectControlGroups: 'yes',
      RestrictAddressFamilies: 'AF_UNIX AF_INET AF_INET6',
      LockPersonality: 'yes',
      SystemCallArchitectures: 'native',
      UMask: '0077',
      WantedBy: 'multi-user.target',
    });
    // V8's JIT and WebAssembly need memory that is written, then executed.
    expect(settings.has('MemoryDenyWriteExecute')).toBe(false);

    const tool = run('systemd-analyze', ['--version']);
    expect(
      tool.code,
      'systemd-analyze is missing: scripts/setup.sh installs it (Debian package systemd)',
    ).toBe(0);
    // --root: the unit and its ExecStart are looked up in the staging root, the default dependencies
    // (sysinit.target …) among the units copied there.
    const verified = run('systemd-analyze', ['verify', `--root=${host}`, 'execgate.service']);
    expect(verified, 'systemd-analyze verify').toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  test('the installed execgate runs from the staging root: help, the shipped policy, the audit log', async () => {
    const help = execgate('--help');
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: execgate /);
    // `exec` goes through the exec client's bundle first (scripts/execgate.cjs).
    const exec = execgate('exec', '--help');
    expect(exec.code, exec.stderr).toBe(0);
    expect(exec.stdout).toMatch(/^Usage: execgate exec /);

    // As shipped, the policy is valid and trusts no issuer: the gate denies everything.
    const check = execgate('policy', 'check', '--policy', join(host, POLICY), '--json');
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({
      mode: 'enforce',
      stateDir: '/var/lib/execgate',
      issuers: [],
      approvals: [],
      breakglass: null,
    });

    // The state directory as installed suits the audit store, and the installed better-sqlite3 reads it.
    const store = await AuditStore.open(join(host, STATE));
    store.append({ time: Date.now(), verdict: 'deny', reason: 'E_POLICY', exe: '/usr/bin/true', uid: 0 });
    store.close();
    const show = execgate('audit', 'show', '--state-dir', join(host, STATE), '--json');
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ size: 1, entries: [{ seq: 0 }] });
  });

  test('--uninstall --dry-run would remove the unchanged policy with the rest, and changes nothing', () => {
    const was = snapshot(host, { mtime: true });
    const r = install(host, '--uninstall', '--dry-run');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`install: would remove /${POLICY} (unchanged since installed)`);
    expect(r.stdout).toContain(`install: would remove /${BIN}`);
    expect(r.stdout).toContain(`install: would remove /${UNIT}`);
    expect(r.stdout).toContain(`install: kept /${STATE} (the state directory)`);
    expect(snapshot(host, { mtime: true })).toEqual(was);
  });

  test("every example setting of the shipped policy loads once its '#' is removed", () => {
    // The keys and the revocation list it names, made by the installed execgate; secrets stay outside.
    const secrets = mkdtempSync(join(tmpdir(), 'execgate-install-keys-'));
    roots.push(secrets);
    mkdirSync(join(host, 'etc/execgate/keys'));
    for (const name of ['ops', 'alice', 'bob', 'breakglass']) {
      const made = execgate('key', 'gen', '--alg', 'ed25519', '--out', join(secrets, name));
      expect(made.code, made.stderr).toBe(0);
      copyFileSync(join(secrets, `${name}.pub`), join(host, 'etc/execgate/keys', `${name}.pub`));
    }
    const list = join(host, 'etc/execgate/revoked.cbor');
    const cti = '11'.repeat(16);
    const revoked = execgate(
      'revoke',
      '--key',
      join(secrets, 'ops'),
      '--issuer',
      'ops',
      '--cti',
      cti,
      '--out',
      list,
    );
    expect(revoked.code, revoked.stderr).toBe(0);

    const shipped = readFileSync(join(host, POLICY), 'utf8');
    const enabled = shipped.replace(/^#(?=[[a-z])/gm, '');
    expect(enabled.split('\n').length).toBe(shipped.split('\n').length);
    writeFileSync(join(host, POLICY), enabled);
    const check = execgate('policy', 'check', '--policy', join(host, POLICY), '--json');
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({
      mode: 'enforce',
      tcti: 'device:/dev/tpmrm0',
      groups: ['web'],
      artifacts: join(host, 'etc/execgate/artifacts.d'),
      issuers: [{ name: 'ops', exe: ['/usr/local/bin/'], maxTtlSeconds: 3600, delegation: false }],
      approvals: [{ exe: ['/usr/local/bin/deploy'], required: 2 }],
      breakglass: { maxTtlSeconds: 900 },
      revocation: { epochNvIndex: '0x01800101', lists: [{ iss: 'ops' }], revoked: { ctis: 1 } },
    });
  });

  test('a second install keeps the changed policy, removes what an older version had, changes nothing else', () => {
    const changed = snapshot(host);
    // A file of an older version, listed in its manifest.
    const file = join(host, LIB, 'MANIFEST');
    writeFileSync(join(host, LIB, 'dist/old.cjs'), '');
    writeFileSync(file, `${readFileSync(file, 'utf8')}f /${LIB}/dist/old.cjs\n`);
    const r = install(host);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`install: remove /${LIB}/dist/old.cjs (no longer part of execgate)`);
    expect(r.stdout).toContain(`install: kept /${POLICY} (present: never overwritten)`);
    expect(r.stdout).toContain(`install: kept /${STATE} (present)`);
    expect(snapshot(host)).toEqual(changed);
  });

  test('--uninstall refuses a MANIFEST naming a path outside what it installs, and removes nothing', () => {
    // An entry that climbs out of PREFIX/lib/execgate with "..": --uninstall must not follow it.
    const file = join(host, LIB, 'MANIFEST');
    const listed = readFileSync(file, 'utf8');
    writeFileSync(join(host, 'etc/victim'), 'keep me\n');
    writeFileSync(file, `${listed}f /${LIB}/../../../../etc/victim\n`);
    const was = snapshot(host, { mtime: true });
    const r = install(host, '--uninstall');
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(
      /^install: \S+MANIFEST line \d+ is not an entry this script writes: .*nothing was changed/,
    );
    expect(snapshot(host, { mtime: true })).toEqual(was);
    writeFileSync(file, listed);
    rmSync(join(host, 'etc/victim'));
  });

  test('--uninstall removes what it installed and keeps the state directory and the changed policy', () => {
    const r = install(host, '--uninstall');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`install: kept /${POLICY}: changed since it was installed`);
    const after = snapshot(host);
    // What is left: the host as it was, the state directory with its audit log, the operator's files.
    const left = [...after.keys()].filter((p) => !before.has(p) && !p.startsWith(`${STATE}/`));
    const keys = ['alice', 'bob', 'breakglass', 'ops'].map((k) => `etc/execgate/keys/${k}.pub`);
    const theirs = ['etc', 'etc/execgate', 'etc/execgate/keys', ...keys, POLICY, 'etc/execgate/revoked.cbor'];
    expect(left.sort()).toEqual([...theirs, 'var', 'var/lib', STATE].sort());
    expect(after.get(STATE)).toBe('d 700 0:0');
    expect(readdirSync(join(host, STATE))).toContain('audit.db');
    for (const [p, what] of before) expect(after.get(p), p).toBe(what);
  });
});

describe('scripts/install.sh where another execgate is on PATH', () => {
  let root: string;
  let was: Map<string, string>;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'execgate-install-refused-'));
    roots.push(root);
    // Another execgate on PATH, as `npm link` leaves one.
    mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
    writeFileSync(join(root, BIN), '#!/bin/sh\n', { mode: 0o755 });
    was = snapshot(root, { mtime: true });
  });

  test.each([
    [['--bogus'], 2, /unknown argument '--bogus'/],
    [['--prefix', 'usr/local'], 2, /--prefix must be an absolute path/],
    [['--prefix', '/opt/../etc'], 2, /--prefix must be an absolute path/],
    [['--prefix', '/opt/exec gate'], 2, /--prefix must be an absolute path/],
    [['--enable'], 2, /--enable starts the service on this host, not in --root/],
    [['--enable', '--uninstall'], 2, /--enable installs/],
    [[], 4, /\S+\/usr\/local\/bin\/execgate exists and this script did not install it: remove it first/],
    [['--uninstall'], 4, /nothing to remove: no .*MANIFEST/],
  ])('%j: exit %i', (args, code, message) => {
    const r = install(root, ...args);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(new RegExp(`^install: ${message.source}`));
    expect(r.stdout).toBe('');
    expect(snapshot(root, { mtime: true })).toEqual(was);
  });

  test('--help: exit 0, every flag, each also in docs/install.md', () => {
    const help = run('bash', [SCRIPT, '--help']);
    expect(help.code).toBe(0);
    const section = readFileSync(join(ROOT, 'docs/install.md'), 'utf8');
    for (const flag of ['--prefix DIR', '--root DIR', '--enable', '--dry-run', '--uninstall']) {
      expect(help.stdout).toContain(flag);
      expect(section).toContain(`\`${flag}\``);
    }
  });

  test('--prefix /opt/execgate installs beside it: the unit runs its own; --uninstall leaves the other', () => {
    const r = install(root, '--prefix', '/opt/execgate');
    expect(r.code, r.stderr).toBe(0);
    expect(readlinkSync(join(root, 'opt/execgate/bin/execgate'))).toBe('../lib/execgate/dist/execgate.cjs');
    const unit = readFileSync(join(root, UNIT), 'utf8');
    expect(unit).toMatch(
      /^ExecStart=\/opt\/execgate\/bin\/execgate serve --policy \/etc\/execgate\/policy\.toml$/m,
    );
    expect(install(root, '--prefix', '/opt/execgate', '--uninstall').code).toBe(0);
    expect(existsSync(join(root, 'opt'))).toBe(false);
    expect(readFileSync(join(root, BIN), 'utf8')).toBe('#!/bin/sh\n');
  });

  test('--root that is not a directory: exit 2', () => {
    const r = run('bash', [SCRIPT, '--root', join(root, 'missing')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^install: --root .*missing is not a directory/);
  });
});
