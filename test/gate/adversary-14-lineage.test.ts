// SPDX-License-Identifier: Apache-2.0
// Adversary review of the gate (issue 14): execution lineage under a parent that was never allowed.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useSwtpm } from '../helpers/swtpm.js';
import { SLOW, useGateHost } from './adversary-14-helpers.js';
import { MAIN, ran } from './gate-host.js';

const newHost = useGateHost(useSwtpm());

describe('adversary 14: lineage', () => {
  it(
    'a "would deny" parent verdict is no gated caller, once the policy enforces',
    async () => {
      const h = await newHost();
      await h.writePolicy({ host: 'mode = "audit"' });
      const child = await h.script('child');
      const go = join(h.dir, 'go');
      const status = join(h.dir, 'nested-status');
      const nested = [process.execPath, ...MAIN, '--tcti', h.tcti, 'exec', '--policy', h.policy];
      const parent = await h.script(
        'parent',
        `while [ ! -e '${go}' ]; do sleep 0.05; done\n` +
          `'${nested.join("' '")}' --artifact '${join(h.dir, 'child.cose')}' -- '${child.path}'\n` +
          `echo $? > '${status}'`,
      );
      await h.issue(child.path, join(h.dir, 'child.cose'), '--caller', parent.path);
      // The parent has no artifact: in audit mode it runs anyway, recorded as "would-deny".
      const outer = h.exec(['--', parent.path]);
      for (let i = 0; i < 200 && !(await ran(parent.marker)); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(await ran(parent.marker)).toBe(true);
      // The rollout ends: the policy enforces. The parent, never allowed, starts the child.
      await h.writePolicy();
      await writeFile(go, '');
      const r = await outer;
      expect(r.stderr).toContain('would deny');
      expect((await readFile(status, 'utf8')).trim()).toBe('126');
      expect(await ran(child.marker)).toBe(false);
      expect((await h.entries()).map((e) => [e.verdict, e.reason])).toEqual([
        ['would-deny', 'E_MISSING'],
        ['deny', 'E_LINEAGE'],
      ]);
    },
    SLOW,
  );
});
