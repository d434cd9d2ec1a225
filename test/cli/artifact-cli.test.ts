// SPDX-License-Identifier: Apache-2.0
// `execgate artifact issue | delegate | approve | inspect | verify`, end to end through the CLI: every
// claim flag lands in the claim it names (and a bad value is exit 2 naming the flag), every verify reason
// code comes out as exit 7 with `execgate: CODE:`, revocation lists supersede by sequence number, and a
// PCR binding taken from a real quote (swtpm) is the digest of the values the quote attests.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHAIN_LABEL, chainEntry, decodeArtifact, withUnprotected } from '../../agent/artifact/artifact.js';
import { issueRevocationList } from '../../agent/artifact/revocation.js';
import { decodeBundle } from '../../agent/attest/quote.js';
import { parseDuration, parseTime } from '../../agent/cli/args.js';
import { EXIT } from '../../agent/cli/exit.js';
import { parseSigningKey } from '../../agent/crypto/keys.js';
import { initVerification } from '../../agent/crypto/verify.js';
import { unmarshal } from '../../agent/tpm/schema.js';
import { TPMS_ATTEST } from '../../agent/tpm/structures.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { cli } from './helpers.js';

const swtpm = useSwtpm();
const HOST = `000b${'ab'.repeat(32)}`;
const sha256hex = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

let dir: string;
/** Key files by role: the issuer, the delegate, two approvers, and a key nobody trusts. */
const K = { iss: '', del: '', appr1: '', appr2: '', stranger: '' };
let exe: string;
let exeDigest: string;
let n = 0;
const file = (name = 'a') => join(dir, `${name}-${++n}.cose`);

