// SPDX-License-Identifier: Apache-2.0
// `execgate policy check` through the real process (node main.ts, as a shell runs it): docs/policy.md's own
// example policy and fragment, with every file they name made for real, loads and prints the effective
// trust (JSON checked field by field, and the text form); a broken policy exits 2 with one line naming the
// file, the TOML path and what to do; flags are checked like every command's.
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueRevocationList } from '../../agent/artifact/revocation.js';
import { EXIT } from '../../agent/cli/exit.js';
import { generateSigningKey, parseSigningKey, type SigningKey } from '../../agent/crypto/keys.js';
import { toHex } from '../../agent/encoding/bytes.js';
import { readmePolicyBlocks } from '../helpers/readme-policy.js';
import { cli } from './helpers.js';

const REFERENCE = JSON.stringify({
  execgate: 'reference-state',
  version: 1,
  created: '2026-01-01T00:00:00.000Z',
  host: {},
  pcrs: { sha256: { '7': 'ab'.repeat(32) } },
  rules: { secureBoot: 'required' },
});

function execgate(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'agent/cli/main.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, EXECGATE_TCTI: '' },
  });
}

let dir: string;
let policy: string;
const keys = new Map<string, SigningKey>();

/** Writes a file as an operator would: ours, 0644 (whatever the umask). */
async function put(path: string, data: string | Uint8Array): Promise<void> {
  await writeFile(path, data, { mode: 0o644 });
  await chmod(path, 0o644);
}

async function dirOf(path: string): Promise<void> {
  await mkdir(path, { mode: 0o755 });
  await chmod(path, 0o755);
}

/** A new key pair: its public half at `path`, its signing half kept by `path`. */
async function keyAt(path: string, alg: 'ed25519' | 'p256' | 'p384' = 'ed25519'): Promise<void> {
  const g = generateSigningKey(alg);
  keys.set(path, parseSigningKey(Buffer.from(g.privatePem)));
  await put(path, g.publicPem);
}

const kidOf = (path: string) => toHex(keys.get(path)?.kid ?? new Uint8Array());

