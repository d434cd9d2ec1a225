// SPDX-License-Identifier: Apache-2.0
/**
 * `execgate serve` (issue 15): the long-running service of a host (agent/serve/service.ts), as the
 * systemd unit runs it. Loads the policy and trust, the pinned AK (host.json) and the audit store at
 * start, each failure a clear error and exit code before anything runs; then serves until SIGTERM or
 * SIGINT, and exits 0 once stopped. The TPM need not be reachable at start: the service retries it.
 */
import { dirname, join, resolve } from 'node:path';
import { AkError } from '../attest/ak.js';
import { DEFAULT_POLICY_FILE } from '../config/defaults.js';
import { addressText, servePcrs } from '../config/policy.js';
import { loadTrust } from '../config/trust.js';
import { toHex } from '../encoding/bytes.js';
import { formatSelection } from '../tpm/pcr-selection.js';
import { resolveTcti } from '../tpm/transport/index.js';
import { parseFlags } from './args.js';
import type { CliContext } from './context.js';
import { EXIT, UsageError } from './exit.js';
import { hostSetup } from './host-policy.js';
import { hostStatePath, pinnedAk, readHostState, withPinnedAk } from './host-state.js';

export const SERVE_HELP = `Usage: execgate serve [--policy FILE] [--log-level LEVEL]

The host's long-running service (docs/service.md): makes audit checkpoints on the policy's
[audit] schedule, appends a signed heartbeat (a quote of [serve] pcrs by the pinned AK) every
[serve] heartbeat, reloads the policy and revocation lists when their files change, serves Prometheus
metrics on [serve] metrics (loopback only), and survives the TPM being away (retries with backoff).
Logs JSON lines on stderr. Runs until SIGTERM or SIGINT, then exits 0.

  --policy FILE      the host policy (default ${DEFAULT_POLICY_FILE}); its [host] state_dir must have been
                     initialised by "execgate host init --policy FILE" (exit 2 with E_AK_MISSING if not)
  --log-level LEVEL  debug, info (default), warn or error

Example:
  execgate serve --policy /etc/execgate/policy.toml`;

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

async function serve(argv: string[], ctx0: CliContext): Promise<number> {
  const usage = 'Usage: execgate serve [--policy FILE] [--log-level LEVEL]';
  const { values, positionals } = parseFlags(
    argv,
    { policy: { type: 'string' }, 'log-level': { type: 'string' } },
    usage,
  );
  if (positionals.length) throw new UsageError(`unknown argument "${positionals[0]}"\n${usage}`);
  const level = values['log-level'] ?? 'info';
  if (!(LEVELS as readonly string[]).includes(level))
    throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}, got "${level}"\n${usage}`);
  const policyFile = values.policy ?? DEFAULT_POLICY_FILE;
  // Fingerprints from before each file is read: a policy or revocation list written while the service
  // starts is reloaded at its first verdict or tick, not taken as loaded (serve/reload.ts).
  const { fingerprints, printsBeforeRead } = await import('../serve/reload.js');
  const policyAbs = resolve(policyFile);
  const before = await fingerprints([policyAbs, join(dirname(policyAbs), 'policy.d')]);
  const { policy, stateDir, ctx } = await hostSetup({ policy: policyFile }, ctx0, { readDefault: true });
  const prints = await printsBeforeRead(policy, before);
  const trust = await loadTrust(policy);
  const host = await readHostState(stateDir);
  const ak = pinnedAk(host);
  if (ak === undefined)
    throw new AkError(
      'E_AK_MISSING',
      `no AK is pinned in ${hostStatePath(stateDir)}: this host was never initialised; run execgate host init --policy ${policyFile}`,
    );
  // From here on SIGTERM and SIGINT stop the service in order, also one that comes while it starts.
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    const stop = (s: NodeJS.Signals) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(s);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  // Loaded here: the other commands do not pay for pino, prom-client and the service.
  const { AuditStore } = await import('../audit/store.js');
  const { serveLogger } = await import('../serve/log.js');
  const { Service } = await import('../serve/service.js');
  const log = serveLogger(level as (typeof LEVELS)[number]);
  const store = await AuditStore.open(stateDir);
  let service: Awaited<ReturnType<typeof Service.start>>;
  try {
    service = await Service.start({
      policy,
      trust,
      policyFile,
      prints,
      store,
      akName: ak.name,
      // An operation's commands on one connection to a swtpm (a verdict's four: ~1 ms less than a
      // connection each); TpmAccess closes it when the operation ends, so other clients wait no longer.
      openTpm: () => ctx.openTpm({ keepAlive: true }),
      withPinnedAk: (tpm, fn) => withPinnedAk(tpm, host, stateDir, fn),
      log,
    });
  } catch (e) {
    store.close();
    throw e;
  }
  // The gate socket: `execgate exec` asks the service for its verdicts (agent/gate/wire.ts).
  const { listenGate } = await import('../serve/gate-socket.js');
  const { servedGate } = await import('../serve/served-gate.js');
  const { GATE_SOCKET } = await import('../gate/wire.js');
  const { explicitTcti } = await import('./exec-client.js');
  const { initVerification } = await import('../crypto/verify.js');
  // A long-lived process: wasm-core instantiated once, its key cache warm for the pinned AK's quotes.
  await initVerification();
  let gate: Awaited<ReturnType<typeof listenGate>>;
  try {
    gate = await listenGate(
      join(stateDir, GATE_SOCKET),
      servedGate({
        policyFile: resolve(policyFile),
        tcti: explicitTcti(ctx0.tcti, ctx0.env),
        current: () => service.current(),
        store,
        stateDir,
        host: host as NonNullable<typeof host>,
        ak,
        withTpm: (fn) => service.withTpm(fn),
        ctx,
        made(verdict, seconds) {
          service.metrics.observeVerdict(verdict.verdict, seconds);
          if (verdict.audit !== undefined) service.afterAppend();
        },
      }),
      (e) =>
        e.event === 'gate-declined'
          ? log.info({ event: e.event, reason: e.reason }, 'a gate request declined: the client judges it')
          : log.warn({ event: e.event, err: e.error }, 'a gate connection failed'),
    );
  } catch (e) {
    await service.stop();
    throw e;
  }
  log.info(
    {
      event: 'start',
      socket: gate.path,
      policy: policy.file,
      stateDir,
      ak: toHex(ak.name),
      tcti: resolveTcti(ctx.tcti, ctx.env),
      heartbeatSeconds: policy.serve.heartbeatSeconds,
      pcrs: formatSelection(servePcrs(policy)),
      metrics: policy.serve.metrics === undefined ? null : addressText(policy.serve.metrics),
    },
    'execgate serve started',
  );
  const signal = await stopped;
  // Stop taking requests, then stop the service (which cuts a stalled TPM after its grace period, so a
  // verdict in flight ends as a denial), then let the verdicts in flight answer.
  const closing = gate.close();
  await service.stop(signal);
  await closing;
  return EXIT.OK;
}

export const SERVE_DEFAULT = serve;
