// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/state/ima-verdict
 *
 * The verdict on an IMA measurement list against a verified quote (`ima verify`, and the IMA evidence of
 * `state`). The list grows while a quote is taken, so the quote covers a prefix of it. The list holds when:
 * - every bank the quote covers PCR 10 in replays, from the same prefix, to its quoted value (a bank that
 *   contradicts the list, or that cannot be replayed here, fails it: banks are not alternatives);
 * - every entry in that prefix recomputes to its template hash (its path and digest are what was
 *   extended);
 * - the first entry, boot_aggregate, is the hash of the quoted PCRs 0–7/0–9 of its bank, which ties the
 *   list to the attested boot; with `requireBootAggregate` a list that does not start with it, or whose
 *   PCRs were not quoted, fails too. A list resumed from a checkpoint was tied when the checkpoint was made.
 *
 * Not covered: whether the entries are allowed (check.ts), and that the quote is genuine (verify it first).
 */

import { bankName } from '../../crypto/algorithms.js';
import type { HashAlgorithm } from '../../crypto/hash.js';
import { toHex as hex } from '../../encoding/bytes.js';
import { ExecgateError } from '../../errors.js';
import type { PcrValues } from '../../tpm/pcr-selection.js';
import { type BootAggregateCheck, checkBootAggregate } from '../boot-aggregate.js';
import {
  type ImaCheckpoint,
  type ImaEntry,
  type ImaLog,
  type ImaReplayOptions,
  matchQuotedPrefix,
} from '../ima/index.js';

export const IMA_PCR = 10;
const HASHES: readonly HashAlgorithm[] = ['sha1', 'sha256', 'sha384', 'sha512'];
/** Edited entries named one by one in the problems; the rest are counted. */
const NAMED_ENTRIES = 20;

export interface ImaQuoteMatch {
  /** The checkpoint at the end of the covered prefix. */
  readonly checkpoint: ImaCheckpoint;
  /** How the bank's values were derived from the list. */
  readonly derive?: 'recompute' | 'padded-sha1';
}

export interface ImaVerdict {
  readonly ok: boolean;
  /** The prefix every quoted bank agrees on; absent when none does. */
  readonly match?: ImaQuoteMatch;
  /** The entries of the list in that prefix. */
  readonly covered: readonly ImaEntry[];
  readonly bootAggregate: BootAggregateCheck;
  /** Why the list does not hold, one line each. */
  readonly problems: readonly string[];
}

/**
 * The prefix of `log` whose replay equals the quoted PCR 10 in `bank`, trying each kernel's way of filling
 * a bank other than the list's; undefined when none matches.
 */
export function matchImaQuote(
  log: ImaLog,
  bank: HashAlgorithm,
  quoted: Uint8Array,
  from?: ImaCheckpoint,
): ImaQuoteMatch | undefined {
  return matchOrWhy(log, bank, quoted, from).match;
}

/** matchImaQuote, with why no way of filling the bank could be tried (an entry it cannot rebuild). */
function matchOrWhy(
  log: ImaLog,
  bank: HashAlgorithm,
  quoted: Uint8Array,
  from?: ImaCheckpoint,
): { readonly match?: ImaQuoteMatch; readonly errors: readonly string[] } {
  const modes: readonly ImaReplayOptions['derive'][] =
    bank === log.templateHashAlgorithm ? [undefined] : ['recompute', 'padded-sha1'];
  const errors: string[] = [];
  for (const derive of modes) {
    const options: ImaReplayOptions = {
      bank,
      ...(derive === undefined ? {} : { derive }),
      ...(from === undefined ? {} : { from }),
    };
    let checkpoint: ImaCheckpoint | undefined;
    try {
      checkpoint = matchQuotedPrefix(log, IMA_PCR, quoted, options);
    } catch (e) {
      // A list entry this bank cannot be derived for (a template that cannot be rebuilt): hostile input,
      // reported, never thrown out of a verdict.
      if (!(e instanceof ExecgateError)) throw e;
      errors.push(`${derive ?? bank}: ${e.message}`);
      continue;
    }
    if (checkpoint !== undefined)
      return { match: derive === undefined ? { checkpoint } : { checkpoint, derive }, errors };
  }
  return { errors };
}