beforeAll(async () => {
  // docs/policy.md's example, with every file it names made for real in a fresh directory.
  dir = await mkdtemp(join(tmpdir(), 'execgate-policy-check-'));
  policy = join(dir, 'policy.toml');
  const { policy: text, fragment } = readmePolicyBlocks();
  await put(policy, text);
  await dirOf(join(dir, 'keys'));
  await keyAt(join(dir, 'keys/ops.pub'), 'p256');
  await keyAt(join(dir, 'keys/breakglass.pub'));
  for (const n of ['alice', 'bob', 'carol']) await keyAt(join(dir, `keys/${n}.pub`));
  await put(join(dir, 'reference.json'), REFERENCE);
  const ops = keys.get(join(dir, 'keys/ops.pub')) as SigningKey;
  await put(
    join(dir, 'revoked.cbor'),
    issueRevocationList(
      { iss: 'ops', seq: 3, iat: 1_800_000_000, ctis: [new Uint8Array(16).fill(7)], kids: [] },
      ops,
    ),
  );
  await dirOf(join(dir, 'policy.d'));
  await put(join(dir, 'policy.d/20-ci.toml'), fragment);
  await dirOf(join(dir, 'policy.d/keys'));
  await keyAt(join(dir, 'policy.d/keys/ci.pub'), 'p384');
  await keyAt(join(dir, 'policy.d/keys/alice.pub'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('execgate policy check', () => {
  it("docs/policy.md's example loads: exit 0 and the effective trust as JSON, field by field", () => {
    const r = execgate(['policy', 'check', '--policy', policy, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(EXIT.OK);
    const t = JSON.parse(r.stdout);
    expect(Object.keys(t)).toEqual([
      'policy',
      'fragments',
      'mode',
      'stateDir',
      'tcti',
      'groups',
      'clockSkewSeconds',
      'reference',
      'artifacts',
      'issuers',
      'approvals',
      'breakglass',
      'revocation',
      'serve',
    ]);
    expect(t.policy).toBe(policy);
    expect(t.fragments).toEqual([join(dir, 'policy.d/20-ci.toml')]);
    expect(t.mode).toBe('enforce');
    expect(t.stateDir).toBe('/var/lib/execgate');
    expect(t.tcti).toBe('device:/dev/tpmrm0');
    expect(t.groups).toEqual(['web']);
    expect(t.clockSkewSeconds).toBe(30);
    expect(t.reference).toBe(join(dir, 'reference.json'));
    expect(t.artifacts).toBe(join(dir, 'artifacts.d'));
    expect(t.issuers).toEqual([
      {
        name: 'ops',
        kid: kidOf(join(dir, 'keys/ops.pub')),
        alg: 'p256',
        keyFile: join(dir, 'keys/ops.pub'),
        exe: ['/usr/bin/', '/opt/app/bin/deploy'],
        maxTtlSeconds: 3600,
        delegation: false,
        file: policy,
        at: 'issuer[0]',
      },
      {
        name: 'ci',
        kid: kidOf(join(dir, 'policy.d/keys/ci.pub')),
        alg: 'p384',
        keyFile: join(dir, 'policy.d/keys/ci.pub'),
        exe: ['/srv/ci/bin/'],
        maxTtlSeconds: 1800,
        delegation: true,
        file: join(dir, 'policy.d/20-ci.toml'),
        at: 'issuer[0]',
      },
    ]);
    const approver = (path: string) => ({ kid: kidOf(path), alg: 'ed25519', keyFile: path });
    expect(t.approvals).toEqual([
      {
        exe: ['/usr/sbin/'],
        required: 2,
        approvers: ['alice', 'bob', 'carol'].map((n) => approver(join(dir, `keys/${n}.pub`))),
        file: policy,
        at: 'approval[0]',
      },
      {
        exe: ['/srv/ci/bin/release'],
        required: 2,
        approvers: [approver(join(dir, 'policy.d/keys/alice.pub')), approver(join(dir, 'keys/bob.pub'))],
        file: join(dir, 'policy.d/20-ci.toml'),
        at: 'approval[0]',
      },
    ]);
    expect(t.breakglass).toEqual({
      kid: kidOf(join(dir, 'keys/breakglass.pub')),
      alg: 'ed25519',
      keyFile: join(dir, 'keys/breakglass.pub'),
      maxTtlSeconds: 900,
    });
    expect(t.revocation).toEqual({
      epochNvIndex: '0x01800101',
      lists: [
        {
          file: join(dir, 'revoked.cbor'),
          iss: 'ops',
          signer: 'ops',
          signerKid: kidOf(join(dir, 'keys/ops.pub')),
          seq: 3,
          iat: 1_800_000_000,
          issued: '2027-01-15T08:00:00.000Z',
          ctis: 1,
          kids: 0,
        },
      ],
      revoked: { ctis: 1, kids: 0 },
    });
    expect(t.serve).toEqual({ heartbeatSeconds: 60, metrics: '127.0.0.1:9464', pcrs: 'sha256:0-7' });
  });

  it('prints the same for a person, one fact per line', () => {
    const r = execgate(['policy', 'check', '--policy', policy]);
    expect(r.status).toBe(EXIT.OK);
    const lines = r.stdout.split('\n');
    expect(lines).toContain(`policy      ${policy}`);
    expect(lines).toContain(`fragment    ${join(dir, 'policy.d/20-ci.toml')}`);
    expect(lines).toContain('clock_skew  30s');
    expect(lines).toContain(
      `issuer      ops: kid ${kidOf(join(dir, 'keys/ops.pub'))} (p256) ${join(dir, 'keys/ops.pub')}`,
    );
    expect(lines).toContain('  max_ttl   30m, delegation allowed');
    expect(lines).toContain('approval    2 of 3 for /usr/sbin/');
    expect(lines).toContain(`  from      ${join(dir, 'policy.d/20-ci.toml')} approval[0]`);
    expect(lines).toContain('epoch       NV index 0x01800101');
    expect(lines).toContain('serve       heartbeat every 1m quoting sha256:0-7, metrics 127.0.0.1:9464');
    expect(r.stdout).toMatch(
      /^revocation {2}.*revoked\.cbor: list 3 of "ops", signed by ops \(kid [0-9a-f]{64}\)/m,
    );
  });

  it('a broken policy: exit 2, one line naming the file, the TOML path and what to do', async () => {
    const ops = join(dir, 'keys/ops.pub');
    await chmod(ops, 0o664);
    try {
      const r = execgate(['policy', 'check', '--policy', policy, '--json']);
      expect(r.status).toBe(EXIT.USAGE);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `execgate: E_CONFIG: policy ${policy}: issuer[0].key: key file ${ops} is writable by group or others (mode 664): chmod go-w ${ops}\n`,
      );
    } finally {
      await chmod(ops, 0o644);
    }
  });

  it('a fragment that reaches for [host] is refused the same way', async () => {
    const f = join(dir, 'policy.d/90-sneaky.toml');
    await put(f, '[host]\nmode = "audit"\n');
    try {
      const r = execgate(['policy', 'check', '--policy', policy]);
      expect(r.status).toBe(EXIT.USAGE);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `execgate: E_CONFIG: policy fragment ${f}: host is not allowed here: a policy.d fragment adds [[issuer]] and [[approval]] tables only; everything else belongs in the policy file\n`,
      );
    } finally {
      await rm(f);
    }
  });

  it('flags: --help with an example, an unknown flag or argument is a usage error, a missing file E_CONFIG', async () => {
    const help = await cli(['policy', '--help']);
    expect(help.code).toBe(EXIT.OK);
    expect(help.stdout).toContain('Example:');
    expect((await cli(['--help'])).stdout).toMatch(/policy {3}check/);
    const flag = await cli(['policy', 'check', '--polcy', policy]);
    expect([flag.code, flag.stderr]).toEqual([EXIT.USAGE, expect.stringMatching(/^execgate: E_USAGE: /)]);
    const arg = await cli(['policy', 'check', policy]);
    expect(arg.stderr).toMatch(/^execgate: E_USAGE: unknown argument/);
    const missing = await cli(['policy', 'check', '--policy', join(dir, 'absent.toml')]);
    expect(missing.code).toBe(EXIT.USAGE);
    expect(missing.stderr).toMatch(/^execgate: E_CONFIG: policy: cannot read ".*absent\.toml"/);
  });
});
