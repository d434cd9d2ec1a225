// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/compare
 *
 * Judges a replayed TCG event log against the PCR values of a verified quote (DESIGN §4: the quote's
 * values, checked against its signed pcrDigest, are the ground truth, never a separate PCR read). Pure: no
 * I/O, never throws for hostile log contents.
 *
 * Only the PCRs the quote covers are judged, each (bank, PCR) on its own:
 * - a PCR some logged event extends must equal its replayed value;
 * - a PCR no logged event extends must equal its reset value (PFP §2.3.4): anything else means something
 *   was extended that the log does not show;
 * - a bank the replay could not compute (a hash this project lacks, an event without a digest for it, or a
 *   bank the log does not declare) fails every quoted PCR of it, with that reason: never a silent pass.
 *
 * On a value mismatch it names the first diverging event where it can, in this order:
 * 1. a finding (agent/measure/event-check.ts) of code 'digest-mismatch' (for this bank, or for every bank
 *    when it names none) or 'retagged' in that PCR, the lowest event index first;
 * 2. a prefix of the PCR's extended events that replays to the quoted value: the event after it was
 *    logged but not extended (and so were the ones after it);
 * 3. otherwise it says the divergence cannot be localized: the final value alone does not tell which event
 *    differs.
 *
 * Not covered: whether the quote is genuine (verify it first: agent/attest/verify-quote.ts), whether the
 * replay belongs to this log (pass the replay of the same log), and PCRs the quote does not cover (listed
 * in `notQuoted`, unjudged).
 */

import { bankName, hashAlgOf } from '../crypto/algorithms.js';
import { digest } from '../crypto/hash.js';
import { equalBytes as equal, toHex as hex } from '../encoding/bytes.js';
import type { PcrSelection, PcrValues } from '../tpm/pcr-selection.js';
import { EV, type EventLog, type TcgEvent } from './eventlog.js';
import { PCR_COUNT, type ReplayResult, resetValue } from './replay.js';

/** The fields of an event-check finding this module reads (agent/measure/event-check.ts EventFinding). */
export interface FindingLike {
  readonly index: number;
  readonly offset: number;
  readonly pcrIndex: number;
  readonly code: string;
  readonly message: string;
  /** The bank a digest finding is about; absent when it concerns every bank. */
  readonly algId?: number;
}

export interface CompareOptions {
  /** Findings about the same log's events, to name a diverging event (rule 1 of the module comment). */
  readonly findings?: readonly FindingLike[];
}

/** One PCR of one bank. */
export interface PcrRef {
  readonly algId: number;
  readonly pcr: number;
}

/**
 * - 'value': the log extends this PCR and replays to another value;
 * - 'unlogged-extend': no logged event extends this PCR, yet it is not at its reset value;
 * - 'bank-unsupported': the log declares the bank but replay has no hash for it (e.g. SM3_256);
 * - 'bank-incomplete': some extended event has no digest for the bank;
 * - 'bank-not-in-log': the log does not declare the bank.
 */
export type MismatchKind =
  | 'value'
  | 'unlogged-extend'
  | 'bank-unsupported'
  | 'bank-incomplete'
  | 'bank-not-in-log';

/** The event where replay and TPM first part ways. */
export interface Divergence {
  readonly index: number;
  readonly offset: number;
  readonly typeName: string;
  /** 'finding': a finding names the event; 'logged-not-extended': the events before it replay to the quote. */
  readonly reason: 'finding' | 'logged-not-extended';
  /** The finding's code, for reason 'finding'. */
  readonly code?: string;
}

export interface PcrMismatch extends PcrRef {
  readonly kind: MismatchKind;
  /** What the TPM quoted. */
  readonly quoted: Uint8Array;
  /** What the log replays to (the reset value for 'unlogged-extend'); absent when the bank was not replayed. */
  readonly expected?: Uint8Array;
  readonly divergence?: Divergence;
  /** Names the bank and PCR, and the diverging event or why there is none. */
  readonly message: string;
}

