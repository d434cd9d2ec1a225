// SPDX-License-Identifier: Apache-2.0
/** Calls `fn`; returns the error of class `cls` it throws, failing on success or any other exception. */
export function thrown<E extends Error>(cls: new (...args: never[]) => E, fn: () => unknown): E {
  try {
    fn();
  } catch (e) {
    if (e instanceof cls) return e;
    throw e;
  }
  throw new Error(`expected a ${cls.name}, got a value`);
}
