// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/secrets/errors
 *
 * Errors of sealed secrets (issue 17), one stable code each:
 * - E_SECRET_NAME: a name outside `[a-z0-9_-]{1,64}`;
 * - E_SECRET_MISSING: no secret of that name is sealed on this host;
 * - E_SECRET_EXISTS: one is, and seal was not told to replace it;
 * - E_SECRET_SIZE: the plaintext is empty or over MAX_SECRET_BYTES;
 * - E_SECRET_FORMAT: a sealed-secret or signed-policy file that does not parse;
 * - E_SECRET_REFUSED: the TPM refused to unseal: the policy does not hold (another PCR state, no signed
 *   policy for it, another TPM, a changed SRK).
 */
import { ExecgateError } from '../errors.js';

export type SecretCode =
  | 'E_SECRET_NAME'
  | 'E_SECRET_MISSING'
  | 'E_SECRET_EXISTS'
  | 'E_SECRET_SIZE'
  | 'E_SECRET_FORMAT'
  | 'E_SECRET_REFUSED';

export class SecretError extends ExecgateError<SecretCode> {}
