// SPDX-License-Identifier: Apache-2.0
// The effective trust (config/trust.ts): every key file the policy names loads (Ed25519, P-256, P-384),
// issuers and approval rules keep their rules and origin, revocation lists verify under an issuer or the
// break-glass key and the newest of each signer counts, the reference state parses. Each refusal is
// E_CONFIG naming the file and TOML path. A planted key is the main attack on a gate, so each unsafe key
// file case is written as the attack first. exeMatches: prefix semantics as a property, no ".." tricks.
import { chmod, chown, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { issueRevocationList } from '../../agent/artifact/revocation.js';
import {
  type ApprovalTrust,
  approvalsFor,
  ConfigError,
  exeMatches,
  type HostTrust,
  issuersFor,
  loadPolicy,
  loadTrust,
} from '../../agent/config/index.js';
import {
  generateSigningKey,
  parsePublicKey,
  parseSigningKey,
  type SigningAlg,
  type SigningKey,
} from '../../agent/crypto/keys.js';
import { toHex } from '../../agent/encoding/bytes.js';

const NOBODY = 65534;
// Giving a file to another user (chown) takes root: CI runs as root and runs these; a non-root run
// reports them as skipped rather than passing them unseen.
const isRoot = process.geteuid?.() === 0;

const REFERENCE = JSON.stringify({
  execgate: 'reference-state',
  version: 1,
  created: '2026-01-01T00:00:00.000Z',
  host: {},
  pcrs: { sha256: { '0': '00'.repeat(32) } },
  rules: { secureBoot: 'any' },
});

/** Key pairs made once: signing halves by name, and their SPKI PEMs. */
const pairs = new Map<string, { key: SigningKey; pem: string }>();
function pair(name: string, alg: SigningAlg = 'ed25519') {
  let p = pairs.get(name);
  if (!p) {
    const g = generateSigningKey(alg);
    p = { key: parseSigningKey(Buffer.from(g.privatePem)), pem: g.publicPem };
    pairs.set(name, p);
  }
  return p;
}

let dir: string;
let policy: string;
beforeAll(() => {
  pair('ops', 'ed25519');
  pair('ci', 'p256');
  pair('web', 'p384');
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'execgate-trust-'));
  policy = join(dir, 'policy.toml');
  await mkdir(join(dir, 'keys'), { mode: 0o755 });
  await chmod(join(dir, 'keys'), 0o755);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes a file as an operator would: ours, 0644 (whatever the umask). */
async function put(path: string, data: string | Uint8Array): Promise<void> {
  await writeFile(path, data, { mode: 0o644 });
  await chmod(path, 0o644);
}

/** keys/NAME.pub: the public half of `pair(name)`. */
async function pub(name: string, alg?: SigningAlg): Promise<string> {
  const path = join(dir, 'keys', `${name}.pub`);
  await put(path, pair(name, alg).pem);
  return path;
}

const issuer = (name: string, exe = '/usr/bin/', key = `keys/${name}.pub`) =>
  `[[issuer]]\nname = "${name}"\nkey = "${key}"\nexe = ["${exe}"]\n`;

async function trustOf(text: string): Promise<HostTrust> {
  await put(policy, text);
  return loadTrust(await loadPolicy(policy));
}

async function refusal(text: string): Promise<ConfigError> {
  const e = await trustOf(text).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ConfigError);
  const c = e as ConfigError;
  expect(c.code).toBe('E_CONFIG');
  expect(c.message).not.toContain('\n');
  return c;
}

const cti = (n: number) => new Uint8Array(16).fill(n);

