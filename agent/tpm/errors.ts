// SPDX-License-Identifier: Apache-2.0
/**
 * Errors of the TPM layer (STYLE.md principle 4). Three families, each with stable codes:
 * - TpmTransportError: the TPM could not be reached or spoke garbage (E_TPM_UNAVAILABLE, E_TPM_TIMEOUT,
 *   E_TPM_PROTOCOL);
 * - TpmParseError: bytes did not match a TCG structure (E_TPM_PARSE), with the offset where they failed;
 * - TpmError: the TPM answered with a non-success TPM_RC, decoded (see rc.ts).
 */
import { ExecgateError } from '../errors.js';
import { type DecodedRc, decodeRc, formatRc, rcIs } from './rc.js';

export type TpmTransportCode = 'E_TPM_UNAVAILABLE' | 'E_TPM_TIMEOUT' | 'E_TPM_PROTOCOL';

/** The TPM could not be reached, did not answer in time, or broke the framing of Part 3 §5/§6. */
export class TpmTransportError extends ExecgateError<TpmTransportCode> {}

/** Bytes that should hold a TCG structure did not; `offset` is where reading failed. */
export class TpmParseError extends ExecgateError<'E_TPM_PARSE'> {
  readonly offset: number;

  constructor(message: string, offset: number, options?: { cause?: unknown }) {
    super('E_TPM_PARSE', `${message} (at byte ${offset})`, options);
    this.offset = offset;
  }
}

/**
 * The TPM answered a command with a response code other than TPM_RC_SUCCESS (Part 2 §6.6), kept raw and
 * decoded. Match on codes, not on the message: `err.is(TPM_RC.RETRY)`, or `isTpmError(e, TPM_RC.VALUE)`.
 */
export class TpmError extends ExecgateError<'E_TPM_RC'> {
  /** The response code from the response header, as received. */
  readonly rc: number;
  /** `rc` split into format, code, name and (format one) the parameter, handle or session number. */
  readonly decoded: DecodedRc;
  /**
   * The Part 3 command name without `TPM2_`, e.g. `'PCR_Read'`, when the caller gave it. `declare` emits no
   * class field, so the property is absent rather than `undefined` when not given (exactOptionalPropertyTypes).
   */
  declare readonly command?: string;

  constructor(rc: number, command?: string, options?: { cause?: unknown }) {
    // formatRc throws RangeError for a non-u32 rc: a caller's bug, surfaced before any error is built.
    super(
      'E_TPM_RC',
      `${command === undefined ? 'TPM command' : `TPM2_${command}`} failed: ${formatRc(rc)}`,
      options,
    );
    this.rc = rc;
    this.decoded = decodeRc(rc);
    if (command !== undefined) this.command = command;
  }

  /**
   * go-tpm `TPMRC.Is`: does this error carry `code`, ignoring a format-one parameter, handle or session
   * number? `is(TPM_RC.VALUE)` is true for 0x1c4 (TPM_RC_VALUE at parameter 1).
   */
  is(code: number): boolean {
    return rcIs(this.rc, code);
  }
}

/** Is `e` a TpmError, and (when `code` is given) does it carry that code, ignoring index bits? */
export function isTpmError(e: unknown, code?: number): e is TpmError {
  return e instanceof TpmError && (code === undefined || e.is(code));
}
