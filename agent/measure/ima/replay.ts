// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/ima/replay
 *
 * Replay (ima_queue.c ima_add_template_entry → ima_pcr_extend): PCR[p] = H(PCR[p] ‖ template digest) per
 * entry, grouped by the entry's PCR (policy `pcr=` may route entries away from PCR 10), from all zeros.
 * A violation extends 0xFF × the bank's digest size (ima_init_digests). For a bank other than the list's
 * own (`derive`):
 * - `recompute`: since Linux 5.8 ("ima: Calculate and extend PCR with digests in ima_template_entry"),
 *   ima_calc_field_array_hash computes the template hash separately with each
 *   allocated bank's algorithm, so e.g. the SHA-256 bank receives SHA-256 of the template data, which is
 *   recomputed here from the entry;
 * - `padded-sha1`: a bank whose algorithm the kernel cannot hash (`ima_algo_array[i].tfm == NULL`), and every
 *   bank before 5.8, receives the SHA-1 template hash zero-padded to the bank size; a violation then extends
 *   0xFF × 20 followed by zeros (ima_init_digests uses SHA1_DIGEST_SIZE for such banks).
 */
import { assertHashAlgorithm, digestByteLen, type HashAlgorithm } from '../../crypto/algorithms.js';
import { digest } from '../../crypto/hash.js';
import { equalBytes } from '../../encoding/bytes.js';
import { type ImaEntry, type ImaLog, ImaLogError } from './types.js';

/**
 * The running PCR values after the first `entryCount` entries, to continue replay from (the list is
 * append-only). A checkpoint trusts that those entries are the ones it folded: the comparison with a
 * quote of the new values detects a list that changed below it.
 */
export interface ImaCheckpoint {
  /** The bank the values belong to. */
  readonly bank: HashAlgorithm;
  readonly entryCount: number;
  /** Byte offset of entry `entryCount` in the list (for `parseImaLog`'s `resume`). */
  readonly byteOffset: number;
  /** PCR index → value, for the PCRs some entry extended. */
  readonly pcrs: ReadonlyMap<number, Uint8Array>;
}

export interface ImaReplayOptions {
  /** Bank to replay into; default the list's template-hash algorithm. */
  readonly bank?: HashAlgorithm;
  /**
   * How entries reach a bank other than the list's own (required then): `recompute` (Linux ≥ 5.8, a bank
   * the kernel can hash) or `padded-sha1` (Linux < 5.8, or a bank the kernel cannot hash; SHA-1 lists).
   */
  readonly derive?: 'recompute' | 'padded-sha1';
  /** Continue from this checkpoint: entries with index < `from.entryCount` are skipped. */
  readonly from?: ImaCheckpoint;
}

interface Fold {
  readonly bank: HashAlgorithm;
  readonly size: number;
  readonly value: (e: ImaEntry) => Uint8Array;
  readonly pcrs: Map<number, Uint8Array>;
  readonly start: number;
}

function prepareFold(log: ImaLog, options: ImaReplayOptions | undefined): Fold {
  const listAlg = log.templateHashAlgorithm;
  const bank = options?.bank ?? listAlg;
  assertHashAlgorithm(bank, 'bank');
  const size = digestByteLen(bank);
  const derive = options?.derive;
  if (bank !== listAlg && derive === undefined) {
    throw new RangeError(`replaying a ${listAlg} list into the ${bank} bank needs options.derive`);
  }
  if (derive === 'padded-sha1' && listAlg !== 'sha1') {
    throw new RangeError(`derive 'padded-sha1' needs a sha1 list, this one is ${listAlg}`);
  }
  const from = options?.from;
  const pcrs = new Map<number, Uint8Array>();
  let start = 0;
  if (from !== undefined) {
    if (from.bank !== bank) throw new RangeError(`checkpoint is for the ${from.bank} bank, not ${bank}`);
    if (log.firstIndex > from.entryCount) {
      throw new RangeError(
        `list starts at entry ${log.firstIndex}, after the checkpoint's ${from.entryCount}`,
      );
    }
    const have = log.firstIndex + log.entries.length;
    if (have < from.entryCount) {
      throw new ImaLogError(
        'E_IMA_TRUNCATED',
        `list has ${have} entries, fewer than the checkpoint's ${from.entryCount}`,
        log.end,
        log.end,
      );
    }
    for (const [pcr, v] of from.pcrs) pcrs.set(pcr, v);
    start = from.entryCount - log.firstIndex;
  }

  const violation = new Uint8Array(size);
  violation.fill(0xff, 0, derive === 'padded-sha1' ? digestByteLen('sha1') : size);
  let value: (e: ImaEntry) => Uint8Array;
  if (bank === listAlg && derive !== 'recompute') {
    value = (e) => (e.templateHashCheck === 'violation' ? violation : e.templateHash);
  } else if (derive === 'padded-sha1') {
    value = (e) => {
      if (e.templateHashCheck === 'violation') return violation;
      const out = new Uint8Array(size);
      out.set(e.templateHash);
      return out;
    };
  } else {
    value = (e) => {
      if (e.templateHashCheck === 'violation') return violation;
      if (e.hashedData === undefined) {
        throw new ImaLogError(
          'E_IMA_FORMAT',
          `entry ${e.index}'s template data cannot be rebuilt to hash it with ${bank}`,
          e.offset,
          e.offset,
          e.line,
        );
      }
      return digest(bank, e.hashedData);
    };
  }
  return { bank, size, value, pcrs, start };
}