describe('loadTrust', () => {
  it('loads every table: issuers (three algorithms, one from a fragment), approvals, break-glass, revocation, reference', async () => {
    for (const n of ['ops', 'ci', 'web', 'alice', 'bob', 'carol', 'bg']) await pub(n);
    await mkdir(join(dir, 'policy.d'), { mode: 0o755 });
    await chmod(join(dir, 'policy.d'), 0o755);
    await put(join(dir, 'policy.d', '10-web.toml'), issuer('web', '/srv/web/', '../keys/web.pub'));
    const ops = pair('ops').key;
    await put(
      join(dir, 'revoked.cbor'),
      issueRevocationList(
        { iss: 'ops', seq: 1, iat: 1_800_000_000, ctis: [cti(1)], kids: [pair('bob').key.kid] },
        ops,
      ),
    );
    await put(join(dir, 'reference.json'), REFERENCE);
    const t = await trustOf(`
      [host]
      reference = "reference.json"
      groups = ["web"]
      [breakglass]
      key = "keys/bg.pub"
      max_ttl = "5m"
      ${issuer('ops')}
      max_ttl = "2h"
      [[issuer]]
      name = "ci"
      key = "keys/ci.pub"
      exe = ["/srv/ci/", "/opt/app/bin/deploy"]
      delegation = true
      [[approval]]
      exe = ["/usr/sbin/"]
      approvers = ["keys/alice.pub", "keys/bob.pub", "keys/carol.pub"]
      required = 2
      [[approval]]
      exe = ["/usr/sbin/reboot"]
      approvers = ["keys/carol.pub"]
      required = 1
      [revocation]
      lists = ["revoked.cbor"]
      epoch_nv_index = "0x01800101"
    `);
    expect(t.policy.host.groups).toEqual(['web']);
    expect(
      t.issuers.map((i) => [
        i.name,
        i.key.alg,
        toHex(i.key.kid),
        i.key.file,
        i.exe,
        i.maxTtlSeconds,
        i.delegation,
      ]),
    ).toEqual([
      ['ops', 'ed25519', toHex(pair('ops').key.kid), join(dir, 'keys/ops.pub'), ['/usr/bin/'], 7200, false],
      [
        'ci',
        'p256',
        toHex(pair('ci').key.kid),
        join(dir, 'keys/ci.pub'),
        ['/srv/ci/', '/opt/app/bin/deploy'],
        3600,
        true,
      ],
      ['web', 'p384', toHex(pair('web').key.kid), join(dir, 'keys/web.pub'), ['/srv/web/'], 3600, false],
    ]);
    expect(t.issuers.map((i) => i.origin)).toEqual([
      { file: policy, at: 'issuer[0]' },
      { file: policy, at: 'issuer[1]' },
      { file: join(dir, 'policy.d', '10-web.toml'), at: 'issuer[0]' },
    ]);
    expect(t.approvals).toHaveLength(2);
    expect(t.approvals[0]?.approvers.map((k) => toHex(k.kid))).toEqual(
      ['alice', 'bob', 'carol'].map((n) => toHex(pair(n).key.kid)),
    );
    expect(t.approvals[0]?.approvers.map((k) => k.file)).toEqual(
      ['alice', 'bob', 'carol'].map((n) => join(dir, `keys/${n}.pub`)),
    );
    expect(t.approvals[0]?.required).toBe(2);
    // carol's key file, named by two rules, is the same key.
    expect(toHex(t.approvals[1]?.approvers[0]?.kid ?? new Uint8Array())).toBe(toHex(pair('carol').key.kid));
    expect(
      t.breakglass && [toHex(t.breakglass.key.kid), t.breakglass.key.file, t.breakglass.maxTtlSeconds],
    ).toEqual([toHex(pair('bg').key.kid), join(dir, 'keys/bg.pub'), 300]);
    expect(
      t.revocationLists.map((l) => [l.file, l.list.iss, l.list.seq, l.list.iat, toHex(l.list.signer)]),
    ).toEqual([[join(dir, 'revoked.cbor'), 'ops', 1, 1_800_000_000, toHex(ops.kid)]]);
    expect([...t.revoked.ctis]).toEqual([toHex(cti(1))]);
    expect([...t.revoked.kids]).toEqual([toHex(pair('bob').key.kid)]);
    expect(t.reference?.file).toBe(join(dir, 'reference.json'));
    expect(t.reference?.state.rules.secureBoot).toBe('any');

    expect(issuersFor(t, '/usr/bin/ls').map((i) => i.name)).toEqual(['ops']);
    expect(issuersFor(t, '/opt/app/bin/deploy').map((i) => i.name)).toEqual(['ci']);
    expect(issuersFor(t, '/opt/app/bin/deploy2')).toEqual([]);
    expect(issuersFor(t, '/srv/web/../ci/x')).toEqual([]);
    // The rule naming it most closely applies (an exact path before its directory's prefix).
    expect(approvalsFor(t, '/usr/sbin/reboot').map((a) => a.origin.at)).toEqual(['approval[1]']);
    expect(approvalsFor(t, '/usr/sbin/ip').map((a) => a.origin.at)).toEqual(['approval[0]']);
    expect(approvalsFor(t, '/usr/bin/ls')).toEqual([]);
    // Rules that name it equally closely all apply.
    const tied = {
      ...t,
      approvals: [
        ...t.approvals,
        { ...(t.approvals[0] as ApprovalTrust), origin: { file: undefined, at: 'approval[2]' } },
      ],
    };
    expect(approvalsFor(tied, '/usr/sbin/ip').map((a) => a.origin.at)).toEqual([
      'approval[0]',
      'approval[2]',
    ]);
  });

  it('an empty policy trusts no one', async () => {
    const t = await trustOf('');
    expect(t).toMatchObject({
      issuers: [],
      approvals: [],
      breakglass: undefined,
      revocationLists: [],
      reference: undefined,
    });
    expect(t.revoked.ctis.size + t.revoked.kids.size).toBe(0);
  });
});

