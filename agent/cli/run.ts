// SPDX-License-Identifier: Apache-2.0
/**
 * The `execgate` command line: global flags, dispatch to a command group, and the mapping of typed
 * errors to messages and exit codes. Nothing below cli/ prints or exits (DESIGN.md §1).
 */
import { ExecgateError } from '../errors.js';
import { parseTcti } from '../tpm/transport/tcti.js';
import { HelpRequest } from './args.js';
import { type CliContext, type CliIo, makeContext } from './context.js';
import { EXIT, exitCodeOf, hintFor, UsageError } from './exit.js';
import { parseGlobal } from './global-flags.js';
import { EXECGATE_VERSION } from './version.js';

/** The groups that replay measurement logs, and so hash through agent/crypto/hash.ts. */
const HASHING_GROUPS: ReadonlySet<string> = new Set(['eventlog', 'ima', 'state']);

/**
 * The thread count for `initHashing` from $EXECGATE_HASH_THREADS (docs/development.md, "wasm-core"): unset or empty, 2
 * (large batches split with one worker thread on a machine with two cores); 0 or 1, one thread
 * (determinism, debugging); 2 or more, 2 (one worker is all there is). Anything else is a usage error.
 */
export function hashThreads(env: CliIo['env']): 1 | 2 {
  const value = env.EXECGATE_HASH_THREADS;
  if (value === undefined || value === '') return 2;
  if (!/^[0-9]+$/.test(value)) {
    throw new UsageError(`EXECGATE_HASH_THREADS must be a number of threads (0 or 1: one), got "${value}"`);
  }
  return Number(value) >= 2 ? 2 : 1;
}

/** What a command of `group` needs before it runs: wasm-core hashing, with the environment's threads. */
async function prepare(group: string, io: CliIo): Promise<void> {
  if (!HASHING_GROUPS.has(group)) return;
  const threads = hashThreads(io.env);
  // Loaded here rather than at the top, like the groups: other commands do not pay for wasm-core.
  const { initHashing } = await import('../crypto/hash.js');
  await initHashing({ threads });
}

const HELP = `Usage: execgate [--tcti TCTI] [--tpm-deadline S] [--json] [--debug] <group> <command> [flags]

A command runs only after it is verified. Groups:
  tpm      info | pcrs | extend | random       direct TPM access
  host     init | identity                     the host's attestation identity (AK under the EK)
  credential make | activate                   credential activation: prove an AK and an EK share a TPM
  quote    (make) | verify                     TPM quotes: make one, or verify one with a reason code
  eventlog show | replay | verify [FILE]       the firmware/boot event log, replayed and judged against a quote
  ima      show | replay | verify [FILE]       the kernel's IMA measurement list, replayed and judged likewise
  state    capture | check | digest            the host's reference state: record it, judge against it
  key      gen | id                            signing keys of issuers, delegates and approvers
  secret   seal | list | policy-sign | rm      secrets sealed to the TPM, handed only to allowed commands
  artifact issue | delegate | approve | inspect | verify
                                               authorization artifacts: who may run what, where, when
  revoke   (make)                              a signed revocation list of artifacts and keys
  audit    show | checkpoint | verify | prove | export
                                               the tamper-evident audit log, TPM-anchored, verifiable offline
  exec     [flags] -- CMD [ARGS…]              the gate: run CMD only when an artifact allows it (126 if not)
  check    [flags] -- CMD [ARGS…]              the gate's verdict on CMD, without running or recording it
  policy   check                               the host policy: load every file it names, print the trust
  doctor   [--policy FILE] [--json]            is this host ready to gate? each check, and what to do
  serve    [--policy FILE]                     the host's service: checkpoints, heartbeats, reloads, metrics

Global flags:
  --tcti TCTI   the TPM to use: device:/dev/tpmrm0, swtpm:host=H,port=P, swtpm:path=SOCK, mssim:host=H,port=P
                (default: $EXECGATE_TCTI, else $TPM2TOOLS_TCTI, else device:/dev/tpmrm0)
  --tpm-deadline S  overall deadline in seconds for all TPM commands of this run (default:
                $EXECGATE_TPM_DEADLINE, else 60; at most 3600): past it, E_TPM_TIMEOUT (exit 3)
  --json        machine-readable output where the output is data
  --debug       on an error, also print its stack trace and causes (for a bug report)
  --help        this text; "execgate tpm --help" for a group, "execgate tpm pcrs --help" for a command
  --version     the version of execgate

Exit codes: 0 ok, 1 internal error, 2 usage, 3 TPM unavailable, 4 TPM error response,
            5 malformed TPM response, 6 request not supported by this TPM, 7 evidence failed verification,
            8 no measurement log to read, 9 a doctor check failed.`;

export type CommandFn = (argv: string[], ctx: CliContext) => Promise<number>;