export interface ImaVerdictOptions {
  /** The list was parsed resuming from this checkpoint (saved by an earlier verification). */
  readonly from?: ImaCheckpoint;
  /**
   * A boot_aggregate that was not quoted, or a list that does not start with one, fails (it is reported
   * otherwise). A PCR 10 match already shows the entry is the one this kernel extended; the check ties the
   * list to the quoted PCRs 0–9, which a verdict on the boot's state needs.
   */
  readonly requireBootAggregate?: boolean;
}

/** Judges `log` (resumed `from` a checkpoint, when given) against `quoted`, a verified quote's values. */
export function judgeIma(log: ImaLog, quoted: PcrValues, options: ImaVerdictOptions = {}): ImaVerdict {
  const { from } = options;
  const strict = options.requireBootAggregate === true;
  const problems: string[] = [];
  const banks = [...quoted].filter(([, m]) => m.has(IMA_PCR));
  if (banks.length === 0) problems.push(`the quote does not cover PCR ${IMA_PCR}, which IMA extends`);
  const found: { name: string; match: ImaQuoteMatch }[] = [];
  for (const [alg, m] of banks) {
    const name = bankName(alg);
    const bank = HASHES.find((h) => h === name);
    const value = m.get(IMA_PCR);
    if (bank === undefined || value === undefined) {
      problems.push(`${name} PCR ${IMA_PCR} is quoted but cannot be replayed here`);
      continue;
    }
    if (from !== undefined && from.bank !== bank) {
      problems.push(
        `${name} PCR ${IMA_PCR} is quoted but the checkpoint is for ${from.bank}: quote PCR ${IMA_PCR} in ${from.bank} only, or replay without the checkpoint`,
      );
      continue;
    }
    const { match, errors } = matchOrWhy(log, bank, value, from);
    if (match === undefined)
      problems.push(
        `${name} PCR ${IMA_PCR}: no prefix of the list replays to the quoted ${hex(value)}` +
          (errors.length === 0 ? '' : ` (${errors.join('; ')})`),
      );
    else found.push({ name, match });
  }
  const counts = new Set(found.map((f) => f.match.checkpoint.entryCount));
  if (counts.size > 1)
    problems.push(
      `the quoted banks disagree on the prefix of the list: ${found.map((f) => `${f.name} covers ${f.match.checkpoint.entryCount} entries`).join(', ')}`,
    );
  const match = problems.length === 0 ? found[0]?.match : undefined;

  // Entries inside the covered prefix must be intact: their data is what a policy reads.
  const end = match?.checkpoint.entryCount ?? 0;
  const covered = match === undefined ? [] : log.entries.filter((e) => e.index < end);
  const broken = covered.filter((e) => e.templateHashCheck === 'mismatch');
  for (const e of broken.slice(0, NAMED_ENTRIES))
    problems.push(`entry ${e.index} (${e.path ?? 'no path'}): its template hash is not the hash of its data`);
  if (broken.length > NAMED_ENTRIES)
    problems.push(
      `and ${broken.length - NAMED_ENTRIES} more entries whose template hash is not the hash of their data`,
    );

  // boot_aggregate ties the list to the boot only if the quote covers it: a PCR 10 still at its reset
  // value covers no entry, and a list whose one line was computed from the quoted PCRs must not pass.
  if (strict && match !== undefined && log.firstIndex === 0 && match.checkpoint.entryCount === 0)
    problems.push(
      `the quoted PCR ${IMA_PCR} covers no entry of the list, not even boot_aggregate: IMA measured nothing`,
    );
  const first = log.firstIndex === 0 ? log.entries[0] : undefined;
  const bootAggregate = checkBootAggregate(first, quoted);
  if (bootAggregate.status === 'mismatch') problems.push(bootAggregate.message);
  if (strict && bootAggregate.status === 'not-quoted')
    problems.push(`${bootAggregate.message}, which ties the list to the attested boot`);
  if (strict && bootAggregate.status === 'absent' && log.firstIndex === 0)
    problems.push('the list does not start with boot_aggregate, so nothing ties it to the attested boot');

  return {
    ok: problems.length === 0 && match !== undefined,
    ...(match === undefined ? {} : { match }),
    covered,
    bootAggregate,
    problems,
  };
}
