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

/** Failures of one rule and code listed one by one; the rest are counted in one more failure. */
export const MAX_FAILURES_PER_KIND = 100;

export interface FailureList {
  readonly add: AddFailure;
  /** Takes failures from another list as they are (their own caps applied). */
  readonly addAll: (more: readonly StateFailure[]) => void;
  /** The failures, each kind past MAX_FAILURES_PER_KIND summed up in one "and N more" failure. */
  readonly done: () => readonly StateFailure[];
}

/**
 * A failure list. A hostile log can make as many failures as it has events; past
 * MAX_FAILURES_PER_KIND of one (rule, code) they are counted, not listed, so a verdict stays readable.
 */
export function failureList(): FailureList {
  const failures: StateFailure[] = [];
  const counts = new Map<string, { rule: StateRule; code: StateFailureCode; n: number }>();
  const add: AddFailure = (rule, code, message, detail = {}) => {
    const key = `${rule}\0${code}`;
    const c = counts.get(key) ?? { rule, code, n: 0 };
    counts.set(key, c);
    if (++c.n <= MAX_FAILURES_PER_KIND) failures.push({ rule, code, message, detail });
  };
  return {
    add,
    addAll: (more) => {
      for (const f of more) failures.push(f);
    },
    done: () => {
      const out = [...failures];
      for (const c of counts.values())
        if (c.n > MAX_FAILURES_PER_KIND)
          out.push({
            rule: c.rule,
            code: c.code,
            message: `and ${c.n - MAX_FAILURES_PER_KIND} more ${c.rule} failures (${c.code}) not listed`,
            detail: { more: c.n - MAX_FAILURES_PER_KIND },
          });
      return out;
    },
  };
}
