// SPDX-License-Identifier: Apache-2.0
/**
 * `--policy FILE` and `--state-dir DIR` of the commands that act on this host (`audit …`, `host init`,
 * `host identity`): the host policy (agent/config) gives the state directory, the TCTI and the [audit]
 * table; flags win over it. The TCTI: --tcti, else $EXECGATE_TCTI, else the policy's `[host] tcti`, else
 * $TPM2TOOLS_TCTI, else /dev/tpmrm0 (the policy's own comment: "--tcti and $EXECGATE_TCTI override it").
 */
import { DEFAULT_POLICY_FILE } from '../config/defaults.js';
import { defaultPolicy, type HostPolicy, loadPolicy } from '../config/policy.js';
import type { CliContext } from './context.js';
import { stateDirOf } from './host-state.js';

export const POLICY_FLAGS = {
  policy: { type: 'string' },
  'state-dir': { type: 'string' },
} as const;

export interface HostSetup {
  readonly policy: HostPolicy;
  readonly stateDir: string;
  /** A context whose TPM is the policy's when neither --tcti nor $EXECGATE_TCTI names one. */
  readonly ctx: CliContext;
}

/**
 * The policy (--policy FILE; without it the default file, a missing one meaning the built-in defaults,
 * when `readDefault`, else the built-in defaults), the state directory (--state-dir, else the policy
 * file's `[host] state_dir`, else $EXECGATE_STATE_DIR, else the default) and the context.
 */
export async function hostSetup(
  values: { policy?: string | undefined; 'state-dir'?: string | undefined },
  ctx: CliContext,
  opts: { readDefault: boolean },
): Promise<HostSetup> {
  const policy =
    values.policy !== undefined
      ? await loadPolicy(values.policy)
      : opts.readDefault
        ? await loadPolicy(DEFAULT_POLICY_FILE, { missingOk: true })
        : defaultPolicy();
  const stateDir =
    values['state-dir'] ?? (policy.file === undefined ? stateDirOf(ctx.env) : policy.host.stateDir);
  // An empty $EXECGATE_TCTI is unset, as resolveTcti reads it.
  const tcti = ctx.tcti ?? (ctx.env.EXECGATE_TCTI ? undefined : policy.host.tcti);
  return { policy, stateDir, ctx: tcti === ctx.tcti ? ctx : ctx.withTcti(tcti) };
}
