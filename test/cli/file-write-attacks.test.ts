// SPDX-License-Identifier: Apache-2.0
// Issue 11, finding 4: the agent runs as root, and a local user plants files where it writes. Each
// attack is tried through the command that writes: a symbolic link at the target pointing outside, a
// file another user (nobody) owns with mode 0666, a directory nobody owns, a directory that is a
// symbolic link. Each is refused (or, for a file replaced with --force, ends up root's and 0600), and
// nothing outside is written. Tests run as root, so "another user" is made with chown.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmod, chown, lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../agent/cli/exit.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { withTempDir } from '../tpm/swtpm-kit.js';
import { cli } from './helpers.js';

const NOBODY = 65534;
const swtpm = useSwtpm({ ek: true });
const tcti = () => ['--tcti', swtpm().tcti];

/** A directory "outside" with one victim file; returns a check that neither was touched. */
async function outside(dir: string): Promise<{ victim: string; untouched: () => Promise<void> }> {
  const out = join(dir, 'outside');
  await mkdir(out);
  const victim = join(out, 'victim');
  await writeFile(victim, 'precious\n', { mode: 0o644 });
  return {
    victim,
    untouched: async () => {
      expect(await readdir(out)).toEqual(['victim']);
      expect(await readFile(victim, 'utf8')).toBe('precious\n');
    },
  };
}

/** A directory owned by nobody (as a local user would make it), mode 0755. */
async function nobodyDir(path: string): Promise<string> {
  await mkdir(path);
  await chown(path, NOBODY, NOBODY);
  return path;
}

/** A file owned by nobody, mode 0666 (chmod after create: the umask would narrow it). */
async function nobodyFile(path: string, text = 'planted\n'): Promise<void> {
  await writeFile(path, text);
  await chown(path, NOBODY, NOBODY);
  await chmod(path, 0o666);
}

function expectRefused(r: { code: number; stderr: string }, code: RegExp): void {
  expect(r.code).not.toBe(EXIT.OK);
  expect(r.code).not.toBe(EXIT.FAILURE);
  expect(r.stderr).toMatch(code);
}

const EK_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();
const AK_NAME = `000b${randomBytes(32).toString('hex')}`;

async function credentialMake(dir: string, out: string, ...extra: string[]) {
  await writeFile(join(dir, 'ek.pem'), EK_PEM);
  return cli([
    ...['credential', 'make', '--ek-pub', join(dir, 'ek.pem'), '--ak-name', AK_NAME, '--unverified-ak-name'],
    ...['--secret', '00112233', '--out', out, ...extra],
  ]);
}

describe('credential make --out', () => {
  it('refuses a symbolic link at the target, with or without --force; nothing outside is written', async () => {
    await withTempDir(async (dir) => {
      const o = await outside(dir);
      await symlink(o.victim, join(dir, 'cred'));
      expectRefused(await credentialMake(dir, join(dir, 'cred')), /E_FILE_UNSAFE/);
      expectRefused(await credentialMake(dir, join(dir, 'cred'), '--force'), /E_FILE_UNSAFE/);
      await o.untouched();
      expect((await lstat(join(dir, 'cred'))).isSymbolicLink()).toBe(true);
    });
  });

  it("does not replace another user's file without --force; with it the file is root's", async () => {
    await withTempDir(async (dir) => {
      const target = join(dir, 'cred');
      await nobodyFile(target);
      expectRefused(await credentialMake(dir, target), /E_FILE_EXISTS/);
      expect(await readFile(target, 'utf8')).toBe('planted\n');
      const forced = await credentialMake(dir, target, '--force');
      expect(forced.stderr).toBe('');
      expect(forced.code).toBe(EXIT.OK);
      const st = await stat(target);
      expect(st.uid).toBe(0);
      expect(st.mode & 0o777).toBe(0o644);
    });
  });

  it('refuses a directory nobody owns, and a directory that is a symbolic link', async () => {
    await withTempDir(async (dir) => {
      const theirs = await nobodyDir(join(dir, 'theirs'));
      expectRefused(await credentialMake(dir, join(theirs, 'cred')), /E_FILE_UNSAFE/);
      expect(await readdir(theirs)).toEqual([]);
      const o = await outside(dir);
      await symlink(join(dir, 'outside'), join(dir, 'link'));
      expectRefused(await credentialMake(dir, join(dir, 'link', 'cred')), /E_FILE_UNSAFE/);
      await o.untouched();
    });
  });
});

