// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/fs/input-limits
 *
 * How long each kind of input file may be, and the error of one that is not (or cannot be read): the
 * CLI's bounded reader (./read-bounded.ts) and the auditor page (web/run.ts, which is handed the bytes,
 * docs/auditor.md) refuse the same files with the same words. Browser-safe: no Node built-in.
 */

import { ExecgateError } from '../errors.js';

export type InputErrorCode = 'E_INPUT_LIMIT' | 'E_INPUT_READ';

/** An input file could not be read (E_INPUT_READ) or is over its limit (E_INPUT_LIMIT). */
export class InputError extends ExecgateError<InputErrorCode> {
  readonly path: string;

  constructor(code: InputErrorCode, path: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.path = path;
  }
}

/**
 * Byte limits per kind of input file. The bundle and reference limits are their parsers' own
 * (MAX_BUNDLE_BYTES, REFERENCE_LIMITS.maxDocumentBytes; test/fs/read-bounded.test.ts keeps them equal),
 * written out so that this module imports no parser.
 */
export const INPUT_LIMITS = {
  /** A CBOR quote bundle (agent/attest/quote.ts). */
  quoteBundle: 64 * 1024,
  /** One tpm2-tools file: quote.msg, quote.sig, quote.pcrs.values, an AK's .pub/.priv. */
  tpm2ToolsFile: 64 * 1024,
  /** A PEM public key (AK, EK). */
  pem: 64 * 1024,
  /** A reference-state document (agent/measure/reference.ts). */
  reference: 64 * 1024 * 1024,
  /** A tpm2-tools credential blob (a TPM2B_ID_OBJECT and a TPM2B_ENCRYPTED_SECRET). */
  credential: 64 * 1024,
  /** An IMA replay checkpoint (JSON: a bank, counts and one digest per PCR). */
  checkpoint: 1024 * 1024,
  /** A --last-clock JSON file. */
  clock: 64 * 1024,
  /** One EK certificate, DER or PEM. */
  ekCert: 64 * 1024,
  /** A bundle of CA certificates. */
  caBundle: 4 * 1024 * 1024,
  /** An authorization artifact (agent/artifact MAX_ARTIFACT_BYTES). */
  artifact: 256 * 1024,
  /** A signed revocation list (agent/artifact MAX_REVOCATION_BYTES). */
  revocationList: 4 * 1024 * 1024,
  /** An artifact signing key (PKCS#8 PEM) or public key (SPKI PEM or DER). */
  key: 64 * 1024,
  /** The JSON of `execgate host identity --json`. */
  hostIdentity: 1024 * 1024,
  /** The host policy, TOML (agent/config/policy.ts). */
  policy: 1024 * 1024,
  /** A secret's plaintext (`execgate secret seal --in`; agent/secrets MAX_SECRET_BYTES). */
  secret: 64 * 1024,
  /** A sealed secret or a signed PCR policy (agent/secrets/store.ts), JSON. */
  sealedSecret: 256 * 1024,
} as const satisfies Readonly<Record<string, number>>;

/** E_INPUT_LIMIT for `path`, given as `what` (a flag or a noun), longer than `maxBytes`. */
export function inputTooLong(what: string, path: string, maxBytes: number): InputError {
  return new InputError(
    'E_INPUT_LIMIT',
    path,
    `${what}: "${path}" is longer than ${maxBytes} bytes, the limit for this kind of file`,
  );
}
