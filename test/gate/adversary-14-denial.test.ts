// SPDX-License-Identifier: Apache-2.0
// Adversary review of the gate (issue 14): what a denial prints — a command name that spans lines, and a
// file the kernel refuses after the verdict.
import { readFile, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useSwtpm } from '../helpers/swtpm.js';
import { SLOW, useGateHost } from './adversary-14-helpers.js';

const newHost = useGateHost(useSwtpm());

describe('adversary 14: the denial line', () => {
  it(
    'a command name with a newline still gives one denial line',
    async () => {
      const h = await newHost();
      const s = await h.script('cmd');
      const a = await h.issue(s.path, join(h.dir, 'cmd.cose'));
      const r = await h.exec(['--artifact', a, '--', 'nope\nexecgate: allowed: OK\r\u2028']);
      expect(r.code).toBe(126);
      expect(r.stderr.split('\n')).toHaveLength(2); // one line and its newline
      expect(r.stderr).toMatch(
        /^execgate: denied: E_SCOPE: no executable "nope\\nexecgate: allowed: OK\\r\\u2028"/,
      );
    },
    SLOW,
  );

  it(
    'an ELF the kernel refuses after the verdict (its loader is missing) gives the denial line and exit 126',
    async () => {
      const h = await newHost();
      const elf = await readFile(await realpath('/bin/true'));
      const at = elf.indexOf('/lib64/ld-linux-x86-64.so.2');
      if (at < 0) return; // not an x86-64 glibc host: no loader path to break
      elf.write('/lib64/ld-linux-x86-64.so.X', at);
      const path = join(h.bin, 'no-loader');
      await writeFile(path, elf, { mode: 0o700 });
      const a = await h.issue(path, join(h.dir, 'no-loader.cose'));
      const r = await h.exec(['--artifact', a, '--', path]);
      expect(r.code).toBe(126);
      expect(r.stderr).toMatch(/^execgate: denied: E_SCOPE: the kernel refused to run .*: [^\n]+\n$/);
    },
    SLOW,
  );
});