/**
 * Folds entries [fold.start, …) into fold.pcrs; `stop(count)` is asked after each entry and before the
 * first (count = entries folded so far) and ends the fold early when it returns true.
 */
function runFold(
  log: ImaLog,
  fold: Fold,
  stop?: (count: number, pcr: number | undefined) => boolean,
): number {
  const { bank, size, pcrs } = fold;
  const input = new Uint8Array(2 * size);
  const zero = new Uint8Array(size);
  const entries = log.entries;
  if (stop?.(log.firstIndex + fold.start, undefined) === true) return fold.start;
  for (let i = fold.start; i < entries.length; i++) {
    const e = entries[i] as ImaEntry;
    input.set(pcrs.get(e.pcr) ?? zero, 0);
    input.set(fold.value(e), size);
    pcrs.set(e.pcr, digest(bank, input));
    if (stop?.(log.firstIndex + i + 1, e.pcr) === true) return i + 1;
  }
  return entries.length;
}

function checkpointAt(log: ImaLog, fold: Fold, folded: number): ImaCheckpoint {
  const next = log.entries[folded];
  return {
    bank: fold.bank,
    entryCount: log.firstIndex + folded,
    byteOffset: next === undefined ? log.end : next.offset,
    pcrs: new Map(fold.pcrs),
  };
}

/**
 * Replays the list into one bank: the running value of every PCR some entry extends, from all zeros (or
 * from `options.from`). The result is a checkpoint to continue from when the list has grown. Throws
 * `ImaLogError` when the list is shorter than the checkpoint, or (with `derive: 'recompute'`) an entry's
 * template data cannot be rebuilt.
 */
export function replayImaLog(log: ImaLog, options?: ImaReplayOptions): ImaCheckpoint {
  const fold = prepareFold(log, options);
  return checkpointAt(log, fold, runFold(log, fold));
}

/**
 * The smallest entry count whose replay gives `quoted` for `pcr`: the list keeps growing while a quote is
 * taken, so the quote covers some prefix of the list that was read after it. Returns that prefix's
 * checkpoint (all PCRs at that count), or undefined when no prefix matches.
 */
export function matchQuotedPrefix(
  log: ImaLog,
  pcr: number,
  quoted: Uint8Array,
  options?: ImaReplayOptions,
): ImaCheckpoint | undefined {
  if (!(quoted instanceof Uint8Array)) throw new TypeError('quoted must be a Uint8Array');
  const fold = prepareFold(log, options);
  if (quoted.length !== fold.size)
    throw new RangeError(`quoted is ${quoted.length} bytes, the ${fold.bank} bank's are ${fold.size}`);
  const zero = new Uint8Array(fold.size);
  let found = -1;
  runFold(log, fold, (count, extended) => {
    if (extended !== undefined && extended !== pcr) return false;
    if (!equalBytes(fold.pcrs.get(pcr) ?? zero, quoted)) return false;
    found = count;
    return true;
  });
  return found < 0 ? undefined : checkpointAt(log, fold, found - log.firstIndex);
}
