// SPDX-License-Identifier: Apache-2.0
/**
 * What `execgate exec` and `execgate check` do around a verdict, however it was made (in this process,
 * agent/cli/exec.ts, or by `execgate serve`, agent/cli/exec-client.ts): the command line, the verdict as
 * printed and written, and acting on it: nothing runs on a denial; an allowed command runs from the
 * descriptor it was judged through, and its end is ours. Kept apart from exec.ts so that the client path
 * loads none of the verification code.
 */

import { ExecgateError } from '../errors.js';
import { GateError, unrecordedDenial } from '../gate/errors.js';
import type { OpenedExecutable } from '../gate/executable.js';
import type { GateVerdict } from '../gate/gate.js';
import { lap, timings } from '../timing.js';
import { parseFlags } from './args.js';
import type { CliIo } from './context.js';
import { EXIT, UsageError } from './exit-codes.js';
import { writeOutput } from './output.js';

export const EXEC_HELP = `Usage: execgate exec [--artifact FILE] [--policy FILE] [--json] [--verdict FILE] -- CMD [ARGS…]

Runs CMD only when an authorization artifact allows exactly this execution on this host, in its measured
state, now; otherwise nothing runs and execgate exits 126 with one line on stderr:
  execgate: denied: CODE: what failed: what to do
(a JSON object with --json). Every verdict, allow or deny, is recorded in the audit log before CMD starts.
  --artifact FILE   the artifact (default: the valid one with a use left in the policy's [host] artifacts
                    store that expires first)
  --policy FILE     the host policy (default /etc/execgate/policy.toml)
  --verdict FILE    also write the verdict JSON to FILE (atomically, before CMD starts)
  --json            the denial (or, in audit mode, the "would deny") as JSON on stderr
CMD runs with execgate's stdin, stdout and stderr, EXECGATE_VERDICT=<seq>:<entry hash> in its environment
(only the variables the artifact's scope.env names, when it names any); signals are forwarded; execgate
exits with CMD's status, or dies of the signal that killed it. Each sealed secret the artifact names
(execgate secret) is unsealed after the allow is recorded and handed to CMD on a descriptor whose number
is in EXECGATE_SECRET_<NAME>_FD (docs/secrets.md).
Reason codes: E_MISSING E_FORMAT E_SIGNATURE E_UNTRUSTED_ISSUER E_LINEAGE E_POLICY E_APPROVAL E_EXPIRED
E_NOT_YET_VALID E_BOOT E_REVOKED E_HOST E_STATE E_SCOPE E_REPLAY E_CONFIG E_TPM_UNAVAILABLE E_AUDIT
E_INTERNAL (docs/gate.md).

Example:
  execgate exec --artifact reboot.cose -- /usr/sbin/reboot`;

export const CHECK_HELP = `Usage: execgate check [--artifact FILE] [--policy FILE] [--json] [--verdict FILE] -- CMD [ARGS…]

The verdict execgate exec would give, without consuming a use, recording it or running anything.
Exit 0 for allow, 126 for deny (the line or JSON as for exec).

Example:
  execgate check --artifact reboot.cose --json -- /usr/sbin/reboot`;

/** What printing a verdict needs of the command line's context. */
export interface VerdictIo extends CliIo {
  readonly json: boolean;
}

export interface Flags {
  readonly artifact?: string | undefined;
  readonly policy?: string | undefined;
  readonly verdict?: string | undefined;
}

/** Splits `[flags] -- CMD ARGS…`; the command is required and only after `--`. */
export function parseCommandLine(argv: string[], usage: string): { flags: Flags; command: string[] } {
  const options = {
    artifact: { type: 'string' },
    policy: { type: 'string' },
    verdict: { type: 'string' },
  } as const;
  // `execgate exec --help`: parseFlags answers with the usage and flags (run.ts, commandHelp).
  if (argv.length === 1 && argv[0] === '--help') parseFlags(argv, options, usage);
  const at = argv.indexOf('--');
  if (at < 0) throw new UsageError(`give the command after "--"\n${usage}`);
  const command = argv.slice(at + 1);
  if (command.length === 0 || command[0] === '') throw new UsageError(`no command after "--"\n${usage}`);
  const { values, positionals } = parseFlags(argv.slice(0, at), options, usage);
  if (positionals.length)
    throw new UsageError(`unknown argument "${positionals[0]}"; the command goes after "--"\n${usage}`);
  return { flags: values, command };
}

