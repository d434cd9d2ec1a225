// SPDX-License-Identifier: Apache-2.0
/**
 * The base of every typed error in execgate: a stable string `code` that callers and tests match on,
 * a message naming the failed operation, and an optional cause. Each layer narrows `Code` to its own
 * union of codes (STYLE.md principle 4).
 */
export class ExecgateError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The errno name (ENOENT, EACCES…) of a failed system call's error, if it is one. */
export function errnoOf(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
