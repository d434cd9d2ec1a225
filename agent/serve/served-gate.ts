// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/serve/served-gate
 *
 * What `execgate serve` gives its gate socket (agent/serve/gate-socket.ts `ServedGate`): the context of
 * each verdict from the service's open audit store, pinned identity and serialised TPM, with the policy
 * and trust as they are at that verdict (`current`, which the service reloads when their files change).
 */
import type { AuditStore } from '../audit/store.js';
import type { CliContext } from '../cli/context.js';
import { gateTpm } from '../cli/gate-tpm.js';
import type { HostState, PinnedAk } from '../cli/host-state.js';
import { ConfigError } from '../config/errors.js';
import type { HostPolicy } from '../config/policy.js';
import type { HostTrust } from '../config/trust.js';
import { readArtifactStore } from '../gate/artifact-store.js';
import type { GateContext, GateVerdict } from '../gate/gate.js';
import type { Tpm } from '../tpm/tpm.js';
import { type ServedGate, TurnNotBegun } from './gate-socket.js';

export interface ServedGateParts {
  /** The policy file (absolute) and the explicit TPM (or null) the service was started with. */
  readonly policyFile: string;
  readonly tcti: string | null;
  /** The policy and its trust now (a broken file throws: the verdict is then E_CONFIG). */
  current(): Promise<{ readonly policy: HostPolicy; readonly trust: HostTrust }>;
  readonly store: AuditStore;
  /** The state directory the store and host.json were opened in. */
  readonly stateDir: string;
  readonly host: HostState;
  readonly ak: PinnedAk;
  /** The TPM and the audit store's writes, one user at a time (the service's heartbeats and checkpoints share them). */
  withTpm<T>(fn: (tpm: Tpm) => Promise<T>): Promise<T>;
  /** For the measurement logs a reference's rules need ($EXECGATE_SECURITYFS). */
  readonly ctx: CliContext;
  made?(verdict: GateVerdict, seconds: number): void;
}

export function servedGate(p: ServedGateParts): ServedGate {
  return {
    policyFile: p.policyFile,
    tcti: p.tcti,
    async turn(fn) {
      let began = false;
      try {
        return await p.withTpm(async (connection) => {
          began = true;
          return await verdictTurn(p, connection, fn);
        });
      } catch (e) {
        throw began ? e : new TurnNotBegun(e instanceof Error ? e.message : String(e), { cause: e });
      }
    },
    ...(p.made === undefined ? {} : { made: p.made }),
  };
}

/** The verdict `fn` on this turn's connection, with the policy and trust as their files now are. */
async function verdictTurn<T>(
  p: ServedGateParts,
  connection: Tpm,
  fn: (ctx: Omit<GateContext, 'exe'>) => Promise<T>,
): Promise<T> {
  const { policy, trust } = await p.current();
  // The store, host.json and socket are the service's from its start: a policy moved elsewhere needs it restarted.
  if (policy.host.stateDir !== p.stateDir)
    throw new ConfigError(
      `the policy's [host] state_dir is now ${policy.host.stateDir}; this service runs on ${p.stateDir}: restart it`,
    );
  // The verdict's TPM commands go on this turn's connection: asking for another turn would wait on this one.
  const tpm = gateTpm({
    use: (f) => f(connection),
    host: p.host,
    ak: p.ak,
    stateDir: p.stateDir,
    ctx: p.ctx,
  });
  return fn({
    policy,
    trust,
    store: p.store,
    akName: p.ak.name,
    tpm,
    candidates: () => readArtifactStore(policy.host.artifacts),
  });
}