export interface CommandGroup {
  readonly help: string;
  readonly commands: Readonly<Record<string, CommandFn>>;
  readonly default?: CommandFn;
}

// Each group's modules load only when that group runs: a command pays for its own imports, not for every
// group's (X.509, CBOR, the TPM client), which keeps start-up short for `eventlog replay` and the like.
export const GROUPS: Readonly<Record<string, () => Promise<CommandGroup>>> = {
  tpm: async () => {
    const m = await import('./tpm.js');
    return { help: m.TPM_HELP, commands: m.TPM_COMMANDS };
  },
  host: async () => {
    const m = await import('./host.js');
    return { help: m.HOST_HELP, commands: m.HOST_COMMANDS };
  },
  credential: async () => {
    const m = await import('./credential.js');
    return { help: m.CREDENTIAL_HELP, commands: m.CREDENTIAL_COMMANDS };
  },
  quote: async () => {
    const m = await import('./quote.js');
    return { help: m.QUOTE_HELP, commands: m.QUOTE_COMMANDS, default: m.QUOTE_DEFAULT };
  },
  eventlog: async () => {
    const m = await import('./eventlog.js');
    return { help: m.EVENTLOG_HELP, commands: m.EVENTLOG_COMMANDS };
  },
  ima: async () => {
    const m = await import('./ima.js');
    return { help: m.IMA_HELP, commands: m.IMA_COMMANDS };
  },
  state: async () => {
    const m = await import('./state.js');
    return { help: m.STATE_HELP, commands: m.STATE_COMMANDS };
  },
  key: async () => {
    const m = await import('./key.js');
    return { help: m.KEY_HELP, commands: m.KEY_COMMANDS };
  },
  secret: async () => {
    const m = await import('./secret.js');
    return { help: m.SECRET_HELP, commands: m.SECRET_COMMANDS };
  },
  artifact: async () => {
    const m = await import('./artifact.js');
    return { help: m.ARTIFACT_HELP, commands: m.ARTIFACT_COMMANDS };
  },
  revoke: async () => {
    const m = await import('./revoke.js');
    return { help: m.REVOKE_HELP, commands: {}, default: m.REVOKE_DEFAULT };
  },
  audit: async () => {
    const m = await import('./audit.js');
    return { help: m.AUDIT_HELP, commands: m.AUDIT_COMMANDS };
  },
  exec: async () => {
    const m = await import('./exec.js');
    return { help: m.EXEC_HELP, commands: {}, default: m.EXEC_DEFAULT };
  },
  check: async () => {
    const m = await import('./exec.js');
    return { help: m.CHECK_HELP, commands: {}, default: m.CHECK_DEFAULT };
  },
  policy: async () => {
    const m = await import('./policy.js');
    return { help: m.POLICY_HELP, commands: m.POLICY_COMMANDS };
  },
  doctor: async () => {
    const m = await import('./doctor.js');
    return { help: m.DOCTOR_HELP, commands: {}, default: m.DOCTOR_DEFAULT };
  },
  serve: async () => {
    const m = await import('./serve.js');
    return { help: m.SERVE_HELP, commands: {}, default: m.SERVE_DEFAULT };
  },
};

/** Runs one command line; returns the exit code. Never throws. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  let debug = argv.includes('--debug');
  try {
    // Global flags may stand before the group; the rest goes to the command's own parser.
    const { values, positionals, rest } = parseGlobal(argv, HELP);
    debug = values.debug === true;
    if (values.version) {
      io.stdout.write(`execgate ${EXECGATE_VERSION}\n`);
      return EXIT.OK;
    }
    const [group, name] = positionals;
    if (group === undefined) {
      io.stdout.write(`${HELP}\n`);
      return values.help ? EXIT.OK : EXIT.USAGE;
    }
    if (values.tcti !== undefined) tctiFlag(values.tcti);
    const load = GROUPS[group];
    if (!load) throw new UsageError(`unknown command group "${group}"; run "execgate --help"`);
    const g = await load();
    const ctx = makeContext(io, values);
    // A group with a default command runs it when no sub-command is named (`execgate quote --pcrs …`).
    if (name === undefined && g.default) {
      if (values.help) {
        io.stdout.write(`${g.help}\n\n${flagLines(await helpRequestOf(g.default, ctx))}\n`);
        return EXIT.OK;
      }
      await prepare(group, io);
      return await g.default(rest, ctx);
    }
    if (name === undefined || name === 'help') {
      io.stdout.write(`${g.help}\n`);
      return name === undefined && !values.help ? EXIT.USAGE : EXIT.OK;
    }
    const cmd = g.commands[name];
    if (!cmd) throw new UsageError(`unknown command "${group} ${name}"; run "execgate ${group} --help"`);
    if (values.help) {
      io.stdout.write(`${await commandHelp(g, group, name, cmd, ctx)}\n`);
      return EXIT.OK;
    }
    await prepare(group, io);
    return await cmd(rest, ctx);
  } catch (e) {
    const code = exitCodeOf(e);
    if (e instanceof ExecgateError) {
      const hint = hintFor(e);
      io.stderr.write(`execgate: ${e.code}: ${e.message}${hint ? `\n  hint: ${hint}` : ''}\n`);
      if (debug) io.stderr.write(`${stackOf(e)}\n`);
    } else {
      const what = e instanceof Error ? e.message : String(e);
      io.stderr.write(
        debug
          ? `execgate: internal error: ${stackOf(e)}\n`
          : `execgate: internal error: ${what}\n  this is a bug: please report it with the output of the same command run with --debug\n`,
      );
    }
    return code;
  }
}

/** An error's stack and its causes' (for --debug). */
function stackOf(e: unknown): string {
  const lines: string[] = [];
  for (let c: unknown = e, depth = 0; c !== undefined && depth < 8; depth++) {
    lines.push(
      `${depth === 0 ? '' : 'caused by: '}${c instanceof Error ? (c.stack ?? c.message) : String(c)}`,
    );
    c = c instanceof Error ? c.cause : undefined;
  }
  return lines.join('\n');
}

