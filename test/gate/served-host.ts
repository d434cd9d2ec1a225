// SPDX-License-Identifier: Apache-2.0
// A gate socket on a test host's state directory, served from the test process with the pieces
// `execgate serve` gives it (agent/serve/served-gate.ts): the host's pinned AK, a warm audit store, the
// policy and trust as their files are at each verdict. The caller says how the TPM is reached.
import { join } from 'node:path';
import { AuditStore } from '../../agent/audit/store.js';
import { type CliContext, makeContext } from '../../agent/cli/context.js';
import { pinnedAk, readHostState } from '../../agent/cli/host-state.js';
import { loadPolicy } from '../../agent/config/policy.js';
import { loadTrust } from '../../agent/config/trust.js';
import type { GateVerdict } from '../../agent/gate/gate.js';
import { GATE_SOCKET } from '../../agent/gate/wire.js';
import { type GateSocket, listenGate } from '../../agent/serve/gate-socket.js';
import { type ServedGateParts, servedGate } from '../../agent/serve/served-gate.js';
import type { GateHost } from './gate-host.js';

export interface ServedHost {
  readonly socket: GateSocket;
  readonly store: AuditStore;
  /** The verdicts the socket made, and the reasons it declined, in order. */
  readonly made: GateVerdict[];
  readonly declined: string[];
  /** Closes the socket, then the store. */
  close(): Promise<void>;
}

/** Serves `h`'s gate socket; `withTpm` gets the context of `h`'s TPM. */
export async function serveHost(
  h: GateHost,
  withTpm: (ctx: CliContext) => ServedGateParts['withTpm'],
): Promise<ServedHost> {
  const host = await readHostState(h.stateDir);
  const ak = pinnedAk(host);
  if (host === undefined || ak === undefined) throw new Error('host init did not pin an AK');
  const store = await AuditStore.open(h.stateDir);
  const ctx = makeContext({ stdout: process.stdout, stderr: process.stderr, env: {} }, { tcti: h.tcti });
  const made: GateVerdict[] = [];
  const declined: string[] = [];
  const socket = await listenGate(
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
      withTpm: withTpm(ctx),
      ctx,
      made: (v) => made.push(v),
    }),
    (e) => {
      if (e.event === 'gate-declined') declined.push(e.reason);
    },
  );
  return {
    socket,
    store,
    made,
    declined,
    async close() {
      await socket.close();
      store.close();
    },
  };
}