beforeAll(async () => {
  await initVerification();
  dir = await mkdtemp(join(tmpdir(), 'execgate-artifact-'));
  const algs = { iss: 'ed25519', del: 'p256', appr1: 'p384', appr2: 'ed25519', stranger: 'ed25519' } as const;
  for (const role of Object.keys(algs) as (keyof typeof K)[]) {
    K[role] = join(dir, `${role}.key`);
    const r = await cli(['key', 'gen', '--alg', algs[role], '--out', K[role]]);
    expect(r.code, r.stderr).toBe(EXIT.OK);
  }
  exe = join(dir, 'tool');
  await writeFile(exe, 'an executable, as far as the issuer is concerned\n');
  exeDigest = sha256hex(await readFile(exe));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `artifact issue` with the required flags (issuer key, ops, HOST, exe, 10 minutes) and `extra`. */
function issueArgs(out: string, ...extra: string[]): string[] {
  return [
    'artifact',
    'issue',
    '--key',
    K.iss,
    '--issuer',
    'ops',
    '--host',
    HOST,
    '--exe',
    exe,
    '--ttl',
    '10m',
    ...extra,
    '--out',
    out,
  ];
}

async function ok(argv: string[]) {
  const r = await cli(argv);
  expect(r.code, `${argv.join(' ')}\n${r.stderr}`).toBe(EXIT.OK);
  return r;
}

async function fails(argv: string[], exit: number, code: string, message?: RegExp) {
  const r = await cli(argv);
  expect(r.stderr, argv.join(' ')).toMatch(new RegExp(`^execgate: ${code}: `));
  if (message) expect(r.stderr, argv.join(' ')).toMatch(message);
  expect(r.code, argv.join(' ')).toBe(exit);
  return r;
}

const usage = (argv: string[], message: RegExp) => fails(argv, EXIT.USAGE, 'E_USAGE', message);

async function issued(...extra: string[]): Promise<string> {
  const out = file();
  await ok(issueArgs(out, ...extra));
  return out;
}

// biome-ignore lint/suspicious/noExplicitAny: the claims JSON is checked field by field.
async function claims(f: string): Promise<any> {
  return JSON.parse((await ok(['--json', 'artifact', 'inspect', f])).stdout).claims;
}

const verify = (f: string, ...extra: string[]) =>
  cli(['artifact', 'verify', f, '--trust', `${K.iss}.pub`, ...extra]);

async function verifyFails(f: string, code: string, extra: string[] = [], message?: RegExp) {
  return fails(
    ['artifact', 'verify', f, '--trust', `${K.iss}.pub`, ...extra],
    EXIT.EVIDENCE_INVALID,
    code,
    message,
  );
}

describe('TIME and DUR', () => {
  it('TIME: ISO 8601 with a zone or @UNIXSECONDS; no zone, impossible dates and fractions refused', () => {
    expect(parseTime('2026-12-07T10:00:00Z', 't')).toBe(Date.UTC(2026, 11, 7, 10) / 1000);
    expect(parseTime('2026-12-07T11:00+01:00', 't')).toBe(Date.UTC(2026, 11, 7, 10) / 1000);
    expect(parseTime('2026-12-07T05:30:00-04:30', 't')).toBe(Date.UTC(2026, 11, 7, 10) / 1000);
    expect(parseTime('@1796637600', 't')).toBe(1796637600);
    for (const bad of [
      '2026-12-07T10:00:00',
      '2026-02-30T00:00:00Z',
      '2026-12-07T24:00:00Z',
      '2026-12-07T10:00:00.5Z',
      '2026-12-07',
      '@-1',
      'tomorrow',
      '1969-12-31T23:59:59Z',
    ])
      expect(() => parseTime(bad, '--at'), bad).toThrow(/--at/);
  });

  it('DUR: 90s, 10m, 2h, 1d or seconds; 0 only where allowed', () => {
    expect([
      parseDuration('90s', 'd'),
      parseDuration('10m', 'd'),
      parseDuration('2h', 'd'),
      parseDuration('1d', 'd'),
      parseDuration('45', 'd'),
    ]).toEqual([90, 600, 7200, 86400, 45]);
    expect(parseDuration('0', 'd', { zero: true })).toBe(0);
    for (const bad of ['0', '0m', '1w', '-5s', '1.5h', '', '10 m'])
      expect(() => parseDuration(bad, '--ttl'), bad).toThrow(/--ttl/);
  });
});

describe('artifact issue: each claim flag', () => {
  it('the defaults: digest of --exe, no arguments at all, iat now, exp iat + ttl, a 16-byte cti, mode 0644', async () => {
    const before = Math.floor(Date.now() / 1000);
    const out = file();
    const r = await ok(issueArgs(out));
    expect(r.stdout).toMatch(/^wrote .*: cti [0-9a-f]{32}, signed by kid [0-9a-f]{64}, valid until 20\d\d-/);
    expect((await stat(out)).mode & 0o777).toBe(0o644);
    const c = await claims(out);
    expect(c).toMatchObject({ iss: 'ops', sub: HOST, scope: { exe, sha256: exeDigest, argv: [] } });
    expect(c.iat.unix).toBeGreaterThanOrEqual(before);
    expect(c.exp.unix).toBe(c.iat.unix + 600);
    expect(c.nbf).toBeUndefined();
    expect(c.cti).toMatch(/^[0-9a-f]{32}$/);
    for (const absent of ['cwd', 'uid', 'env', 'uses', 'caller']) expect(c.scope[absent]).toBeUndefined();
    for (const absent of ['state', 'boot', 'epoch', 'gov', 'parent', 'delegate'])
      expect(c[absent]).toBeUndefined();
    expect((await verify(out)).code).toBe(EXIT.OK);
    // Two issues never share a cti.
    expect((await claims(await issued())).cti).not.toBe(c.cti);
  });

  it('--arg (in order, "-" values as --arg=-v) and --any-args (argv absent)', async () => {
    expect((await claims(await issued('--arg', 'a b', '--arg=-v', '--arg', ''))).scope.argv).toEqual([
      'a b',
      '-v',
      '',
    ]);
    expect((await claims(await issued('--any-args'))).scope.argv).toBeUndefined();
    await usage(
      issueArgs(file(), '--arg', 'x', '--any-args'),
      /--any-args allows any arguments: not with --arg/,
    );
  });

  it('--sha256 instead of reading --exe (which then need not exist here)', async () => {
    const digest = 'cd'.repeat(32);
    const c = await claims(
      await ok([
        'artifact',
        'issue',
        '--key',
        K.iss,
        '--issuer',
        'ops',
        '--group',
        'web',
        '--exe',
        '/opt/remote/bin/app',
        '--sha256',
        digest,
        '--ttl',
        '1h',
        '--out',
        join(dir, 'remote.cose'),
      ]).then(() => join(dir, 'remote.cose')),
    );
    expect(c.scope).toMatchObject({ exe: '/opt/remote/bin/app', sha256: digest });
    await usage(issueArgs(file(), '--sha256', 'cd'.repeat(31)), /--sha256 must be 32 bytes/);
    await usage(issueArgs(file(), '--sha256', 'xyz'), /--sha256 must be hex/);
  });

  it('--exe: relative, unnormalised, missing or not a regular file is exit 2', async () => {
    const argv = (e: string) => [
      'artifact',
      'issue',
      '--key',
      K.iss,
      '--issuer',
      'ops',
      '--host',
      HOST,
      '--exe',
      e,
      '--ttl',
      '10m',
      '--out',
      file(),
    ];
    await usage(argv('bin/tool'), /--exe must be an absolute path/);
    await usage(argv('/usr/bin/../bin/true'), /--exe is not a normalised path/);
    await fails(
      argv(join(dir, 'absent')),
      EXIT.USAGE,
      'E_INPUT_READ',
      /--exe \(give --sha256 for a file not on this machine\)/,
    );
    await fails(argv('/dev/zero'), EXIT.USAGE, 'E_INPUT_READ', /is not a regular file/);
    await fails(argv(dir), EXIT.USAGE, 'E_INPUT_READ', /is not a regular file/);
    await usage(
      [
        'artifact',
        'issue',
        '--key',
        K.iss,
        '--issuer',
        'ops',
        '--host',
        HOST,
        '--ttl',
        '10m',
        '--out',
        file(),
      ],
      /--exe PATH is required/,
    );
  });

  it('--exe is hashed as a stream: a file larger than any input limit', async () => {
    const big = join(dir, 'big-exe');
    const data = randomBytes(5 * 1024 * 1024 + 3);
    await writeFile(big, data);
    const c = await claims(
      await ok([
        'artifact',
        'issue',
        '--key',
        K.iss,
        '--issuer',
        'ops',
        '--host',
        HOST,
        '--exe',
        big,
        '--ttl',
        '1m',
        '--out',
        join(dir, 'big.cose'),
      ]).then(() => join(dir, 'big.cose')),
    );
    expect(c.scope.sha256).toBe(sha256hex(data));
  });

  it('--cwd, --uid, --env (sorted, unique), --uses, --caller', async () => {
    const c = await claims(
      await issued(
        '--cwd',
        '/srv',
        '--uid',
        '1000',
        '--env',
        'PATH',
        '--env',
        'LANG',
        '--env',
        'PATH',
        '--uses',
        '3',
        '--caller',
        '/usr/bin/make',
      ),
    );
    expect(c.scope).toMatchObject({
      cwd: '/srv',
      uid: 1000,
      env: ['LANG', 'PATH'],
      uses: 3,
      caller: '/usr/bin/make',
    });
    await usage(issueArgs(file(), '--cwd', 'srv'), /--cwd must be an absolute path/);
    await usage(issueArgs(file(), '--uid', '-1'), /Option '--uid' argument is ambiguous/);
    await usage(issueArgs(file(), '--uid', 'root'), /--uid must be an integer 0\.\.4294967294/);
    await usage(issueArgs(file(), '--uid', '4294967295'), /--uid must be an integer/);
    await usage(issueArgs(file(), '--env', '1PATH'), /--env must be a variable name/);
    await usage(issueArgs(file(), '--env', 'A=B'), /--env must be a variable name/);
    await usage(issueArgs(file(), '--uses', '0'), /--uses must be at least 1/);
    await usage(issueArgs(file(), '--uses', 'many'), /--uses must be an integer/);
    await usage(issueArgs(file(), '--caller', '/usr/bin/'), /--caller is not a normalised path/);
  });

  it('the target: --host (lowercased), --group, --host-identity (akName of host identity --json); exactly one', async () => {
    expect(
      (
        await claims(
          await ok([
            'artifact',
            'issue',
            '--key',
            K.iss,
            '--issuer',
            'ops',
            '--host',
            HOST.toUpperCase().replace('000B', '000b'),
            '--exe',
            exe,
            '--ttl',
            '1m',
            '--out',
            join(dir, 'upper.cose'),
          ]).then(() => join(dir, 'upper.cose')),
        )
      ).sub,
    ).toBe(HOST);
    const group = [
      'artifact',
      'issue',
      '--key',
      K.iss,
      '--issuer',
      'ops',
      '--group',
      'db-1.prod',
      '--exe',
      exe,
      '--ttl',
      '1m',
    ];
    expect(
      (await claims(await ok([...group, '--out', join(dir, 'g.cose')]).then(() => join(dir, 'g.cose')))).sub,
    ).toBe('group:db-1.prod');
    const id = join(dir, 'host.json');
    await writeFile(
      id,
      JSON.stringify({ akName: `000b${'cd'.repeat(32)}`, akQualifiedName: 'x', akAlg: 'rsa' }),
    );
    const withId = [
      'artifact',
      'issue',
      '--key',
      K.iss,
      '--issuer',
      'ops',
      '--host-identity',
      id,
      '--exe',
      exe,
      '--ttl',
      '1m',
    ];
    expect(
      (await claims(await ok([...withId, '--out', join(dir, 'id.cose')]).then(() => join(dir, 'id.cose'))))
        .sub,
    ).toBe(`000b${'cd'.repeat(32)}`);

    const base = [
      'artifact',
      'issue',
      '--key',
      K.iss,
      '--issuer',
      'ops',
      '--exe',
      exe,
      '--ttl',
      '1m',
      '--out',
      file(),
    ];
    await usage([...base, '--host', '000bab'], /--host must be a host's AK Name in hex/);
    await usage([...base, '--host', `group:x`], /--host must be a host's AK Name/);
    await usage([...base, '--group', 'a b'], /--group must be 1 to 64 of/);
    await usage(
      [...base, '--host', HOST, '--group', 'web'],
      /--host, --host-identity and --group exclude each other/,
    );
    await usage(base, /the target is required: --host AKNAME, --host-identity FILE or --group NAME/);
    await writeFile(id, '{"akQualifiedName":"00"}');
    await usage([...base, '--host-identity', id], /has no "akName"/);
    await writeFile(id, 'akName: 000b…');
    await usage([...base, '--host-identity', id], /--host-identity .*: not the JSON of host identity --json/);
    await writeFile(id, JSON.stringify({ akName: 'nope' }));
    await usage([...base, '--host-identity', id], /--host-identity .*akName must be a host's AK Name/);
  });

  it('the window: --ttl or --not-after (one required), --not-before', async () => {
    const nb = Math.floor(Date.now() / 1000) + 3600;
    const base = ['artifact', 'issue', '--key', K.iss, '--issuer', 'ops', '--host', HOST, '--exe', exe];
    const at = (out: string, ...w: string[]) => ok([...base, ...w, '--out', out]).then(() => claims(out));
    const c = await at(file(), '--not-before', `@${nb}`, '--ttl', '2h');
    expect(c.nbf).toEqual({ unix: nb, iso: new Date(nb * 1000).toISOString().replace('.000Z', 'Z') });
    expect(c.exp.unix).toBe(nb + 7200);
    const d = await at(file(), '--not-after', '2099-01-01T00:00:00Z');
    expect(d.exp).toEqual({ unix: Date.UTC(2099, 0, 1) / 1000, iso: '2099-01-01T00:00:00Z' });
    await usage([...base, '--out', file()], /give one of --ttl DUR and --not-after TIME/);
    await usage(
      [...base, '--ttl', '1m', '--not-after', '2099-01-01T00:00:00Z', '--out', file()],
      /give one of --ttl/,
    );
    await usage(
      [...base, '--not-after', '2001-01-01T00:00:00Z', '--out', file()],
      /--not-after must be later than now/,
    );
    await usage(
      [
        ...base,
        '--not-before',
        '2099-01-02T00:00:00Z',
        '--not-after',
        '2099-01-01T00:00:00Z',
        '--out',
        file(),
      ],
      /later than --not-before/,
    );
    await usage([...base, '--ttl', '5 minutes', '--out', file()], /--ttl must be a duration/);
    await usage(
      [...base, '--ttl', '1m', '--not-before', 'soon', '--out', file()],
      /--not-before must be ISO 8601/,
    );
    await usage(
      [...base, '--not-after', '2099-01-01T00:00:00', '--out', file()],
      /--not-after must be ISO 8601 with a zone/,
    );
  });

  it('--state-ref: the digest execgate state digest prints', async () => {
    const ref = join(dir, 'ref.json');
    await writeFile(
      ref,
      JSON.stringify(
        {
          execgate: 'reference-state',
          version: 1,
          created: '2026-01-01T00:00:00Z',
          host: {},
          pcrs: { sha256: { '0': 'ab'.repeat(32) } },
          rules: { secureBoot: 'any' },
        },
        null,
        4,
      ),
    );
    const digest = (await ok(['state', 'digest', ref])).stdout.trim();
    expect((await claims(await issued('--state-ref', ref))).state).toEqual({ ref: digest });
    await writeFile(join(dir, 'bad-ref.json'), '{"execgate":"reference-state"}');
    await fails(
      issueArgs(file(), '--state-ref', join(dir, 'bad-ref.json')),
      EXIT.USAGE,
      'E_REFERENCE_FORMAT',
    );
    await usage(
      issueArgs(file(), '--state-ref', ref, '--pcrs', 'sha256:0'),
      /--state-ref binds a reference state: not with --pcrs/,
    );
  });

  it('--pcrs SEL --pcr-digest HEX: one sha256 bank', async () => {
    const digest = 'ef'.repeat(32);
    expect((await claims(await issued('--pcrs', 'sha256:7,0-3', '--pcr-digest', digest))).state).toEqual({
      bank: 'sha256',
      pcrs: [0, 1, 2, 3, 7],
      digest,
    });
    await usage(
      issueArgs(file(), '--pcrs', 'sha1:0-7', '--pcr-digest', digest),
      /--pcrs must select PCRs of the sha256 bank only/,
    );
    await usage(issueArgs(file(), '--pcrs', 'sha256:0+sha384:0', '--pcr-digest', digest), /sha256 bank only/);
    await usage(
      issueArgs(file(), '--pcrs', 'sha256:0-7'),
      /--pcrs needs one of --pcr-digest HEX and --quote/,
    );
    await usage(issueArgs(file(), '--pcr-digest', digest), /--pcr-digest and --quote need --pcrs SEL/);
    await usage(
      issueArgs(file(), '--pcrs', 'sha256:0', '--pcr-digest', 'ef'.repeat(20)),
      /--pcr-digest must be 32 bytes/,
    );
    await usage(issueArgs(file(), '--pcrs', 'nope', '--pcr-digest', digest), /--pcrs: /);
    await usage(
      issueArgs(
        file(),
        '--pcrs',
        'sha256:0',
        '--pcr-digest',
        digest,
        '--quote',
        'q',
        '--ak',
        'a',
        '--nonce',
        '00',
      ),
      /--pcrs needs one of/,
    );
  });

  it('--boot, --epoch, --gov K=V', async () => {
    const c = await claims(
      await issued('--boot', '7', '--epoch', '12', '--gov', 'ticket=CHG-1', '--gov', 'reason=a=b'),
    );
    expect(c).toMatchObject({ boot: 7, epoch: 12, gov: { ticket: 'CHG-1', reason: 'a=b' } });
    await usage(issueArgs(file(), '--boot', '4294967296'), /--boot must be an integer/);
    await usage(issueArgs(file(), '--epoch', 'x'), /--epoch must be an integer/);
    await usage(issueArgs(file(), '--gov', 'ticket'), /--gov must be KEY=VALUE/);
    await usage(issueArgs(file(), '--gov', '=x'), /--gov must be KEY=VALUE/);
    await usage(issueArgs(file(), '--gov', 'a=1', '--gov', 'a=2'), /--gov a is given twice/);
    // What only the claims reader knows (a value must not be empty) still comes back as a usage error.
    await usage(
      issueArgs(file(), '--gov', 'ticket='),
      /the claims these flags make are refused: gov\.ticket must have 1 to 1024 characters/,
    );
    await usage(issueArgs(file(), '--issuer', ''), /refused: iss must have 1 to 256 characters/);
  });

  it('--delegate-key/--delegate-depth/--delegate-exe-prefix: the grant (default scope: own exe and digest)', async () => {
    const own = await claims(await issued('--delegate-key', `${K.del}.pub`, '--delegate-depth', '2'));
    const kid = (await ok(['key', 'id', `${K.del}.pub`])).stdout.trim();
    expect(own.delegate).toMatchObject({ kid, depth: 2, scope: { exe, sha256: exeDigest } });
    const pre = await claims(
      await issued(
        '--delegate-key',
        `${K.del}.pub`,
        '--delegate-depth',
        '0',
        '--delegate-exe-prefix',
        '/usr/local/bin/',
      ),
    );
    expect(pre.delegate).toMatchObject({ kid, depth: 0, scope: { exe: '/usr/local/bin/' } });
    expect(pre.delegate.scope.sha256).toBeUndefined();
    await usage(
      issueArgs(file(), '--delegate-key', `${K.del}.pub`),
      /--delegate-key needs --delegate-depth N/,
    );
    await usage(
      issueArgs(file(), '--delegate-depth', '1'),
      /--delegate-depth and --delegate-exe-prefix go with --delegate-key/,
    );
    await usage(issueArgs(file(), '--delegate-exe-prefix', '/usr/'), /go with --delegate-key/);
    await usage(
      issueArgs(file(), '--delegate-key', `${K.del}.pub`, '--delegate-depth', '9'),
      /--delegate-depth must be an integer 0\.\.8/,
    );
    await usage(
      issueArgs(
        file(),
        '--delegate-key',
        `${K.del}.pub`,
        '--delegate-depth',
        '0',
        '--delegate-exe-prefix',
        '/usr/bin',
      ),
      /must be a directory ending in "\/"/,
    );
    await usage(
      issueArgs(
        file(),
        '--delegate-key',
        `${K.del}.pub`,
        '--delegate-depth',
        '0',
        '--delegate-exe-prefix',
        'usr/',
      ),
      /--delegate-exe-prefix must be an absolute path/,
    );
    await usage(
      issueArgs(file(), '--delegate-key', K.del, '--delegate-depth', '0'),
      /--delegate-key .* holds a private key/,
    );
  });

  it('--key, --out and --force', async () => {
    const out = file();
    await writeFile(out, 'keep');
    await fails(issueArgs(out), EXIT.USAGE, 'E_FILE_EXISTS');
    expect(await readFile(out, 'utf8')).toBe('keep');
    await ok(issueArgs(out, '--force'));
    expect(decodeArtifact(new Uint8Array(await readFile(out))).claims.iss).toBe('ops');
    await fails(
      ['artifact', 'issue', '--key', `${K.iss}.pub`, ...issueArgs(file()).slice(4)],
      EXIT.USAGE,
      'E_KEY',
    );
    await usage(
      ['artifact', 'issue', ...issueArgs(file()).slice(4)],
      /--key FILE and --out FILE are required/,
    );
    await usage(issueArgs(file()).slice(0, -2), /--key FILE and --out FILE are required/);
    await usage(['artifact', 'issue', 'stray', ...issueArgs(file()).slice(2)], /unknown argument "stray"/);
    await usage([...issueArgs(file()), 'stray'], /unknown argument "stray"/);
  });

  it('--json prints the file, digest, kid and claims', async () => {
    const out = file();
    const doc = JSON.parse((await ok(['--json', ...issueArgs(out)])).stdout);
    const a = decodeArtifact(new Uint8Array(await readFile(out)));
    expect(doc).toMatchObject({
      out,
      digest: Buffer.from(a.digest).toString('hex'),
      kid: (await ok(['key', 'id', `${K.iss}.pub`])).stdout.trim(),
    });
    expect(doc.claims.scope.sha256).toBe(exeDigest);
  });
});

describe('artifact delegate', () => {
  /** A root granting the delegate key, depth `depth`, over `prefix` (else its own exe). */
  async function parent(depth = 1, ...extra: string[]): Promise<string> {
    return issued('--delegate-key', `${K.del}.pub`, '--delegate-depth', String(depth), ...extra);
  }
  const child = (p: string, out: string, ...extra: string[]) => [
    'artifact',
    'delegate',
    '--parent',
    p,
    '--key',
    K.del,
    '--issuer',
    'team',
    '--exe',
    exe,
    '--ttl',
    '5m',
    ...extra,
    '--out',
    out,
  ];

  it('a child within the grant verifies under the root key; sub and chain come from the parent', async () => {
    const p = await parent();
    const out = file('child');
    await ok(child(p, out));
    const a = decodeArtifact(new Uint8Array(await readFile(out)));
    expect(a.claims.sub).toBe(HOST);
    expect(a.chain.length).toBe(1);
    expect(Buffer.from(a.claims.parent ?? [])).toEqual(
      Buffer.from(decodeArtifact(new Uint8Array(await readFile(p))).digest),
    );
    expect((await verify(out)).code).toBe(EXIT.OK);
    // A grandchild under a depth-1 grant: the child delegates again, to the approver key here.
    const mid = file('mid');
    await ok(child(p, mid, '--delegate-key', `${K.appr1}.pub`, '--delegate-depth', '0'));
    const leaf = file('leaf');
    await ok([
      'artifact',
      'delegate',
      '--parent',
      mid,
      '--key',
      K.appr1,
      '--issuer',
      'leaf',
      '--exe',
      exe,
      '--ttl',
      '1m',
      '--out',
      leaf,
    ]);
    expect(decodeArtifact(new Uint8Array(await readFile(leaf))).chain.length).toBe(2);
    expect((await verify(leaf)).code).toBe(EXIT.OK);
  });

  it("a child keeps the parent's state, boot and epoch and may take as many uses by default; a future parent window starts the child's", async () => {
    const start = Math.floor(Date.now() / 1000) + 60;
    const p = await parent(
      0,
      ...[
        '--uses',
        '3',
        '--boot',
        '7',
        '--epoch',
        '2',
        '--pcrs',
        'sha256:0,7',
        '--pcr-digest',
        '11'.repeat(32),
      ],
      ...['--not-before', `@${start}`],
    );
    const out = file('kept');
    await ok(child(p, out, '--uses', '3'));
    const c = decodeArtifact(new Uint8Array(await readFile(out))).claims;
    expect(c).toMatchObject({ boot: 7, epoch: 2, nbf: start, scope: { uses: 3 } });
    expect(c.state).toEqual(decodeArtifact(new Uint8Array(await readFile(p))).claims.state);
    expect((await verify(out, '--at', `@${start}`)).code).toBe(EXIT.OK);
    // Set by a flag, a differing value is still the child's own, and E_LINEAGE.
    await fails(child(p, file(), '--boot', '8'), EXIT.EVIDENCE_INVALID, 'E_LINEAGE', /boot differs/);
  });

  it('wider than the grant, longer-lived, deeper, another target, or the wrong key: E_LINEAGE (exit 7)', async () => {
    const p = await parent(0);
    const lineage = (argv: string[], m: RegExp) => fails(argv, EXIT.EVIDENCE_INVALID, 'E_LINEAGE', m);
    await lineage(child(p, file(), '--sha256', '00'.repeat(32)), /scope\.sha256 differs from the grant's/);
    await lineage(child(p, file(), '--uses', '2'), /scope\.uses 2 is more than the grant's 1/);
    await lineage(
      [
        'artifact',
        'delegate',
        '--parent',
        p,
        '--key',
        K.del,
        '--issuer',
        'team',
        '--exe',
        exe,
        '--ttl',
        '1h',
        '--out',
        file(),
      ],
      /the window ends after the parent's/,
    );
    await lineage(
      child(p, file(), '--delegate-key', `${K.appr1}.pub`, '--delegate-depth', '0'),
      /allows no further delegation/,
    );
    await lineage(child(p, file(), '--group', 'web'), /sub group:web is not the parent's/);
    await lineage(
      [
        'artifact',
        'delegate',
        '--parent',
        p,
        '--key',
        K.appr1,
        '--issuer',
        'x',
        '--exe',
        exe,
        '--ttl',
        '1m',
        '--out',
        file(),
      ],
      /the parent delegates to kid [0-9a-f]{64}, not to this key/,
    );
    await lineage(child(await issued(), file()), /the parent grants no delegation/);
    // Under a prefix grant, any executable below it; one outside is refused.
    const pre = await parent(0, '--delegate-exe-prefix', '/usr/local/bin/');
    await ok(child(pre, file(), '--exe', '/usr/local/bin/job', '--sha256', '11'.repeat(32)));
    await lineage(
      child(pre, file(), '--exe', '/usr/bin/job', '--sha256', '11'.repeat(32)),
      /scope\.exe \/usr\/bin\/job is not under \/usr\/local\/bin\//,
    );
  });

  it('flags: a malformed --parent is E_FORMAT (exit 7); --parent, --key and --out are required', async () => {
    const junk = join(dir, 'junk.cose');
    await writeFile(junk, 'not an artifact');
    await fails(child(junk, file()), EXIT.EVIDENCE_INVALID, 'E_FORMAT', /--parent .*junk\.cose/);
    await fails(child(join(dir, 'absent.cose'), file()), EXIT.USAGE, 'E_INPUT_READ');
    const p = await parent();
    await usage(
      child(p, file()).filter((_, i, a) => a[i] !== '--parent' && a[i - 1] !== '--parent'),
      /--parent FILE, --key FILE and --out FILE are required/,
    );
    await usage([...child(p, file()).slice(0, -2)], /--parent FILE, --key FILE and --out FILE are required/);
    await usage([...child(p, file()), 'stray'], /unknown argument "stray"/);
    const out = file();
    await writeFile(out, 'keep');
    await fails(child(p, out), EXIT.USAGE, 'E_FILE_EXISTS');
    await ok(child(p, out, '--force'));
    // Its own claim flags are checked like issue's.
    await usage(child(p, file(), '--uid', 'x'), /--uid must be an integer/);
  });
});

describe('artifact approve', () => {
  it('adds one countersignature in place; the same approver twice is E_APPROVAL', async () => {
    const a = await issued();
    const r = await ok(['artifact', 'approve', a, '--key', K.appr1]);
    expect(r.stdout).toMatch(/approved .* as kid [0-9a-f]{64}: 1 approval$/m);
    expect((await stat(a)).mode & 0o777).toBe(0o644);
    const j = JSON.parse((await ok(['--json', 'artifact', 'approve', a, '--key', K.appr2])).stdout);
    expect(j).toMatchObject({ file: a, approvals: 2 });
    expect(decodeArtifact(new Uint8Array(await readFile(a))).approvals.length).toBe(2);
    await fails(
      ['artifact', 'approve', a, '--key', K.appr1],
      EXIT.EVIDENCE_INVALID,
      'E_APPROVAL',
      /has already countersigned/,
    );
  });

  it('flags: one FILE and --key; a malformed FILE is E_FORMAT', async () => {
    const a = await issued();
    await usage(['artifact', 'approve', a], /one artifact FILE and --key FILE/);
    await usage(['artifact', 'approve', '--key', K.appr1], /one artifact FILE and --key FILE/);
    await usage(['artifact', 'approve', a, a, '--key', K.appr1], /one artifact FILE and --key FILE/);
    const junk = join(dir, 'junk-approve.cose');
    await writeFile(junk, new Uint8Array([0xd2, 0x84]));
    await fails(['artifact', 'approve', junk, '--key', K.appr1], EXIT.EVIDENCE_INVALID, 'E_FORMAT');
  });
});

describe('artifact inspect', () => {
  it('every claim decoded, times ISO 8601 and in words, the chain and the approvals; says NOT verified', async () => {
    // Every claim, the window without --ttl.
    const p = file('parent');
    await ok([
      ...['artifact', 'issue', '--key', K.iss, '--issuer', 'ops', '--host', HOST, '--exe', exe],
      '--delegate-key',
      `${K.del}.pub`,
      '--delegate-depth',
      '0',
      '--gov',
      'ticket=T-9',
      '--cwd',
      '/srv',
      '--pcrs',
      'sha256:0',
      '--pcr-digest',
      '12'.repeat(32),
      '--boot',
      '3',
      '--epoch',
      '4',
      '--not-before',
      '@1900000000',
      '--not-after',
      '@1900000600',
      '--uid',
      '5',
      '--env',
      'HOME',
      '--uses',
      '2',
      '--caller',
      '/bin/sh',
      '--out',
      p,
    ]);
    const c = file('child');
    await ok([
      'artifact',
      'delegate',
      '--parent',
      p,
      '--key',
      K.del,
      '--issuer',
      'team',
      '--exe',
      exe,
      '--not-before',
      '@1900000000',
      '--ttl',
      '5m',
      '--pcrs',
      'sha256:0',
      '--pcr-digest',
      '12'.repeat(32),
      '--boot',
      '3',
      '--epoch',
      '4',
      '--cwd',
      '/srv',
      '--uid',
      '5',
      '--env',
      'HOME',
      '--caller',
      '/bin/sh',
      '--out',
      c,
    ]);
    await ok(['artifact', 'approve', c, '--key', K.appr1]);
    const t = (await ok(['artifact', 'inspect', c])).stdout;
    expect(t).toMatch(/decoded, NOT verified/);
    expect(t).toMatch(/nbf +2030-03-17T17:46:40Z {2}\(Sun, 17 Mar 2030 17:46:40 GMT, in \d+d \d+h\)/);
    for (const line of [
      /iss +team/,
      /scope\.argv +\[\]/,
      /scope\.env +\["HOME"\]/,
      /scope\.uses +1/,
      /scope\.caller +\/bin\/sh/,
      /state +sha256 PCRs 0 digest (12){32}/,
      /boot +3/,
      /epoch +4/,
      /parent +[0-9a-f]{64}/,
      /chain: 1 ancestors, root first/,
      /\[0\] digest [0-9a-f]{64}, signed by EdDSA kid/,
      /gov +ticket=T-9/,
      /delegate +kid [0-9a-f]{64}, depth 0, scope \{"exe":/,
      /approvals: 1\n {2}ES384 kid [0-9a-f]{64}/,
      /signed by +ES256 kid/,
    ])
      expect(t).toMatch(line);
    const j = JSON.parse((await ok(['--json', 'artifact', 'inspect', c])).stdout);
    expect(j).toMatchObject({
      verified: false,
      alg: 'ES256',
      claims: { iss: 'team', nbf: { unix: 1900000000, iso: '2030-03-17T17:46:40Z' } },
    });
    expect(j.chain).toHaveLength(1);
    expect(j.chain[0].claims).toMatchObject({ iss: 'ops', gov: { ticket: 'T-9' } });
    expect(j.approvals).toEqual([
      { alg: 'ES384', kid: (await ok(['key', 'id', `${K.appr1}.pub`])).stdout.trim() },
    ]);
    const root = (await ok(['artifact', 'inspect', await issued('--any-args')])).stdout;
    expect(root).toMatch(/chain: none \(a root artifact\)/);
    expect(root).toMatch(/scope\.argv +any arguments/);
    expect(root).toMatch(/scope\.env +not restricted/);
    expect(root).toMatch(/exp +20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}\(.* GMT, in (10m|9m \d+s)\)/);
  });

  it('a malformed file is E_FORMAT (exit 7); one FILE', async () => {
    const junk = join(dir, 'junk-inspect.cose');
    await writeFile(junk, new Uint8Array([0xa0]));
    await fails(['artifact', 'inspect', junk], EXIT.EVIDENCE_INVALID, 'E_FORMAT', /not a tagged COSE_Sign1/);
    await usage(['artifact', 'inspect'], /one artifact FILE/);
  });
});

describe('artifact verify: each reason code end to end', () => {
  it('valid: exit 0; --json verdict with the claims; --trust DIR', async () => {
    const a = await issued();
    const r = await verify(a);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toMatch(/^OK: .* is valid at .*: .*tool on 000bab.*, issued by kid [0-9a-f]{64}, until/);
    expect(r.stdout).toMatch(/approvals: 0 present, not checked \(no --approver\)/);
    const j = JSON.parse((await verify(a, '--json')).stdout);
    expect(j).toMatchObject({
      verdict: 'valid',
      approvedBy: null,
      claims: { iss: 'ops', scope: { sha256: exeDigest } },
    });
    expect(j.code).toBeUndefined();
    const trustDir = join(dir, 'trust');
    await mkdir(trustDir);
    await writeFile(join(trustDir, 'ops.pem'), await readFile(`${K.iss}.pub`));
    await writeFile(join(trustDir, 'README'), 'not a key, not read');
    expect((await cli(['artifact', 'verify', a, '--trust', trustDir])).code).toBe(EXIT.OK);
    expect(
      (await cli(['artifact', 'verify', a, '--trust', `${K.stranger}.pub`, '--trust', trustDir])).code,
    ).toBe(EXIT.OK);
  });

  it('E_SIGNATURE: one flipped signature byte', async () => {
    const a = await issued();
    const bytes = new Uint8Array(await readFile(a));
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    await writeFile(a, bytes);
    await verifyFails(a, 'E_SIGNATURE', [], /the artifact: the signature does not verify/);
    const j = JSON.parse((await verify(a, '--json')).stdout);
    expect(j).toMatchObject({ verdict: 'invalid', code: 'E_SIGNATURE', claims: { iss: 'ops' } });
    expect((await verify(a, '--json')).code).toBe(EXIT.EVIDENCE_INVALID);
  });

  it('E_UNTRUSTED_ISSUER: a key that is not trusted', async () => {
    const a = await issued();
    await fails(
      ['artifact', 'verify', a, '--trust', `${K.stranger}.pub`],
      EXIT.EVIDENCE_INVALID,
      'E_UNTRUSTED_ISSUER',
    );
  });

  it('E_EXPIRED and E_NOT_YET_VALID at --at, within --skew', async () => {
    const a = await issued('--not-before', '@2000000000', '--ttl', '1h');
    expect((await verify(a, '--at', '@2000001000')).code).toBe(EXIT.OK);
    await verifyFails(a, 'E_NOT_YET_VALID', ['--at', '@1999999999'], /valid from 2033-05-18T03:33:20Z/);
    expect((await verify(a, '--at', '@1999999999', '--skew', '1s')).code).toBe(EXIT.OK);
    await verifyFails(a, 'E_EXPIRED', ['--at', '2033-05-18T04:33:20Z']);
    expect((await verify(a, '--at', '2033-05-18T04:33:20Z', '--skew', '1')).code).toBe(EXIT.OK);
    await verifyFails(a, 'E_NOT_YET_VALID');
    await usage(['artifact', 'verify', a, '--trust', `${K.iss}.pub`, '--at', 'now'], /--at must be ISO 8601/);
    await usage(
      ['artifact', 'verify', a, '--trust', `${K.iss}.pub`, '--skew', '-1'],
      /Option '--skew' argument is ambiguous/,
    );
    await usage(
      ['artifact', 'verify', a, '--trust', `${K.iss}.pub`, '--skew', 'lots'],
      /--skew must be a duration/,
    );
  });

  it('E_APPROVAL: K of the approvers; K−1, an approver outside the set, and approver flags', async () => {
    const a = await issued();
    const policy = (k: string, ...approvers: string[]) => [
      ...approvers.flatMap((p) => ['--approver', p]),
      '--approvals',
      k,
    ];
    await verifyFails(a, 'E_APPROVAL', policy('1', `${K.appr1}.pub`), /0 of the 1 required approvals/);
    await ok(['artifact', 'approve', a, '--key', K.appr1]);
    expect((await verify(a, ...policy('1', `${K.appr1}.pub`))).stdout).toMatch(
      /approvals: 1 valid of 1 required/,
    );
    await verifyFails(
      a,
      'E_APPROVAL',
      policy('2', `${K.appr1}.pub`, `${K.appr2}.pub`),
      /1 of the 2 required/,
    );
    await ok(['artifact', 'approve', a, '--key', K.appr2]);
    const both = await verify(a, '--json', ...policy('2', `${K.appr1}.pub`, `${K.appr2}.pub`));
    expect(both.code).toBe(EXIT.OK);
    expect(JSON.parse(both.stdout).approvedBy).toHaveLength(2);
    // The approver set as a directory of *.pub files.
    const approvers = join(dir, 'approvers');
    await mkdir(approvers);
    for (const k of [K.appr1, K.appr2])
      await writeFile(join(approvers, `${k.split('/').pop()}.pub`), await readFile(`${k}.pub`));
    expect((await verify(a, ...policy('2', approvers))).code).toBe(EXIT.OK);
    // A countersignature by a key outside the set is refused, however many others there are.
    await verifyFails(a, 'E_APPROVAL', policy('1', `${K.appr1}.pub`), /not an approver of the policy/);
    // Without --approver, approvals are not checked and say so.
    expect((await verify(a)).stdout).toMatch(/approvals: 2 present, not checked/);
    await usage(
      ['artifact', 'verify', a, '--trust', `${K.iss}.pub`, '--approver', `${K.appr1}.pub`],
      /--approver PUB\|DIR and --approvals K go together/,
    );
    await usage(['artifact', 'verify', a, '--trust', `${K.iss}.pub`, '--approvals', '1'], /go together/);
    await usage(
      [
        'artifact',
        'verify',
        a,
        '--trust',
        `${K.iss}.pub`,
        ...policy('2', `${K.appr1}.pub`, `${K.appr1}.pub`),
      ],
      /--approvals must be an integer 0\.\.1/,
    );
    await usage(
      ['artifact', 'verify', a, '--trust', `${K.iss}.pub`, ...policy('0', `${K.appr1}.pub`)],
      /--approvals must be at least 1/,
    );
  });

  it('E_LINEAGE: a child whose chain was swapped for another parent granting the same key', async () => {
    const grant = ['--delegate-key', `${K.del}.pub`, '--delegate-depth', '0'];
    const p1 = await issued(...grant);
    const p2 = await issued(...grant);
    const c2 = file('c2');
    await ok([
      'artifact',
      'delegate',
      '--parent',
      p2,
      '--key',
      K.del,
      '--issuer',
      'team',
      '--exe',
      exe,
      '--ttl',
      '1m',
      '--out',
      c2,
    ]);
    // The chain is unsigned (only the parent digest binds it): every signature stays valid.
    const child = decodeArtifact(new Uint8Array(await readFile(c2)));
    const other = decodeArtifact(new Uint8Array(await readFile(p1)));
    const swapped = join(dir, 'swapped.cose');
    await writeFile(swapped, withUnprotected(child.cose, new Map([[CHAIN_LABEL, [chainEntry(other)]]])));
    await verifyFails(swapped, 'E_LINEAGE', [], /the artifact: parent is not the digest of the root/);
  });

  it('E_FORMAT: not CBOR, truncated, trailing bytes', async () => {
    const a = new Uint8Array(await readFile(await issued()));
    const cases: [string, Uint8Array][] = [
      ['text', new TextEncoder().encode('hello')],
      ['truncated', a.subarray(0, a.length - 1)],
      ['trailing', new Uint8Array([...a, 0])],
      ['empty', new Uint8Array(0)],
    ];
    for (const [name, bytes] of cases) {
      const f = join(dir, `format-${name}.cose`);
      await writeFile(f, bytes);
      await verifyFails(f, 'E_FORMAT');
      const j = JSON.parse((await verify(f, '--json')).stdout);
      expect(j).toMatchObject({ verdict: 'invalid', code: 'E_FORMAT' });
      expect(j.claims).toBeUndefined();
    }
  });

  it('E_REVOKED: by cti, by the signing kid, and a revoked ancestor denies its descendant', async () => {
    const p = await issued('--delegate-key', `${K.del}.pub`, '--delegate-depth', '0');
    const c = file('child');
    await ok([
      'artifact',
      'delegate',
      '--parent',
      p,
      '--key',
      K.del,
      '--issuer',
      'team',
      '--exe',
      exe,
      '--ttl',
      '1m',
      '--out',
      c,
    ]);
    const cti = async (f: string) => (await claims(f)).cti as string;
    const list = async (...what: string[]) => {
      const out = file('list');
      await ok(['revoke', '--key', K.iss, '--issuer', 'ops', ...what, '--out', out]);
      return out;
    };
    await verifyFails(
      c,
      'E_REVOKED',
      ['--revoked', await list('--cti', await cti(c))],
      /the artifact \(cti [0-9a-f]{32}\) is revoked/,
    );
    const ancestor = await list('--cti', await cti(p));
    await verifyFails(
      c,
      'E_REVOKED',
      ['--revoked', ancestor],
      /its ancestor chain\[0\] \(cti [0-9a-f]{32}\) is revoked/,
    );
    await verifyFails(p, 'E_REVOKED', ['--revoked', ancestor]);
    const delKid = (await ok(['key', 'id', `${K.del}.pub`])).stdout.trim();
    await verifyFails(c, 'E_REVOKED', ['--revoked', await list('--kid', delKid)], /signed by revoked key/);
    expect((await verify(p, '--revoked', await list('--kid', delKid))).code).toBe(EXIT.OK);
    // A list that names neither: valid.
    expect((await verify(c, '--revoked', await list('--cti', randomBytes(16).toString('hex')))).code).toBe(
      EXIT.OK,
    );
  });

  it('revocation lists: the newest of each key counts, in any order; an untrusted or conflicting list is E_REVOCATION_LIST', async () => {
    const a = await issued();
    const cti = Buffer.from((await claims(a)).cti, 'hex');
    const iss = parseSigningKey(await readFile(K.iss));
    const write = async (bytes: Uint8Array) => {
      const f = file('list');
      await writeFile(f, bytes);
      return f;
    };
    const now = Math.floor(Date.now() / 1000);
    // List 1 revokes the artifact; list 2 (the issuer changed its mind) does not.
    const older = await write(
      issueRevocationList({ iss: 'ops', seq: 1, iat: now, ctis: [cti], kids: [] }, iss),
    );
    const newer = await write(
      issueRevocationList({ iss: 'ops', seq: 2, iat: now, ctis: [randomBytes(16)], kids: [] }, iss),
    );
    await verifyFails(a, 'E_REVOKED', ['--revoked', older]);
    expect((await verify(a, '--revoked', older, '--revoked', newer)).code).toBe(EXIT.OK);
    expect((await verify(a, '--revoked', newer, '--revoked', older)).code).toBe(EXIT.OK);
    // The other way round: the newer list revokes, and an older one given with it changes nothing.
    const revoking = await write(
      issueRevocationList({ iss: 'ops', seq: 3, iat: now, ctis: [cti], kids: [] }, iss),
    );
    await verifyFails(a, 'E_REVOKED', ['--revoked', revoking, '--revoked', newer]);
    // Signed by a key that is not trusted: refused, not ignored.
    const foreign = file('foreign');
    await ok([
      'revoke',
      '--key',
      K.stranger,
      '--issuer',
      'x',
      '--cti',
      randomBytes(16).toString('hex'),
      '--out',
      foreign,
    ]);
    await verifyFails(
      a,
      'E_REVOCATION_LIST',
      ['--revoked', foreign],
      /--revoked .*foreign.*: signed by kid [0-9a-f]{64}, not a trusted issuer key/,
    );
    // Two different lists under one number from one key.
    const twin = await write(
      issueRevocationList({ iss: 'ops', seq: 2, iat: now, ctis: [], kids: [randomBytes(32)] }, iss),
    );
    await verifyFails(
      a,
      'E_REVOCATION_LIST',
      ['--revoked', newer, '--revoked', twin],
      /two different lists numbered 2/,
    );
    const junk = join(dir, 'junk-list');
    await writeFile(junk, 'junk');
    await verifyFails(a, 'E_REVOCATION_LIST', ['--revoked', junk]);
  });

  it('flags: one FILE, --trust required; keys that cannot be read or used', async () => {
    const a = await issued();
    await usage(['artifact', 'verify', '--trust', `${K.iss}.pub`], /one artifact FILE/);
    await usage(['artifact', 'verify', a], /--trust PUB\|DIR is required/);
    const empty = join(dir, 'empty-trust');
    await mkdir(empty);
    await usage(['artifact', 'verify', a, '--trust', empty], /no \*\.pub or \*\.pem key in the directory/);
    await fails(['artifact', 'verify', a, '--trust', join(dir, 'absent.pub')], EXIT.USAGE, 'E_INPUT_READ');
    const secrets = join(dir, 'secret-trust');
    await mkdir(secrets);
    await writeFile(join(secrets, 'ops.pem'), await readFile(K.iss));
    await usage(['artifact', 'verify', a, '--trust', secrets], /holds a private key/);
    await fails(
      ['artifact', 'verify', join(dir, 'absent.cose'), '--trust', `${K.iss}.pub`],
      EXIT.USAGE,
      'E_INPUT_READ',
    );
  });

  it('artifact --help has an example', async () => {
    const r = await cli(['artifact', '--help']);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toMatch(/Example:\n {2}execgate key gen/);
    expect(r.stdout).toMatch(/--any-args/);
    // A command's own --help: its usage, its flags and the group's examples that run it (issue 15).
    const verify = (await cli(['artifact', 'verify', '--help'])).stdout;
    expect(verify).toMatch(/^Usage: execgate artifact verify FILE /);
    expect(verify).toMatch(/^Examples?:\n {2}execgate artifact verify reboot.cose /m);
  });
});

describe('artifact issue --pcrs --quote: the state a verified quote attests (swtpm)', () => {
  it('the digest of the quoted SHA-256 values; another selection, nonce or AK is refused', async () => {
    const tcti = ['--tcti', swtpm().tcti];
    await ok([...tcti, 'host', 'init']);
    const id = JSON.parse((await ok([...tcti, 'host', 'identity', '--json'])).stdout) as {
      akPublicPem: string;
      akName: string;
    };
    const ak = join(dir, 'ak.pem');
    await writeFile(ak, id.akPublicPem);
    const hostJson = join(dir, 'swtpm-host.json');
    await writeFile(hostJson, JSON.stringify(id));
    // Something in the PCRs, so the digest is not that of zeros.
    await ok([...tcti, 'tpm', 'extend', '3', '--bank', 'sha256', '--digest', 'aa'.repeat(32)]);
    const nonce = randomBytes(16).toString('hex');
    const bundle = join(dir, 'quote.cbor');
    await ok([...tcti, 'quote', '--pcrs', 'sha256:0-7', '--nonce', nonce, '--out', bundle]);
    const pcrs = JSON.parse(
      (await ok([...tcti, '--json', 'tpm', 'pcrs', '--bank', 'sha256', '--pcrs', '0-7'])).stdout,
    ).sha256 as Record<string, string>;
    const expected = sha256hex(
      Buffer.concat([0, 1, 2, 3, 4, 5, 6, 7].map((p) => Buffer.from(pcrs[String(p)] ?? '', 'hex'))),
    );
    // For a SHA-256 AK it is the quote's own pcrDigest.
    const attest = unmarshal(TPMS_ATTEST, decodeBundle(new Uint8Array(await readFile(bundle))).attest);
    if (attest.type !== 0x8018) throw new Error('not a quote');
    expect(Buffer.from(attest.attested.pcrDigest).toString('hex')).toBe(expected);

    const base = [
      'artifact',
      'issue',
      '--key',
      K.iss,
      '--issuer',
      'ops',
      '--host-identity',
      hostJson,
      '--exe',
      exe,
      '--ttl',
      '10m',
    ];
    const out = file('quoted');
    await ok([
      ...base,
      '--pcrs',
      'sha256:0-7',
      '--quote',
      bundle,
      '--ak',
      ak,
      '--nonce',
      nonce,
      '--out',
      out,
    ]);
    const c = await claims(out);
    expect(c.sub).toBe(id.akName);
    expect(c.state).toEqual({ bank: 'sha256', pcrs: [0, 1, 2, 3, 4, 5, 6, 7], digest: expected });

    const q = (sel: string, n: string, key = ak) => [
      ...base,
      '--pcrs',
      sel,
      '--quote',
      bundle,
      '--ak',
      key,
      '--nonce',
      n,
      '--out',
      file(),
    ];
    await fails(q('sha256:0-3', nonce), EXIT.EVIDENCE_INVALID, 'E_QUOTE_SELECTION');
    await fails(q('sha256:0-7', '00'), EXIT.EVIDENCE_INVALID, 'E_QUOTE_NONCE');
    await writeFile(join(dir, 'other-ak.pem'), await readFile(`${K.del}.pub`));
    await fails(
      q('sha256:0-7', nonce, join(dir, 'other-ak.pem')),
      EXIT.EVIDENCE_INVALID,
      'E_QUOTE_SIGNATURE',
    );
    await usage(
      [...base, '--pcrs', 'sha256:0-7', '--quote', bundle, '--nonce', nonce, '--out', file()],
      /--quote, --ak and --nonce go together/,
    );
    await usage(
      [...base, '--pcrs', 'sha256:0-7', '--ak', ak, '--nonce', nonce, '--out', file()],
      /--quote, --ak and --nonce go together/,
    );
  });
});