export interface Comparison {
  /** Every quoted PCR matched, and the quote covered at least one. */
  readonly ok: boolean;
  readonly matched: readonly PcrRef[];
  readonly mismatches: readonly PcrMismatch[];
  /** Quoted PCRs no logged event extends: judged against their reset value. */
  readonly notInLog: readonly PcrRef[];
  /** PCRs the log extends that the quote covers in no bank: their events are not verified. */
  readonly notQuoted: readonly number[];
}

/**
 * The PCR values of a quote as PcrValues: `values` bank by bank in `selection` order, PCRs ascending
 * (QuoteEvidence.pcrValues, VerifyQuoteInput.pcrValues). Throws RangeError when the counts differ.
 */
export function quotedPcrValues(selection: PcrSelection, values: readonly Uint8Array[]): PcrValues {
  const out: PcrValues = new Map();
  let k = 0;
  for (const bank of selection) {
    const pcrs = out.get(bank.hash) ?? new Map<number, Uint8Array>();
    out.set(bank.hash, pcrs);
    for (const pcr of [...bank.pcrs].sort((a, b) => a - b)) {
      const v = values[k++];
      if (v === undefined) throw new RangeError(`fewer PCR values than the selection's ${k} PCRs`);
      pcrs.set(pcr, v);
    }
  }
  if (k !== values.length) throw new RangeError(`${values.length} PCR values for ${k} selected PCRs`);
  return out;
}

/** Compares the replay of `log` with `quoted` (from a verified quote); see the module comment. */
export function compareWithQuote(
  log: EventLog,
  replay: ReplayResult,
  quoted: PcrValues,
  options: CompareOptions = {},
): Comparison {
  const matched: PcrRef[] = [];
  const mismatches: PcrMismatch[] = [];
  const notInLog: PcrRef[] = [];
  const quotedPcrs = new Set<number>();
  let eventsByPcr: Map<number, TcgEvent[]> | undefined;

  for (const [algId, pcrs] of quoted) {
    const bankValues = replay.pcrs.get(algId);
    for (const pcr of [...pcrs.keys()].sort((a, b) => a - b)) {
      if (!Number.isInteger(pcr) || pcr < 0 || pcr >= PCR_COUNT) {
        throw new RangeError(`quoted PCR ${pcr} is outside 0–${PCR_COUNT - 1}`);
      }
      const value = pcrs.get(pcr) ?? new Uint8Array(0);
      quotedPcrs.add(pcr);
      const ref = { algId, pcr };
      const logged = replay.extended.has(pcr);
      if (!logged) notInLog.push(ref);
      const expected = bankValues?.get(pcr);
      if (expected === undefined) {
        mismatches.push(bankMismatch(log, replay, ref, value));
        continue;
      }
      if (equal(expected, value)) {
        matched.push(ref);
        continue;
      }
      const where = `${bankName(algId)} PCR ${pcr}: replayed ${hex(expected)}, quoted ${hex(value)}`;
      if (!logged) {
        mismatches.push({
          ...ref,
          kind: 'unlogged-extend',
          quoted: value,
          expected,
          message: `${where}; no logged event extends this PCR, so something was extended that the log does not show`,
        });
        continue;
      }
      eventsByPcr ??= groupExtended(log);
      const divergence = divergenceOf(
        log,
        replay,
        ref,
        value,
        eventsByPcr.get(pcr) ?? [],
        options.findings ?? [],
      );
      mismatches.push({
        ...ref,
        kind: 'value',
        quoted: value,
        expected,
        ...(divergence.event === undefined ? {} : { divergence: divergence.event }),
        message: `${where}; ${divergence.message}`,
      });
    }
  }
  const notQuoted = [...replay.extended].filter((p) => !quotedPcrs.has(p)).sort((a, b) => a - b);
  return { ok: mismatches.length === 0 && matched.length > 0, matched, mismatches, notInLog, notQuoted };
}

