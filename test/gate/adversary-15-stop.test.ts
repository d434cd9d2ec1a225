// SPDX-License-Identifier: Apache-2.0
// Adversary (issue 15): a request the service took but whose turn comes after it began to stop (its TPM
// access closed by `Service.stop`, agent/serve/tpm-access.ts). Nothing was judged or recorded, so the
// service must decline, and the client judge in its own process as without a service, not be denied
// with "fix the host policy".
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditStore } from '../../agent/audit/store.js';
import { makeContext } from '../../agent/cli/context.js';
import { pinnedAk, readHostState } from '../../agent/cli/host-state.js';
import { loadPolicy } from '../../agent/config/policy.js';
import { loadTrust } from '../../agent/config/trust.js';
import { GATE_SOCKET } from '../../agent/gate/wire.js';
import { type GateSocket, listenGate } from '../../agent/serve/gate-socket.js';
import { servedGate } from '../../agent/serve/served-gate.js';
import { TpmAccess } from '../../agent/serve/tpm-access.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { allowed, type GateHost, shareGateHost } from './gate-host.js';

const swtpm = useSwtpm();
let h: GateHost;
shareGateHost(swtpm, (host) => {
  h = host;
});

let socket: GateSocket;
let store: AuditStore;
const declined: string[] = [];
let judged = 0;

beforeAll(async () => {
  const host = await readHostState(h.stateDir);
  const ak = pinnedAk(host);
  if (host === undefined || ak === undefined) throw new Error('host init did not pin an AK');
  store = await AuditStore.open(h.stateDir);
  const ctx = makeContext({ stdout: process.stdout, stderr: process.stderr, env: {} }, { tcti: h.tcti });
  const access = new TpmAccess(() => ctx.openTpm());
  await access.close(); // the service is stopping
  socket = await listenGate(
    join(h.stateDir, GATE_SOCKET),
    servedGate({
      policyFile: h.policy,
      tcti: h.tcti,
      async current() {
        const policy = await loadPolicy(h.policy);
        return { policy, trust: await loadTrust(policy) };
      },
      store,
      stateDir: h.stateDir,
      host,
      ak,
      withTpm: (fn) => access.run(fn),
      ctx,
      made: () => judged++,
    }),
    (e) => {
      if (e.event === 'gate-declined') declined.push(e.reason);
    },
  );
});

afterAll(async () => {
  await socket?.close();
  store?.close();
});

describe('a request whose turn comes after the service began to stop', () => {
  it('is declined: the client judges it itself, and an allowed command runs', async () => {
    const s = await h.script('stopping');
    const f = await h.issue(s.path);
    await allowed(h, ['--artifact', f, '--', s.path], s.marker);
    expect(judged).toBe(0);
    expect(declined).toEqual(['the service did not begin the verdict: the service is stopping']);
  });
});
