// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/state/check
 *
 * Judges state evidence (evidence.ts) against a reference-state document (agent/measure/reference.ts).
 * A rule the document lacks is not checked; a rule present fails when its evidence is missing or when the
 * verified quote does not cover a PCR it reads (the verifier, not the evidence, decides what must be
 * quoted: RULE_PCRS). Evidence is judged only by what a digest covers: an event's type and description may
 * name it for people, never exempt it.
 *
 * - pcrs: every listed (bank, PCR) is in the verified quote and equal.
 * - secureBoot "required": the SecureBoot variable, read from PCR 7 verified in some bank, says enabled
 *   ("unknown", e.g. a variable whose data is not what was measured, fails).
 * - bootApplications and kernels cover PCR 4: every event extended into it that is not a form defined to
 *   describe itself (evidence.ts: a separator, a PFP action string) must have, in every bank the lists
 *   name, a listed digest.
 * - kernels, initrds and loaderFiles together cover PCRs 8 and 9 the same way (the boot loader's command
 *   strings in PCR 8 are judged by bootCommands instead). An event the boot loader names as the kernel (an
 *   initrd) must be on the kernels (initrds) list when that list is present. A non-empty
 *   bootApplications, kernels or initrds list fails when the evidence shows none. An empty list allows none.
 * - bootCommands: every command string the boot loader measured into PCR 8 is on the list, exactly.
 *   Each bank a list names must be verified for every PCR the list reads; an empty list needs them in
 *   some bank.
 * - ima "enforce-listed": each entry's (path, alg:digest) is on the allowlist. Violation entries (all-zero
 *   template hash or file digest: the kernel's record of a ToMToU or open-writers race) fail unless
 *   allowViolations. The first entry, when named boot_aggregate, is skipped unless the allowlist names
 *   boot_aggregate: it is judged against the quoted PCRs 0–9 instead (verdict.ts), and pinning it here
 *   would turn every firmware update into an IMA failure.
 *
 * Not checked here: that the evidence is genuine (verdict.ts builds it from logs judged against a verified
 * quote), `host` (an artifact's `sub` binds the host), `bootChain`, `created`, the order of components.
 */
import { toHex } from '../../encoding/bytes.js';
import { BOOT_AGGREGATE } from '../boot-aggregate.js';
import type { DigestRule, ImaRule, PcrBank, ReferenceRules, ReferenceState } from '../reference.js';
import { type BootEvidence, type MeasuredEvent, type StateEvidence, verifiedInSomeBank } from './evidence.js';
import { type AddFailure, failureList, type StateFailure, type StateRule } from './failure.js';

export interface StateCheck {
  readonly ok: boolean;
  readonly failures: readonly StateFailure[];
}

type ListName = 'bootApplications' | 'kernels' | 'initrds' | 'loaderFiles';

/** The PCRs each rule reads its evidence from (PC Client PFP PCR usage); they must be in the quote. */
export const RULE_PCRS: Readonly<
  Record<ListName | 'secureBoot' | 'bootCommands' | 'ima', readonly number[]>
> = {
  secureBoot: [7],
  bootCommands: [8],
  bootApplications: [4],
  // The EFI stub's kernels are PCR 4 boot applications; grub names files in PCR 8 and measures them in 9.
  kernels: [4, 8, 9],
  initrds: [8, 9],
  loaderFiles: [8, 9],
  ima: [10],
};

/** Allowlisted PCRs and the lists that together cover every event extended into them. */
const COVERAGE: readonly { readonly pcrs: readonly number[]; readonly lists: readonly ListName[] }[] = [
  // kernels too: a kernel started as a boot application is known by its digest, not by the name it logs.
  { pcrs: [4], lists: ['bootApplications', 'kernels'] },
  { pcrs: [8, 9], lists: ['kernels', 'initrds', 'loaderFiles'] },
];

const LIST_RULE: Readonly<Record<ListName, StateRule>> = {
  bootApplications: 'boot-application',
  kernels: 'kernel',
  initrds: 'initrd',
  loaderFiles: 'loader-file',
};

const WHAT: Readonly<Record<ListName, string>> = {
  bootApplications: 'boot application',
  kernels: 'kernel',
  initrds: 'initrd',
  loaderFiles: 'boot loader file',
};

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const allZeroHex = (h: string): boolean => /^0+$/.test(h);

/** Whether an IMA entry is a violation record (all-zero template hash or file digest). */
export function isImaViolation(e: { readonly digest: string; readonly templateHash?: string }): boolean {
  return (e.templateHash !== undefined && allZeroHex(e.templateHash)) || allZeroHex(e.digest);
}

/** Judges `evidence` against `doc` (the rules in the module comment); lists every difference found. */
export function checkReference(doc: ReferenceState, evidence: StateEvidence): StateCheck {
  const list = failureList();
  const { add } = list;
  checkPcrs(doc, evidence, add);
  const { boot, ima } = evidence;
  if (doc.rules.secureBoot === 'required') {
    if (boot === undefined) {
      add('secure-boot', 'evidence-missing', 'Secure Boot is required but no boot evidence was given');
    } else if (!verifiedInSomeBank(boot.verified, 7)) {
      add(
        'secure-boot',
        'not-quoted',
        'Secure Boot is read from PCR 7, which the verified quote does not cover',
        {
          pcrs: [7],
        },
      );
    } else if (boot.secureBoot !== 'enabled') {
      add(
        'secure-boot',
        'secure-boot-not-enabled',
        `Secure Boot is required but the evidence says ${boot.secureBoot}`,
        {
          state: boot.secureBoot,
        },
      );
    }
  }
  checkLists(doc.rules, boot, add);
  if (doc.rules.bootCommands !== undefined) checkCommands(doc.rules, doc.rules.bootCommands, boot, add);
  if (doc.rules.ima !== undefined) {
    if (ima === undefined)
      add('ima', 'evidence-missing', 'the reference has an IMA allowlist but no IMA log was given');
    else checkIma(doc.rules.ima, ima.entries, add);
  }
  const failures = list.done();
  return { ok: failures.length === 0, failures };
}

function checkPcrs(doc: ReferenceState, evidence: StateEvidence, add: AddFailure): void {
  for (const [b, values] of Object.entries(doc.pcrs)) {
    const actualBank = evidence.pcrs.get(b);
    for (const [index, expected] of Object.entries(values ?? {})) {
      const pcr = Number(index);
      const actual = actualBank?.get(pcr);
      if (actual === undefined) {
        add('pcr', 'pcr-missing', `${b} PCR ${index} is not in the verified quote`, {
          bank: b,
          pcr,
          expected,
        });
      } else if (toHex(actual) !== expected) {
        const a = toHex(actual);
        add('pcr', 'pcr-mismatch', `${b} PCR ${index} is ${a}, the reference expects ${expected}`, {
          bank: b,
          pcr,
          expected,
          actual: a,
        });
      }
    }
  }
}

const banksOf = (rules: readonly DigestRule[]): PcrBank[] =>
  [...new Set(rules.map((r) => r.bank))].sort(byCodeUnits);

/**
 * Whether the log was verified for every PCR `list` reads, in every bank it names (in some bank when it
 * names none); records a not-quoted failure otherwise.
 */
function quotedFor(
  list: ListName,
  rules: readonly DigestRule[],
  boot: BootEvidence,
  add: AddFailure,
): boolean {
  const banks = banksOf(rules);
  let ok = true;
  for (const pcr of RULE_PCRS[list]) {
    if (banks.length === 0) {
      if (verifiedInSomeBank(boot.verified, pcr)) continue;
      ok = false;
      add(
        LIST_RULE[list],
        'not-quoted',
        `the ${list} rule reads PCR ${pcr}, which the verified quote does not cover`,
        {
          pcrs: [pcr],
        },
      );
      continue;
    }
    for (const b of banks) {
      if (boot.verified.get(b)?.has(pcr) === true) continue;
      ok = false;
      add(
        LIST_RULE[list],
        'not-quoted',
        `the ${list} rule lists ${b} digests and reads PCR ${pcr}, but the verified quote does not cover ${b} PCR ${pcr}`,
        { pcrs: [pcr], bank: b },
      );
    }
  }
  return ok;
}

/** Control characters of a label (the host's text) shown as '?', so a message stays one line. */
const printable = (s: string): string => s.replace(/\p{Cc}/gu, '?');

function eventName(e: MeasuredEvent): string {
  return `PCR ${e.pcr} event ${e.index} (${e.typeName}${e.label === undefined ? '' : ` "${printable(e.label)}"`})`;
}

/** The digest lists (module comment): quoted, showing a component when they allow one, covering their PCRs. */
function checkLists(rules: ReferenceRules, boot: BootEvidence | undefined, add: AddFailure): void {
  const present = (['bootApplications', 'kernels', 'initrds', 'loaderFiles'] as const).filter(
    (l) => rules[l] !== undefined,
  );
  if (present.length === 0) return;
  if (boot === undefined) {
    for (const l of present)
      add(
        LIST_RULE[l],
        'evidence-missing',
        `the reference lists allowed ${WHAT[l]} digests but no boot evidence was given`,
      );
    return;
  }
  let quoted = true;
  for (const l of present) quoted = quotedFor(l, rules[l] ?? [], boot, add) && quoted;
  if (!quoted) return;
  for (const l of present) {
    const shows =
      l === 'bootApplications'
        ? boot.measured.some((e) => e.pcr === 4)
        : l === 'loaderFiles' || boot.measured.some((e) => e.role === roleOf(l));
    if ((rules[l] ?? []).length > 0 && !shows)
      add(
        LIST_RULE[l],
        'component-missing',
        `the reference allows certain ${WHAT[l]} digests but the evidence shows no ${WHAT[l]}`,
      );
  }
  const allowed = allowedSets(rules);
  for (const group of COVERAGE) {
    const lists = group.lists.filter((l) => rules[l] !== undefined);
    if (lists.length === 0) continue;
    for (const e of boot.measured) {
      if (!group.pcrs.includes(e.pcr)) continue;
      // A name the loader gave (kernel, initrd) narrows the lists that may allow it, never widens them.
      const named = e.role === 'kernel' ? 'kernels' : e.role === 'initrd' ? 'initrds' : undefined;
      judgeEvent(e, named !== undefined && lists.includes(named) ? [named] : lists, allowed, add);
    }
  }
}

function roleOf(l: ListName): 'kernel' | 'initrd' | undefined {
  return l === 'kernels' ? 'kernel' : l === 'initrds' ? 'initrd' : undefined;
}

/** Every command string in PCR 8 must be on the list, exactly (module comment). */
function checkCommands(
  rules: ReferenceRules,
  list: readonly string[],
  boot: BootEvidence | undefined,
  add: AddFailure,
): void {
  if (boot === undefined) {
    add(
      'boot-command',
      'evidence-missing',
      'the reference lists allowed boot commands but no boot evidence was given',
    );
    return;
  }
  if (!verifiedInSomeBank(boot.verified, 8)) {
    add(
      'boot-command',
      'not-quoted',
      'the bootCommands rule reads PCR 8, which the verified quote does not cover',
      {
        pcrs: [8],
      },
    );
    return;
  }
  if (list.length > 0 && boot.commands.length === 0)
    add(
      'boot-command',
      'component-missing',
      'the reference allows certain boot commands but the evidence shows none',
    );
  // Any other event in PCR 8 (a command retagged, edited, or logged with a forged bank) is judged by its
  // digest when a list covers PCR 8; with none, bootCommands allows nothing else there.
  if (rules.kernels === undefined && rules.initrds === undefined && rules.loaderFiles === undefined)
    for (const e of boot.measured)
      if (e.pcr === 8)
        add(
          'boot-command',
          'command-not-allowed',
          `${eventName(e)} is not a boot loader command whose digest is its text, and no kernels, initrds or loaderFiles list allows its digest`,
          { index: e.index, pcr: e.pcr, type: e.typeName },
        );
  const allowed = new Set(list);
  for (const c of boot.commands)
    if (!allowed.has(c.text))
      add(
        'boot-command',
        'command-not-allowed',
        `PCR ${c.pcr} event ${c.index}: "${printable(c.text)}" is not an allowed boot command`,
        {
          index: c.index,
          pcr: c.pcr,
          command: c.text,
        },
      );
}

/** Allowed digests by bank, per list: each event is judged in constant time per bank. */
type AllowedSets = ReadonlyMap<ListName, ReadonlyMap<string, ReadonlySet<string>>>;

function allowedSets(rules: ReferenceRules): AllowedSets {
  const out = new Map<ListName, Map<string, Set<string>>>();
  for (const l of ['bootApplications', 'kernels', 'initrds', 'loaderFiles'] as const) {
    const byBank = new Map<string, Set<string>>();
    for (const r of rules[l] ?? []) byBank.set(r.bank, (byBank.get(r.bank) ?? new Set()).add(r.digest));
    out.set(l, byBank);
  }
  return out;
}

function judgeEvent(
  e: MeasuredEvent,
  lists: readonly ListName[],
  allowed: AllowedSets,
  add: AddFailure,
): void {
  // Failures are named after the one list judging the event, else after the PCR's coverage.
  const only = lists.length === 1 ? lists[0] : undefined;
  const rule = only !== undefined ? LIST_RULE[only] : e.pcr === 4 ? 'boot-application' : 'loader-file';
  const sets = lists.map((l) => allowed.get(l) ?? new Map<string, ReadonlySet<string>>());
  const banks = [...new Set(sets.flatMap((m) => [...m.keys()]))].sort(byCodeUnits);
  const names = lists.join(' or ');
  const detail = {
    index: e.index,
    pcr: e.pcr,
    type: e.typeName,
    ...(e.label === undefined ? {} : { path: e.label }),
  };
  if (banks.length === 0) {
    add(
      rule,
      'digest-not-allowed',
      `${eventName(e)} is not allowed: the reference's ${names} list allows none`,
      detail,
    );
    return;
  }
  for (const b of banks) {
    const d = e.digests[b];
    if (d === undefined) {
      add(rule, 'bank-missing', `${eventName(e)} has no ${b} digest, which the reference checks`, {
        ...detail,
        bank: b,
      });
      continue;
    }
    if (!sets.some((m) => m.get(b)?.has(d) === true))
      add(
        rule,
        'digest-not-allowed',
        `${eventName(e)} has ${b} digest ${d}, which no ${names} entry allows`,
        {
          ...detail,
          bank: b,
          digest: d,
        },
      );
  }
}

function checkIma(
  rule: ImaRule,
  entries: NonNullable<StateEvidence['ima']>['entries'],
  add: AddFailure,
): void {
  const allowed = new Map<string, Set<string>>();
  for (const e of rule.allowlist) allowed.set(e.path, (allowed.get(e.path) ?? new Set()).add(e.digest));
  entries.forEach((e, index) => {
    if (index === 0 && e.path === BOOT_AGGREGATE && !allowed.has(BOOT_AGGREGATE)) return;
    if (isImaViolation(e)) {
      if (!rule.allowViolations)
        add(
          'ima',
          'ima-violation',
          `IMA entry ${index} (${e.path}) is a violation record (all-zero digest)`,
          {
            index,
            path: e.path,
          },
        );
      return;
    }
    const d = `${e.digestAlg.toLowerCase()}:${e.digest.toLowerCase()}`;
    const digests = allowed.get(e.path);
    if (digests === undefined) {
      add('ima', 'ima-unlisted', `IMA entry ${index}: ${e.path} (${d}) is not on the allowlist`, {
        index,
        path: e.path,
        digest: d,
      });
    } else if (!digests.has(d)) {
      const list = [...digests].sort(byCodeUnits);
      add(
        'ima',
        'ima-digest-mismatch',
        `IMA entry ${index}: ${e.path} measured ${d}, allowed ${list.join(' or ')}`,
        {
          index,
          path: e.path,
          digest: d,
          allowed: list,
        },
      );
    }
  });
}
