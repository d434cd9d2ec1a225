// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/state/failure
 *
 * One failure shape for every measured-state verdict (reference rules, evidence that does not hold
 * together, an artifact's PCR-digest claim): the rule that failed, a stable code, a message for people and
 * the facts behind it. The gate denies with E_STATE on any of them.
 */

/** The rule, or the evidence, that failed. */
export type StateRule =
  | 'pcr'
  | 'pcr-digest'
  | 'secure-boot'
  | 'boot-application'
  | 'kernel'
  | 'initrd'
  | 'loader-file'
  | 'boot-command'
  | 'eventlog'
  | 'ima';

/**
 * What differed. `detail` by code: pcr-mismatch {bank, pcr, expected, actual}; pcr-missing {bank, pcr,
 * expected}; not-quoted {pcrs, bank?}: a PCR the rule reads is not in the verified quote (in that bank);
 * evidence-missing {}; evidence-untrusted {}: a log does not match the quote or an entry's data is not what
 * was measured; secure-boot-not-enabled {state}; bank-missing {index, bank, pcr?, path?};
 * digest-not-allowed {index, pcr?, bank?, digest?, path?, type?}: the digest of an event extended into an
 * allowlisted PCR, or of a named component, is not listed; command-not-allowed {index, pcr, command}: a boot loader command
 * string that is not listed; component-missing {}; ima-unlisted and
 * ima-digest-mismatch {index, path, digest, allowed?}; ima-violation {index, path}.
 */
export type StateFailureCode =
  | 'pcr-mismatch'
  | 'pcr-missing'
  | 'not-quoted'
  | 'evidence-missing'
  | 'evidence-untrusted'
  | 'secure-boot-not-enabled'
  | 'bank-missing'
  | 'digest-not-allowed'
  | 'command-not-allowed'
  | 'component-missing'
  | 'ima-unlisted'
  | 'ima-digest-mismatch'
  | 'ima-violation';

export interface StateFailure {
  readonly rule: StateRule;
  readonly code: StateFailureCode;
  readonly message: string;
  readonly detail: Readonly<Record<string, string | number | readonly string[] | readonly number[]>>;
}

export type AddFailure = (
  rule: StateRule,
  code: StateFailureCode,
  message: string,
  detail?: StateFailure['detail'],
) => void;

/** A failure list and the function that appends to it. */
export function failureList(): { readonly failures: StateFailure[]; readonly add: AddFailure } {
  const failures: StateFailure[] = [];
  return {
    failures,
    add: (rule, code, message, detail = {}) => failures.push({ rule, code, message, detail }),
  };
}