describe('host init --ak-save DIR', () => {
  it('--force replaces a 0666 ak.priv nobody planted with a 0600 root-owned one', async () => {
    await withTempDir(async (dir) => {
      const save = join(dir, 'ak');
      await mkdir(save);
      await nobodyFile(join(save, 'ak.priv'));
      const r = await cli([...tcti(), 'host', 'init', '--ak-save', save, '--force']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(EXIT.OK);
      const st = await stat(join(save, 'ak.priv'));
      expect(st.uid).toBe(0);
      expect(st.gid).toBe(0);
      expect(st.mode & 0o777).toBe(0o600);
      expect(await readFile(join(save, 'ak.priv'), 'utf8')).not.toBe('planted\n');
    });
  });

  it('refuses ak.priv or ak.pem that is a symbolic link, even with --force; nothing outside is written', async () => {
    await withTempDir(async (dir) => {
      const o = await outside(dir);
      for (const f of ['ak.priv', 'ak.pem']) {
        const save = join(dir, `ak-${f}`);
        await mkdir(save);
        await symlink(o.victim, join(save, f));
        expectRefused(await cli([...tcti(), 'host', 'init', '--ak-save', save, '--force']), /E_FILE_UNSAFE/);
        expect((await lstat(join(save, f))).isSymbolicLink()).toBe(true);
      }
      await o.untouched();
    });
  });

  it('refuses a DIR nobody owns and a DIR that is a symbolic link', async () => {
    await withTempDir(async (dir) => {
      const theirs = await nobodyDir(join(dir, 'theirs'));
      expectRefused(await cli([...tcti(), 'host', 'init', '--ak-save', theirs]), /E_FILE_UNSAFE/);
      expect(await readdir(theirs)).toEqual([]);
      const o = await outside(dir);
      await symlink(join(dir, 'outside'), join(dir, 'link'));
      expectRefused(
        await cli([...tcti(), 'host', 'init', '--ak-save', join(dir, 'link'), '--force']),
        /E_FILE_UNSAFE/,
      );
      await o.untouched();
    });
  });
});

describe('quote --out', () => {
  const quote = (...args: string[]) => cli([...tcti(), 'quote', '--nonce', '0011', ...args]);

  it('refuses a symbolic link at the bundle path; another file is kept without --force', async () => {
    await withTempDir(async (dir) => {
      const o = await outside(dir);
      await symlink(o.victim, join(dir, 'q.cbor'));
      expectRefused(await quote('--out', join(dir, 'q.cbor')), /E_FILE_UNSAFE/);
      expectRefused(await quote('--out', join(dir, 'q.cbor'), '--force'), /E_FILE_UNSAFE/);
      await o.untouched();
      await nobodyFile(join(dir, 'theirs.cbor'));
      expectRefused(await quote('--out', join(dir, 'theirs.cbor')), /E_FILE_EXISTS/);
      expect(await readFile(join(dir, 'theirs.cbor'), 'utf8')).toBe('planted\n');
    });
  });

  it('--format tpm2-tools refuses a DIR nobody made, a symlinked DIR, a planted ak.pem link, and replacing files without --force', async () => {
    await withTempDir(async (dir) => {
      const tools = (out: string, ...extra: string[]) =>
        quote('--format', 'tpm2-tools', '--out', out, ...extra);
      const theirs = await nobodyDir(join(dir, 'theirs'));
      expectRefused(await tools(theirs), /E_FILE_UNSAFE/);
      expect(await readdir(theirs)).toEqual([]);

      const o = await outside(dir);
      await symlink(join(dir, 'outside'), join(dir, 'link'));
      expectRefused(await tools(join(dir, 'link')), /E_FILE_UNSAFE/);

      const mine = join(dir, 'mine');
      await mkdir(mine);
      await symlink(o.victim, join(mine, 'ak.pem'));
      expectRefused(await tools(mine, '--force'), /E_FILE_UNSAFE/);
      await o.untouched();

      const fresh = join(dir, 'fresh');
      expect((await tools(fresh)).code).toBe(EXIT.OK);
      const msg = await readFile(join(fresh, 'quote.msg'));
      expectRefused(await tools(fresh), /E_FILE_EXISTS/);
      expect(await readFile(join(fresh, 'quote.msg'))).toEqual(msg);
      expect((await tools(fresh, '--force')).code).toBe(EXIT.OK);
      expect(await readFile(join(fresh, 'quote.msg'))).not.toEqual(msg);
    });
  });
});

describe('state files written as root (--save-clock, --checkpoint)', () => {
  it('quote verify --save-clock refuses a symbolic link at the target; nothing outside is written', async () => {
    await withTempDir(async (dir) => {
      const bundle = join(dir, 'q.cbor');
      const ak = join(dir, 'ak.pem');
      expect((await cli([...tcti(), 'host', 'init'])).code).toBe(EXIT.OK);
      const id = JSON.parse((await cli([...tcti(), 'host', 'identity', '--json'])).stdout);
      await writeFile(ak, id.akPublicPem);
      expect((await cli([...tcti(), 'quote', '--nonce', '0011', '--out', bundle])).code).toBe(EXIT.OK);
      const o = await outside(dir);
      await symlink(o.victim, join(dir, 'clock'));
      const r = await cli([
        'quote',
        'verify',
        bundle,
        '--ak',
        ak,
        '--nonce',
        '0011',
        '--save-clock',
        join(dir, 'clock'),
      ]);
      expectRefused(r, /E_FILE_UNSAFE/);
      await o.untouched();
    });
  });
});