describe('a planted key is refused (the key file, and every directory above it)', () => {
  it('a member of the key file’s group replaces the issuer key with theirs: a group-writable key is refused', async () => {
    const k = await pub('ops');
    await chmod(k, 0o664);
    const e = await refusal(issuer('ops'));
    expect([e.file, e.at]).toEqual([policy, 'issuer[0].key']);
    expect(e.message).toBe(
      `policy ${policy}: issuer[0].key: key file ${k} is writable by group or others (mode 664): chmod go-w ${k}`,
    );
  });

  it('a user swaps the key file for a link to their own key: a symbolic link is refused', async () => {
    await put(join(dir, 'evil.pub'), pair('evil').pem);
    await symlink(join(dir, 'evil.pub'), join(dir, 'keys', 'ops.pub'));
    const e = await refusal(issuer('ops'));
    expect(e.at).toBe('issuer[0].key');
    expect(e.message).toMatch(/issuer\[0\]\.key: key file .*keys\/ops\.pub is a symbolic link/);
  });

  it('a user renames their key over ours in a world-writable, non-sticky directory: refused, naming it', async () => {
    const shared = join(dir, 'keys');
    await pub('alice');
    await chmod(shared, 0o777);
    const e = await refusal(
      '[[approval]]\nexe = ["/usr/sbin/"]\napprovers = ["keys/alice.pub"]\nrequired = 1\n',
    );
    expect(e.at).toBe('approval[0].approvers[0]');
    expect(e.message).toBe(
      `policy ${policy}: approval[0].approvers[0]: directory ${shared} is writable by others (mode 777) and not sticky: chmod go-w ${shared}`,
    );
  });

  it('a key of ours in a sticky shared directory (as /tmp) is fine: no one else may rename it', async () => {
    await pub('ops');
    await chmod(join(dir, 'keys'), 0o1777);
    expect((await trustOf(issuer('ops'))).issuers).toHaveLength(1);
  });

  it('a group-writable break-glass key, revocation list or reference is refused too', async () => {
    const bg = await pub('bg');
    await chmod(bg, 0o664);
    expect((await refusal('[breakglass]\nkey = "keys/bg.pub"')).at).toBe('breakglass.key');
    const ref = join(dir, 'reference.json');
    await put(ref, REFERENCE);
    await chmod(ref, 0o666);
    const e = await refusal('[host]\nreference = "reference.json"');
    expect(e.message).toBe(
      `policy ${policy}: host.reference: reference state ${ref} is writable by group or others (mode 666): chmod go-w ${ref}`,
    );
    await pub('ops');
    const list = join(dir, 'revoked.cbor');
    await put(
      list,
      issueRevocationList({ iss: 'ops', seq: 1, iat: 1, ctis: [cti(1)], kids: [] }, pair('ops').key),
    );
    await chmod(list, 0o620);
    expect((await refusal(`${issuer('ops')}[revocation]\nlists = ["revoked.cbor"]`)).at).toBe(
      'revocation.lists[0]',
    );
  });

  // Making a file another user's needs chown, so root: CI and this project's test machines run as root.
  it.skipIf(!isRoot)('another user’s key file is refused: chown', async () => {
    const k = await pub('ops');
    await chown(k, NOBODY, NOBODY);
    expect((await refusal(issuer('ops'))).message).toBe(
      `policy ${policy}: issuer[0].key: key file ${k} is owned by another user (uid ${NOBODY}): chown root ${k}`,
    );
  });
});

