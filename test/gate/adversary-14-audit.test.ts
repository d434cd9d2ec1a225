// SPDX-License-Identifier: Apache-2.0
// Adversary review of the gate (issue 14): audit mode when the verdict cannot be recorded.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditStore } from '../../agent/audit/store.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { SLOW, useGateHost } from './adversary-14-helpers.js';
import { type GateHost, ran } from './gate-host.js';

const newHost = useGateHost(useSwtpm());

/**
 * `execgate exec ARGS` with the state directory read-only (a read-only bind mount in a private mount
 * namespace: chmod does not stop root), so that the append fails at once, as a full disk or a database
 * held by another writer past the busy timeout would (without waiting 10 s for it). A connection kept
 * open here keeps the WAL's -shm and -wal files, so the gate opens the log and fails at the append.
 */
async function readOnly(h: GateHost, args: readonly string[]) {
  const store = await AuditStore.open(h.stateDir);
  try {
    return await h.exec(args, {
      wrap: ['unshare', '--mount', 'sh', '-c', 'mount --bind -o ro "$0" "$0" && exec "$@"', h.stateDir],
    });
  } finally {
    store.close();
  }
}

describe('adversary 14: audit', () => {
  it(
    'in audit mode, a denial that cannot be recorded does not run the command',
    async () => {
      const h = await newHost();
      await h.writePolicy({ host: 'mode = "audit"' });
      const s = await h.script('unrecorded');
      const r = await readOnly(h, ['--', s.path]);
      expect(r.code).toBe(126);
      expect(r.stderr).toContain('not recorded');
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
      const r = await readOnly(h, ['--json', '--artifact', a, '--', s.path]);
      expect(r.code).toBe(126);
      expect(JSON.parse(r.stderr)).toMatchObject({ verdict: 'deny', reason: 'E_AUDIT', mode: 'audit' });
      expect(await ran(s.marker)).toBe(false);
      expect(await h.entries()).toEqual([]);
    },
    SLOW,
  );
});
