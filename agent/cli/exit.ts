// SPDX-License-Identifier: Apache-2.0
/**
 * Exit codes of the `execgate` command, documented in README.md. Errors map to them by their stable
 * `code`, so a script can tell "no TPM" from "the TPM said no" from "bad flags".
 */
import { ExecgateError } from '../errors.js';

export const EXIT = {
  OK: 0,
  /** An unexpected internal error (a bug: please report it). */
  FAILURE: 1,
  /** Bad command line: unknown command or flag, malformed value. */
  USAGE: 2,
  /** No TPM reachable at the TCTI, or it did not answer in time. */
  TPM_UNAVAILABLE: 3,
  /** The TPM answered with an error response code. */
  TPM_ERROR: 4,
  /** The TPM's answer was malformed or failed its integrity check. */
  TPM_PROTOCOL: 5,
  /** The request does not fit this TPM (e.g. a PCR bank it has not allocated). */
  TPM_UNSUPPORTED: 6,
} as const;

/** Bad command-line input: what was wrong and what to type instead. */
export class UsageError extends ExecgateError<'E_USAGE'> {
  constructor(message: string) {
    super('E_USAGE', message);
  }
}

const BY_CODE: Readonly<Record<string, number>> = {
  E_USAGE: EXIT.USAGE,
  E_TPM_UNAVAILABLE: EXIT.TPM_UNAVAILABLE,
  E_TPM_TIMEOUT: EXIT.TPM_UNAVAILABLE,
  E_TPM_RC: EXIT.TPM_ERROR,
  E_TPM_PROTOCOL: EXIT.TPM_PROTOCOL,
  E_TPM_PARSE: EXIT.TPM_PROTOCOL,
  E_TPM_INTEGRITY: EXIT.TPM_PROTOCOL,
  E_PCR_BANK: EXIT.TPM_UNSUPPORTED,
  E_PCR_INDEX: EXIT.TPM_UNSUPPORTED,
};

export function exitCodeOf(err: unknown): number {
  return err instanceof ExecgateError ? (BY_CODE[err.code] ?? EXIT.FAILURE) : EXIT.FAILURE;
}
