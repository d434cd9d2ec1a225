// SPDX-License-Identifier: Apache-2.0
// Adversary review of the gate (issue 14): a script's #! interpreter, which the kernel opens by name.
import { chmod, chown, copyFile, lchown, mkdir, realpath, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useSwtpm } from '../helpers/swtpm.js';
import { SLOW, useGateHost } from './adversary-14-helpers.js';
import { ran } from './gate-host.js';

const newHost = useGateHost(useSwtpm());
const NOBODY = 65534;

describe('adversary 14: the #! interpreter', () => {
  it(
    'a script whose interpreter another user owns, or sits in a directory others may write, is E_SCOPE',
    async () => {
      const h = await newHost();
      const sh = await realpath('/bin/sh');
      // nobody's own directory and interpreter: nobody may replace it with anything at all.
      const theirs = join(h.dir, 'theirs');
      await mkdir(theirs, { mode: 0o755 });
      await copyFile(sh, join(theirs, 'sh'));
      await chmod(join(theirs, 'sh'), 0o755);
      await chown(join(theirs, 'sh'), NOBODY, NOBODY);
      await chown(theirs, NOBODY, NOBODY);
      // root's interpreter, in a directory anyone may write (not sticky): anyone may rename another over it.
      const open = join(h.dir, 'open');
      await mkdir(open);
      await chmod(open, 0o777);
      await copyFile(sh, join(open, 'sh'));
      await chmod(join(open, 'sh'), 0o755);
      // a link to root's /bin/sh, but nobody's link in a sticky directory: nobody may point it elsewhere.
      const sticky = join(h.dir, 'sticky');
      await mkdir(sticky);
      await chmod(sticky, 0o1777);
      await symlink(sh, join(sticky, 'sh'));
      await lchown(join(sticky, 'sh'), NOBODY, NOBODY);
      // root's wrapper, in root's directory, whose own interpreter is nobody's: the kernel nests #! lines.
      const wrapper = join(h.bin, 'wrapper');
      await writeFile(wrapper, `#!${theirs}/sh\nexec /bin/sh "$@"\n`, { mode: 0o755 });
      await chmod(wrapper, 0o755);
      for (const [name, interpreter] of [
        ['owned', `${theirs}/sh`],
        ['writable-dir', `${open}/sh`],
        ['nested', wrapper],
        ['link', `${sticky}/sh`],
      ] as const) {
        const marker = join(h.dir, `ran-${name}`);
        const path = join(h.bin, name);
        await writeFile(path, `#!${interpreter}\necho ran > '${marker}'\n`, { mode: 0o700 });
        const a = await h.issue(path, join(h.dir, `${name}.cose`));
        const r = await h.exec(['--artifact', a, '--', path]);
        expect(r.code, `${name}: ${r.stderr}`).toBe(126);
        expect(r.stderr, name).toMatch(/^execgate: denied: E_SCOPE: .*interpreter/);
        expect(await ran(marker), name).toBe(false);
      }
      expect((await h.entries()).map((e) => [e.verdict, e.reason])).toEqual([
        ['deny', 'E_SCOPE'],
        ['deny', 'E_SCOPE'],
        ['deny', 'E_SCOPE'],
        ['deny', 'E_SCOPE'],
      ]);
    },
    SLOW,
  );

  it(
    'a script whose interpreter is missing is E_SCOPE before the verdict, recorded as a denial',
    async () => {
      const h = await newHost();
      const path = join(h.bin, 'orphan');
      await writeFile(path, '#!/nonexistent/sh\necho hi\n', { mode: 0o700 });
      const a = await h.issue(path, join(h.dir, 'orphan.cose'));
      const r = await h.exec(['--artifact', a, '--', path]);
      expect(r.code).toBe(126);
      expect(r.stderr).toMatch(/^execgate: denied: E_SCOPE: .*interpreter/);
      expect((await h.entries()).map((e) => [e.verdict, e.reason])).toEqual([['deny', 'E_SCOPE']]);
    },
    SLOW,
  );
});
