// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/secrets/name
 *
 * Names of sealed secrets (issue 17): `[a-z0-9_-]{1,64}`, the same rule for the artifact's `secrets`
 * claim, the file under state_dir/secrets/ and the variable that carries its descriptor number. Pure:
 * no I/O, so the artifact layer can use it.
 */

/** A secret's name: lowercase letters, digits, `_` and `-`, 1 to 64 of them. */
export const SECRET_NAME = /^[a-z0-9_-]{1,64}$/;

/** How many secrets one artifact may name. */
export const MAX_SECRETS_PER_ARTIFACT = 16;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** `EXECGATE_SECRET_<NAME>_FD`: the name upper-cased, `-` as `_`. */
export function secretFdVariable(name: string): string {
  return `EXECGATE_SECRET_${name.toUpperCase().replaceAll('-', '_')}_FD`;
}

/** Whether `variable` has the form of a secret's descriptor variable (the gate never passes one through). */
export function isSecretFdVariable(variable: string): boolean {
  return variable.startsWith('EXECGATE_SECRET_') && variable.endsWith('_FD');
}
