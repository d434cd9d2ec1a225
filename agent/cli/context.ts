// SPDX-License-Identifier: Apache-2.0
/** What a CLI command gets from the process: output streams, environment, and a TPM on demand. */
import { Tpm } from '../tpm/tpm.js';
import { openTransport, resolveTcti } from '../tpm/transport/index.js';

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
  /** Opens the TPM at the resolved TCTI; the caller closes it (see withTpm). */
  withTpm<T>(fn: (tpm: Tpm) => Promise<T>): Promise<T>;
}

export function makeContext(io: CliIo, tcti: string | undefined, json: boolean): CliContext {
  return {
    ...io,
    tcti,
    json,
    out(line) {
      io.stdout.write(`${line}\n`);
    },
    async withTpm(fn) {
      const tpm = new Tpm(openTransport(resolveTcti(tcti, io.env)));
      try {
        return await fn(tpm);
      } finally {
        await tpm.close();
      }
    },
  };
}