/**
 * A --tcti value must parse as a TCTI: a malformed one is a usage error (exit 2), found before any
 * command runs. A group or command name there means the value was forgotten (`execgate --tcti tpm info`).
 */
function tctiFlag(value: string): void {
  try {
    parseTcti(value);
  } catch (e) {
    const forgotten = value === '' || Object.hasOwn(GROUPS, value);
    throw new UsageError(
      forgotten
        ? `--tcti needs a value: got "${value}", which is no TCTI; write --tcti TCTI before the command, e.g. --tcti swtpm:host=127.0.0.1,port=2321 (or leave it out: $EXECGATE_TCTI, else device:/dev/tpmrm0)`
        : `--tcti: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/** What a command answers to `--help` alone: parseFlags' HelpRequest (its usage and flags). */
async function helpRequestOf(cmd: CommandFn, ctx: CliContext): Promise<HelpRequest> {
  try {
    await cmd(['--help'], ctx);
  } catch (e) {
    if (e instanceof HelpRequest) return e;
    throw e;
  }
  throw new Error('--help did not reach parseFlags');
}

function flagLines(request: HelpRequest): string {
  return [
    `Flags: ${request.flags.length ? request.flags.join(' ') : '(none)'}`,
    'Global flags: --tcti TCTI --tpm-deadline S --json --debug',
  ].join('\n');
}

/**
 * `execgate GROUP COMMAND --help`: the command's usage, every flag it parses, and its examples (the
 * lines of the group help's Example section that run it).
 */
async function commandHelp(g: CommandGroup, group: string, name: string, cmd: CommandFn, ctx: CliContext) {
  const request = await helpRequestOf(cmd, ctx);
  const examples = examplesOf(g, group, name);
  return [
    request.usage,
    flagLines(request),
    `Example${examples.length > 1 ? 's' : ''}:`,
    ...examples.map((l) => `  ${l}`),
    `More: execgate ${group} --help`,
  ].join('\n');
}

/**
 * The example lines of a group help (its "Example:" section) that run `group name`, or the group's
 * default command when `name` is undefined, each with its continuation lines.
 */
export function examplesOf(g: CommandGroup, group: string, name: string | undefined): string[] {
  const lines = g.help.split('\n');
  const at = lines.findIndex((l) => /^Examples?:\s*$/.test(l));
  const out: string[] = [];
  let taking = false;
  for (const raw of at < 0 ? [] : lines.slice(at + 1)) {
    if (!raw.startsWith('  ')) break;
    if (taking && raw.startsWith('    ')) {
      out.push(raw.slice(2));
      continue;
    }
    taking = invocations(raw).some(([gr, c]) => {
      if (gr !== group) return false;
      const sub = c !== undefined && Object.hasOwn(g.commands, c) ? c : undefined;
      return sub === name;
    });
    if (taking) out.push(raw.trim());
  }
  return out;
}

/** [group, word after it] of each `execgate …` on a line, global flags skipped. */
function invocations(line: string): [string | undefined, string | undefined][] {
  const words = line.trim().split(/\s+/);
  const out: [string | undefined, string | undefined][] = [];
  words.forEach((w, i) => {
    if (w !== 'execgate') return;
    let k = i + 1;
    while (/^--(json|debug|tcti|tpm-deadline)(=|$)/.test(words[k] ?? '')) {
      const flag = words[k] ?? '';
      k += flag === '--tcti' || flag === '--tpm-deadline' ? 2 : 1;
    }
    out.push([words[k], words[k + 1]]);
  });
  return out;
}
