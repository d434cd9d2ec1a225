// SPDX-License-Identifier: Apache-2.0
/** The error of the host policy layer: one code, E_CONFIG, with the TOML path of what is wrong. */
import { ExecgateError } from '../errors.js';
import { FileWriteError } from '../fs/atomic-write.js';
import { InputError } from '../fs/read-bounded.js';

/**
 * The host policy cannot be used: unreadable, not TOML, an unknown table or key, a malformed value. The
 * message names the file and the TOML path (`audit.checkpoint_entries must be a positive integer`). The
 * gate denies every execution while the policy is broken (issue 14).
 */
export class ConfigError extends ExecgateError<'E_CONFIG'> {
  /** The policy file, when the policy came from one. */
  readonly file: string | undefined;
  /** The TOML path of the offending table or key (`audit.pcrs`), when the error is about one. */
  readonly at: string | undefined;

  constructor(
    message: string,
    options: { file?: string | undefined; at?: string | undefined; cause?: unknown } = {},
  ) {
    super('E_CONFIG', message, options.cause === undefined ? undefined : { cause: options.cause });
    this.file = options.file;
    this.at = options.at;
  }
}

/**
 * A file the policy names (or the policy itself) refused by fs/ as E_CONFIG: unsafe (E_FILE_UNSAFE,
 * saying what to chmod or chown), unreadable or too long; `place` is where the policy names it, `prefix`
 * goes before the message ("policy FILE: issuer[0].key: "). Anything else is rethrown as it is.
 */
export function fileRefused(
  e: unknown,
  place: { file?: string | undefined; at?: string | undefined },
  prefix = '',
): never {
  if (e instanceof FileWriteError || e instanceof InputError)
    throw new ConfigError(`${prefix}${e.message}`, { ...place, cause: e });
  throw e;
}