/** The verdict JSON (--json, --verdict FILE). */
export function verdictJson(v: GateVerdict): string {
  const { run: _run, ...printed } = v;
  return JSON.stringify({ execgate: 'verdict', ...printed });
}

/** Prints a denial (or a "would deny") on stderr. */
export function printVerdict(io: VerdictIo, v: GateVerdict): void {
  if (v.verdict === 'allow') return;
  if (io.json) {
    io.stderr.write(`${verdictJson(v)}\n`);
    return;
  }
  const word = v.verdict === 'would-deny' ? 'would deny (audit mode, running anyway)' : 'denied';
  io.stderr.write(`execgate: ${word}: ${v.reason}: ${oneLine(v.detail)}: ${oneLine(v.remedy)}\n`);
  if (v.auditError !== undefined)
    io.stderr.write(`execgate: this verdict was not recorded: ${oneLine(v.auditError)}\n`);
}

/**
 * `s` on one line: C0 and C1 controls and Unicode's line and paragraph separators escaped, since the
 * command name (or a file's) in a detail may hold them and split the denial line.
 */
export function oneLine(s: string): string {
  let out = '';
  for (const c of s) {
    const n = c.codePointAt(0) ?? 0;
    const breaker = n < 0x20 || (n >= 0x7f && n <= 0x9f) || n === 0x2028 || n === 0x2029;
    if (!breaker) out += c;
    else out += c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\u${n.toString(16).padStart(4, '0')}`;
  }
  return out;
}

/** A denial made before `decide` could run (nothing to audit it in, or nothing known yet). */
export function early(e: unknown): GateVerdict {
  const g =
    e instanceof GateError
      ? e
      : e instanceof ExecgateError && e.code === 'E_CONFIG'
        ? new GateError('E_CONFIG', e.message, 'fix the host policy (execgate policy check --policy FILE)')
        : new GateError('E_INTERNAL', e instanceof Error ? e.message : String(e), 'report this as a bug');
  return unrecordedDenial(g);
}

/** For a denial that replaces a recorded verdict: which entry recorded it (a use spent by an allow). */
const recordedAs = (v: GateVerdict): string =>
  v.audit === undefined ? '' : ` (after its ${v.verdict}, audit entry ${v.audit.seq})`;

/**
 * What running an allowed command takes (node:child_process among it), loaded on first use: a denial
 * never needs it, and the client of `execgate serve` starts it while the service judges.
 */
export function loadRunning(): ReturnType<typeof importRunning> {
  running ??= importRunning();
  return running;
}
let running: ReturnType<typeof importRunning> | undefined;
const importRunning = () =>
  Promise.all([
    import('../gate/run.js'),
    import('./child-exit.js'),
    import('../gate/lineage.js'),
    import('../secrets/name.js'),
  ]).then(([run, exit, lineage, secrets]) => ({
    runOpened: run.runOpened,
    inputFd: run.inputFd,
    exitLikeChild: exit.exitLikeChild,
    formatVerdictVariable: lineage.formatVerdictVariable,
    isSecretFdVariable: secrets.isSecretFdVariable,
    secretFdVariable: secrets.secretFdVariable,
  }));

/**
 * Acts on `verdict` (module comment): writes it to --verdict FILE, prints a denial, and runs the command
 * from `exe` when it is to run; `whileRunning` (the audit checkpoint, when one is due) runs beside it, and
 * `close` releases what the verdict held. Returns the exit code.
 */
export async function act(
  io: VerdictIo,
  flags: Flags,
  command: readonly string[],
  consume: boolean,
  verdict: GateVerdict,
  exe: OpenedExecutable | undefined,
  opened: {
    whileRunning?: (() => Promise<void>) | undefined;
    close(): Promise<void>;
    /** The secrets the verdict released, by name (issue 17); zeroed once handed over or dropped. */
    secrets?: ReadonlyMap<string, Uint8Array>;
  },
): Promise<number> {
  try {
    if (flags.verdict !== undefined)
      await writeOutput('--verdict', flags.verdict, `${verdictJson(verdict)}\n`, {
        mode: 0o600,
        replace: true,
      });
  } catch (e) {
    verdict = {
      ...early(
        new GateError(
          'E_INTERNAL',
          `cannot write --verdict ${flags.verdict}: ${e instanceof Error ? e.message : String(e)}${recordedAs(verdict)}`,
          'give a writable --verdict path',
        ),
      ),
      mode: verdict.mode,
    };
  }
  printVerdict(io, verdict);
  if (!consume || !verdict.run || exe === undefined) {
    await opened.close();
    if (!consume) return verdict.verdict === 'allow' ? EXIT.OK : EXIT.DENIED;
    return EXIT.DENIED;
  }
  const { runOpened, inputFd, exitLikeChild, formatVerdictVariable, isSecretFdVariable, secretFdVariable } =
    await loadRunning();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(io.env))
    if (v !== undefined && (verdict.env === undefined || verdict.env.includes(k)) && !isSecretFdVariable(k))
      env[k] = v;
  delete env.EXECGATE_VERDICT;
  // Only the secrets this allow names, each on its own descriptor (agent/gate/run.ts inputs); one the
  // verdict names but nobody unsealed would be a bug: the command does not run without it.
  const inputs: Uint8Array[] = [];
  for (const name of verdict.secrets ?? []) {
    const bytes = opened.secrets?.get(name);
    if (bytes === undefined) {
      printVerdict(
        io,
        early(new GateError('E_INTERNAL', `the secret ${name} was not unsealed`, 'report this as a bug')),
      );
      await opened.close();
      return EXIT.DENIED;
    }
    env[secretFdVariable(name)] = String(inputFd(exe, inputs.length));
    inputs.push(bytes);
  }
  if (verdict.audit !== undefined)
    env.EXECGATE_VERDICT = formatVerdictVariable(
      verdict.audit.seq,
      Buffer.from(verdict.audit.entryHash, 'hex'),
    );
  // argv[0] is the real path the artifact names, not the name typed: a link's name would choose what a
  // multi-call binary does (a link named git-rm makes "git status" run "git rm status").
  const child = runOpened(exe, [exe.realPath, ...command.slice(1)], { env, cwd: process.cwd(), inputs });
  lap('spawn');
  // The checkpoint, when due, is made while the command runs: it does not delay the start.
  const checkpoint = opened.whileRunning?.().catch((e: unknown) => {
    io.stderr.write(
      `execgate: warning: audit checkpoint not made: ${e instanceof Error ? e.message : String(e)}\n`,
    );
  });
  const ended = await child.then(
    (outcome) => ({ outcome }),
    (error: unknown) => ({ error }),
  );
  lap('child');
  await checkpoint;
  await opened.close();
  lap('close');
  const t = timings();
  if (t !== undefined) io.stderr.write(`${JSON.stringify({ execgate: 'timing', ms: t })}\n`);
  if ('outcome' in ended) return exitLikeChild(ended.outcome);
  // The command could not start (the kernel refused it, or resources ran out: runOpened's GateError):
  // nothing ran, so it ends as a denial does. Its allow stays recorded, with the use it spent.
  const denial = early(ended.error);
  printVerdict(io, {
    ...denial,
    detail: `${denial.detail}${recordedAs(verdict)}`,
    mode: verdict.mode,
    ...(verdict.artifact === undefined ? {} : { artifact: verdict.artifact }),
    ...(verdict.exe === undefined ? {} : { exe: verdict.exe }),
  });
  return EXIT.DENIED;
}
