// SPDX-License-Identifier: Apache-2.0
// The policy file and its policy.d fragments as loadPolicy reads them: fragments add [[issuer]] and
// [[approval]] entries in name order (anything else in one is E_CONFIG naming the fragment and the TOML
// path), and every one of these files is read only where no other user could have written it. Each
// unsafe case is written as the attack: a local user who may rewrite, replace or add a policy file chooses
// who may run what. "Another user" needs chown, so that case runs only as root.
import { chmod, chown, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, defaultPolicy, loadPolicy } from '../../agent/config/index.js';

const NOBODY = 65534;
// Giving a file to another user (chown) takes root: CI runs as root and runs these; a non-root run
// reports them as skipped rather than passing them unseen.
const isRoot = process.geteuid?.() === 0;

let dir: string;
let policy: string;
let fragments: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'execgate-fragments-'));
  policy = join(dir, 'policy.toml');
  fragments = join(dir, 'policy.d');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const issuer = (name: string, key = `${name}.pub`, exe = '/usr/bin/') =>
  `[[issuer]]\nname = "${name}"\nkey = "${key}"\nexe = ["${exe}"]\n`;

/** Writes a file as an operator would: ours, 0644 (whatever the umask). */
async function put(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o644 });
  await chmod(path, 0o644);
}

async function fragmentDir(): Promise<void> {
  await mkdir(fragments, { mode: 0o755 });
  await chmod(fragments, 0o755);
}

async function refusal(file = policy): Promise<ConfigError> {
  const e = await loadPolicy(file).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ConfigError);
  const c = e as ConfigError;
  expect(c.code).toBe('E_CONFIG');
  expect(c.message).not.toContain('\n');
  return c;
}

describe('policy.d fragments', () => {
  it('no policy.d is fine: the file alone', async () => {
    await put(policy, issuer('ops'));
    const p = await loadPolicy(policy);
    expect(p.fragments).toEqual([]);
    expect(p.issuers.map((i) => i.name)).toEqual(['ops']);
  });

  it('add issuers and approvals after the file’s, in name order; other names ignored; paths relative to policy.d', async () => {
    await put(
      policy,
      `${issuer('ops')}[[approval]]\nexe = ["/usr/sbin/"]\napprovers = ["a.pub"]\nrequired = 1\n`,
    );
    await fragmentDir();
    await put(join(fragments, '20-ci.toml'), issuer('ci', 'keys/ci.pub', '/srv/ci/'));
    await put(
      join(fragments, '10-web.toml'),
      `${issuer('web', '/etc/keys/web.pub')}${issuer('web2')}[[approval]]\nexe = ["/srv/web/bin/restart"]\napprovers = ["alice.pub", "../bob.pub"]\nrequired = 2\n`,
    );
    await put(join(fragments, 'README'), 'not a fragment');
    await put(join(fragments, '30-old.toml.bak'), '[host]\nmode = "audit"');
    await put(join(fragments, '.05-editor.toml'), '[host]\nmode = "audit"');
    await mkdir(join(fragments, 'keys'), { mode: 0o755 });

    const p = await loadPolicy(policy);
    expect(p.fragments).toEqual([join(fragments, '10-web.toml'), join(fragments, '20-ci.toml')]);
    expect(p.host.mode).toBe('enforce');
    expect(p.issuers.map((i) => [i.name, i.key, i.origin])).toEqual([
      ['ops', join(dir, 'ops.pub'), { file: policy, at: 'issuer[0]' }],
      ['web', '/etc/keys/web.pub', { file: join(fragments, '10-web.toml'), at: 'issuer[0]' }],
      ['web2', join(fragments, 'web2.pub'), { file: join(fragments, '10-web.toml'), at: 'issuer[1]' }],
      ['ci', join(fragments, 'keys/ci.pub'), { file: join(fragments, '20-ci.toml'), at: 'issuer[0]' }],
    ]);
    expect(p.approvals.map((a) => [a.exe, a.approvers, a.required, a.origin])).toEqual([
      [['/usr/sbin/'], [join(dir, 'a.pub')], 1, { file: policy, at: 'approval[0]' }],
      [
        ['/srv/web/bin/restart'],
        [join(fragments, 'alice.pub'), join(dir, 'bob.pub')],
        2,
        { file: join(fragments, '10-web.toml'), at: 'approval[0]' },
      ],
    ]);
  });

  it.each([
    ['[host]\nmode = "audit"', 'host'],
    ['[breakglass]\nkey = "mine.pub"', 'breakglass'],
    ['[revocation]\nlists = []', 'revocation'],
    ['[audit]\ncheckpoint_entries = 1', 'audit'],
    ['mode = "audit"', 'mode'],
  ])(
    'a fragment may not change the host’s settings: %s is E_CONFIG naming the fragment',
    async (toml, at) => {
      await put(policy, issuer('ops'));
      await fragmentDir();
      const f = join(fragments, '50-sneaky.toml');
      await put(f, `${toml}\n${issuer('web')}`);
      const e = await refusal();
      expect(e.file).toBe(f);
      expect(e.at).toBe(at);
      expect(e.message).toBe(
        `policy fragment ${f}: ${at} is not allowed here: a policy.d fragment adds [[issuer]] and [[approval]] tables only; everything else belongs in the policy file`,
      );
    },
  );

  it('a malformed entry or bad TOML in a fragment names the fragment and the TOML path', async () => {
    await put(policy, issuer('ops'));
    await fragmentDir();
    const f = join(fragments, '10-web.toml');
    await put(f, `${issuer('web')}${issuer('web2', 'w.pub', 'usr/bin/')}`);
    const e = await refusal();
    expect([e.file, e.at]).toEqual([f, 'issuer[1].exe']);
    expect(e.message).toMatch(new RegExp(`^policy fragment ${f}: issuer\\[1\\]\\.exe must be an array`));

    await put(f, `${issuer('web')}unknown = 1\n`);
    expect((await refusal()).message).toMatch(
      /^policy fragment .*10-web\.toml: issuer\[0\]\.unknown is not a known key/,
    );

    await put(f, '[[issuer]\n');
    const syntax = await refusal();
    expect(syntax.file).toBe(f);
    expect(syntax.message).toMatch(/^policy fragment .*10-web\.toml: not valid TOML at line 1, column/);

    await writeFile(f, Buffer.from([0x23, 0xe9, 0x0a]));
    expect((await refusal()).message).toBe(`policy fragment ${f}: not UTF-8 text`);
  });

  it('a fragment that is a directory is refused, not skipped', async () => {
    await put(policy, issuer('ops'));
    await fragmentDir();
    await mkdir(join(fragments, 'x.toml'), { mode: 0o755 });
    expect((await refusal()).message).toMatch(/x\.toml is not a regular file/);
  });
});