describe('refusals name the file and TOML path (E_CONFIG)', () => {
  it('a key file that is missing, not a key, an RSA key or a private key', async () => {
    expect((await refusal(issuer('ops'))).message).toMatch(
      /^policy .*: issuer\[0\]\.key: key file: cannot read ".*keys\/ops\.pub" \(ENOENT/,
    );
    const k = join(dir, 'keys', 'ops.pub');
    await put(k, 'not a key');
    expect((await refusal(issuer('ops'))).message).toMatch(
      /issuer\[0\]\.key: key file .*ops\.pub is not a DER SubjectPublicKeyInfo/,
    );
    const { generateKeyPairSync } = await import('node:crypto');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await put(k, rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString());
    expect((await refusal(issuer('ops'))).message).toMatch(/ops\.pub is rsa: use Ed25519, P-256 or P-384/);
    await put(k, generateSigningKey('ed25519').privatePem);
    expect((await refusal(issuer('ops'))).message).toMatch(/exactly one PEM "PUBLIC KEY" block, found 0/);
  });

  it('one issuer key in the policy file and again in a fragment (under another name) is refused at the fragment', async () => {
    await pub('ops');
    await mkdir(join(dir, 'policy.d'), { mode: 0o755 });
    await chmod(join(dir, 'policy.d'), 0o755);
    const f = join(dir, 'policy.d', '50-fleet.toml');
    // The same key, copied to another file: the kid, not the path, is what is compared.
    await put(join(dir, 'policy.d', 'fleet.pub'), pair('ops').pem);
    await put(f, issuer('fleet', '/', 'fleet.pub'));
    const e = await refusal(issuer('ops'));
    expect([e.file, e.at]).toEqual([f, 'issuer[0].key']);
    expect(e.message).toBe(
      `policy fragment ${f}: issuer[0].key: ${join(dir, 'policy.d', 'fleet.pub')} is the key of issuer "ops" (issuer[0] in ${policy}), kid ${toHex(pair('ops').key.kid)}: one key, one issuer`,
    );
  });

  it('two issuers of one name', async () => {
    await pub('ops');
    await pub('ci');
    const e = await refusal(`${issuer('ops')}${issuer('ops', '/srv/', 'keys/ci.pub')}`);
    expect(e.at).toBe('issuer[1].name');
    expect(e.message).toBe(
      `policy ${policy}: issuer[1].name: issuer "ops" is already declared (issuer[0] in ${policy})`,
    );
  });

  it('an approver listed twice in one rule (the same file, or the same key in two files) would count twice', async () => {
    await pub('alice');
    await put(join(dir, 'keys', 'alice-copy.pub'), pair('alice').pem);
    for (const second of ['keys/alice.pub', 'keys/alice-copy.pub']) {
      const e = await refusal(
        `[[approval]]\nexe = ["/usr/sbin/"]\napprovers = ["keys/alice.pub", "${second}"]\nrequired = 2\n`,
      );
      expect(e.at).toBe('approval[0].approvers[1]');
      expect(e.message).toContain(
        `is the same key as approvers[0] (${join(dir, 'keys/alice.pub')}, kid ${toHex(pair('alice').key.kid)})`,
      );
    }
  });

  it('a break-glass key that is also an issuer’s', async () => {
    await pub('ops');
    const e = await refusal(`${issuer('ops')}[breakglass]\nkey = "keys/ops.pub"`);
    expect(e.at).toBe('breakglass.key');
    expect(e.message).toMatch(/is the key of issuer "ops" .*: a break-glass artifact must be told apart/);
  });

  it('a revocation list signed by a key the policy does not trust (an attacker un-revoking with their own list)', async () => {
    await pub('ops');
    const list = join(dir, 'revoked.cbor');
    await put(
      list,
      issueRevocationList({ iss: 'ops', seq: 9, iat: 1, ctis: [], kids: [] }, pair('evil').key),
    );
    const e = await refusal(`${issuer('ops')}[revocation]\nlists = ["revoked.cbor"]`);
    expect([e.file, e.at]).toEqual([policy, 'revocation.lists[0]']);
    expect(e.message).toBe(
      `policy ${policy}: revocation.lists[0]: revocation list ${list}: signed by kid ${toHex(pair('evil').key.kid)}, not a trusted issuer key`,
    );
    // Approvers are not issuers: their keys sign no lists.
    await pub('alice');
    await put(
      list,
      issueRevocationList({ iss: 'alice', seq: 1, iat: 1, ctis: [], kids: [] }, pair('alice').key),
    );
    expect(
      (
        await refusal(
          `${issuer('ops')}[[approval]]\nexe = ["/x"]\napprovers = ["keys/alice.pub"]\nrequired = 1\n[revocation]\nlists = ["revoked.cbor"]`,
        )
      ).message,
    ).toMatch(/not a trusted issuer key/);
  });

  it('a revocation list whose bytes were changed, and one that is not a list', async () => {
    await pub('ops');
    const list = join(dir, 'revoked.cbor');
    const bytes = issueRevocationList(
      { iss: 'ops', seq: 1, iat: 1, ctis: [cti(1)], kids: [] },
      pair('ops').key,
    );
    const i = Buffer.from(bytes).indexOf(Buffer.from(cti(1)));
    bytes[i] = 2;
    await put(list, bytes);
    const text = `${issuer('ops')}[revocation]\nlists = ["revoked.cbor"]`;
    expect((await refusal(text)).message).toMatch(/revocation list .*: the signature does not verify$/);
    await put(list, 'junk');
    expect((await refusal(text)).message).toMatch(/revocation list .*: not a revocation list/);
  });

  it('the break-glass key signs lists too; the newest list of a signer counts, in whatever order they are named', async () => {
    await pub('ops');
    await pub('bg');
    const ops = pair('ops').key;
    await put(
      join(dir, 'r1.cbor'),
      issueRevocationList({ iss: 'ops', seq: 1, iat: 1, ctis: [cti(1)], kids: [] }, ops),
    );
    await put(
      join(dir, 'r2.cbor'),
      issueRevocationList({ iss: 'ops', seq: 2, iat: 2, ctis: [cti(1), cti(2)], kids: [] }, ops),
    );
    await put(
      join(dir, 'bg.cbor'),
      issueRevocationList({ iss: 'bg', seq: 1, iat: 3, ctis: [cti(3)], kids: [] }, pair('bg').key),
    );
    const t = await trustOf(
      `${issuer('ops')}[breakglass]\nkey = "keys/bg.pub"\n[revocation]\nlists = ["r2.cbor", "bg.cbor", "r1.cbor"]`,
    );
    expect(t.revocationLists.map((l) => [l.list.iss, l.list.seq])).toEqual([
      ['ops', 2],
      ['bg', 1],
      ['ops', 1],
    ]);
    expect([...t.revoked.ctis].sort()).toEqual([cti(1), cti(2), cti(3)].map(toHex));
    // Two different lists under one number from one signer: which is meant cannot be told.
    await put(
      join(dir, 'r1b.cbor'),
      issueRevocationList({ iss: 'ops', seq: 1, iat: 1, ctis: [cti(9)], kids: [] }, ops),
    );
    const e = await refusal(`${issuer('ops')}[revocation]\nlists = ["r1.cbor", "r1b.cbor"]`);
    expect(e.at).toBe('revocation.lists[1]');
    expect(e.message).toMatch(/two different lists numbered 1/);
  });

  it('a reference that is not a reference-state document', async () => {
    await put(join(dir, 'reference.json'), '{"execgate": "reference-state", "version": 2}');
    const e = await refusal('[host]\nreference = "reference.json"');
    expect(e.at).toBe('host.reference');
    expect(e.message).toMatch(/^policy .*: host\.reference: .*reference\.json: reference state \$/);
  });
});

describe('exeMatches', () => {
  it('exact paths and "/"-ended prefixes; nothing else', () => {
    const rule = ['/usr/bin/', '/opt/app/bin/deploy'];
    expect(exeMatches(rule, '/usr/bin/ls')).toBe(true);
    expect(exeMatches(rule, '/usr/bin/sub/dir/tool')).toBe(true);
    expect(exeMatches(rule, '/opt/app/bin/deploy')).toBe(true);
    for (const p of [
      '/usr/bin2/x',
      '/usr/bin',
      '/usr/bin/',
      '/usr/bin/../sbin/x',
      '/usr/bin/./ls',
      '/usr/bin//ls',
      'usr/bin/ls',
      '/opt/app/bin/deploy2',
      '/opt/app/bin/deploy/',
      '/opt/app/bin',
      '',
      '/',
    ])
      expect(exeMatches(rule, p), p).toBe(false);
    expect(exeMatches(['/'], '/usr/bin/ls')).toBe(true);
    expect(exeMatches([], '/usr/bin/ls')).toBe(false);
  });

  // Segments from a small alphabet, so that prefixes collide ("bin" and "bin2") and tricks appear.
  const segment = fc.constantFrom('usr', 'bin', 'bin2', 'b', 'x.sh', '..', '.', '', 'a b');
  const path = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => `/${s.join('/')}`);
  const normal = (p: string) =>
    p
      .split('/')
      .slice(1)
      .every((s) => s !== '' && s !== '.' && s !== '..');
  const rule = fc.array(
    fc.oneof(
      path,
      path.map((p) => `${p}/`),
    ),
    { maxLength: 3 },
  );

  it('property: matches exactly when the path is normalised and equals a path or starts with a prefix', () => {
    fc.assert(
      fc.property(rule, path, (r, p) => {
        const want = normal(p) && r.some((x) => (x.endsWith('/') ? p.startsWith(x) : p === x));
        expect(exeMatches(r, p)).toBe(want);
      }),
    );
  });

  it('property: no path with a "..", "." or empty segment matches any rule, even "/"', () => {
    fc.assert(
      fc.property(rule, path, (r, p) => {
        fc.pre(!normal(p));
        expect(exeMatches([...r, '/'], p)).toBe(false);
      }),
    );
  });

  it('property: a path under a prefix matches only at a "/" boundary (DIR/ never covers DIRx/…)', () => {
    fc.assert(
      fc.property(path, segment, path, (dir, extra, rest) => {
        fc.pre(normal(dir) && normal(rest) && extra !== '' && normal(`/${extra}`));
        expect(exeMatches([`${dir}/`], `${dir}${rest}`)).toBe(true);
        expect(exeMatches([`${dir}/`], `${dir}${extra}${rest}`)).toBe(false);
      }),
    );
  });
});

// parsePublicKey is the one key parser (crypto/keys.ts); the trust layer adds nothing to it.
it('a key file loads to the same key parsePublicKey gives', async () => {
  const k = await pub('ci', 'p256');
  const t = await trustOf(issuer('ci'));
  expect(t.issuers[0]?.key).toEqual({ ...parsePublicKey(Buffer.from(pair('ci').pem)), file: k });
});
