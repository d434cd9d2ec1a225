// SPDX-License-Identifier: Apache-2.0
/**
 * `execgate exec` and `execgate check` (issue 14): the gate on the command line. This module gathers
 * what agent/gate/gate.ts `decide` judges (the policy and its trust, the audit store, the pinned AK, the
 * executable opened once, the TPM behind a `GateTpm`), prints the verdict, writes it where asked, and
 * runs the command only on an allow (or, in audit mode, a "would deny").
 *
 * Every failure before the verdict is a denial too: a broken policy is E_CONFIG (not audited: no state
 * directory is known), an audit store that cannot be opened is E_AUDIT, a host never initialised is
 * E_CONFIG. A denial exits 126 and runs nothing; an allowed command's status and signals pass through.
 * An allowed command that cannot start (the kernel refuses the file: E_SCOPE) ends as a denial too,
 * printed as one; its allow stays in the audit log with the use it spent, and the denial names the entry.
 */
import { realpath, stat } from 'node:fs/promises';
import type { AuditStore } from '../audit/store.js';
import { loadPolicy } from '../config/policy.js';
import { loadTrust } from '../config/trust.js';
import { GateError } from '../gate/errors.js';
import type { OpenedExecutable } from '../gate/executable.js';
import type { GateVerdict } from '../gate/gate.js';
import { lap } from '../timing.js';
import type { CliContext } from './context.js';
import { act, CHECK_HELP, EXEC_HELP, early, type Flags, parseCommandLine } from './exec-common.js';
import { checkOutput } from './output.js';

export { CHECK_HELP, EXEC_HELP } from './exec-common.js';

const euid = (): number => (typeof process.geteuid === 'function' ? process.geteuid() : 0);

/** Everything the gate needs, then its verdict; the caller closes what `opened` holds. */
async function judge(
  ctx: CliContext,
  flags: Flags,
  command: readonly string[],
  consume: boolean,
  opened: {
    store?: AuditStore;
    exe?: OpenedExecutable;
    closeTpm?: () => Promise<void>;
    checkpoint?: () => Promise<void>;
    secrets?: Map<string, Uint8Array>;
  },
): Promise<GateVerdict> {
  let policy: Awaited<ReturnType<typeof loadPolicy>>;
  let trust: Awaited<ReturnType<typeof loadTrust>>;
  try {
    policy = await loadPolicy(flags.policy);
    trust = await loadTrust(policy);
  } catch (e) {
    return early(e);
  }
  lap('policy');
  const stateDir = policy.host.stateDir;
  // Who may run the gate: the owner of the state directory (root, or the service user).
  try {
    const st = await stat(stateDir);
    if (st.uid !== euid())
      return early(
        new GateError(
          'E_CONFIG',
          `the state directory ${stateDir} belongs to uid ${st.uid}, not to this user (uid ${euid()})`,
          'run execgate as the user that owns the state directory (root, or the execgate service user in the tss group)',
        ),
      );
  } catch (e) {
    return early(
      new GateError(
        'E_CONFIG',
        `cannot use the state directory ${stateDir}: ${e instanceof Error ? e.message : String(e)}`,
        'run execgate host init --policy FILE first',
      ),
    );
  }
  const { readHostState, pinnedAk, withPinnedAk } = await import('./host-state.js');
  lap('modules');
  let host: Awaited<ReturnType<typeof readHostState>>;
  try {
    host = await readHostState(stateDir);
  } catch (e) {
    return early(
      new GateError(
        'E_CONFIG',
        e instanceof Error ? e.message : String(e),
        'run execgate host init --policy FILE again',
      ),
    );
  }
  const ak = pinnedAk(host);
  if (host === undefined || ak === undefined)
    return early(
      new GateError(
        'E_CONFIG',
        `no AK is pinned in ${stateDir}/host.json`,
        'run execgate host init --policy FILE',
      ),
    );
  lap('host');
  const { AuditStore } = await import('../audit/store.js');
  lap('modules');
  let store: AuditStore;
  try {
    store = await AuditStore.open(stateDir);
  } catch (e) {
    return early(
      new GateError(
        'E_AUDIT',
        `cannot open the audit log: ${e instanceof Error ? e.message : String(e)}`,
        'check the state directory (permissions, disk space, execgate audit verify)',
      ),
    );
  }
  opened.store = store;
  lap('audit open');
  const { openOrRefusal } = await import('../gate/executable.js');
  lap('modules');
  const cwd = await realpath(process.cwd());
  const exe = await openOrRefusal(command[0] as string, { cwd, pathEnv: ctx.env.PATH });
  if (!(exe instanceof GateError)) opened.exe = exe;
  lap('exe');
  // The TCTI: --tcti, else $EXECGATE_TCTI, else the policy's [host] tcti (host-policy.ts's order).
  const tcti = ctx.tcti ?? (ctx.env.EXECGATE_TCTI ? undefined : policy.host.tcti);
  const tpm = lazyTpm(tcti === ctx.tcti ? ctx : ctx.withTcti(tcti), opened);
  const { gateTpm } = await import('./gate-tpm.js');
  const port = gateTpm({ use: async (fn) => fn(await tpm()), host, ak, stateDir, ctx });
  const released = new Map<string, Uint8Array>();
  opened.secrets = released;
  const secrets = gateSecrets(stateDir, tpm, released);
  const { decide } = await import('../gate/gate.js');
  const { readArtifactStore } = await import('../gate/artifact-store.js');
  const { ownStartTime } = await import('../gate/lineage.js');
  const { initVerification } = await import('../crypto/verify.js');
  lap('modules');
  // A handful of signatures in a process that then exits: node:crypto, not a wasm-core instance (the
  // same verdicts; BENCHMARKS.md, "The gate"). Hashes go to node:crypto too without initHashing.
  await initVerification({ oneShot: true });
  lap('crypto init');
  const verdict = await decide(
    {
      argv: command,
      ...(flags.artifact === undefined ? {} : { artifactFile: flags.artifact }),
      cwd,
      uid: typeof process.getuid === 'function' ? process.getuid() : 0,
      env: ctx.env,
      pid: process.pid,
      pidStart: Number(await ownStartTime()),
      consume,
      now: Date.now(),
    },
    {
      policy,
      trust,
      store,
      akName: ak.name,
      tpm: port,
      exe,
      candidates: () => readArtifactStore(policy.host.artifacts),
      secrets,
    },
  );
  lap('audit append');
  if (consume && verdict.audit !== undefined) {
    const schedule = {
      entries: Number(policy.audit.checkpointEntries),
      intervalSeconds: policy.audit.checkpointIntervalSeconds,
    };
    opened.checkpoint = async () => {
      // Most appends find none due: asked first, the checkpoint code (audit/log.ts) loads only then.
      const { checkpointDue } = await import('../audit/schedule.js');
      if (!checkpointDue(store, schedule)) return;
      const { checkpointIfDue } = await import('../audit/log.js');
      const t = await tpm();
      await withPinnedAk(t, host, stateDir, (loaded) =>
        checkpointIfDue(store, t, loaded, {
          nvIndex: policy.audit.nvCounterIndex,
          selection: policy.audit.pcrs,
          schedule,
        }),
      );
    };
  }
  return verdict;
}