describe('who may have written the policy (every file and directory it is read from)', () => {
  it('a group member rewrites the policy file to trust their key: a group-writable policy is refused', async () => {
    await put(policy, issuer('ops'));
    await chmod(policy, 0o664);
    const e = await refusal();
    expect(e.file).toBe(policy);
    expect(e.message).toBe(
      `policy ${policy} is writable by group or others (mode 664): chmod go-w ${policy}`,
    );
  });

  it('a user points the policy path at their own file: a policy that is a symbolic link is refused', async () => {
    const theirs = join(dir, 'theirs.toml');
    await put(theirs, issuer('evil'));
    await symlink(theirs, policy);
    expect((await refusal()).message).toMatch(/^policy .*policy\.toml is a symbolic link/);
  });

  it('a user swaps the policy in a directory anyone may write to: refused, saying which directory', async () => {
    const shared = join(dir, 'shared');
    await mkdir(shared);
    await chmod(shared, 0o777);
    await put(join(shared, 'policy.toml'), issuer('ops'));
    const e = await refusal(join(shared, 'policy.toml'));
    expect(e.message).toBe(
      `directory ${shared} is writable by others (mode 777) and not sticky: chmod go-w ${shared}`,
    );
  });

  it('a user drops their own fragment into a policy.d anyone may write to, even a sticky one: refused', async () => {
    await put(policy, issuer('ops'));
    await fragmentDir();
    for (const mode of [0o777, 0o1777, 0o775]) {
      await chmod(fragments, mode);
      const e = await refusal();
      // 0777 fails checkDir's rule too; 1777 and 0775 only the stricter one for policy.d.
      expect(e.message).toMatch(/^policy fragments: (directory )?\/\S+\/policy\.d is writable by /);
      expect(e.message).toContain(`(mode ${mode.toString(8)})`);
      expect(e.message.endsWith(`: chmod go-w ${fragments}`)).toBe(true);
    }
  });

  it('a user replaces policy.d with a link to their directory, or a fragment with a link to their file: refused', async () => {
    await put(policy, issuer('ops'));
    const theirs = join(dir, 'theirs');
    await mkdir(theirs, { mode: 0o755 });
    await put(join(theirs, 'evil.toml'), issuer('evil'));
    await symlink(theirs, fragments);
    expect((await refusal()).message).toMatch(/policy\.d is a symbolic link/);

    await rm(fragments);
    await fragmentDir();
    await symlink(join(theirs, 'evil.toml'), join(fragments, '10-evil.toml'));
    expect((await refusal()).message).toMatch(/^policy fragment .*10-evil\.toml is a symbolic link/);
  });

  it('a group member rewrites a fragment: a group-writable fragment is refused', async () => {
    await put(policy, issuer('ops'));
    await fragmentDir();
    const f = join(fragments, '10-web.toml');
    await put(f, issuer('web'));
    await chmod(f, 0o664);
    const e = await refusal();
    expect(e.file).toBe(f);
    expect(e.message).toBe(`policy fragment ${f} is writable by group or others (mode 664): chmod go-w ${f}`);
  });

  // Making a file another user's needs chown, so root: CI and this project's test machines run as root.
  it.skipIf(!isRoot)('another user’s policy, fragment or policy.d is refused: chown', async () => {
    await put(policy, issuer('ops'));
    await chown(policy, NOBODY, NOBODY);
    expect((await refusal()).message).toBe(
      `policy ${policy} is owned by another user (uid ${NOBODY}): chown root ${policy}`,
    );
    await chown(policy, 0, 0);
    await fragmentDir();
    const f = join(fragments, '10-web.toml');
    await put(f, issuer('web'));
    await chown(f, NOBODY, NOBODY);
    expect((await refusal()).message).toMatch(/10-web\.toml is owned by another user/);
    await chown(f, 0, 0);
    await chown(fragments, NOBODY, NOBODY);
    expect((await refusal()).message).toMatch(
      new RegExp(`^policy fragments: directory ${fragments} is owned by another user`),
    );
  });

  it('with missingOk, a missing policy (even its directory) is the defaults; without, E_CONFIG', async () => {
    expect(await loadPolicy(join(dir, 'absent', 'policy.toml'), { missingOk: true })).toEqual(
      defaultPolicy(),
    );
    const e = await refusal(join(dir, 'absent.toml'));
    expect(e.message).toMatch(/^policy: cannot read ".*absent\.toml" \(ENOENT/);
  });
});
