// SPDX-License-Identifier: Apache-2.0
// Adversary review of the gate (issue 14): the argv[0] an allowed command sees.
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, realpath, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useSwtpm } from '../helpers/swtpm.js';
import { SLOW, useGateHost } from './adversary-14-helpers.js';

const newHost = useGateHost(useSwtpm());

describe('adversary 14: argv[0]', () => {
  it(
    "an ELF sees the real path of the file that runs as argv[0], not the name of the caller's link",
    async () => {
      const h = await newHost();
      const sh = join(h.bin, 'sh');
      await copyFile(await realpath('/bin/sh'), sh);
      await chmod(sh, 0o700);
      const out = join(h.dir, 'argv0');
      const script = `printf %s "$0" > '${out}'`;
      const a = await h.issue(sh, join(h.dir, 'sh.cose'), '--arg=-c', `--arg=${script}`);
      const links = join(h.dir, 'links');
      await mkdir(links);
      await symlink(sh, join(links, 'rm'));
      const r = await h.exec(['--artifact', a, '--', join(links, 'rm'), '-c', script]);
      expect(r.code, r.stderr).toBe(0);
      expect(await readFile(out, 'utf8')).toBe(sh);
    },
    SLOW,
  );

  it(
    'an artifact for "git status" cannot run "git rm status" through a link named git-rm',
    async () => {
      const h = await newHost();
      const repo = join(h.dir, 'repo');
      const git = (...args: string[]) =>
        execFileSync('git', ['-c', 'user.email=a@b', '-c', 'user.name=a', ...args], { cwd: repo });
      await mkdir(repo);
      git('init', '-q');
      await writeFile(join(repo, 'status'), 'kept\n');
      git('add', 'status');
      git('commit', '-qm', 'x');
      const bin = join(h.bin, 'git');
      await copyFile(await realpath(execFileSync('sh', ['-c', 'command -v git']).toString().trim()), bin);
      await chmod(bin, 0o700);
      const a = await h.issue(bin, join(h.dir, 'git.cose'), '--arg', 'status');
      const links = join(h.dir, 'links');
      await mkdir(links);
      await symlink(bin, join(links, 'git-rm'));
      const r = await h.exec(['--artifact', a, '--', join(links, 'git-rm'), 'status'], {
        env: { GIT_DIR: join(repo, '.git'), GIT_WORK_TREE: repo },
      });
      expect(r.stdout).not.toContain("rm 'status'");
      expect(await readFile(join(repo, 'status'), 'utf8')).toBe('kept\n');
    },
    SLOW,
  );
});
