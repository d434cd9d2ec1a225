// SPDX-License-Identifier: Apache-2.0
/**
 * The CLI's exit codes and its usage error, apart from exit.ts's table of every error code (which names
 * the TPM layer's codes): what `execgate exec`'s client of `execgate serve` needs, and no more.
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
  /**
   * Evidence failed verification: a quote (E_QUOTE_*), an EK certificate (E_EK_CERT_*), an event log, an
   * authorization artifact or a revocation list (E_FORMAT, E_SIGNATURE, E_REVOKED, …).
   */
  EVIDENCE_INVALID: 7,
  /** No measurement log to judge: securityfs not mounted, no firmware log or IMA, or not readable. */
  NO_MEASUREMENT_LOG: 8,
  /** `execgate doctor`: a check failed (or could not run because one it needs failed). */
  UNHEALTHY: 9,
  /** The gate denied the execution: nothing ran (as a shell reports a command it may not execute). */
  DENIED: 126,
} as const;

/** Bad command-line input: what was wrong and what to type instead. */
export class UsageError extends ExecgateError<'E_USAGE'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_USAGE', message, options);
  }
}
