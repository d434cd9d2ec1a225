// SPDX-License-Identifier: Apache-2.0
/** What a CLI command gets from the process: output streams, environment, and a TPM on demand. */
import { Tpm } from '../tpm/tpm.js';
import {
  DEFAULT_DEADLINE_MS,
  DeadlineTransport,
  openTransport,
  resolveTcti,
} from '../tpm/transport/index.js';
import { parseTcti } from '../tpm/transport/tcti.js';
import { UsageError } from './exit.js';

export interface CliIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface CliContext extends CliIo {
  /** The --tcti flag, if given. */
  readonly tcti: string | undefined;
  readonly json: boolean;
  out(line: string): void;
  /**
   * Opens the TPM at the resolved TCTI for `fn` and closes it after. All of `fn`'s commands share one
   * overall deadline (--tpm-deadline, else EXECGATE_TPM_DEADLINE seconds, default 60): past it they fail
   * with E_TPM_TIMEOUT.
   */
  withTpm<T>(fn: (tpm: Tpm) => Promise<T>): Promise<T>;
  /**
   * The TPM at the resolved TCTI under the same deadline, for a caller that closes it itself; with
   * `keepAlive`, a swtpm's commands share one connection until then (stream.ts).
   */
  openTpm(options?: { readonly keepAlive?: boolean }): Tpm;
  /** The same context with another TCTI (the host policy's), keeping --json and --tpm-deadline. */
  withTcti(tcti: string | undefined): CliContext;
}

export interface GlobalFlags {
  readonly tcti?: string | undefined;
  readonly json?: boolean | undefined;
  readonly 'tpm-deadline'?: string | undefined;
}

export function makeContext(io: CliIo, flags: GlobalFlags): CliContext {
  const { tcti } = flags;
  const json = flags.json === true;
  const deadline =
    flags['tpm-deadline'] !== undefined
      ? { raw: flags['tpm-deadline'], source: '--tpm-deadline' }
      : { raw: io.env[DEADLINE_ENV], source: DEADLINE_ENV };
  return {
    ...io,
    tcti,
    json,
    out(line) {
      io.stdout.write(`${line}\n`);
    },
    withTcti(other) {
      return makeContext(io, { ...flags, tcti: other });
    },
    openTpm(options = {}) {
      const ms = deadlineMs(deadline.raw, deadline.source);
      const transport = openTransport(tctiOf(tcti, io.env), options);
      return new Tpm(new DeadlineTransport(transport, { ms, source: deadline.source }));
    },
    async withTpm(fn) {
      const tpm = this.openTpm();
      try {
        return await fn(tpm);
      } finally {
        await tpm.close();
      }
    },
  };
}

/**
 * The TCTI to open, checked here: a malformed one (in --tcti, the policy, $EXECGATE_TCTI or
 * $TPM2TOOLS_TCTI) is a usage error naming where it came from, not an unreachable TPM.
 */
function tctiOf(flag: string | undefined, env: CliIo['env']): string {
  const tcti = resolveTcti(flag, env);
  try {
    parseTcti(tcti);
  } catch (e) {
    const source =
      flag !== undefined ? '--tcti' : ['EXECGATE_TCTI', 'TPM2TOOLS_TCTI'].find((n) => env[n] === tcti);
    throw new UsageError(`${source ?? 'TCTI'}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return tcti;
}

const DEADLINE_ENV = 'EXECGATE_TPM_DEADLINE';
/** The longest overall deadline accepted (one hour). */
const MAX_DEADLINE_S = 3600;

/** --tpm-deadline or EXECGATE_TPM_DEADLINE: seconds (decimals allowed), more than 0 and at most an hour; default 60 s. */
function deadlineMs(raw: string | undefined, source: string): number {
  if (raw === undefined || (raw === '' && source === DEADLINE_ENV)) return DEFAULT_DEADLINE_MS;
  const s = /^\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  const ms = Math.round(s * 1000);
  if (!(ms > 0 && s <= MAX_DEADLINE_S)) {
    throw new UsageError(
      `${source}="${raw}": give the overall TPM deadline in seconds, more than 0 and at most ${MAX_DEADLINE_S}`,
    );
  }
  return ms;
}
