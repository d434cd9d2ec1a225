// SPDX-License-Identifier: Apache-2.0
/**
 * Errors of the TPM layer (STYLE.md principle 4). Three families, each with stable codes:
 * - TpmTransportError: the TPM could not be reached or spoke garbage (E_TPM_UNAVAILABLE, E_TPM_TIMEOUT,
 *   E_TPM_PROTOCOL);
 * - TpmParseError: bytes did not match a TCG structure (E_TPM_PARSE), with the offset where they failed;
 * - TpmError: the TPM answered with a non-success TPM_RC, decoded (see rc.ts).
 */
import { ExecgateError } from '../errors.js';

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
