// SPDX-License-Identifier: Apache-2.0
// Adversary review of the gate (issue 14): files a local user plants where the gate reads artifacts.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, chown, link, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_ARTIFACT_BYTES } from '../../agent/artifact/artifact.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { execWithin, SLOW, useGateHost } from './adversary-14-helpers.js';
import { MAIN, ran } from './gate-host.js';

const newHost = useGateHost(useSwtpm());
const NOBODY = 65534;
/** Far longer than a verdict takes here (about a second): a gate still running by then is stuck. */
const STUCK_MS = 8000;

describe('adversary 14: planted files', () => {
  it(
    'a FIFO given as --artifact is E_MISSING, not a gate stuck in open(2)',
    async () => {
      const h = await newHost();
      const s = await h.script('cmd');
      const fifo = join(h.dir, 'planted.cose');
      execFileSync('mkfifo', [fifo]);
      const r = await execWithin(h, ['--artifact', fifo, '--', s.path], STUCK_MS);
      expect(r, 'the gate hung').toBeDefined();
      expect(r?.code).toBe(126);
      expect(r?.stderr).toContain('E_MISSING');
      expect(await ran(s.marker)).toBe(false);
    },
    SLOW,
  );

  it(
    "a FIFO and a link to one planted in a sticky artifact store are skipped; the store's artifact is found",
    async () => {
      const h = await newHost();
      const store = join(h.dir, 'store');
      await mkdir(store);
      await chmod(store, 0o1777); // a drop box: users leave their artifacts here
      await h.writePolicy({ host: 'artifacts = "store"' });
      const s = await h.script('cmd');
      await h.issue(s.path, join(store, 'zz-real.cose'));
      // Another user's planted entries, sorted before the real one.
      const fifo = join(store, 'aa-fifo.cose');
      execFileSync('mkfifo', [fifo]);
      await chown(fifo, NOBODY, NOBODY);
      const fifo2 = join(h.dir, 'elsewhere-fifo');
      execFileSync('mkfifo', [fifo2]);
      await symlink(fifo2, join(store, 'ab-link.cose'));
      const r = await execWithin(h, ['--', s.path], STUCK_MS);
      expect(r, 'the gate hung').toBeDefined();
      expect(r?.stderr).toBe('');
      expect(r?.code).toBe(0);
      expect(await ran(s.marker)).toBe(true);
    },
    SLOW,
  );

  it(
    'a store of many links to one largest-size file does not make the gate hold them all at once',
    async () => {
      const h = await newHost();
      const store = join(h.dir, 'store');
      await mkdir(store);
      await h.writePolicy({ host: 'artifacts = "store"' });
      const s = await h.script('cmd');
      // One file of the largest size read, under 2000 names: the disk holds 256 KiB, the gate read 500 MiB.
      const big = join(h.dir, 'big');
      await writeFile(big, new Uint8Array(MAX_ARTIFACT_BYTES).fill(0xa0));
      for (let i = 0; i < 2000; i++) await link(big, join(store, `a${String(i).padStart(5, '0')}.cose`));
      await h.issue(s.path, join(store, 'zz-real.cose'));
      const r = spawnSync(
        '/usr/bin/time',
        [
          '-f',
          'maxrss=%M',
          process.execPath,
          ...MAIN,
          '--tcti',
          h.tcti,
          'exec',
          '--policy',
          h.policy,
          '--',
          s.path,
        ],
        { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
      );
      expect(r.status, r.stderr).toBe(0);
      expect(await ran(s.marker)).toBe(true);
      const kib = Number(/maxrss=(\d+)/.exec(r.stderr)?.[1]);
      // The gate alone peaks near 150 MiB here; holding every candidate would add 500 MiB.
      expect(kib).toBeLessThan(350 * 1024);
    },
    SLOW,
  );

  it(
    'a spent artifact in the store does not shadow a valid one that expires later',
    async () => {
      const h = await newHost();
      const store = join(h.dir, 'store');
      await mkdir(store);
      await h.writePolicy({ host: 'artifacts = "store"' });
      const s = await h.script('cmd');
      // Anyone who may add a file to the store can leave a spent copy of an artifact expiring soon.
      await h.issue(s.path, join(store, 'soon.cose'), '--ttl', '5m');
      await h.issue(s.path, join(store, 'later.cose'), '--ttl', '9m');
      expect((await h.exec(['--', s.path])).code).toBe(0);
      const second = await h.exec(['--', s.path]);
      expect(second.stderr).toBe('');
      expect(second.code).toBe(0);
      expect((await h.entries()).map((e) => e.reason)).toEqual(['OK', 'OK']);
    },
    SLOW,
  );
});