/**
 * The state directory's sealed secrets (agent/secrets) for the gate: `release` unseals into `released`,
 * which `act` hands to the command; the modules load only for an artifact that names secrets. The
 * files `sealed` read for the scope check are the ones `release` unseals (read once, not again).
 */
function gateSecrets(
  stateDir: string,
  tpm: () => Promise<import('../tpm/tpm.js').Tpm>,
  released: Map<string, Uint8Array>,
): import('../gate/gate.js').GateSecrets {
  const read = new Map<string, import('../secrets/store.js').SealedSecret>();
  return {
    async sealed(name) {
      const { readSealed } = await import('../secrets/store.js');
      const { SecretError } = await import('../secrets/errors.js');
      try {
        read.set(name, await readSealed(stateDir, name));
        return true;
      } catch (e) {
        if (e instanceof SecretError && e.code === 'E_SECRET_MISSING') return false;
        throw e;
      }
    },
    async release(names) {
      const { readSealed, readSignedPolicies } = await import('../secrets/store.js');
      const { unsealSecrets } = await import('../secrets/seal.js');
      const sealed = await Promise.all(names.map((name) => read.get(name) ?? readSealed(stateDir, name)));
      const signed = await readSignedPolicies(stateDir);
      const data = await unsealSecrets(await tpm(), sealed, signed);
      names.forEach((name, i) => {
        released.set(name, data[i] as Uint8Array);
      });
      lap('unseal');
    },
  };
}

/** The TPM, opened on first use and closed by `opened.closeTpm`. */
function lazyTpm(ctx: CliContext, opened: { closeTpm?: () => Promise<void> }) {
  let tpm: Promise<import('../tpm/tpm.js').Tpm> | undefined;
  return (): Promise<import('../tpm/tpm.js').Tpm> => {
    if (tpm === undefined) {
      const t = ctx.openTpm();
      tpm = Promise.resolve(t);
      opened.closeTpm = () => t.close();
    }
    return tpm;
  };
}

async function gate(argv: string[], ctx: CliContext, consume: boolean): Promise<number> {
  lap('modules');
  const usage = consume ? (EXEC_HELP.split('\n')[0] ?? '') : (CHECK_HELP.split('\n')[0] ?? '');
  const { flags, command } = parseCommandLine(argv, usage);
  if (flags.verdict !== undefined) await checkOutput('--verdict', flags.verdict, { replace: true });
  const opened: Parameters<typeof judge>[4] = {};
  let verdict: GateVerdict;
  try {
    verdict = await judge(ctx, flags, command, consume, opened);
  } catch (e) {
    verdict = early(e);
  } finally {
    if (!consume || opened.checkpoint === undefined) await opened.closeTpm?.();
  }
  return act(ctx, flags, command, consume, verdict, opened.exe, {
    whileRunning: opened.checkpoint,
    ...(opened.secrets === undefined ? {} : { secrets: opened.secrets }),
    close: async () => {
      for (const bytes of opened.secrets?.values() ?? []) bytes.fill(0);
      await opened.closeTpm?.();
      await opened.exe?.close();
      opened.store?.close();
    },
  });
}

export const EXEC_DEFAULT = async (argv: string[], ctx: CliContext): Promise<number> => {
  // A running `execgate serve` judges it, warm; else this process does (exec-client.ts).
  const { execViaServe } = await import('./exec-client.js');
  return (await execViaServe(argv, ctx)) ?? gate(argv, ctx, true);
};
export const CHECK_DEFAULT = (argv: string[], ctx: CliContext) => gate(argv, ctx, false);
