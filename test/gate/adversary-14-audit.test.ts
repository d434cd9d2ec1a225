// SPDX-License-Identifier: Apache-2.0
// Adversary review of the gate (issue 14): audit mode when the verdict cannot be recorded.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditStore } from '../../agent/audit/store.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { SLOW, useGateHost } from './adversary-14-helpers.js';
import { type ProcessResult, ran } from './gate-host.js';

const newHost = useGateHost(useSwtpm());

describe('adversary 14: audit', () => {
  it(
    'in audit mode, a denial that cannot be recorded does not run the command',
    async () => {
      const h = await newHost();
      await h.writePolicy({ host: 'mode = "audit"' });
      const s = await h.script('unrecorded');
      // Another writer holds the audit database past the gate's busy timeout (10 s): the append fails.
      const store = await AuditStore.open(h.stateDir);
      let r: ProcessResult | undefined;
      try {
        await store.withWriteLock(async () => {
          r = await h.exec(['--', s.path]);
        });
      } finally {
        store.close();
      }
      expect(r?.code).toBe(126);
      expect(r?.stderr).toContain('not recorded');
      expect(await ran(s.marker)).toBe(false);
      expect(await h.entries()).toEqual([]);
    },
    SLOW,
  );

  it(
    'in audit mode, an allow whose use and entry cannot be recorded (E_AUDIT) does not run either',
    async () => {
      const h = await newHost();
      await h.writePolicy({ host: 'mode = "audit"' });
      const s = await h.script('allowed');
      const a = await h.issue(s.path, join(h.dir, 'a.cose'));
      const store = await AuditStore.open(h.stateDir);
      let r: ProcessResult | undefined;
      try {
        await store.withWriteLock(async () => {
          r = await h.exec(['--json', '--artifact', a, '--', s.path]);
        });
      } finally {
        store.close();
      }
      expect(r?.code).toBe(126);
      expect(JSON.parse(r?.stderr ?? '')).toMatchObject({
        verdict: 'deny',
        reason: 'E_AUDIT',
        mode: 'audit',
      });
      expect(await ran(s.marker)).toBe(false);
      expect(await h.entries()).toEqual([]);
    },
    SLOW,
  );
});
