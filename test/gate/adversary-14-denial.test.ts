// SPDX-License-Identifier: Apache-2.0
// Adversary review of the gate (issue 14): what a denial prints.
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
});
