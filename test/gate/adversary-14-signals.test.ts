// SPDX-License-Identifier: Apache-2.0
// Adversary review of the gate (issue 14): SIGUSR1, which the gate forwards to an allowed command, sent
// to it while no command runs yet. Node answers a SIGUSR1 no listener takes by opening its inspector on
// 127.0.0.1:9229, without authentication: any local user who connects runs code in the gate (root).

import { writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pickPortPair } from '../../swtpm/ports.js';
import { upstreamOf, useSwtpm } from '../helpers/swtpm.js';
import { SLOW, useGateHost } from './adversary-14-helpers.js';
import { ran, runProcess } from './gate-host.js';

const swtpm = useSwtpm();
const newHost = useGateHost(swtpm);

/** A relay in front of swtpm that holds each TPM response `ms`: a slow TPM, so the verdict takes a while. */
async function slowTpm(ms: number): Promise<{ tcti: string; close: () => Promise<void> }> {
  const up = upstreamOf(swtpm());
  const sockets = new Set<Socket>();
  const relay = (port: number, delay: number): Server =>
    createServer((client) => {
      const server = createConnection({ host: up.host, port });
      for (const s of [client, server]) {
        sockets.add(s);
        s.on('error', () => s.destroy());
        s.on('close', () => sockets.delete(s));
      }
      client.on('data', (d) => server.write(d));
      server.on('data', (d) => setTimeout(() => client.write(d), delay));
      client.on('close', () => server.destroy());
      server.on('close', () => setTimeout(() => client.destroy(), delay));
    });
  const port = await pickPortPair('127.0.0.1');
  const servers = [relay(up.port, ms), relay(up.ctrlPort, 0)];
  await Promise.all(
    servers.map(
      (s, i) => new Promise<void>((resolve) => s.listen({ host: '127.0.0.1', port: port + i }, resolve)),
    ),
  );
  return {
    tcti: `swtpm:host=127.0.0.1,port=${port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

describe('adversary 14: signals', () => {
  it(
    'SIGUSR1 sent while the gate decides does not open the Node inspector; the command still runs',
    async () => {
      const h = await newHost();
      // The command ignores SIGUSR1 from its first line: the gate forwards it once the command runs, and
      // on a fast run the later signals land there (forwarding is right; what is tested is the gate).
      const path = join(h.bin, 'cmd');
      const marker = join(h.dir, 'marker-usr1');
      await writeFile(path, `#!/bin/sh\ntrap '' USR1\necho ran > '${marker}'\nsleep 0.5\n`, { mode: 0o700 });
      const s = { path, marker };
      const a = await h.issue(s.path, join(h.dir, 'a.cose'));
      const tpm = await slowTpm(200);
      const timers: NodeJS.Timeout[] = [];
      try {
        const r = await runProcess(
          ['--tcti', tpm.tcti, 'exec', '--policy', h.policy, '--artifact', a, '--', s.path],
          {
            onSpawn: ({ pid }) => {
              // Past startup, before the verdict: it takes several TPM round trips of 200 ms.
              for (const ms of [900, 1100, 1300])
                timers.push(setTimeout(() => pid !== undefined && process.kill(pid, 'SIGUSR1'), ms));
            },
          },
        );
        expect(r.stderr).not.toMatch(/Debugger listening|inspector/i);
        expect(r.code, r.stderr).toBe(0);
        expect(await ran(s.marker)).toBe(true);
      } finally {
        for (const t of timers) clearTimeout(t);
        await tpm.close();
      }
    },
    SLOW,
  );
});