function bankMismatch(log: EventLog, replay: ReplayResult, ref: PcrRef, quoted: Uint8Array): PcrMismatch {
  const where = `${bankName(ref.algId)} PCR ${ref.pcr}`;
  const incomplete = replay.incompleteBanks.find((b) => b.algId === ref.algId);
  if (incomplete !== undefined) {
    const event = log.events[incomplete.firstEvent];
    const at = event === undefined ? '' : ` (${event.typeName} at byte ${event.offset})`;
    return {
      ...ref,
      kind: 'bank-incomplete',
      quoted,
      message: `${where}: the log cannot be replayed in this bank: event ${incomplete.firstEvent}${at} has no ${bankName(ref.algId)} digest`,
    };
  }
  if (replay.unsupportedBanks.includes(ref.algId)) {
    return {
      ...ref,
      kind: 'bank-unsupported',
      quoted,
      message: `${where}: the log declares this bank but replay has no hash for it; quote a SHA-1/SHA-2 bank`,
    };
  }
  return {
    ...ref,
    kind: 'bank-not-in-log',
    quoted,
    message: `${where}: the log has no digests for this bank (it declares ${log.algorithms.map((a) => bankName(a.algId)).join(', ')})`,
  };
}

/** Extended events (not EV_NO_ACTION) per PCR, in log order: one pass over the log. */
function groupExtended(log: EventLog): Map<number, TcgEvent[]> {
  const out = new Map<number, TcgEvent[]>();
  for (const e of log.events) {
    if (e.eventType === EV.NO_ACTION) continue;
    const list = out.get(e.pcrIndex);
    if (list === undefined) out.set(e.pcrIndex, [e]);
    else list.push(e);
  }
  return out;
}

const NAMING_CODES: ReadonlySet<string> = new Set(['digest-mismatch', 'retagged']);

function eventText(e: { index: number; offset: number }, typeName: string): string {
  return `event ${e.index} (${typeName} at byte ${e.offset})`;
}

/** Rules 1–3 of the module comment for one mismatching (bank, PCR) that the log extends. */
function divergenceOf(
  log: EventLog,
  replay: ReplayResult,
  ref: PcrRef,
  quoted: Uint8Array,
  events: readonly TcgEvent[],
  findings: readonly FindingLike[],
): { event?: Divergence; message: string } {
  let first: FindingLike | undefined;
  for (const f of findings) {
    if (f.pcrIndex !== ref.pcr || !NAMING_CODES.has(f.code)) continue;
    if (f.code === 'digest-mismatch' && f.algId !== undefined && f.algId !== ref.algId) continue;
    if (first === undefined || f.index < first.index) first = f;
  }
  if (first !== undefined) {
    const typeName = log.events[first.index]?.typeName ?? 'an event not in this log';
    return {
      event: { index: first.index, offset: first.offset, typeName, reason: 'finding', code: first.code },
      message: `${eventText(first, typeName)} diverges: ${first.code}: ${first.message}`,
    };
  }

  // Rule 2, one extend per event: the running value after k events against the quote, k = 0 … n−1.
  const hash = hashAlgOf(ref.algId);
  let value = resetValue(ref.pcr, quoted.length, replay.pcr0Locality);
  for (const [k, event] of events.entries()) {
    if (equal(value, quoted)) {
      const rest = events.length - k - 1;
      return {
        event: {
          index: event.index,
          offset: event.offset,
          typeName: event.typeName,
          reason: 'logged-not-extended',
        },
        message:
          `the ${k} events before ${eventText(event, event.typeName)} replay to the quoted value: it` +
          `${rest > 0 ? ` and the ${rest} after it were` : ' was'} logged but not extended`,
      };
    }
    const d = event.digests.find((x) => x.algId === ref.algId)?.digest ?? new Uint8Array(0);
    const input = new Uint8Array(value.length + d.length);
    input.set(value, 0);
    input.set(d, value.length);
    value = digest(hash, input);
  }
  const added = replay.appliedWorkarounds.filter((w) => w.pcr === ref.pcr).map((w) => w.id);
  if (added.length > 0 && equal(value, quoted)) {
    return {
      message: `the log's ${events.length} events replay to the quoted value: the events workaround ${added.join(', ')} added were not extended (do not apply it to this host)`,
    };
  }
  return {
    message:
      `the divergence cannot be localized: no finding names an event in this PCR and no prefix of its ` +
      `${events.length} events replays to the quoted value (the final value alone does not tell which event differs)`,
  };
}
